using System.Text.Json;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.Persistence;
using Exchange.Persistence.Gateway;
using Exchange.ServiceDefaults.Broker;
using Exchange.ServiceDefaults.Messaging;
using Exchange.Signing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Exchange.Gateway;

/// <summary>
/// Receives a delivery: verifies the signature end to end (the gateway need not trust the hub), checks the
/// signed package is from the named sender and addressed to this agency, stores it in the inbox exactly
/// once, and answers with a delivery receipt signed by the agency's organisation certificate. A redelivered
/// envelope re-sends the receipt stored the first time.
/// </summary>
public sealed class DeliverEnvelopeConsumer(
    GatewayDbContext db,
    SignatureVerifier verifier,
    CmsSigner signer,
    PackageStore store,
    GatewayHubAddress hubAddress,
    IOptions<GatewayOptions> options,
    TimeProvider clock,
    ILogger<DeliverEnvelopeConsumer> logger) : IConsumer<DeliverEnvelope>
{
    public async Task Consume(ConsumeContext<DeliverEnvelope> context)
    {
        var message = context.Message;
        var cancellationToken = context.CancellationToken;
        db.ChangeTracker.Clear();

        var stored = await db.Inbox.AsNoTracking().FirstOrDefaultAsync(i => i.EnvelopeId == message.EnvelopeId, cancellationToken);
        if (stored is not null)
        {
            await SendReceiptAsync(context, stored);
            return;
        }

        var package = PackageBody.Of(message.Package, store, message.EnvelopeId, message.Stored);
        var (reason, detail, header) = message.Stored is { } announced && await store.CheckStoredAsync(message.EnvelopeId, announced, message.SenderCode, cancellationToken) is { } incomplete
            ? (ReasonCode.PackageIncomplete, incomplete, (EdxmlHeader?)null)
            : Check(message, package);
        if (reason != ReasonCode.Ok)
        {
            if (message.Stored is not null)
            {
                await store.DeleteAsync(message.EnvelopeId, cancellationToken);
            }

            logger.LogWarning("Refused delivery {EnvelopeId}: {Reason} {Detail}", message.EnvelopeId, reason.ToCode(), detail);
            await context.SendToHubAsync(hubAddress, new ReportDeliveryFailure(message.EnvelopeId, message.RecipientCode, reason.ToCode(), detail), cancellationToken);
            return;
        }

        var now = clock.GetUtcNow();
        var packageSha256 = package.Sha256Hex;
        var receipt = new DeliveryReceipt(Guid.CreateVersion7(now), message.EnvelopeId, message.SenderCode, message.RecipientCode, packageSha256, now);
        var receiptBytes = receipt.ToBytes();
        var row = new InboxRow
        {
            EnvelopeId = message.EnvelopeId,
            SenderCode = message.SenderCode,
            DocumentId = header!.DocumentId,
            Subject = header.Subject,
            Package = package.InlineBytes,
            Signature = message.Signature,
            PackageSha256 = packageSha256,
            PackageLength = package.Stored?.Length,
            PackageChunks = package.Stored?.Chunks,
            DirectoryVersion = message.DirectoryVersion,
            Trace = JsonSerializer.Serialize(message.Trace.Append(new TraceEntry(message.RecipientCode, now, "stored"))),
            ReceivedAt = now,
            ReceiptId = receipt.ReceiptId,
            Receipt = receiptBytes,
            ReceiptSignature = signer.SignDetached(receiptBytes),
        };
        db.Inbox.Add(row);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (Exception e) when (e.IsUniqueViolation())
        {
            // A concurrent redelivery stored it first; answer with that receipt.
            db.ChangeTracker.Clear();
            row = await db.Inbox.AsNoTracking().SingleAsync(i => i.EnvelopeId == message.EnvelopeId, cancellationToken);
        }

        logger.LogInformation("Stored {EnvelopeId} from {Sender} in the inbox", message.EnvelopeId, message.SenderCode);
        await SendReceiptAsync(context, row);
    }

    private (ReasonCode Reason, string Detail, EdxmlHeader? Header) Check(DeliverEnvelope message, PackageBody package)
    {
        var own = options.Value.AgencyCode;
        if (message.RecipientCode != own)
        {
            return (ReasonCode.RecipientMismatch, $"This gateway serves '{own}', not '{message.RecipientCode}'.", null);
        }

        var signature = package.Read(bytes => verifier.Verify(bytes.Span, message.Signature), stream => verifier.Verify(stream, message.Signature));
        if (!signature.Valid)
        {
            return (signature.Reason, signature.Detail, null);
        }

        EdxmlHeader header;
        try
        {
            var limits = options.Value.ToEdxmlLimits();
            header = package.Read(bytes => EdxmlReader.ReadHeader(bytes, limits), stream => EdxmlReader.ReadHeader(stream, limits));
        }
        catch (EdxmlException e)
        {
            return (e.Reason, e.Message, null);
        }

        if (!AgencyCode.TryParse(header.From.OrganId, out var from, out _) || from.Value != message.SenderCode)
        {
            return (ReasonCode.SenderMismatch, $"The signed package is from '{header.From.OrganId}', not '{message.SenderCode}'.", null);
        }

        // The package names this agency itself, or an address the hub resolved to it (a group, an alias, a merged
        // agency's old code) and recorded as RecipientResolution evidence; the directory is the hub's to apply.
        var resolvedFrom = message.ResolvedFrom is null ? null : RecipientAddress.NormaliseOrKeep(message.ResolvedFrom);
        var addressed = header.To.Any(t => RecipientAddress.NormaliseOrKeep(t.OrganId) is var to && (to == own || to == resolvedFrom));
        return addressed
            ? (ReasonCode.Ok, string.Empty, header)
            : (ReasonCode.RecipientMismatch, $"The signed package is not addressed to '{own}'"
                + (resolvedFrom is null ? "." : $" nor to '{resolvedFrom}'."), null);
    }

    private async Task SendReceiptAsync(ConsumeContext context, InboxRow row)
    {
        await context.SendToHubAsync(hubAddress, new SubmitDeliveryReceipt(row.EnvelopeId, options.Value.AgencyCode, row.ReceiptId, row.Receipt, row.ReceiptSignature), context.CancellationToken);
    }
}
