using Exchange.Core;
using Exchange.Persistence.Evidence;
using Exchange.Persistence.Hub;
using Exchange.Signing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Exchange.Router.Evidence;

/// <summary>
/// Seals the hub's evidence into a hash chain, off the hot path: consumers insert evidence rows unsealed in the
/// transaction of the state they prove (no global lock, no ordering between consumers), and this service chains
/// them afterwards in seq order, a batch per transaction, under a PostgreSQL advisory lock so that one router at a
/// time extends the chain. It signs a checkpoint every <see cref="EvidenceSealerOptions.CheckpointEvery"/> records,
/// every <see cref="EvidenceSealerOptions.CheckpointInterval"/>, and when it goes idle. It wakes at least every
/// <see cref="EvidenceSealerOptions.PollInterval"/>, which bounds the sealing lag. See docs/evidence.md.
/// </summary>
public sealed class EvidenceSealer(
    IServiceScopeFactory scopes,
    HubSeal seal,
    NewestCheckpoint newest,
    IOptions<EvidenceSealerOptions> options,
    TimeProvider clock,
    ILogger<EvidenceSealer> logger) : BackgroundService
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan FinalFlushTimeout = TimeSpan.FromSeconds(5);

    // Another router may hold the sealing lock and sign the checkpoints: the newest is re-read this often.
    private static readonly TimeSpan NewestRefresh = TimeSpan.FromSeconds(5);

    private readonly EnvelopeHeadCache _heads = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        var signer = seal.Signer;
        string connectionString;
        await using (var scope = scopes.CreateAsyncScope())
        {
            connectionString = scope.ServiceProvider.GetRequiredService<HubDbContext>().Database.GetConnectionString()
                ?? throw new InvalidOperationException("The hub's database has no connection string.");
        }

        Func<EvidenceCheckpoint, (byte[], byte[])>? sign = signer is null
            ? null
            : checkpoint => (signer.SignDetached(EvidenceChain.Canonical(checkpoint), checkpoint.SealedAt), signer.Certificate.RawData);
        var lastActivity = clock.GetUtcNow();
        var newestReadAt = DateTimeOffset.MinValue;
        var failures = 0;
        while (!stoppingToken.IsCancellationRequested)
        {
            var now = clock.GetUtcNow();
            SealOutcome outcome;
            try
            {
                var policy = new CheckpointPolicy(settings.CheckpointEvery, settings.CheckpointInterval, IfIdle: now - lastActivity >= settings.CheckpointIdle);
                outcome = await SealOnceAsync(connectionString, settings.BatchSize, policy, sign, now, stoppingToken);
                failures = 0;
                if (outcome.Checkpoint is not null || now - newestReadAt >= NewestRefresh)
                {
                    newestReadAt = now;
                    await RefreshNewestAsync(connectionString, stoppingToken);
                }
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Faults (database down, a damaged chain head, a signing failure) delay sealing and never lose
                // evidence: the rows stay unsealed until a round succeeds. The sealer keeps trying rather than stop
                // the router, whose consumers do not depend on it.
                failures++;
                var backoff = TimeSpan.FromMilliseconds(Math.Min(MaxBackoff.TotalMilliseconds, settings.PollInterval.TotalMilliseconds * Math.Pow(2, Math.Min(failures, 10))));
                if (failures == 1 || failures % 20 == 0)
                {
                    logger.LogWarning(e, "Sealing evidence failed ({Failures} time(s) in a row); retrying in {Backoff}", failures, backoff);
                }

                await Delay(backoff, stoppingToken);
                continue;
            }

            if (outcome.Sealed > 0)
            {
                lastActivity = now;
                logger.LogDebug("Sealed {Count} evidence record(s); chain head {Head}", outcome.Sealed, outcome.Head);
            }

            if (outcome.Checkpoint is { } checkpoint)
            {
                logger.LogDebug("Signed evidence checkpoint {Index}", checkpoint.ChainIndex);
            }

            if (!outcome.LockHeld || outcome.Sealed < settings.BatchSize)
            {
                await Delay(settings.PollInterval, stoppingToken);
            }
        }

        await FinalFlushAsync(connectionString, settings, sign);
    }

    /// <summary>On shutdown, seals what is left and signs a checkpoint, so that a stopped hub's evidence is complete.</summary>
    private async Task FinalFlushAsync(string connectionString, EvidenceSealerOptions settings, Func<EvidenceCheckpoint, (byte[], byte[])>? sign)
    {
        using var timeout = new CancellationTokenSource(FinalFlushTimeout);
        try
        {
            SealOutcome outcome;
            do
            {
                outcome = await SealOnceAsync(connectionString, settings.BatchSize, new CheckpointPolicy(settings.CheckpointEvery, settings.CheckpointInterval, IfIdle: true), sign, clock.GetUtcNow(), timeout.Token);
            }
            while (outcome.LockHeld && outcome.Sealed > 0);
        }
        catch (Exception e)
        {
            logger.LogWarning(e, "Could not seal the last evidence records on shutdown; the next router start seals them");
        }
    }

    /// <summary>Reads the newest committed checkpoint for the gateways to keep (<see cref="NewestCheckpoint"/>).</summary>
    private async Task RefreshNewestAsync(string connectionString, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        newest.Offer(await EvidenceChainStore.NewestCheckpointAsync(connection, cancellationToken));
    }

    private async Task<SealOutcome> SealOnceAsync(
        string connectionString, int batchSize, CheckpointPolicy policy, Func<EvidenceCheckpoint, (byte[], byte[])>? sign, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return await EvidenceChainStore.SealAsync(connection, batchSize, policy, sign, now, cancellationToken, _heads);
    }

    private async Task Delay(TimeSpan delay, CancellationToken cancellationToken)
    {
        try
        {
            await Task.Delay(delay, clock, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}

public static class EvidenceSealerExtensions
{
    /// <summary>
    /// Registers the <see cref="EvidenceSealer"/> with its settings (<c>Router:Evidence</c>, <c>Router:SealPkcs12Path</c>,
    /// <c>Router:SealPkcs12Password</c>). Needs the hub's <see cref="HubDbContext"/> (AddRouter registers it); register
    /// after the migrations and before the bus, so that on shutdown the bus stops first and the sealer seals the last
    /// records.
    /// </summary>
    public static IServiceCollection AddEvidenceSealer(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<EvidenceSealerOptions>().Configure(o =>
        {
            configuration.GetSection(EvidenceSealerOptions.Section).Bind(o);
            o.SealPkcs12Path ??= configuration["Router:SealPkcs12Path"];
            o.SealPkcs12Password ??= configuration["Router:SealPkcs12Password"];
        }).Validate(o => o.CheckpointEvery >= 1 && o.BatchSize >= 1 && o.PollInterval > TimeSpan.Zero && o.CheckpointInterval > TimeSpan.Zero
                && o.TimestampInterval > TimeSpan.Zero && o.TimestampTimeout > TimeSpan.Zero
                && (string.IsNullOrWhiteSpace(o.TimestampUrl) || Uri.TryCreate(o.TimestampUrl, UriKind.Absolute, out _)),
            "Router:Evidence: CheckpointEvery and BatchSize must be at least 1, PollInterval, CheckpointInterval, TimestampInterval and TimestampTimeout positive, TimestampUrl an absolute URL.");
        services.AddSingleton<HubSeal>();
        services.TryAddSingleton<NewestCheckpoint>();
        services.AddHostedService<EvidenceSealer>();
        services.AddHostedService<CheckpointTimestamper>();
        return services;
    }
}
