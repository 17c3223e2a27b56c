using System.Collections.Concurrent;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Exchange.ServiceDefaults.Messaging;

/// <summary>
/// Stops the host when one of its receive endpoints stays faulted, so that its supervisor (systemd's
/// <c>Restart=on-failure</c>, a container runtime) starts it afresh. After a broker restart MassTransit 8.4 sometimes
/// leaves an endpoint faulted without consuming again (MassTransit issues #5692, #6001): the process looks alive, its
/// queue has no consumer, and documents wait until someone notices. The host exits with code 75 (EX_TEMPFAIL) instead.
/// Setting <c>Exchange:EndpointFaultedLimit</c> (default one minute; <c>00:00:00</c> turns it off).
/// </summary>
public sealed class EndpointWatchdog(IConfiguration configuration, IHostApplicationLifetime lifetime, ILogger<EndpointWatchdog> logger)
    : BackgroundService, IReceiveEndpointObserver
{
    public const int ExitCode = 75;

    private readonly ConcurrentDictionary<Uri, DateTimeOffset> _faultedSince = new();
    private readonly TimeSpan _limit = configuration.GetValue("Exchange:EndpointFaultedLimit", TimeSpan.FromMinutes(1));

    public Task Ready(ReceiveEndpointReady ready)
    {
        _faultedSince.TryRemove(ready.InputAddress, out _);
        return Task.CompletedTask;
    }

    public Task Faulted(ReceiveEndpointFaulted faulted)
    {
        _faultedSince.TryAdd(faulted.InputAddress, DateTimeOffset.UtcNow);
        return Task.CompletedTask;
    }

    public Task Stopping(ReceiveEndpointStopping stopping) => Task.CompletedTask;

    public Task Completed(ReceiveEndpointCompleted completed)
    {
        _faultedSince.TryRemove(completed.InputAddress, out _);
        return Task.CompletedTask;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_limit <= TimeSpan.Zero)
        {
            return;
        }

        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            var stuck = _faultedSince.FirstOrDefault(f => DateTimeOffset.UtcNow - f.Value > _limit);
            if (stuck.Key is not null)
            {
                logger.LogCritical("Receive endpoint {Endpoint} has been faulted since {Since:O} without recovering; stopping this host (exit code {ExitCode}) for its supervisor to start it again",
                    stuck.Key, stuck.Value, ExitCode);
                Environment.ExitCode = ExitCode;
                lifetime.StopApplication();
                return;
            }
        }
    }
}

public static class EndpointWatchdogExtensions
{
    /// <summary>Registers the <see cref="EndpointWatchdog"/> as a hosted service and as an observer of every receive endpoint.</summary>
    public static IServiceCollection AddEndpointWatchdog(this IServiceCollection services)
    {
        services.AddSingleton<EndpointWatchdog>();
        services.AddHostedService(sp => sp.GetRequiredService<EndpointWatchdog>());
        services.AddReceiveEndpointObserver(sp => sp.GetRequiredService<EndpointWatchdog>());
        return services;
    }
}
