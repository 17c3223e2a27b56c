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
/// Verifies a submission, stores the envelope with one delivery per recipient and its evidence in one
/// transaction, then forwards. Idempotent: a redelivered or resubmitted envelope id re-sends what the first
/// one sent and records nothing twice. A valid signature already seen on another envelope is a replay.
/// </summary>
public sealed class SubmitEnvelopeConsumer(
    HubDbContext db,
    SubmissionCheck check,
    DirectoryCache directory,
    ExchangeNames names,
    Forwarding forwarding,
    PackageStore store,
    Evidence.NewestCheckpoint newestCheckpoint,
    IOptions<RouterOptions> options,
    IOptions<DeadlineOptions> deadlines,
    TimeProvider clock,
    ILogger<SubmitEnvelopeConsumer> logger) : IConsumer<SubmitEnvelope>
{
    public async Task Consume(ConsumeContext<SubmitEnvelope> context)
    {
        var message = context.Message.Filled();
        var cancellationToken = context.CancellationToken;
        db.ChangeTracker.Clear();
        var package = PackageBody.Of(message.Package, store, message.EnvelopeId, message.Stored);
        var packageSha256 = package.Sha256Hex;

        var existing = await FindAsync(message.EnvelopeId, cancellationToken);
        if (existing is not null)
        {
            await AnswerDuplicateAsync(context, existing, packageSha256);
            return;
        }

        var current = await directory.CurrentAsync(cancellationToken);
        var now = clock.GetUtcNow();
        var verdict = !BusOrigin.Agrees(context, names, message.SenderCode, out var originDetail)
            ? new SubmissionVerdict(ReasonCode.SenderMismatch, originDetail)
            : message.Stored is { } stored && await store.CheckStoredAsync(message.EnvelopeId, stored, cancellationToken) is { } incomplete
                ? new SubmissionVerdict(ReasonCode.PackageIncomplete, incomplete)
                : await RefuseReplayAsync(check.Check(message, package, current, now), cancellationToken);
        var hub = options.Value.HubName;
        // Bytes over a limit are not stored: their digest is the evidence, and a refused 500 MB "package" must
        // not cost the hub 500 MB of database.
        var keepBytes = package.Length <= options.Value.MaxPackageBytes && message.Signature.Length <= options.Value.MaxSignatureBytes
            && verdict.Reason != ReasonCode.PackageIncomplete;
        if (!keepBytes && message.Stored is not null)
        {
            await store.DeleteAsync(message.EnvelopeId, cancellationToken);
        }
        var envelope = new EnvelopeRow
        {
            EnvelopeId = message.EnvelopeId,
            // Normalised (a 3-group alias becomes its 4-group code) so every later message reaches the right queue.
            SenderCode = AgencyCode.TryParse(message.SenderCode, out var senderCode, out _) ? senderCode.Value : Untrusted.Quote(message.SenderCode, 64),
            DocumentId = verdict.Header?.DocumentId,
            Subject = verdict.Header?.Subject,
            Package = keepBytes ? package.InlineBytes : [],
            Signature = keepBytes ? message.Signature : [],
            PackageSha256 = packageSha256,
            PackageLength = keepBytes ? package.Stored?.Length : null,
            PackageChunks = keepBytes ? package.Stored?.Chunks : null,
            SignerCertificateSha256 = verdict.SignerCertificateSha256,
            Signers = System.Text.Json.JsonSerializer.Serialize(verdict.Signers, System.Text.Json.JsonSerializerOptions.Web),
            DirectoryVersion = current.Version,
            State = verdict.Accepted ? EnvelopeStates.Accepted : EnvelopeStates.Rejected,
            Reason = verdict.Reason.ToCode(),
            Detail = Untrusted.Clip(verdict.Detail, EvidenceLog.MaxDetail),
            SubmittedAt = message.SubmittedAt,
            ReceivedAt = now,
            Trace = forwarding.TraceWith([], now, "accepted"),
        };
        var dueAt = now + deadlines.Value.For(verdict.Header?.Priority ?? 0);
        foreach (var recipient in verdict.Recipients ?? [])
        {
            envelope.Deliveries.Add(new DeliveryRow
            {
                RecipientCode = recipient.Code, ResolvedFrom = recipient.ResolvedFrom, NextHop = forwarding.NextHop(current, recipient.Code),
                State = DeliveryStates.Forwarded, ForwardedAt = now, DueAt = dueAt,
            });
        }

        db.Envelopes.Add(envelope);
        if (verdict.Accepted)
        {
            db.SignatureValues.AddRange(verdict.SignatureValues.Distinct().Select(v => new SignatureValueRow
            {
                ValueSha256 = v, Kind = SignatureValueKinds.Envelope, MessageId = message.EnvelopeId, RecordedAt = now,
            }));
        }

        db.AddEvidence(
            verdict.Accepted ? EvidenceKind.SubmissionAcceptance : EvidenceKind.SubmissionRejection,
            message.EnvelopeId, null, verdict.Reason, $"{verdict.Detail} Directory version {current.Version}.", packageSha256, hub, now);
        db.AddResolutionEvidence(envelope, current.Version, hub, now);

        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (Exception e) when (e.IsUniqueViolation())
        {
            // A concurrent delivery of the same envelope won the insert: answer as it did. With no such envelope, a
            // replay of the same signature under another id won: start again, and the replay check refuses this one.
            db.ChangeTracker.Clear();
            if (await FindAsync(message.EnvelopeId, cancellationToken) is { } winner)
            {
                await AnswerDuplicateAsync(context, winner, packageSha256);
            }
            else
            {
                await Consume(context);
            }

            return;
        }

        if (verdict.Accepted)
        {
            ExchangeTelemetry.EnvelopesAccepted.Add(1);
            logger.LogInformation("Accepted envelope {EnvelopeId} from {Sender} for {Count} recipient(s)", message.EnvelopeId, envelope.SenderCode, envelope.Deliveries.Count);
        }
        else
        {
            ExchangeTelemetry.EnvelopesRejected.Add(1, new KeyValuePair<string, object?>("reason", envelope.Reason));
            logger.LogWarning("Rejected envelope {EnvelopeId} from {Sender}: {Reason} {Detail}", message.EnvelopeId, envelope.SenderCode, envelope.Reason, envelope.Detail);
        }

        await AnnounceAsync(context, envelope);
    }

    /// <summary>
    /// A valid signature whose value the hub has already accepted a message under is a replay (an old signed package
    /// sent again under a new envelope id, for instance by an agency that received it): refused whatever else it says.
    /// </summary>
    private async Task<SubmissionVerdict> RefuseReplayAsync(SubmissionVerdict verdict, CancellationToken cancellationToken)
    {
        if (verdict.SignatureValues.Count == 0)
        {
            return verdict;
        }

        var seen = await db.SignatureValues.AsNoTracking().Where(v => verdict.SignatureValues.Contains(v.ValueSha256)).FirstOrDefaultAsync(cancellationToken);
        return seen is null
            ? verdict
            : new SubmissionVerdict(ReasonCode.ReplayedSignature,
                $"This signature was already used on {seen.Kind} {seen.MessageId}, received {seen.RecordedAt:O}; a new submission needs a new signature.",
                verdict.Header)
            {
                Signers = verdict.Signers,
            };
    }

    private Task<EnvelopeRow?> FindAsync(Guid envelopeId, CancellationToken cancellationToken) =>
        db.Envelopes.AsNoTracking().Include(e => e.Deliveries).FirstOrDefaultAsync(e => e.EnvelopeId == envelopeId, cancellationToken);

    private async Task AnswerDuplicateAsync(ConsumeContext<SubmitEnvelope> context, EnvelopeRow existing, string packageSha256)
    {
        if (existing.PackageSha256 == packageSha256)
        {
            logger.LogInformation("Envelope {EnvelopeId} seen before; re-sending its outcome", existing.EnvelopeId);
            await AnnounceAsync(context, existing);
            return;
        }

        // Same id, other bytes: a replay or a broken sender. The stored envelope is untouched and its sender
        // is not told it was rejected (it was not); the attempt is evidence.
        var now = clock.GetUtcNow();
        db.AddEvidence(
            EvidenceKind.SubmissionRejection, existing.EnvelopeId, null, ReasonCode.DuplicateEnvelopeId,
            $"Envelope id already used for a package with SHA-256 {existing.PackageSha256}; this submission's package has SHA-256 {packageSha256}.",
            packageSha256, options.Value.HubName, now);
        await db.SaveChangesAsync(context.CancellationToken);
        logger.LogWarning("Refused reuse of envelope id {EnvelopeId} for different content", existing.EnvelopeId);
    }

    /// <summary>Sends what the outcome calls for: deliveries still outstanding and the answer to the sender.</summary>
    private async Task AnnounceAsync(ConsumeContext context, EnvelopeRow envelope)
    {
        if (envelope.State == EnvelopeStates.Rejected)
        {
            // Only an agency the directory knows has a queue someone reads; a made-up sender code gets evidence,
            // not a new queue on the broker.
            var current = await directory.CurrentAsync(context.CancellationToken);
            if (AgencyCode.TryParse(envelope.SenderCode, out var rejectedSender, out _) && current.Find(rejectedSender.Value) is not null)
            {
                await context.SendToQueueAsync(names.AgencyQueue(rejectedSender.Value), new EnvelopeRejected(
                    envelope.EnvelopeId, rejectedSender.Value, envelope.Reason, envelope.Detail, envelope.ReceivedAt), context.CancellationToken);
            }

            return;
        }

        await forwarding.SendAsync(context, envelope, envelope.Deliveries.Where(d => d.State == DeliveryStates.Forwarded), context.CancellationToken);

        // Accepted means the sender is a known agency with a valid code.
        var sender = AgencyCode.Parse(envelope.SenderCode);
        await context.SendToQueueAsync(names.AgencyQueue(sender.Value), new EnvelopeAccepted(
            envelope.EnvelopeId, sender.Value, envelope.Deliveries.Select(d => d.RecipientCode).ToList(),
            envelope.DirectoryVersion ?? 0, envelope.ReceivedAt, newestCheckpoint.Current), context.CancellationToken);
    }
}

