using Exchange.Contracts;
using Exchange.Core;
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
/// Records recipients' signed delivery receipts: a receipt must verify, be signed by a certificate the directory binds
/// to the recipient, and name this envelope, recipient and package digest. Then the sender is told. A receipt seen
/// before re-sends the confirmation; every refused receipt is ContentConsignmentFailure evidence with its reason (the
/// delivery itself is left as it was).
/// Receipts come in bursts (a directive to a thousand wards is answered a thousand times within seconds), so they are
/// consumed in batches: one query for the envelopes, one for the deliveries, and one transaction for all the batch
/// records, instead of three round trips and a commit per receipt.
/// </summary>
public sealed class SubmitDeliveryReceiptConsumer(
    HubDbContext db,
    SignatureVerifier verifier,
    DirectoryCache directory,
    BusOrigin origin,
    Forwarding forwarding,
    IOptions<RouterOptions> options,
    TimeProvider clock,
    ILogger<SubmitDeliveryReceiptConsumer> logger) : IConsumer<Batch<SubmitDeliveryReceipt>>
{
    /// <summary>At most this many receipts in a batch, and at most this long waiting for a batch to fill.</summary>
    public static void Batching(BatchOptions batch) => batch.SetMessageLimit(16).SetConcurrencyLimit(2).SetTimeLimit(TimeSpan.FromMilliseconds(10));

    public async Task Consume(ConsumeContext<Batch<SubmitDeliveryReceipt>> context)
    {
        var cancellationToken = context.CancellationToken;
        db.ChangeTracker.Clear();
        var receipts = context.Message.Select(m => (Context: (ConsumeContext)m, Message: m.Message.Filled())).ToList();
        var envelopeIds = receipts.Select(r => r.Message.EnvelopeId).Distinct().ToList();
        var recipientCodes = receipts.Select(r => r.Message.RecipientCode).Distinct().ToList();
        // What a receipt is checked against and answered with; not the package, which a receipt does not need.
        var envelopes = await db.Envelopes.Where(e => envelopeIds.Contains(e.EnvelopeId))
            .Select(e => new ReceiptEnvelope(e.EnvelopeId, e.SenderCode, e.PackageSha256, e.SubmittedAt, e.RelayedBy))
            .ToDictionaryAsync(e => e.EnvelopeId, cancellationToken);
        // Both keys of the primary key are filtered, so a receipt for a fan-out's envelope loads its own deliveries, not all of them.
        var deliveries = await db.Deliveries.Where(d => envelopeIds.Contains(d.EnvelopeId) && recipientCodes.Contains(d.RecipientCode))
            .ToDictionaryAsync(d => (d.EnvelopeId, d.RecipientCode), cancellationToken);
        var current = await directory.CurrentAsync(cancellationToken);
        var now = clock.GetUtcNow();

        var confirmations = new List<(ReceiptEnvelope Envelope, DeliveryRow Delivery, bool New)>();
        var refusals = new List<(SubmitDeliveryReceipt Message, ReceiptEnvelope? Envelope, ReasonCode Reason, string Detail)>();
        foreach (var (messageContext, message) in receipts)
        {
            envelopes.TryGetValue(message.EnvelopeId, out var envelope);
            if (!origin.Agrees(messageContext, message.RecipientCode, OriginProof.Signed, out var originDetail))
            {
                refusals.Add((message, null, ReasonCode.SenderMismatch, originDetail));
            }
            else if (envelope is null || !deliveries.TryGetValue((message.EnvelopeId, message.RecipientCode), out var delivery))
            {
                refusals.Add((message, null, ReasonCode.NotFound, $"This hub made no delivery of envelope {message.EnvelopeId} to '{Untrusted.Quote(message.RecipientCode)}'."));
            }
            else if (delivery.State == DeliveryStates.Delivered)
            {
                // The same receipt again (a redelivery, or a replay): answered as before, nothing recorded twice.
                if (delivery.ReceiptId == message.ReceiptId)
                {
                    confirmations.Add((envelope, delivery, false));
                }
                else
                {
                    refusals.Add((message, envelope, ReasonCode.ReceiptMismatch, $"The delivery was already confirmed by receipt {delivery.ReceiptId}; it stays confirmed."));
                }
            }
            else if (Check(message, envelope, current) is var (reason, detail, receipt) && reason != ReasonCode.Ok)
            {
                refusals.Add((message, envelope, reason, detail));
            }
            else
            {
                delivery.State = DeliveryStates.Delivered;
                delivery.DeliveredAt = receipt!.ReceivedAt;
                delivery.ReceiptId = message.ReceiptId;
                delivery.Receipt = message.Receipt;
                delivery.ReceiptSignature = message.ReceiptSignature;
                db.AddEvidence(EvidenceKind.ContentConsignment, envelope.EnvelopeId, delivery.RecipientCode, ReasonCode.Ok,
                    $"Stored in the recipient's inbox at {receipt.ReceivedAt:O}; receipt {message.ReceiptId} verified. {detail}",
                    envelope.PackageSha256, options.Value.HubName, now);
                confirmations.Add((envelope, delivery, true));
            }
        }

        foreach (var (message, envelope, reason, detail) in refusals)
        {
            db.AddEvidence(EvidenceKind.ContentConsignmentFailure, message.EnvelopeId, message.RecipientCode, reason,
                $"Receipt {message.ReceiptId} refused: {detail}", envelope?.PackageSha256, options.Value.HubName, now);
        }

        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateConcurrencyException)
        {
            // Another copy of one of these receipts was recorded first (by another hub instance): start again, and
            // that one is answered as a duplicate.
            await Consume(context);
            return;
        }

        foreach (var (message, _, reason, detail) in refusals)
        {
            ExchangeTelemetry.RecordMessageRefused(nameof(SubmitDeliveryReceipt), reason.ToCode());
            logger.LogWarning("Refused receipt {ReceiptId} for {EnvelopeId}: {Reason} {Detail}", message.ReceiptId, message.EnvelopeId, reason.ToCode(), detail);
        }

        foreach (var (envelope, delivery, isNew) in confirmations)
        {
            if (isNew)
            {
                ExchangeTelemetry.RecordDeliveryConfirmed(now - envelope.SubmittedAt, current.TierNameOf(delivery.RecipientCode));
            }

            await ConfirmAsync(context, envelope, delivery);
        }
    }

    private (ReasonCode Reason, string Detail, DeliveryReceipt? Receipt) Check(SubmitDeliveryReceipt message, ReceiptEnvelope envelope, AgencyDirectory current)
    {
        var signature = verifier.Verify(message.Receipt, message.ReceiptSignature);
        if (!signature.Valid)
        {
            return (signature.Reason, signature.Detail, null);
        }

        var receipt = DeliveryReceipt.TryParse(message.Receipt);
        if (receipt is null
            || receipt.ReceiptId != message.ReceiptId
            || receipt.EnvelopeId != envelope.EnvelopeId
            || receipt.RecipientCode != message.RecipientCode
            || receipt.PackageSha256 != envelope.PackageSha256)
        {
            return receipt is null
                ? (ReasonCode.PackageInvalid, "The receipt is not a delivery receipt document.", null)
                : (ReasonCode.ReceiptMismatch, $"The receipt names receipt {receipt.ReceiptId}, envelope {receipt.EnvelopeId}, recipient '{Untrusted.Quote(receipt.RecipientCode)}' and package SHA-256 {Untrusted.Quote(receipt.PackageSha256)}, not this message's receipt, envelope, recipient and package.", null);
        }

        var bound = signature.ValidSigners.FirstOrDefault(s => current.IsBound(message.RecipientCode, s.CertificateSha256));
        return bound is null
            ? (ReasonCode.SignerNotBound, $"The receipt's signer is not registered to '{message.RecipientCode}' in directory version {current.Version}.", null)
            : (ReasonCode.Ok, $"Receipt signed by {bound.Subject}.", receipt);
    }

    /// <summary>Tells the sender, or passes the receipt back to the hub that relayed the envelope here (federation).</summary>
    private Task ConfirmAsync(ConsumeContext context, ReceiptEnvelope envelope, DeliveryRow delivery) =>
        forwarding.TowardSenderAsync(context, envelope.SenderCode, envelope.RelayedBy,
            new DeliveryConfirmed(envelope.EnvelopeId, envelope.SenderCode, delivery.RecipientCode, delivery.ReceiptId!.Value, delivery.DeliveredAt!.Value, clock.GetUtcNow()),
            new SubmitDeliveryReceipt(envelope.EnvelopeId, delivery.RecipientCode, delivery.ReceiptId!.Value, delivery.Receipt!, delivery.ReceiptSignature!),
            context.CancellationToken);

    private sealed record ReceiptEnvelope(Guid EnvelopeId, string SenderCode, string PackageSha256, DateTimeOffset SubmittedAt, string? RelayedBy);
}

