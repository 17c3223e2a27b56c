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
/// Records a recipient's signed delivery receipt: the receipt must verify, be signed by a certificate the
/// directory binds to the recipient, and name this envelope, recipient and package digest. Then the sender
/// is told. A receipt seen before re-sends the confirmation; every refused receipt is ContentConsignmentFailure
/// evidence with its reason (the delivery itself is left as it was).
/// </summary>
public sealed class SubmitDeliveryReceiptConsumer(
    HubDbContext db,
    SignatureVerifier verifier,
    DirectoryCache directory,
    ExchangeNames names,
    Forwarding forwarding,
    IOptions<RouterOptions> options,
    TimeProvider clock,
    ILogger<SubmitDeliveryReceiptConsumer> logger) : IConsumer<SubmitDeliveryReceipt>
{
    public async Task Consume(ConsumeContext<SubmitDeliveryReceipt> context)
    {
        var message = context.Message.Filled();
        var cancellationToken = context.CancellationToken;
        db.ChangeTracker.Clear();

        if (!BusOrigin.Agrees(context, names, message.RecipientCode, out var originDetail))
        {
            await RefuseAsync(message, null, ReasonCode.SenderMismatch, originDetail, cancellationToken);
            return;
        }

        var envelope = await db.Envelopes.AsNoTracking().FirstOrDefaultAsync(e => e.EnvelopeId == message.EnvelopeId, cancellationToken);
        var delivery = await db.Deliveries.FirstOrDefaultAsync(
            d => d.EnvelopeId == message.EnvelopeId && d.RecipientCode == message.RecipientCode, cancellationToken);
        if (envelope is null || delivery is null)
        {
            await RefuseAsync(message, null, ReasonCode.NotFound,
                $"This hub made no delivery of envelope {message.EnvelopeId} to '{Untrusted.Quote(message.RecipientCode)}'.", cancellationToken);
            return;
        }

        if (delivery.State == DeliveryStates.Delivered)
        {
            if (delivery.ReceiptId == message.ReceiptId)
            {
                // The same receipt again (a redelivery, or a replay): answered as before, nothing recorded twice.
                await ConfirmAsync(context, envelope, delivery);
                return;
            }

            await RefuseAsync(message, envelope, ReasonCode.ReceiptMismatch,
                $"The delivery was already confirmed by receipt {delivery.ReceiptId}; it stays confirmed.", cancellationToken);
            return;
        }

        var (reason, detail, receipt) = await CheckAsync(message, envelope, cancellationToken);
        var now = clock.GetUtcNow();
        if (reason != ReasonCode.Ok)
        {
            await RefuseAsync(message, envelope, reason, detail, cancellationToken);
            return;
        }

        delivery.State = DeliveryStates.Delivered;
        delivery.DeliveredAt = receipt!.ReceivedAt;
        delivery.ReceiptId = message.ReceiptId;
        delivery.Receipt = message.Receipt;
        delivery.ReceiptSignature = message.ReceiptSignature;
        db.AddEvidence(EvidenceKind.ContentConsignment, envelope.EnvelopeId, delivery.RecipientCode, ReasonCode.Ok,
            $"Stored in the recipient's inbox at {receipt.ReceivedAt:O}; receipt {message.ReceiptId} verified. {detail}",
            envelope.PackageSha256, options.Value.HubName, now);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateConcurrencyException)
        {
            // Another copy of this receipt was recorded first: answer as a duplicate.
            await Consume(context);
            return;
        }

        ExchangeTelemetry.DeliveriesConfirmed.Add(1);
        ExchangeTelemetry.DeliveryDuration.Record((now - envelope.SubmittedAt).TotalMilliseconds);
        await ConfirmAsync(context, envelope, delivery);
    }

    private async Task RefuseAsync(SubmitDeliveryReceipt message, EnvelopeRow? envelope, ReasonCode reason, string detail, CancellationToken cancellationToken)
    {
        db.ChangeTracker.Clear();
        db.AddEvidence(EvidenceKind.ContentConsignmentFailure, message.EnvelopeId, message.RecipientCode, reason,
            $"Receipt {message.ReceiptId} refused: {detail}", envelope?.PackageSha256, options.Value.HubName, clock.GetUtcNow());
        await db.SaveChangesAsync(cancellationToken);
        ExchangeTelemetry.RecordMessageRefused(nameof(SubmitDeliveryReceipt), reason.ToCode());
        logger.LogWarning("Refused receipt {ReceiptId} for {EnvelopeId}: {Reason} {Detail}", message.ReceiptId, message.EnvelopeId, reason.ToCode(), detail);
    }

    private async Task<(ReasonCode Reason, string Detail, DeliveryReceipt? Receipt)> CheckAsync(
        SubmitDeliveryReceipt message, EnvelopeRow envelope, CancellationToken cancellationToken)
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

        var current = await directory.CurrentAsync(cancellationToken);
        var bound = signature.ValidSigners.FirstOrDefault(s => current.IsBound(message.RecipientCode, s.CertificateSha256));
        return bound is null
            ? (ReasonCode.SignerNotBound, $"The receipt's signer is not registered to '{message.RecipientCode}' in directory version {current.Version}.", null)
            : (ReasonCode.Ok, $"Receipt signed by {bound.Subject}.", receipt);
    }

    /// <summary>Tells the sender, or passes the receipt back to the hub that relayed the envelope here (federation).</summary>
    private Task ConfirmAsync(ConsumeContext context, EnvelopeRow envelope, DeliveryRow delivery) =>
        forwarding.TowardSenderAsync(context, envelope,
            new DeliveryConfirmed(envelope.EnvelopeId, envelope.SenderCode, delivery.RecipientCode, delivery.ReceiptId!.Value, delivery.DeliveredAt!.Value, clock.GetUtcNow()),
            new SubmitDeliveryReceipt(envelope.EnvelopeId, delivery.RecipientCode, delivery.ReceiptId!.Value, delivery.Receipt!, delivery.ReceiptSignature!),
            context.CancellationToken);
}

