using Exchange.Contracts;
using Exchange.Core;
using Exchange.Persistence;
using Exchange.Persistence.Hub;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Exchange.Router;

/// <summary>
/// An envelope handed over by a neighbouring hub. This hub verifies it again in full (a hub trusts no other hub with a
/// signature), stores it in its own database with the trace so far plus its own entry, records RelayAcceptance or
/// RelayRejection evidence, and sends it on: to the recipients' gateways it serves, or to the next hub. Deadlines are
/// chased by the hub that accepted the envelope from its sender, which relays again when a receipt is late; a repeated
/// relay re-sends what is still outstanding and records nothing twice. Only the hub the envelope came from may chase it
/// so, with the same sender and the same package: any other repeat of a known envelope id re-sends nothing (issue #16,
/// item 4; docs/security.md, "A known envelope id re-sends nothing").
/// </summary>
public sealed class RelayEnvelopeConsumer(
    HubDbContext db,
    SubmissionCheck check,
    DirectoryCache directory,
    Forwarding forwarding,
    PackageStore store,
    IOptions<RouterOptions> options,
    TimeProvider clock,
    ILogger<RelayEnvelopeConsumer> logger) : IConsumer<RelayEnvelope>
{
    public async Task Consume(ConsumeContext<RelayEnvelope> context)
    {
        var message = context.Message;
        var cancellationToken = context.CancellationToken;
        db.ChangeTracker.Clear();
        var package = PackageBody.Of(message.Package, store, message.EnvelopeId, message.Stored);
        var packageSha256 = package.Sha256Hex;
        var codes = message.Recipients.Select(r => r.Code).ToList();

        if (await FindAsync(message.EnvelopeId, cancellationToken) is { } existing)
        {
            await ResendAsync(context, existing, message, codes, packageSha256);
            return;
        }

        var current = await directory.CurrentAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var verdict = message.Stored is { } stored && await store.CheckStoredAsync(message.EnvelopeId, stored, message.SenderCode, cancellationToken) is { } incomplete
            ? new SubmissionVerdict(ReasonCode.PackageIncomplete, incomplete)
            : check.CheckRelay(message, package, current, now);
        var hub = options.Value.HubName;
        if (verdict.Accepted && message.Recipients.FirstOrDefault(r => forwarding.NextHop(current, r.Code) == message.FromHub) is { } loop)
        {
            verdict = verdict with
            {
                Reason = ReasonCode.UnknownRecipient,
                Detail = $"'{loop.Code}' is served through '{message.FromHub}' by directory version {current.Version}: relaying it back would loop.",
            };
        }

        var envelope = new EnvelopeRow
        {
            EnvelopeId = message.EnvelopeId,
            SenderCode = message.SenderCode,
            DocumentId = verdict.Header?.DocumentId,
            Subject = verdict.Header?.Subject,
            Package = package.InlineBytes,
            Signature = message.Signature,
            PackageSha256 = packageSha256,
            PackageLength = package.Stored?.Length,
            PackageChunks = package.Stored?.Chunks,
            SignerCertificateSha256 = verdict.SignerCertificateSha256,
            Signers = System.Text.Json.JsonSerializer.Serialize(verdict.Signers, System.Text.Json.JsonSerializerOptions.Web),
            DirectoryVersion = current.Version,
            State = verdict.Accepted ? EnvelopeStates.Accepted : EnvelopeStates.Rejected,
            Reason = verdict.Reason.ToCode(),
            Detail = verdict.Detail,
            SubmittedAt = message.SubmittedAt,
            ReceivedAt = now,
            RelayedBy = message.FromHub,
            Trace = forwarding.TraceWith(message.Trace, now, "relayed"),
        };
        // Accepted: the recipients as this hub resolved them from the signed To list; refused: the relay's, to report back.
        foreach (var recipient in verdict.Recipients ?? message.Recipients.DistinctBy(r => r.Code).ToList())
        {
            envelope.Deliveries.Add(new DeliveryRow
            {
                RecipientCode = recipient.Code, ResolvedFrom = recipient.ResolvedFrom, ForwardedAt = now,
                NextHop = verdict.Accepted ? forwarding.NextHop(current, recipient.Code) : null,
                State = verdict.Accepted ? DeliveryStates.Forwarded : DeliveryStates.Failed,
                FailureReason = verdict.Accepted ? null : verdict.Reason.ToCode(),
            });
        }

        db.Envelopes.Add(envelope);
        db.AddEvidence(
            verdict.Accepted ? EvidenceKind.RelayAcceptance : EvidenceKind.RelayRejection, message.EnvelopeId, null, verdict.Reason,
            $"Relayed by hub '{message.FromHub}' for {string.Join(", ", codes)}. {verdict.Detail} Directory version {current.Version}.",
            packageSha256, hub, now);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (Exception e) when (e.IsUniqueViolation())
        {
            db.ChangeTracker.Clear();
            await ResendAsync(context, (await FindAsync(message.EnvelopeId, cancellationToken))!, message, codes, packageSha256);
            return;
        }

        logger.Log(verdict.Accepted ? LogLevel.Information : LogLevel.Warning,
            "Relay of envelope {EnvelopeId} from hub {Hub}: {Reason} {Detail}", message.EnvelopeId, message.FromHub, envelope.Reason, envelope.Detail);
        await AnswerAsync(context, envelope, envelope.Deliveries);
    }

    private Task<EnvelopeRow?> FindAsync(Guid envelopeId, CancellationToken cancellationToken) =>
        db.Envelopes.AsNoTracking().Include(e => e.Deliveries).FirstOrDefaultAsync(e => e.EnvelopeId == envelopeId, cancellationToken);

    /// <summary>A relay of an envelope this hub holds: the relaying hub chasing a late delivery, or a repeat to ignore.</summary>
    private async Task ResendAsync(ConsumeContext context, EnvelopeRow existing, RelayEnvelope message, List<string> codes, string packageSha256)
    {
        var ignored = existing.RelayedBy != message.FromHub
            ? $"it holds the envelope from {(existing.RelayedBy is { } hub ? $"hub '{hub}'" : "its sender's gateway")}, not from hub '{Untrusted.Quote(message.FromHub)}'"
            : existing.SenderCode != message.SenderCode || existing.PackageSha256 != packageSha256
                ? $"the relay names sender '{Untrusted.Quote(message.SenderCode)}' and SHA-256 {packageSha256}; it holds '{existing.SenderCode}' and {existing.PackageSha256}"
                : null;
        if (ignored is not null)
        {
            ExchangeTelemetry.RecordMessageRefused(nameof(RelayEnvelope), ReasonCode.DuplicateEnvelopeId.ToCode());
            logger.LogWarning("Relay of known envelope {EnvelopeId} re-sends nothing: {Detail}", existing.EnvelopeId, ignored);
            return;
        }

        await AnswerAsync(context, existing, existing.Deliveries.Where(d => codes.Contains(d.RecipientCode)));
    }

    /// <summary>Outstanding deliveries go on; refused ones are reported back to the relaying hub, which tells the sender's side.</summary>
    private async Task AnswerAsync(ConsumeContext context, EnvelopeRow envelope, IEnumerable<DeliveryRow> deliveries)
    {
        var list = deliveries.ToList();
        await forwarding.SendAsync(context, envelope, list.Where(d => d.State == DeliveryStates.Forwarded), context.CancellationToken);
        foreach (var failed in list.Where(d => d.State == DeliveryStates.Failed && envelope.State == EnvelopeStates.Rejected))
        {
            var failure = new ReportDeliveryFailure(envelope.EnvelopeId, failed.RecipientCode, envelope.Reason, $"Hub '{options.Value.HubName}' refused the relay: {envelope.Detail}");
            await forwarding.TowardSenderAsync(context, envelope, failure, failure, context.CancellationToken);
        }
    }
}
