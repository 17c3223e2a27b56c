using System.Diagnostics;
using System.Threading.Channels;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Persistence;
using Exchange.Persistence.Gateway;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Broker;
using Exchange.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Exchange.Gateway;

/// <summary>
/// Store and forward: the HTTP API stores a signed document as <c>queued</c> and returns at once; this
/// service hands queued documents, statuses and handover reports to the bus (with publisher confirms) and marks them <c>submitted</c>.
/// While the bus or the hub is down, documents stay queued and are retried; nothing accepted is dropped.
/// </summary>
public sealed class OutboxDispatcher(
    IServiceScopeFactory scopes,
    GatewayHubAddress hubAddress,
    PackageStore store,
    IOptions<GatewayOptions> options,
    ILogger<OutboxDispatcher> logger) : BackgroundService
{
    private const int BatchSize = 64;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    /// <summary>Asks the dispatcher to look for queued documents now.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var code = AgencyCode.Parse(options.Value.AgencyCode).Value;
        while (!stoppingToken.IsCancellationRequested)
        {
            var more = false;
            try
            {
                more = await DispatchBatchAsync(code, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A fault here (bus or database down) must not end the loop: documents wait and are retried.
            catch (Exception e)
#pragma warning restore CA1031
            {
                logger.LogWarning("Could not hand queued documents to the bus ({Error}); retrying in {Delay}", e.GetType().Name + ": " + e.Message, options.Value.OutboxRetry);
            }

            if (more)
            {
                continue;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(options.Value.OutboxRetry);
            try
            {
                await _wake.Reader.ReadAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                // Periodic retry of anything still queued.
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task<bool> DispatchBatchAsync(string agencyCode, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<GatewayDbContext>();
        var sendEndpoints = scope.ServiceProvider.GetRequiredService<ISendEndpointProvider>();
        var hub = await sendEndpoints.GetSendEndpoint(hubAddress.Address);
        var moreStatuses = await DispatchStatusesAsync(db, hub, agencyCode, cancellationToken);
        await DispatchHandoversAsync(db, hub, agencyCode, cancellationToken);
        var queued = await db.Outbox.AsNoTracking()
            .Where(o => o.State == OutboxStates.Queued)
            .OrderBy(o => o.CreatedAt)
            .Take(BatchSize)
            .ToListAsync(cancellationToken);
        if (queued.Count == 0)
        {
            return moreStatuses;
        }

        await Task.WhenAll(queued.Select(async row =>
        {
            // Continue the trace of the HTTP request that submitted the document, so one trace spans the sender's
            // gateway, the hub and the recipient's gateway.
            ActivityContext.TryParse(row.TraceParent, null, out var parent);
            using var activity = ExchangeTelemetry.Source.StartActivity("outbox send", ActivityKind.Producer, parent);
            activity?.SetTag("exchange.envelope_id", row.EnvelopeId);
            // A stored package's chunks go first, on the same queue (docs/performance.md, "Large documents").
            var stored = row.Stored();
            if (stored is not null)
            {
                await hub.SendChunksAsync(store, row.EnvelopeId, stored, agencyCode, cancellationToken);
            }

            await hub.SendConfirmedAsync(new SubmitEnvelope(row.EnvelopeId, agencyCode, row.Recipients, row.Package, row.Signature, row.CreatedAt, stored), cancellationToken);
        }));

        var ids = queued.Select(r => r.EnvelopeId).ToList();
        var now = DateTimeOffset.UtcNow;
        // Only rows still queued: the hub's answer may already have arrived and moved a row on.
        await db.Outbox
            .Where(o => ids.Contains(o.EnvelopeId) && o.State == OutboxStates.Queued)
            .ExecuteUpdateAsync(u => u.SetProperty(o => o.State, OutboxStates.Submitted).SetProperty(o => o.UpdatedAt, now), cancellationToken);
        logger.LogDebug("Handed {Count} document(s) to the hub", queued.Count);
        return queued.Count == BatchSize || moreStatuses;
    }

    private static async Task DispatchHandoversAsync(GatewayDbContext db, ISendEndpoint hub, string agencyCode, CancellationToken cancellationToken)
    {
        var handed = await db.Inbox.AsNoTracking()
            .Where(i => i.HandedOverAt != null && !i.HandoverReported)
            .Select(i => new { i.EnvelopeId, i.HandedOverAt })
            .Take(BatchSize)
            .ToListAsync(cancellationToken);
        foreach (var item in handed)
        {
            await hub.SendConfirmedAsync(new ReportHandover(item.EnvelopeId, agencyCode, item.HandedOverAt!.Value), cancellationToken);
            await db.Inbox.Where(i => i.EnvelopeId == item.EnvelopeId)
                .ExecuteUpdateAsync(u => u.SetProperty(i => i.HandoverReported, true), cancellationToken);
        }

        // The national axis's `updateStatus fail` (docs/national-axis.md): reported once, as a failed handover.
        var failed = await db.Inbox.AsNoTracking()
            .Where(i => i.TakenState == TakenStates.Fail && !i.FailureReported)
            .Select(i => new { i.EnvelopeId, i.TakenAt })
            .Take(BatchSize)
            .ToListAsync(cancellationToken);
        foreach (var item in failed)
        {
            await hub.SendConfirmedAsync(new ReportHandover(item.EnvelopeId, agencyCode, item.TakenAt!.Value,
                "The recipient's document system could not take the package in (national-axis updateStatus fail)."), cancellationToken);
            await db.Inbox.Where(i => i.EnvelopeId == item.EnvelopeId)
                .ExecuteUpdateAsync(u => u.SetProperty(i => i.FailureReported, true), cancellationToken);
        }
    }

    private static async Task<bool> DispatchStatusesAsync(GatewayDbContext db, ISendEndpoint hub, string agencyCode, CancellationToken cancellationToken)
    {
        var queued = await db.Statuses.AsNoTracking()
            .Where(s => s.State == StatusStates.Queued)
            .OrderBy(s => s.CreatedAt)
            .Take(BatchSize)
            .ToListAsync(cancellationToken);
        if (queued.Count == 0)
        {
            return false;
        }

        await Task.WhenAll(queued.Select(async row =>
        {
            ActivityContext.TryParse(row.TraceParent, null, out var parent);
            using var activity = ExchangeTelemetry.Source.StartActivity("status send", ActivityKind.Producer, parent);
            await hub.SendConfirmedAsync(new SubmitStatus(row.StatusId, row.EnvelopeId, agencyCode, row.RecipientCode, row.Package, row.Signature, row.CreatedAt), cancellationToken);
        }));
        var ids = queued.Select(r => r.StatusId).ToList();
        var now = DateTimeOffset.UtcNow;
        await db.Statuses
            .Where(s => ids.Contains(s.StatusId) && s.State == StatusStates.Queued)
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.State, StatusStates.Submitted).SetProperty(s => s.UpdatedAt, now), cancellationToken);
        return queued.Count == BatchSize;
    }
}
