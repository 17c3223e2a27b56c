using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;

namespace Exchange.ServiceDefaults.Messaging;

/// <summary>
/// Stops the host when the broker is up but one of the queues this host consumes has had no consumer for longer than
/// <see cref="Limit"/>, so that its supervisor (systemd's <c>Restart=on-failure</c>, a container runtime) starts it afresh.
/// After a broker restart MassTransit 8.4 sometimes never reconnects a receive endpoint that had a message in hand
/// (MassTransit issues #2072, #5692, #6001): the process looks alive and healthy while its queue fills. The watchdog
/// asks the broker itself (a passive queue.declare answers the consumer count) and exits with code 75 (EX_TEMPFAIL).
/// </summary>
/// <remarks>
/// Kept with MassTransit 8.5.12 and RabbitMQ.Client 7.2.2. Two 1,000-document chaos runs on that version both passed
/// (lost 0, duplicates 0): with the watchdog, which never had to stop a host, recovery 225 s; with it off
/// (<c>Exchange:EndpointIdleLimit=00:00:00</c>), recovery 184 s. The stall it guards against was seen in one such run
/// with 8.4, so one clean run without it does not show that 8.5 is free of it, and the watchdog costs one passive
/// declare per queue every ten seconds.
/// </remarks>
public sealed class EndpointWatchdog(
    ServerSettings servers, IReadOnlyList<string> queues, TimeSpan limit, IHostApplicationLifetime lifetime, ILogger<EndpointWatchdog> logger)
    : BackgroundService
{
    public const int ExitCode = 75;

    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (limit <= TimeSpan.Zero)
        {
            return;
        }

        // The bus needs a moment to start consuming; a host that never manages to is the supervisor's to see.
        await Task.Delay(limit, stoppingToken);
        DateTimeOffset? withoutConsumerSince = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var idle = await IdleQueuesAsync(stoppingToken);
                withoutConsumerSince = idle.Count == 0 ? null : withoutConsumerSince ?? DateTimeOffset.UtcNow;
                if (withoutConsumerSince is { } since && DateTimeOffset.UtcNow - since > limit)
                {
                    logger.LogCritical("The broker is up but {Queues} has had no consumer since {Since:O}; stopping this host (exit code {ExitCode}) for its supervisor to start it again",
                        string.Join(", ", idle), since, ExitCode);
                    Environment.ExitCode = ExitCode;
                    lifetime.StopApplication();
                    return;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // broker down or restarting: nothing to judge until it answers again
            catch (Exception e)
#pragma warning restore CA1031
            {
                logger.LogDebug("Endpoint watchdog could not ask the broker ({Error}); trying again", e.Message);
                withoutConsumerSince = null;
            }

            await Task.Delay(Interval, stoppingToken);
        }
    }

    /// <summary>
    /// This host's queues that have no consumer. A connection of its own per check, closed at once: the watchdog then
    /// holds no connection (nor its buffers) between checks.
    /// </summary>
    private async Task<List<string>> IdleQueuesAsync(CancellationToken ct)
    {
        await using var connection = await servers.ConnectionFactory("exchange endpoint watchdog").CreateConnectionAsync(ct);
        await using var channel = await connection.CreateChannelAsync(cancellationToken: ct);
        var idle = new List<string>();
        foreach (var queue in queues)
        {
            if ((await channel.QueueDeclarePassiveAsync(queue, ct)).ConsumerCount == 0)
            {
                idle.Add(queue);
            }
        }

        return idle;
    }
}

public static class EndpointWatchdogExtensions
{
    /// <summary>The setting <c>Exchange:EndpointIdleLimit</c>: default one minute; <c>00:00:00</c> turns the watchdog off.</summary>
    public static TimeSpan IdleLimit(Microsoft.Extensions.Configuration.IConfiguration configuration) =>
        Microsoft.Extensions.Configuration.ConfigurationBinder.GetValue(configuration, "Exchange:EndpointIdleLimit", TimeSpan.FromMinutes(1));

    /// <summary>
    /// Watches <paramref name="queues"/> (the queues this host consumes) with <paramref name="servers"/>' login.
    /// </summary>
    public static IServiceCollection AddEndpointWatchdog(this IServiceCollection services, ServerSettings servers, TimeSpan limit, params string[] queues) =>
        services.AddHostedService(sp => new EndpointWatchdog(
            servers, queues, limit, sp.GetRequiredService<IHostApplicationLifetime>(), sp.GetRequiredService<ILogger<EndpointWatchdog>>()));
}
