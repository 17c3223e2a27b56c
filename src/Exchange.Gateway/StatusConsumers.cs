using Exchange.Contracts;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.Persistence;
using Exchange.Persistence.Gateway;
using Exchange.Signing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Exchange.Gateway;

/// <summary>
/// Receives a status about a document this agency sent (or, for 13, received): verifies the status package's
/// signature end to end and that it is from the reporter the hub names and addressed to this agency, then
/// stores it once.
/// </summary>
public sealed class DeliverStatusConsumer(
    GatewayDbContext db,
    SignatureVerifier verifier,
    IOptions<GatewayOptions> options,
    TimeProvider clock,
    ILogger<DeliverStatusConsumer> logger) : IConsumer<DeliverStatus>
{
    public async Task Consume(ConsumeContext<DeliverStatus> context)
    {
        var message = context.Message;
        db.ChangeTracker.Clear();
        if (await db.Statuses.AnyAsync(s => s.StatusId == message.StatusId, context.CancellationToken))
        {
            return;
        }

        var signature = verifier.Verify(message.Package, message.Signature);
        EdxmlStatus status;
        try
        {
            status = EdxmlStatusReader.Read(message.Package);
        }
        catch (EdxmlException e)
        {
            logger.LogWarning("Dropped status {StatusId}: unreadable package ({Reason}: {Detail})", message.StatusId, e.Reason.ToCode(), e.Message);
            return;
        }

        var own = options.Value.AgencyCode;
        var fromReporter = AgencyCode.TryParse(status.From.OrganId, out var from, out _) && from.Value == message.ReporterCode;
        var addressed = AgencyCode.TryParse(status.ResponseForOrganId, out var to, out _) && to.Value == own && message.RecipientCode == own;
        if (!signature.Valid || !fromReporter || !addressed)
        {
            // The hub verified it already, so this means a hub or broker that cannot be trusted; keep it out.
            logger.LogWarning("Dropped status {StatusId} from {Reporter}: {Reason} {Detail}", message.StatusId, message.ReporterCode,
                signature.Valid ? ReasonCode.SenderMismatch.ToCode() : signature.Reason.ToCode(), signature.Valid ? "reporter or addressee disagrees with the package" : signature.Detail);
            return;
        }

        var now = clock.GetUtcNow();
        db.Statuses.Add(new StatusRow
        {
            StatusId = message.StatusId,
            EnvelopeId = message.EnvelopeId,
            Direction = StatusDirections.Received,
            ReporterCode = message.ReporterCode,
            RecipientCode = own,
            StatusCode = (short)status.Code,
            Description = status.Description,
            StatusTime = status.Timestamp.ToUniversalTime(),
            Package = message.Package,
            Signature = message.Signature,
            State = StatusStates.Received,
            CreatedAt = now,
            UpdatedAt = now,
        });
        try
        {
            await db.SaveChangesAsync(context.CancellationToken);
        }
        catch (Exception e) when (e.IsUniqueViolation())
        {
            // A concurrent redelivery stored it first.
        }
    }
}

public sealed class StatusAcceptedConsumer(GatewayDbContext db) : IConsumer<StatusAccepted>
{
    public Task Consume(ConsumeContext<StatusAccepted> context) =>
        db.Statuses
            .Where(s => s.StatusId == context.Message.StatusId && (s.State == StatusStates.Queued || s.State == StatusStates.Submitted))
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.State, StatusStates.Accepted).SetProperty(s => s.UpdatedAt, context.Message.AcceptedAt), context.CancellationToken);
}

public sealed class StatusRejectedConsumer(GatewayDbContext db) : IConsumer<StatusRejected>
{
    public Task Consume(ConsumeContext<StatusRejected> context) =>
        db.Statuses
            .Where(s => s.StatusId == context.Message.StatusId && s.Direction == StatusDirections.Sent && s.State != StatusStates.Accepted)
            .ExecuteUpdateAsync(u => u
                .SetProperty(s => s.State, StatusStates.Rejected)
                .SetProperty(s => s.Reason, context.Message.Reason)
                .SetProperty(s => s.Detail, context.Message.Detail)
                .SetProperty(s => s.UpdatedAt, context.Message.RejectedAt), context.CancellationToken);
}