/// <summary>
/// Records a recipient gateway's refusal of a delivery as ContentConsignmentFailure evidence. The report is not
/// signed: one that came through another agency's broker exchange is refused (logged and counted, no evidence).
/// </summary>
public sealed class ReportDeliveryFailureConsumer(
    HubDbContext db,
    Forwarding forwarding,
    BusOrigin origin,
    IOptions<RouterOptions> options,
    TimeProvider clock,
    ILogger<ReportDeliveryFailureConsumer> logger) : IConsumer<ReportDeliveryFailure>
{
    public async Task Consume(ConsumeContext<ReportDeliveryFailure> context)
    {
        var message = context.Message.Filled();
        db.ChangeTracker.Clear();
        if (!origin.Agrees(context, message.RecipientCode, OriginProof.LoginOnly, out var originDetail))
        {
            ExchangeTelemetry.RecordMessageRefused(nameof(ReportDeliveryFailure), ReasonCode.SenderMismatch.ToCode());
            logger.LogWarning("Refused a delivery failure report for {EnvelopeId}: {Reason} {Detail}", message.EnvelopeId, ReasonCode.SenderMismatch.ToCode(), originDetail);
            return;
        }

        var delivery = await db.Deliveries.FirstOrDefaultAsync(
            d => d.EnvelopeId == message.EnvelopeId && d.RecipientCode == message.RecipientCode, context.CancellationToken);
        if (delivery is null || delivery.State != DeliveryStates.Forwarded)
        {
            return;
        }

        var reason = ReasonCodes.TryParse(message.Reason, out var code) ? code : ReasonCode.PackageInvalid;
        delivery.State = DeliveryStates.Failed;
        delivery.FailureReason = reason.ToCode();
        var envelope = await db.Envelopes.AsNoTracking().SingleAsync(e => e.EnvelopeId == message.EnvelopeId, context.CancellationToken);
        var by = delivery.NextHop is { } hub ? $"Hub '{hub}' reported" : "The recipient's gateway refused the delivery";
        db.AddEvidence(EvidenceKind.ContentConsignmentFailure, message.EnvelopeId, message.RecipientCode, reason,
            $"{by}: {Untrusted.Quote(message.Detail)}", envelope.PackageSha256, options.Value.HubName, clock.GetUtcNow());
        await db.SaveChangesAsync(context.CancellationToken);
        logger.LogWarning("Recipient {Recipient} refused {EnvelopeId}: {Reason}", message.RecipientCode, message.EnvelopeId, reason.ToCode());
        if (envelope.RelayedBy is not null)
        {
            await forwarding.TowardSenderAsync(context, envelope, message, message, context.CancellationToken);
        }
    }
}

