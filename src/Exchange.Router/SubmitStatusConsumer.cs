using Exchange.Contracts;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.Persistence;
using Exchange.Persistence.Hub;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Messaging;
using Exchange.Signing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Exchange.Router;

/// <summary>
/// Routes a document status (edXML status package, QCVN 102:2016) between the parties of one envelope: a
/// recipient's 01–06, 15, 16 go to the sender, a sender's 13 to a recipient. The hub verifies the status
/// package's signature and its binding to the reporter, checks that reporter and addressee are parties of the
/// envelope and that the package refers to that document, records it with evidence, then forwards it.
/// Idempotent on the status id; a signature already used on another status or envelope is a replay. With hubs federated by tier a status travels hub to hub like its envelope, each hub
/// checking and recording it again; the hub that took it from the reporter answers the reporter.
/// </summary>
public sealed class SubmitStatusConsumer(
    HubDbContext db,
    SignatureVerifier verifier,
    DirectoryCache directory,
    ExchangeNames names,
    BusOrigin origin,
    Forwarding forwarding,
    IOptions<RouterOptions> options,
    TimeProvider clock,
    ILogger<SubmitStatusConsumer> logger) : IConsumer<SubmitStatus>
{
    public async Task Consume(ConsumeContext<SubmitStatus> context)
    {
        var message = context.Message.Filled();
        var cancellationToken = context.CancellationToken;
        db.ChangeTracker.Clear();

        var current = await directory.CurrentAsync(cancellationToken);
        var existing = await db.Statuses.AsNoTracking().FirstOrDefaultAsync(s => s.StatusId == message.StatusId, cancellationToken);
        if (existing is not null)
        {
            await AnnounceAsync(context, existing, string.Empty, current);
            return;
        }

        var envelope = await db.Envelopes.AsNoTracking().Include(e => e.Deliveries)
            .FirstOrDefaultAsync(e => e.EnvelopeId == message.EnvelopeId && e.State == EnvelopeStates.Accepted, cancellationToken);
        var (reason, detail, status, signatureValues) = origin.Agrees(context, message.ReporterCode, OriginProof.Signed, out var originDetail)
            ? Check(message, envelope, current)
            : (ReasonCode.SenderMismatch, originDetail, null, []);
        if (reason == ReasonCode.Ok
            && await db.SignatureValues.AsNoTracking().Where(v => signatureValues.Contains(v.ValueSha256)).FirstOrDefaultAsync(cancellationToken) is { } seen)
        {
            (reason, detail) = (ReasonCode.ReplayedSignature,
                $"This signature was already used on {seen.Kind} {seen.MessageId}, received {seen.RecordedAt:O}; a new status needs a new signature.");
        }

        var now = clock.GetUtcNow();
        var packageSha256 = Digests.Sha256Hex(message.Package);
        var what = status is null
            ? "A status package (not read)"
            : $"Status {((int)status.Code).ToString("00", System.Globalization.CultureInfo.InvariantCulture)} ({status.Code})";
        db.AddEvidence(
            reason == ReasonCode.Ok ? EvidenceKind.StatusReport : EvidenceKind.StatusRejection,
            message.EnvelopeId, message.RecipientCode, reason,
            $"{what} from {Untrusted.Quote(message.ReporterCode)} to {Untrusted.Quote(message.RecipientCode)}, status id {message.StatusId}. {detail}",
            packageSha256, options.Value.HubName, now);

        StatusRow? row = null;
        if (envelope is not null)
        {
            // With no such envelope there is nothing to attach a row to; the evidence alone records the attempt.
            row = new StatusRow
            {
                StatusId = message.StatusId,
                EnvelopeId = message.EnvelopeId,
                ReporterCode = Truncate(message.ReporterCode),
                RecipientCode = Truncate(message.RecipientCode),
                StatusCode = (short)(status?.Code ?? 0),
                Description = status?.Description,
                StatusTime = status?.Timestamp.ToUniversalTime() ?? now,
                ReceivedAt = now,
                // Bytes over a limit are not stored; their digest is the evidence.
                Package = reason == ReasonCode.TooLarge ? [] : message.Package,
                Signature = reason == ReasonCode.TooLarge ? [] : message.Signature,
                PackageSha256 = packageSha256,
                State = reason == ReasonCode.Ok ? EnvelopeStates.Accepted : EnvelopeStates.Rejected,
                Reason = reason.ToCode(),
            };
            db.Statuses.Add(row);
        }

        if (reason == ReasonCode.Ok)
        {
            db.SignatureValues.AddRange(signatureValues.Distinct().Select(v => new SignatureValueRow
            {
                ValueSha256 = v, Kind = SignatureValueKinds.Status, MessageId = message.StatusId, RecordedAt = now,
            }));
        }

        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (Exception e) when (e.IsUniqueViolation())
        {
            // A concurrent copy of this status won, or a replay of its signature under another id did: in the second
            // case start again, and the replay check refuses this one.
            db.ChangeTracker.Clear();
            if (await db.Statuses.AsNoTracking().FirstOrDefaultAsync(s => s.StatusId == message.StatusId, cancellationToken) is { } winner)
            {
                await AnnounceAsync(context, winner, string.Empty, current);
            }
            else
            {
                await Consume(context);
            }

            return;
        }

        if (reason != ReasonCode.Ok)
        {
            ExchangeTelemetry.RecordMessageRefused(nameof(SubmitStatus), reason.ToCode());
            logger.LogWarning("Rejected status {StatusId} from {Reporter}: {Reason} {Detail}", message.StatusId, Untrusted.Quote(message.ReporterCode), reason.ToCode(), detail);
        }

        if (row is null)
        {
            if (forwarding.NextHop(current, message.ReporterCode) is null)
            {
                await SendAsync(context, message.ReporterCode, new StatusRejected(message.StatusId, message.EnvelopeId, reason.ToCode(), detail, now));
            }

            return;
        }

        await AnnounceAsync(context, row, detail, current);
    }

    private (ReasonCode Reason, string Detail, EdxmlStatus? Status, IReadOnlyList<string> SignatureValues) Check(
        SubmitStatus message, EnvelopeRow? envelope, AgencyDirectory current)
    {
        if (envelope is null)
        {
            return (ReasonCode.NotFound, $"No accepted envelope {message.EnvelopeId} on this hub.", null, []);
        }

        if (message.Package.Length > options.Value.MaxPackageBytes)
        {
            return (ReasonCode.TooLarge, $"The status package is {message.Package.Length} bytes; the limit is {options.Value.MaxPackageBytes}.", null, []);
        }

        if (message.Signature.Length > options.Value.MaxSignatureBytes)
        {
            return (ReasonCode.TooLarge, $"The signature is {message.Signature.Length} bytes; the limit is {options.Value.MaxSignatureBytes}.", null, []);
        }

        var signature = verifier.Verify(message.Package, message.Signature);
        if (!signature.Valid)
        {
            return (signature.Reason, signature.Detail, null, []);
        }

        EdxmlStatus status;
        try
        {
            status = EdxmlStatusReader.Read(message.Package, options.Value.ToEdxmlLimits());
        }
        catch (EdxmlException e)
        {
            return (e.Reason, e.Message, null, []);
        }

        if (!AgencyCode.TryParse(status.From.OrganId, out var from, out _) || from.Value != message.ReporterCode)
        {
            return (ReasonCode.SenderMismatch, $"The status package is from '{Untrusted.Quote(status.From.OrganId)}', the bus message names '{Untrusted.Quote(message.ReporterCode)}'.", status, []);
        }

        if (!AgencyCode.TryParse(status.ResponseForOrganId, out var to, out _) || to.Value != message.RecipientCode)
        {
            return (ReasonCode.RecipientMismatch, $"The status package is for '{Untrusted.Quote(status.ResponseForOrganId)}', the bus message names '{Untrusted.Quote(message.RecipientCode)}'.", status, []);
        }

        if (!signature.ValidSigners.Any(s => current.IsBound(from.Value, s.CertificateSha256)))
        {
            return (ReasonCode.SignerNotBound, $"No valid signer of the status is registered to '{from}'.", status, []);
        }

        var recipients = envelope.Deliveries.Select(d => d.RecipientCode).ToHashSet(StringComparer.Ordinal);
        var parties = status.Code == StatusCode.RecallRequested
            ? from.Value == envelope.SenderCode && recipients.Contains(to.Value)
            : recipients.Contains(from.Value) && to.Value == envelope.SenderCode;
        if (!parties)
        {
            return (ReasonCode.RecipientMismatch, status.Code == StatusCode.RecallRequested
                ? "Status 13 goes from the document's sender to one of its recipients."
                : "A status goes from one of the document's recipients to its sender.", status, []);
        }

        return status.ResponseForDocumentId == envelope.DocumentId
            ? (ReasonCode.Ok, string.Empty, status, signature.ValidSigners.Select(s => s.SignatureValueSha256).ToList())
            : (ReasonCode.PackageInvalid, $"The status refers to document '{Untrusted.Quote(status.ResponseForDocumentId)}', the envelope carries '{envelope.DocumentId}'.", status, []);
    }

    /// <summary>
    /// Forwards an accepted status to its addressee's gateway, or to the next hub toward it; answers the reporter when
    /// this hub serves it (a hub further on records its own verdict as evidence).
    /// </summary>
    private async Task AnnounceAsync(ConsumeContext context, StatusRow row, string detail, AgencyDirectory current)
    {
        var reporterIsServedHere = forwarding.NextHop(current, row.ReporterCode) is null;
        if (row.State == EnvelopeStates.Rejected)
        {
            if (reporterIsServedHere)
            {
                await SendAsync(context, row.ReporterCode, new StatusRejected(row.StatusId, row.EnvelopeId, row.Reason, detail, row.ReceivedAt));
            }

            return;
        }

        if (forwarding.NextHop(current, row.RecipientCode) is { } hub)
        {
            await context.SendToQueueAsync(names.RelayQueue(hub), new SubmitStatus(
                row.StatusId, row.EnvelopeId, row.ReporterCode, row.RecipientCode, row.Package, row.Signature, row.ReceivedAt), context.CancellationToken);
        }
        else
        {
            await SendAsync(context, row.RecipientCode, new DeliverStatus(row.StatusId, row.EnvelopeId, row.ReporterCode, row.RecipientCode, row.StatusCode, row.Package, row.Signature));
        }

        if (reporterIsServedHere)
        {
            await SendAsync(context, row.ReporterCode, new StatusAccepted(row.StatusId, row.EnvelopeId, row.ReceivedAt));
        }
    }

    /// <summary>
    /// Sends to an agency the directory knows. A refused status may name any code at all; sending to it would declare
    /// a queue for a made-up agency that nobody reads (as for envelopes, the refusal stays evidence).
    /// </summary>
    private async Task SendAsync<T>(ConsumeContext context, string agencyCode, T message)
        where T : class
    {
        if (!AgencyCode.TryParse(agencyCode, out var code, out _)
            || (await directory.CurrentAsync(context.CancellationToken)).Find(code.Value) is null)
        {
            return;
        }

        await context.SendToQueueAsync(names.AgencyQueue(code.Value), message, context.CancellationToken);
    }

    /// <summary>Clipped in whole code points: half a surrogate pair is not UTF-8, and PostgreSQL would refuse the row.</summary>
    private static string Truncate(string text) => Untrusted.Truncate(text, 64);
}
