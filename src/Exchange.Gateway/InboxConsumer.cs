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
/// signed package is from the named sender, signed by a certificate the directory binds to that sender, and addressed
/// to this agency, stores it in the inbox exactly once, and answers with a delivery receipt signed by the agency's
/// organisation certificate. A redelivered envelope re-sends the receipt stored the first time. The directory is the
/// one the hub signed (<see cref="GatewayDirectory"/>), at least as new as the version the hub routed the envelope by:
/// a gateway whose copy is older asks the hub for the newest and takes the delivery again later
/// (<see cref="DirectoryBehindException"/>), so nothing the previous hop says is taken on trust.
/// </summary>
public sealed class DeliverEnvelopeConsumer(
    GatewayDbContext db,
    GatewayDirectory directory,
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

        var signed = await directory.CurrentAsync(cancellationToken);
        if (signed is null || signed.Version < message.DirectoryVersion)
        {
            directory.Want();
            throw new DirectoryBehindException(signed?.Version, message.DirectoryVersion);
        }

        var package = PackageBody.Of(message.Package, store, message.EnvelopeId, message.Stored);
        var (reason, detail, header) = message.Stored is { } announced && await store.CheckStoredAsync(message.EnvelopeId, announced, message.SenderCode, cancellationToken) is { } incomplete
            ? (ReasonCode.PackageIncomplete, incomplete, (EdxmlHeader?)null)
            : Check(message, package, signed);
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

    private (ReasonCode Reason, string Detail, EdxmlHeader? Header) Check(DeliverEnvelope message, PackageBody package, AgencyDirectory signed)
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

        // Nghị định 30/2020: at least one valid signer must be a certificate the signed directory binds to the sender,
        // as the hub checked; a hub that forwarded another agency's signature as the sender's is caught here.
        if (!signature.ValidSigners.Any(s => signed.IsBound(from.Value, s.CertificateSha256)))
        {
            var signers = string.Join("; ", signature.ValidSigners.Select(s => $"{s.Subject} (sha256 {s.CertificateSha256})"));
            return (ReasonCode.SignerNotBound, $"No valid signer is registered to '{from}' in directory version {signed.Version}: {signers}.", null);
        }

        // The package names this agency itself, or an address that resolves to it in the signed directory (a group, an
        // alias, a merged agency's old code): the hub's word that it does is not enough.
        var at = clock.GetUtcNow();
        var addresses = header.To.Select(t => RecipientAddress.NormaliseOrKeep(t.OrganId)).ToList();
        if (addresses.Contains(own))
        {
            return (ReasonCode.Ok, string.Empty, header);
        }

        var resolvedFrom = message.ResolvedFrom is null ? null : RecipientAddress.NormaliseOrKeep(message.ResolvedFrom);
        if (resolvedFrom is null || !addresses.Contains(resolvedFrom))
        {
            return (ReasonCode.RecipientMismatch, $"The signed package is not addressed to '{own}'"
                + (resolvedFrom is null ? "." : $" nor to '{Untrusted.Quote(resolvedFrom)}'."), null);
        }

        return ResolvesTo(signed, resolvedFrom, own, at)
            ? (ReasonCode.Ok, string.Empty, header)
            : (ReasonCode.RecipientMismatch, $"The signed package is addressed to '{Untrusted.Quote(resolvedFrom)}', which directory version {signed.Version} "
                + $"does not resolve to '{own}'.", null);
    }

    /// <summary>Whether <paramref name="address"/> (a group, an alias, a merged agency's old code) means <paramref name="own"/> in the directory.</summary>
    private static bool ResolvesTo(AgencyDirectory signed, string address, string own, DateTimeOffset at)
    {
        if (RecipientGroup.LooksLikeGroup(address))
        {
            return RecipientGroup.TryParse(address, out var group, out _) && group.Expand(signed, at).Any(a => a.Code == own);
        }

        return AgencyCode.TryParse(address, out var code, out _) && signed.Resolve(code.Value, at).Agency?.Agency.Code == own;
    }

    private async Task SendReceiptAsync(ConsumeContext context, InboxRow row)
    {
        await context.SendToHubAsync(hubAddress, new SubmitDeliveryReceipt(row.EnvelopeId, options.Value.AgencyCode, row.ReceiptId, row.Receipt, row.ReceiptSignature), context.CancellationToken);
    }
}

/// <summary>
/// A delivery routed by a directory version newer than the one this gateway holds: it is taken again (the consumer's
/// retry) once the hub's newest signed version has arrived. A fault, not a verdict: nothing is refused for it.
/// </summary>
public sealed class DirectoryBehindException(long? held, long routedBy)
    : Exception($"The delivery was routed by directory version {routedBy}; this gateway holds {(held is null ? "none" : $"version {held}")} and has asked the hub for the newest.");
