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
/// transaction, then forwards. A valid signature already seen on another envelope is a replay.
/// <para>
/// Idempotent, and cheap to repeat (issue #16, item 4; docs/security.md, "A known envelope id re-sends nothing"): a
/// submission whose envelope id the hub already holds is checked first for who sent it (the same agency, by the
/// message and by the way it came, <see cref="BusOrigin"/>) and what it carries (the same package SHA-256). A genuine
/// repeat (a gateway that lost the answer) gets the first outcome again, to its own sender only; anything else is
/// refused as <c>duplicate-envelope-id</c> with evidence and answers nobody. Neither forwards the package again: a
/// repeated id used to re-send the whole package to every pending recipient and neighbouring hub, whoever sent it.
/// Pending deliveries are the <see cref="DeadlineChaser"/>'s to forward again. The one exception is the hub's own
/// second attempt at the same message (a retry after a fault, or the broker's redelivery after a crash), which may
/// have stored the envelope and then failed before its messages left: it finishes what the first attempt began.
/// </para>
/// </summary>
public sealed class SubmitEnvelopeConsumer(
    HubDbContext db,
    SubmissionCheck check,
    DirectoryCache directory,
    ExchangeNames names,
    BusOrigin origin,
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

        // Normalised (a 3-group alias becomes its 4-group code) so every later message reaches the right queue.
        var sender = AgencyCode.TryParse(message.SenderCode, out var senderCode, out _) ? senderCode.Value : Untrusted.Quote(message.SenderCode, 64);
        var originAgrees = origin.Agrees(context, message.SenderCode, OriginProof.Signed, out var originDetail);
        var existing = await FindAsync(message.EnvelopeId, cancellationToken);
        if (existing is not null)
        {
            await AnswerDuplicateAsync(context, existing, sender, originAgrees ? null : originDetail, packageSha256);
            return;
        }

        var current = await directory.CurrentAsync(cancellationToken);
        var now = clock.GetUtcNow();
        // A stored package is the sender's only if its own chunks make it up (PackageStore binds each chunk to the
        // agency it was sent for); a submission that came another way than its sender's is not read that far.
        var incomplete = originAgrees && message.Stored is { } stored ? await store.CheckStoredAsync(message.EnvelopeId, stored, sender, cancellationToken) : null;
        var verdict = !originAgrees
            ? new SubmissionVerdict(ReasonCode.SenderMismatch, originDetail)
            : incomplete is not null
                ? new SubmissionVerdict(ReasonCode.PackageIncomplete, incomplete)
                : await RefuseReplayAsync(check.Check(message, package, current, now), cancellationToken);
        var hub = options.Value.HubName;
        // Bytes over a limit are not stored: their digest is the evidence, and a refused 500 MB "package" must
        // not cost the hub 500 MB of database. Nor are chunks that were not checked to be this sender's package.
        var keepBytes = package.Length <= options.Value.MaxPackageBytes && message.Signature.Length <= options.Value.MaxSignatureBytes
            && (message.Stored is null || (originAgrees && incomplete is null));
        // Only the sender's own chunks are removed: a submission cannot delete another agency's package by naming its id.
        if (!keepBytes && message.Stored is not null && originAgrees && (await store.ClaimAsync(message.EnvelopeId, cancellationToken))?.Owner == sender)
        {
            await store.DeleteAsync(message.EnvelopeId, cancellationToken);
        }
        var envelope = new EnvelopeRow
        {
            EnvelopeId = message.EnvelopeId,
            SenderCode = sender,
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
                await AnswerDuplicateAsync(context, winner, sender, originAgrees ? null : originDetail, packageSha256);
            }
            else
            {
                await Consume(context);
            }

            return;
        }

        if (verdict.Accepted)
        {
            ExchangeTelemetry.RecordEnvelopeAccepted(current.TierNameOf(envelope.SenderCode));
            logger.LogInformation("Accepted envelope {EnvelopeId} from {Sender} for {Count} recipient(s)", message.EnvelopeId, envelope.SenderCode, envelope.Deliveries.Count);
        }
        else
        {
            ExchangeTelemetry.RecordEnvelopeRejected(envelope.Reason, current.TierNameOf(envelope.SenderCode));
            logger.LogWarning("Rejected envelope {EnvelopeId} from {Sender}: {Reason} {Detail}", message.EnvelopeId, envelope.SenderCode, envelope.Reason, envelope.Detail);
        }

        await ForwardAsync(context, envelope);
        await AnswerSenderAsync(context, envelope);
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

    /// <summary>
    /// A submission with an envelope id the hub already holds. From the same agency (by the message and by the way it
    /// came) with the same package: the first outcome again, to that sender only. Anything else: refused with
    /// <c>duplicate-envelope-id</c> evidence; the stored envelope is untouched and nobody is told (its sender was not
    /// refused; the other party may be anyone). Neither re-sends the package (see the class comment).
    /// </summary>
    /// <param name="originDetail">Why the way the message came disagrees with its sender, or null when it agrees.</param>
    private async Task AnswerDuplicateAsync(ConsumeContext<SubmitEnvelope> context, EnvelopeRow existing, string sender, string? originDetail, string packageSha256)
    {
        var refusal = originDetail is not null
            ? $"Envelope id already used by '{existing.SenderCode}'. {originDetail}"
            : sender != existing.SenderCode
                ? $"Envelope id already used by '{existing.SenderCode}'; this submission names sender '{sender}'."
                : existing.PackageSha256 != packageSha256
                    ? $"Envelope id already used for a package with SHA-256 {existing.PackageSha256}; this submission's package has SHA-256 {packageSha256}."
                    : null;
        if (refusal is null)
        {
            // The hub's own second attempt at this message (retried after a fault, or redelivered by the broker after a
            // crash) may follow a first that stored the envelope but sent nothing: it sends what the first would have.
            if (context.GetRetryAttempt() > 0 || context.ReceiveContext.Redelivered)
            {
                logger.LogInformation("Envelope {EnvelopeId} stored by an earlier attempt at this message; sending its outcome", existing.EnvelopeId);
                await ForwardAsync(context, existing);
            }
            else
            {
                logger.LogInformation("Envelope {EnvelopeId} submitted again by its sender; answering with its outcome, forwarding nothing", existing.EnvelopeId);
            }

            await AnswerSenderAsync(context, existing);
            return;
        }

        var now = clock.GetUtcNow();
        db.AddEvidence(
            EvidenceKind.SubmissionRejection, existing.EnvelopeId, null, ReasonCode.DuplicateEnvelopeId,
            Untrusted.Clip(refusal, EvidenceLog.MaxDetail), packageSha256, options.Value.HubName, now);
        await db.SaveChangesAsync(context.CancellationToken);
        ExchangeTelemetry.RecordMessageRefused(nameof(SubmitEnvelope), ReasonCode.DuplicateEnvelopeId.ToCode());
        logger.LogWarning("Refused reuse of envelope id {EnvelopeId} (sender {Sender}): {Detail}", existing.EnvelopeId, sender, refusal);
    }

    /// <summary>Sends an accepted envelope's outstanding deliveries on.</summary>
    private Task ForwardAsync(ConsumeContext context, EnvelopeRow envelope) =>
        envelope.State == EnvelopeStates.Rejected
            ? Task.CompletedTask
            : forwarding.SendAsync(context, envelope, envelope.Deliveries.Where(d => d.State == DeliveryStates.Forwarded), context.CancellationToken);

    /// <summary>Tells the envelope's sender the outcome: accepted, or rejected and why.</summary>
    private async Task AnswerSenderAsync(ConsumeContext context, EnvelopeRow envelope)
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

        // Accepted means the sender is a known agency with a valid code.
        var sender = AgencyCode.Parse(envelope.SenderCode);
        await context.SendToQueueAsync(names.AgencyQueue(sender.Value), new EnvelopeAccepted(
            envelope.EnvelopeId, sender.Value, envelope.Deliveries.Select(d => d.RecipientCode).ToList(),
            envelope.DirectoryVersion ?? 0, envelope.ReceivedAt, newestCheckpoint.Current), context.CancellationToken);
    }
}
