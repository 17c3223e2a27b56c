using Exchange.Contracts;
using Exchange.Core;
using Exchange.Persistence.Hub;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Exchange.Router;

/// <summary>
/// Chases deliveries past their deadline (<see cref="DeadlineOptions"/>): forwards each again while it has
/// retries left, then marks it expired with AcceptanceRejectionExpiry evidence and tells the sender. Each
/// message is sent before the state that records it is saved, so a crash in between repeats the send (which
/// every consumer treats as a duplicate) rather than losing it.
/// </summary>
public sealed class DeadlineChaser(
    IServiceScopeFactory scopes,
    ExchangeNames names,
    Forwarding forwarding,
    IOptions<RouterOptions> router,
    IOptions<DeadlineOptions> deadlines,
    TimeProvider clock,
    ILogger<DeadlineChaser> logger,
    DirectoryCache? directory = null) : BackgroundService
{
    private const int BatchSize = 100;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ChaseAsync(stoppingToken);
                await Task.Delay(deadlines.Value.CheckInterval, clock, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A fault (database or broker down) must not stop the chaser: it tries again next round.
            catch (Exception e)
#pragma warning restore CA1031
            {
                logger.LogWarning("Deadline check failed ({Error}); retrying", e.GetType().Name + ": " + e.Message);
                await Task.Delay(deadlines.Value.CheckInterval, clock, stoppingToken);
            }
        }
    }

    private async Task ChaseAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        var bus = scope.ServiceProvider.GetRequiredService<ISendEndpointProvider>();
        // For the recipient's tier on the missed-deadline count; the directory as last loaded, no query for it.
        var agencies = directory?.LastLoaded;
        var now = clock.GetUtcNow();
        var late = await db.Deliveries
            .Where(d => d.State == DeliveryStates.Forwarded && d.DueAt != null && d.DueAt < now)
            .OrderBy(d => d.DueAt)
            .Take(BatchSize)
            .ToListAsync(cancellationToken);
        var ids = late.Select(d => d.EnvelopeId).Distinct().ToList();
        var envelopes = await db.Envelopes.AsNoTracking().Where(e => ids.Contains(e.EnvelopeId)).ToDictionaryAsync(e => e.EnvelopeId, cancellationToken);

        foreach (var delivery in late)
        {
            var envelope = envelopes[delivery.EnvelopeId];
            var tier = agencies.TierNameOf(delivery.RecipientCode);
            if (delivery.Attempts <= deadlines.Value.Retries)
            {
                await forwarding.SendAsync(bus, envelope, [delivery], cancellationToken);
                delivery.Attempts++;
                delivery.DueAt = now + deadlines.Value.For(forwarding.Header(envelope).Priority);
                logger.LogWarning("Delivery of {EnvelopeId} to {Recipient} missed its deadline; forwarded again (attempt {Attempt})",
                    envelope.EnvelopeId, delivery.RecipientCode, delivery.Attempts);
            }
            else
            {
                await bus.SendToQueueAsync(names.AgencyQueue(envelope.SenderCode),
                    new DeliveryExpired(envelope.EnvelopeId, envelope.SenderCode, delivery.RecipientCode, delivery.DueAt!.Value, now), cancellationToken);
                delivery.State = DeliveryStates.Expired;
                db.AddEvidence(EvidenceKind.AcceptanceRejectionExpiry, envelope.EnvelopeId, delivery.RecipientCode, ReasonCode.Ok,
                    $"No verified receipt by {delivery.DueAt:O} after {delivery.Attempts} forwarding(s); a later receipt still records the delivery.",
                    envelope.PackageSha256, router.Value.HubName, now);
                logger.LogWarning("Delivery of {EnvelopeId} to {Recipient} expired", envelope.EnvelopeId, delivery.RecipientCode);
            }

            try
            {
                await db.SaveChangesAsync(cancellationToken);
                ExchangeTelemetry.RecordDeadlineMissed(tier);
            }
            catch (DbUpdateConcurrencyException)
            {
                // A receipt (or another hub instance) moved this delivery on meanwhile; it is no longer late. Forget only
                // its own changes (the delivery and the expiry evidence beside it): clearing the whole tracker would
                // detach the rest of the batch, whose state changes would then be silently not saved while their
                // messages and evidence went out, so the next round would expire them again (evidence twice).
                foreach (var entry in db.ChangeTracker.Entries().Where(e => e.State is not EntityState.Unchanged).ToList())
                {
                    entry.State = EntityState.Detached;
                }
            }
        }
    }
}
