using System.Security.Cryptography.Pkcs;
using Exchange.Persistence.Evidence;
using Exchange.Persistence.Hub;
using Exchange.Signing.Evidence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Exchange.Router.Evidence;

/// <summary>
/// Gets an RFC 3161 timestamp for the newest signed checkpoint from the authority at
/// <c>Router:Evidence:TimestampUrl</c> and stores it in hub.evidence_checkpoint_timestamps (issue #16 item 12,
/// docs/evidence.md, "Anchors"). Apart from the sealer on purpose: an authority that is down or slow delays
/// timestamps, never sealing; the request is retried with backoff and the failures counted in the log.
/// </summary>
public sealed class CheckpointTimestamper(
    IServiceScopeFactory scopes,
    IOptions<EvidenceSealerOptions> options,
    TimeProvider clock,
    ILogger<CheckpointTimestamper> logger) : BackgroundService
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>Requests that failed since the router started (an operator's figure; also in the log).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    private long _failures;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (string.IsNullOrWhiteSpace(settings.TimestampUrl))
        {
            logger.LogWarning("Router:Evidence:TimestampUrl is not set: checkpoints get no RFC 3161 timestamp, so only the checkpoints gateways keep "
                + "show a truncation of the chain's newest records");
            return;
        }

        var url = new Uri(settings.TimestampUrl);
        string connectionString;
        await using (var scope = scopes.CreateAsyncScope())
        {
            connectionString = scope.ServiceProvider.GetRequiredService<HubDbContext>().Database.GetConnectionString()
                ?? throw new InvalidOperationException("The hub's database has no connection string.");
        }

        using var http = new HttpClient { Timeout = settings.TimestampTimeout };
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var delay = settings.TimestampInterval;
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(stoppingToken);
                if (await CheckpointTimestampStore.UnstampedNewestAsync(connection, stoppingToken) is { } checkpoint)
                {
                    var token = await CheckpointTimestamps.RequestAsync(http, url, checkpoint.Signature, stoppingToken);
                    var genTime = Rfc3161TimestampToken.TryDecode(token, out var decoded, out _) ? decoded!.TokenInfo.Timestamp : clock.GetUtcNow();
                    await CheckpointTimestampStore.StoreAsync(connection, checkpoint, token, genTime, clock.GetUtcNow(), stoppingToken);
                    logger.LogDebug("Timestamped evidence checkpoint {Index} at {GenTime}", checkpoint.Checkpoint.ChainIndex, genTime);
                }

                failures = 0;
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                failures++;
                Interlocked.Increment(ref _failures);
                delay = TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, settings.TimestampInterval.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 10))));
                if (failures == 1 || failures % 20 == 0)
                {
                    logger.LogWarning(e, "Timestamping the newest evidence checkpoint at {Url} failed ({Failures} time(s) in a row, {Total} in all); retrying in {Delay}",
                        url, failures, Failures, delay);
                }
            }

            try
            {
                await Task.Delay(delay, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }
}