/// <summary>
/// Records what the recipient's document system did with a delivered package, once per delivery: took it in
/// (ContentHandover, ETSI EN 319 522; the conditional update decides which of several copies of the report writes the
/// evidence), or could not (ContentHandoverFailure, the national axis's <c>updateStatus fail</c>; a later handover still
/// counts). The sender's gateway is told either way (<see cref="HandoverRecorded"/>), a repeated report telling it again.
/// Like a failure report it is unsigned, and refused when it came through another agency's broker exchange.
/// </summary>
public sealed class ReportHandoverConsumer(
    HubDbContext db,
    ExchangeNames names,
    BusOrigin origin,
    IOptions<RouterOptions> options,
    TimeProvider clock,
    ILogger<ReportHandoverConsumer> logger) : IConsumer<ReportHandover>
{
    public async Task Consume(ConsumeContext<ReportHandover> context)
    {
        var message = context.Message.Filled();
        var ct = context.CancellationToken;
        db.ChangeTracker.Clear();
        if (!origin.Agrees(context, message.RecipientCode, OriginProof.LoginOnly, out var originDetail))
        {
            ExchangeTelemetry.RecordMessageRefused(nameof(ReportHandover), ReasonCode.SenderMismatch.ToCode());
            logger.LogWarning("Refused a handover report for {EnvelopeId}: {Reason} {Detail}", message.EnvelopeId, ReasonCode.SenderMismatch.ToCode(), originDetail);
            return;
        }

        var delivery = await db.Deliveries.AsNoTracking()
            .Where(d => d.EnvelopeId == message.EnvelopeId && d.RecipientCode == message.RecipientCode)
            .Join(db.Envelopes, d => d.EnvelopeId, e => e.EnvelopeId, (d, e) => new { d.HandedOverAt, e.PackageSha256, e.SenderCode, e.RelayedBy })
            .FirstOrDefaultAsync(ct);
        if (delivery is null)
        {
            return; // No such delivery.
        }

        var at = message.HandedOverAt.ToUniversalTime();
        if (message.Failure is { } failure)
        {
            var failureKind = nameof(EvidenceKind.ContentHandoverFailure);
            if (delivery.HandedOverAt is not null)
            {
                return; // Taken in already: a failure reported after that changes nothing.
            }

            if (!await db.Evidence.AnyAsync(e => e.EnvelopeId == message.EnvelopeId && e.RecipientCode == message.RecipientCode && e.Kind == failureKind, ct))
            {
                db.AddEvidence(EvidenceKind.ContentHandoverFailure, message.EnvelopeId, message.RecipientCode, ReasonCode.Ok,
                    $"At {at:O}: {Untrusted.Quote(failure)} (reported by its gateway).", delivery.PackageSha256, options.Value.HubName, clock.GetUtcNow());
                await db.SaveChangesAsync(ct);
                logger.LogWarning("Recipient {Recipient} could not take {EnvelopeId} in: {Failure}", message.RecipientCode, message.EnvelopeId, Untrusted.Quote(failure));
            }
        }
        else if (delivery.HandedOverAt is { } recorded)
        {
            at = recorded; // Recorded before: the sender is told the first time again.
        }
        else
        {
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            var first = await db.Deliveries
                .Where(d => d.EnvelopeId == message.EnvelopeId && d.RecipientCode == message.RecipientCode && d.HandedOverAt == null)
                .ExecuteUpdateAsync(u => u.SetProperty(d => d.HandedOverAt, at), ct);
            if (first == 0)
            {
                return; // A concurrent copy of this report recorded it, and tells the sender.
            }

            db.AddEvidence(EvidenceKind.ContentHandover, message.EnvelopeId, message.RecipientCode, ReasonCode.Ok,
                $"The recipient's document system took the package in at {at:O} (reported by its gateway).",
                delivery.PackageSha256, options.Value.HubName, clock.GetUtcNow());
            await db.SaveChangesAsync(ct);
            await transaction.CommitAsync(ct);
        }

        // A sender behind another hub (federation) is not told: the report does not travel between hubs; the evidence is
        // at this hub (docs/national-axis.md, "Not built yet").
        if (delivery.RelayedBy is null)
        {
            await context.SendToQueueAsync(names.AgencyQueue(delivery.SenderCode),
                new HandoverRecorded(message.EnvelopeId, delivery.SenderCode, message.RecipientCode, at, message.Failure), ct);
        }
    }
}