/// <summary>
/// Records a recipient gateway's refusal of a delivery as ContentConsignmentFailure evidence. The report is not
/// signed: one that came through another agency's broker exchange is refused (logged and counted, no evidence).
/// </summary>
public sealed class ReportDeliveryFailureConsumer(
    HubDbContext db,
    Forwarding forwarding,
    ExchangeNames names,
    IOptions<RouterOptions> options,
    TimeProvider clock,
    ILogger<ReportDeliveryFailureConsumer> logger) : IConsumer<ReportDeliveryFailure>
{
    public async Task Consume(ConsumeContext<ReportDeliveryFailure> context)
    {
        var message = context.Message.Filled();
        db.ChangeTracker.Clear();
        if (!BusOrigin.Agrees(context, names, message.RecipientCode, out var originDetail))
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
/// Records that the recipient's document system fetched the package (ContentHandover, ETSI EN 319 522), once per
/// delivery: the conditional update decides which of several copies of the report writes the evidence. Like a
/// failure report it is unsigned, and refused when it came through another agency's broker exchange.
/// </summary>
public sealed class ReportHandoverConsumer(
    HubDbContext db,
    ExchangeNames names,
    IOptions<RouterOptions> options,
    TimeProvider clock,
    ILogger<ReportHandoverConsumer> logger) : IConsumer<ReportHandover>
{
    public async Task Consume(ConsumeContext<ReportHandover> context)
    {
        var message = context.Message.Filled();
        var ct = context.CancellationToken;
        db.ChangeTracker.Clear();
        if (!BusOrigin.Agrees(context, names, message.RecipientCode, out var originDetail))
        {
            ExchangeTelemetry.RecordMessageRefused(nameof(ReportHandover), ReasonCode.SenderMismatch.ToCode());
            logger.LogWarning("Refused a handover report for {EnvelopeId}: {Reason} {Detail}", message.EnvelopeId, ReasonCode.SenderMismatch.ToCode(), originDetail);
            return;
        }

        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var first = await db.Deliveries
            .Where(d => d.EnvelopeId == message.EnvelopeId && d.RecipientCode == message.RecipientCode && d.HandedOverAt == null)
            .ExecuteUpdateAsync(u => u.SetProperty(d => d.HandedOverAt, message.HandedOverAt.ToUniversalTime()), ct);
        if (first == 0)
        {
            return; // Already recorded, or no such delivery.
        }

        var sha = await db.Envelopes.Where(e => e.EnvelopeId == message.EnvelopeId).Select(e => e.PackageSha256).SingleAsync(ct);
        db.AddEvidence(EvidenceKind.ContentHandover, message.EnvelopeId, message.RecipientCode, ReasonCode.Ok,
            $"The recipient's document system fetched the package at {message.HandedOverAt.ToUniversalTime():O} (reported by its gateway).",
            sha, options.Value.HubName, clock.GetUtcNow());
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
    }
}
