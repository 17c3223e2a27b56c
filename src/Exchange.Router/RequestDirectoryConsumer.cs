using System.Collections.Concurrent;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Exchange.Router;

/// <summary>
/// Answers a gateway's request for the directory with the hub's newest version, when it is newer than the one the
/// gateway holds (docs/directory.md, "Gateways' copy of the directory"). The request is unsigned, like a handover report:
/// one that came through another agency's broker exchange is refused (logged and counted, no answer), and so is one
/// from a code this hub does not serve (<see cref="DirectoryRequests.Decide"/>). Every agency answered, or found up to
/// date, is remembered in <see cref="DirectorySubscribers"/>, so that <see cref="DirectoryPush"/> sends it the next version
/// as soon as it is imported.
/// </summary>
public sealed class RequestDirectoryConsumer(
    DirectoryCache directory,
    DirectorySubscribers subscribers,
    Forwarding forwarding,
    ExchangeNames names,
    BusOrigin origin,
    IOptions<RouterOptions> options,
    ILogger<RequestDirectoryConsumer> logger) : IConsumer<RequestDirectory>
{
    public async Task Consume(ConsumeContext<RequestDirectory> context)
    {
        var message = context.Message;
        if (!origin.Agrees(context, message.RequesterCode, OriginProof.LoginOnly, out var originDetail))
        {
            Refuse(ReasonCode.SenderMismatch, originDetail);
            return;
        }

        var current = await directory.CurrentAsync(context.CancellationToken);
        var decision = DirectoryRequests.Decide(current, message.RequesterCode, message.KnownVersion, forwarding.ThisHub(current));
        if (decision.Answer == DirectoryAnswer.Refused)
        {
            Refuse(decision.Reason, decision.Detail);
            return;
        }

        subscribers.Add(decision.Requester!);
        if (decision.Answer == DirectoryAnswer.Snapshot)
        {
            var snapshot = await directory.SnapshotAsync(context.CancellationToken);
            await DirectoryPush.SendAsync(context, names.AgencyQueue(decision.Requester!), snapshot, options.Value.DirectorySnapshotLifetime, context.CancellationToken);
            logger.LogInformation("Sent directory version {Version} to {Agency}", snapshot.Version, decision.Requester);
        }

        void Refuse(ReasonCode reason, string detail)
        {
            ExchangeTelemetry.RecordMessageRefused(nameof(RequestDirectory), reason.ToCode());
            logger.LogWarning("Refused a request for the directory from {Requester}: {Reason} {Detail}", Untrusted.Quote(message.RequesterCode), reason.ToCode(), detail);
        }
    }
}

/// <summary>
/// The agencies whose gateways asked this hub for the directory since it started: the hub has no other way to know
/// which agencies of the directory run a gateway. Kept in memory only; after a restart each gateway is back on the list
/// with its next periodic request (<c>Gateway:DirectoryRefresh</c>). Bounded by the directory: only agencies this hub
/// serves are added.
/// </summary>
public sealed class DirectorySubscribers
{
    private readonly ConcurrentDictionary<string, byte> _agencies = new(StringComparer.Ordinal);

    public void Add(string agencyCode) => _agencies.TryAdd(agencyCode, 0);

    public IReadOnlyList<string> All => [.. _agencies.Keys];
}

/// <summary>
/// Sends each new directory version to every gateway that asked for the directory (<see cref="DirectorySubscribers"/>),
/// when the hub notices it (<see cref="DirectoryCache"/>, within <c>Router:DirectoryRefresh</c> of an
/// <c>exchange directory import|merge|reparent</c>). The version the hub starts with is not pushed: gateways ask for it.
/// A push that fails is tried again at the next check; a gateway keeps only the highest version it gets, so a repeat is
/// harmless, and one that misses a push gets the version with its next periodic request.
/// </summary>
public sealed class DirectoryPush(
    DirectoryCache directory,
    DirectorySubscribers subscribers,
    Forwarding forwarding,
    ExchangeNames names,
    IBus bus,
    IOptions<RouterOptions> options,
    TimeProvider clock,
    ILogger<DirectoryPush> logger) : BackgroundService
{
    /// <summary>
    /// Sends a snapshot with a time to live (AMQP 0-9-1 <c>expiration</c>): one sent to a gateway that is down would
    /// otherwise wait in its queue however many newer versions follow, and the gateway asks for the newest when it starts.
    /// </summary>
    internal static async Task SendAsync(ISendEndpointProvider sender, string queue, DirectorySnapshot snapshot, TimeSpan lifetime, CancellationToken cancellationToken)
    {
        var endpoint = await sender.GetSendEndpoint(QueueSends.QueueAddress(queue));
        await QueueSends.WithinAsync(token => endpoint.Send(snapshot, s => s.TimeToLive = lifetime, token), QueueSends.ConfirmTimeout, cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        long? pushed = null;
        string? lastError = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var snapshot = await directory.SnapshotAsync(stoppingToken);
                if (pushed is { } before && snapshot.Version > before)
                {
                    await PushAsync(snapshot, stoppingToken);
                }

                pushed = Math.Max(pushed ?? 0, snapshot.Version);
                lastError = null;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A fault (database or broker down) must not end the loop: the push is tried again.
            catch (Exception e)
#pragma warning restore CA1031
            {
                // Once per distinct fault, not every second while it lasts (a hub with no directory yet, a database down).
                var error = e.GetType().Name + ": " + e.Message;
                if (error != lastError)
                {
                    logger.LogWarning("Could not push the directory to gateways ({Error}); trying again", error);
                    lastError = error;
                }
            }

            try
            {
                await Task.Delay(options.Value.DirectoryRefresh, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task PushAsync(DirectorySnapshot snapshot, CancellationToken cancellationToken)
    {
        var current = await directory.CurrentAsync(cancellationToken);
        var thisHub = forwarding.ThisHub(current);
        // Asked again under the new version: an agency that left the directory, or moved to another hub, gets nothing.
        var recipients = subscribers.All
            .Where(code => DirectoryRequests.Decide(current, code, null, thisHub).Answer == DirectoryAnswer.Snapshot)
            .ToList();
        await Task.WhenAll(recipients.Select(code =>
            SendAsync(bus, names.AgencyQueue(code), snapshot, options.Value.DirectorySnapshotLifetime, cancellationToken)));
        logger.LogInformation("Pushed directory version {Version} to {Count} gateway(s)", snapshot.Version, recipients.Count);
    }
}
