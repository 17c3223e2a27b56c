using Exchange.Contracts;
using Exchange.Persistence;
using Exchange.Persistence.Gateway;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Exchange.Gateway;

// The hub's answers to this gateway's submissions, recorded in the outbox for the document system to read.

/// <summary>
/// The hub accepted a submission. Its recipients become the agencies the hub resolved the package's addresses to
/// (groups expanded, aliases and merged agencies' old codes resolved), whose receipts the sender then waits for. The
/// hub's newest signed checkpoint, when attached, is kept if newer (<see cref="HubCheckpoints"/>, issue #16 item 12).
/// </summary>
public sealed class EnvelopeAcceptedConsumer(
    GatewayDbContext db, Exchange.Signing.SignatureVerifier verifier, HubSealPin pin, TimeProvider clock, ILogger<EnvelopeAcceptedConsumer> logger) : IConsumer<EnvelopeAccepted>
{
    public async Task Consume(ConsumeContext<EnvelopeAccepted> context)
    {
        await db.Outbox
            .Where(o => o.EnvelopeId == context.Message.EnvelopeId && (o.State == OutboxStates.Queued || o.State == OutboxStates.Submitted))
            .ExecuteUpdateAsync(u => u
                .SetProperty(o => o.State, OutboxStates.Accepted)
                .SetProperty(o => o.Recipients, context.Message.RecipientCodes.ToArray())
                .SetProperty(o => o.Reason, "ok")
                .SetProperty(o => o.UpdatedAt, context.Message.AcceptedAt), context.CancellationToken);
        if (context.Message.Checkpoint is { } checkpoint
            && await HubCheckpoints.KeepAsync(db, checkpoint, verifier, pin.Sha256, clock.GetUtcNow(), context.CancellationToken) is { } refused)
        {
            // Not the hub's: kept nowhere, and worth an operator's attention (the acceptance itself stands).
            logger.LogWarning("Refused the evidence checkpoint attached to the acceptance of envelope {EnvelopeId}: {Reason}", context.Message.EnvelopeId, refused);
        }
    }
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

/// <summary>
/// Records the hub's confirmations that recipients stored this agency's documents. A directive to a thousand wards is
/// confirmed a thousand times within seconds, so confirmations are consumed in batches: one query and one insert for
/// the batch. A confirmation recorded before (the hub re-sent it) is skipped.
/// </summary>
public sealed class DeliveryConfirmedConsumer(GatewayDbContext db, ILogger<DeliveryConfirmedConsumer> logger) : IConsumer<Batch<DeliveryConfirmed>>
{
    /// <summary>At most this many confirmations in a batch, and at most this long waiting for a batch to fill.</summary>
    public static void Batching(BatchOptions batch) => batch.SetMessageLimit(32).SetTimeLimit(TimeSpan.FromMilliseconds(10));

    public async Task Consume(ConsumeContext<Batch<DeliveryConfirmed>> context)
    {
        var messages = context.Message.Select(m => m.Message).ToList();
        var envelopeIds = messages.Select(m => m.EnvelopeId).Distinct().ToList();
        var ours = (await db.Outbox.Where(o => envelopeIds.Contains(o.EnvelopeId)).Select(o => o.EnvelopeId).ToListAsync(context.CancellationToken)).ToHashSet();
        foreach (var stranger in envelopeIds.Where(id => !ours.Contains(id)))
        {
            logger.LogWarning("Delivery confirmation for {EnvelopeId}, which this gateway did not send; ignored", stranger);
        }

        var confirmed = messages.Where(m => ours.Contains(m.EnvelopeId)).DistinctBy(m => (m.EnvelopeId, m.RecipientCode)).ToList();
        if (confirmed.Count == 0)
        {
            return;
        }

        await db.Database.ExecuteSqlRawAsync(
            $"""
             insert into {GatewayDbContext.Schema}.outbox_receipts (envelope_id, recipient_code, receipt_id, received_at, confirmed_at)
             select * from unnest(@envelope_ids, @recipient_codes, @receipt_ids, @received_at, @confirmed_at)
             on conflict (envelope_id, recipient_code) do nothing
             """,
            [
                new NpgsqlParameter("envelope_ids", confirmed.Select(m => m.EnvelopeId).ToArray()),
                new NpgsqlParameter("recipient_codes", confirmed.Select(m => m.RecipientCode).ToArray()),
                new NpgsqlParameter("receipt_ids", confirmed.Select(m => m.ReceiptId).ToArray()),
                // timestamptz takes UTC only (Npgsql refuses another offset).
                new NpgsqlParameter("received_at", confirmed.Select(m => m.ReceivedAt.ToUniversalTime()).ToArray()),
                new NpgsqlParameter("confirmed_at", confirmed.Select(m => m.ConfirmedAt.ToUniversalTime()).ToArray()),
            ],
            context.CancellationToken);
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

/// <summary>
/// Records what a recipient's document system did with one of this agency's documents, as the hub recorded it: taken in,
/// or not (<see cref="HandoverRecorded.Failure"/>). A handover replaces a failure; nothing replaces a handover.
/// </summary>
public sealed class HandoverRecordedConsumer(GatewayDbContext db) : IConsumer<HandoverRecorded>
{
    public async Task Consume(ConsumeContext<HandoverRecorded> context)
    {
        var message = context.Message;
        var ct = context.CancellationToken;
        if (!await db.Outbox.AnyAsync(o => o.EnvelopeId == message.EnvelopeId, ct))
        {
            return;
        }

        await db.Database.ExecuteSqlInterpolatedAsync(
            $"""
             insert into gateway.outbox_handovers (envelope_id, recipient_code, handed_over_at, failure)
             values ({message.EnvelopeId}, {message.RecipientCode}, {message.HandedOverAt.ToUniversalTime()}, {message.Failure})
             on conflict (envelope_id, recipient_code) do update set handed_over_at = excluded.handed_over_at, failure = excluded.failure
             where gateway.outbox_handovers.failure is not null and excluded.failure is null
             """, ct);
    }
}
