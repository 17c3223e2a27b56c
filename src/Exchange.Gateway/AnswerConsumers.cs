using Exchange.Contracts;
using Exchange.Persistence;
using Exchange.Persistence.Gateway;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;

namespace Exchange.Gateway;

/// <summary>The hub's answers to this gateway's submissions, recorded in the outbox for the document system to read.</summary>
/// <summary>
/// The hub accepted a submission. Its recipients become the agencies the hub resolved the package's addresses to
/// (groups expanded, aliases and merged agencies' old codes resolved), whose receipts the sender then waits for.
/// </summary>
public sealed class EnvelopeAcceptedConsumer(GatewayDbContext db) : IConsumer<EnvelopeAccepted>
{
    public Task Consume(ConsumeContext<EnvelopeAccepted> context) =>
        db.Outbox
            .Where(o => o.EnvelopeId == context.Message.EnvelopeId && (o.State == OutboxStates.Queued || o.State == OutboxStates.Submitted))
            .ExecuteUpdateAsync(u => u
                .SetProperty(o => o.State, OutboxStates.Accepted)
                .SetProperty(o => o.Recipients, context.Message.RecipientCodes.ToArray())
                .SetProperty(o => o.Reason, "ok")
                .SetProperty(o => o.UpdatedAt, context.Message.AcceptedAt), context.CancellationToken);
}

public sealed class EnvelopeRejectedConsumer(GatewayDbContext db, ILogger<EnvelopeRejectedConsumer> logger) : IConsumer<EnvelopeRejected>
{
    public async Task Consume(ConsumeContext<EnvelopeRejected> context)
    {
        var message = context.Message;
        var updated = await db.Outbox
            .Where(o => o.EnvelopeId == message.EnvelopeId && o.State != OutboxStates.Accepted)
            .ExecuteUpdateAsync(u => u
                .SetProperty(o => o.State, OutboxStates.Rejected)
                .SetProperty(o => o.Reason, message.Reason)
                .SetProperty(o => o.Detail, message.Detail)
                .SetProperty(o => o.UpdatedAt, message.RejectedAt), context.CancellationToken);
        if (updated == 0)
        {
            // Not ours: someone submitted in this agency's name. Worth an operator's attention.
            logger.LogWarning("The hub rejected envelope {EnvelopeId}, which this gateway did not send, in this agency's name: {Reason} {Detail}",
                message.EnvelopeId, message.Reason, message.Detail);
        }
    }
}

/// <summary>
/// The hub could not process one of this agency's submissions and holds it in its error queue (not final): kept as
/// a <c>submitted</c> document with the reason <c>processing-failed</c>, which the API shows as <c>held</c>. The
/// hub's answer after an operator re-sends or discards it replaces it; a held notice never replaces an answer.
/// </summary>
public sealed class EnvelopeHeldConsumer(GatewayDbContext db) : IConsumer<EnvelopeHeld>
{
    public Task Consume(ConsumeContext<EnvelopeHeld> context)
    {
        var message = context.Message;
        return db.Outbox
            .Where(o => o.EnvelopeId == message.EnvelopeId && (o.State == OutboxStates.Queued || o.State == OutboxStates.Submitted))
            .ExecuteUpdateAsync(u => u
                .SetProperty(o => o.State, OutboxStates.Submitted)
                .SetProperty(o => o.Reason, message.Reason)
                .SetProperty(o => o.Detail, message.Detail)
                .SetProperty(o => o.UpdatedAt, message.HeldAt), context.CancellationToken);
    }
}

public sealed class DeliveryConfirmedConsumer(GatewayDbContext db, ILogger<DeliveryConfirmedConsumer> logger) : IConsumer<DeliveryConfirmed>
{
    public async Task Consume(ConsumeContext<DeliveryConfirmed> context)
    {
        var message = context.Message;
        db.ChangeTracker.Clear();
        if (!await db.Outbox.AnyAsync(o => o.EnvelopeId == message.EnvelopeId, context.CancellationToken))
        {
            logger.LogWarning("Delivery confirmation for {EnvelopeId}, which this gateway did not send; ignored", message.EnvelopeId);
            return;
        }

        db.OutboxReceipts.Add(new OutboxReceiptRow
        {
            EnvelopeId = message.EnvelopeId,
            RecipientCode = message.RecipientCode,
            ReceiptId = message.ReceiptId,
            ReceivedAt = message.ReceivedAt,
            ConfirmedAt = message.ConfirmedAt,
        });
        try
        {
            await db.SaveChangesAsync(context.CancellationToken);
        }
        catch (Exception e) when (e.IsUniqueViolation())
        {
            // Already recorded: the hub re-sent it.
        }
    }
}

/// <summary>Records that a delivery of one of this agency's documents expired at the hub (deadline and retries spent).</summary>
public sealed class DeliveryExpiredConsumer(GatewayDbContext db) : IConsumer<DeliveryExpired>
{
    public async Task Consume(ConsumeContext<DeliveryExpired> context)
    {
        var message = context.Message;
        db.ChangeTracker.Clear();
        if (!await db.Outbox.AnyAsync(o => o.EnvelopeId == message.EnvelopeId, context.CancellationToken))
        {
            return;
        }

        db.OutboxExpiries.Add(new OutboxExpiryRow
        {
            EnvelopeId = message.EnvelopeId,
            RecipientCode = message.RecipientCode,
            DueAt = message.DueAt,
            ExpiredAt = message.ExpiredAt,
        });
        try
        {
            await db.SaveChangesAsync(context.CancellationToken);
        }
        catch (Exception e) when (e.IsUniqueViolation())
        {
            // Already recorded: the hub re-sent it.
        }
    }
}
