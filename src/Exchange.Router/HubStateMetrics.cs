using System.Diagnostics.Metrics;
using Exchange.Core;
using Exchange.Persistence.Hub;
using Exchange.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Exchange.Router;

/// <summary>
/// The hub's state as gauges of the "Exchange.Hub" meter, read from its database by one query at most every few
/// seconds (<see cref="CachedReading{T}"/>): deliveries waiting for a receipt by the recipient's tier and by age,
/// those of them past their deadline, evidence records not yet sealed, and the age of the newest signed checkpoint.
/// Every measurement carries the hub's name, so that hubs sharing a process (or a Prometheus) stay apart.
/// </summary>
public sealed class HubStateMetrics(
    IServiceScopeFactory scopes, DirectoryCache directory, IOptions<RouterOptions> options, TimeProvider clock, ILogger<HubStateMetrics> logger)
    : IHostedService, IDisposable
{
    public const string MeterName = "Exchange.Hub";

    /// <summary>How long one reading serves: scrapers every 15 s or so, several gauges per scrape, one query.</summary>
    public static readonly TimeSpan ReadingMaxAge = TimeSpan.FromSeconds(5);

    /// <summary>The age buckets of pending deliveries (tag <c>age</c>), youngest first, with their upper bounds.</summary>
    public static readonly IReadOnlyList<(string Name, TimeSpan? Under)> AgeBuckets =
    [
        ("under_1m", TimeSpan.FromMinutes(1)),
        ("1m_to_1h", TimeSpan.FromHours(1)),
        ("1h_to_1d", TimeSpan.FromDays(1)),
        ("over_1d", null),
    ];

    static readonly string[] Tiers = [Tier.Province.Name(), Tier.District.Name(), Tier.Commune.Name(), Tier.Central.Name()];

    // One statement, one round trip: pending deliveries grouped by recipient, age bucket and lateness (the deadline
    // chaser's index serves the state filter), unsealed evidence (a partial index holds exactly those rows), and the
    // newest checkpoint (the primary key's last entry).
    const string Query = """
        select 'pending' as part, recipient_code,
               case when forwarded_at > now() - interval '1 minute' then 0
                    when forwarded_at > now() - interval '1 hour' then 1
                    when forwarded_at > now() - interval '1 day' then 2
                    else 3 end as bucket,
               coalesce(due_at < now(), false) as overdue, count(*) as n, null::double precision as seconds
          from hub.deliveries where state = 'forwarded' group by 2, 3, 4
        union all
        select 'unsealed', null, null, null, count(*), null from hub.evidence where chain_index is null
        union all
        select 'checkpoint', null, null, null, count(*), extract(epoch from now() - max(sealed_at))::double precision
          from (select sealed_at from hub.evidence_checkpoints order by chain_index desc limit 1) newest
        """;

    private Meter? _meter;
    private CachedReading<HubState>? _state;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _state = new CachedReading<HubState>(ReadAsync, ReadingMaxAge, TimeSpan.FromSeconds(3), clock, logger);
        _meter = new Meter(MeterName);
        _meter.CreateObservableGauge("exchange.deliveries.pending", () => Measure(s => s.Pending), "{delivery}",
            "Deliveries forwarded and waiting for the recipient's signed receipt, by the recipient's tier and by age.");
        _meter.CreateObservableGauge("exchange.deliveries.overdue", () => Measure(s => s.Overdue), "{delivery}",
            "Deliveries still waiting for a receipt after their deadline, by the recipient's tier.");
        _meter.CreateObservableGauge("exchange.evidence.unsealed", () => Measure(s => s.Unsealed), "{record}",
            "Evidence records written but not yet chained and sealed.");
        _meter.CreateObservableGauge("exchange.evidence.checkpoint.age", () => Measure(s => s.CheckpointAge), "s",
            "Seconds since the newest signed checkpoint of the evidence chain was sealed; absent before the first.");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _meter?.Dispose();
        _meter = null;
    }

    private IEnumerable<Measurement<double>> Measure(Func<HubState, IEnumerable<Measurement<double>>> pick) =>
        _state?.Current() is { } state ? pick(state) : [];

    private async Task<HubState> ReadAsync(CancellationToken cancellationToken)
    {
        var hub = new KeyValuePair<string, object?>("hub", options.Value.HubName);
        var pending = new Dictionary<(string Tier, int Bucket), long>();
        var overdue = new Dictionary<string, long>();
        foreach (var tier in Tiers)
        {
            overdue[tier] = 0;
            for (var bucket = 0; bucket < AgeBuckets.Count; bucket++)
                pending[(tier, bucket)] = 0;
        }

        long unsealed = 0;
        double? checkpointAge = null;
        var agencies = directory.LastLoaded;

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(cancellationToken);
        await using (var command = new NpgsqlCommand(Query, connection))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var count = reader.GetInt64(4);
                switch (reader.GetString(0))
                {
                    case "pending":
                        var tier = agencies.TierNameOf(reader.GetString(1));
                        var key = (tier, reader.GetInt32(2));
                        pending[key] = pending.GetValueOrDefault(key) + count;
                        if (reader.GetBoolean(3))
                            overdue[tier] = overdue.GetValueOrDefault(tier) + count;
                        break;
                    case "unsealed":
                        unsealed = count;
                        break;
                    case "checkpoint":
                        checkpointAge = reader.IsDBNull(5) ? null : Math.Max(0, reader.GetDouble(5));
                        break;
                }
            }
        }

        return new HubState(
            [.. pending.Select(p => new Measurement<double>(p.Value, hub, new("tier", p.Key.Tier), new("age", AgeBuckets[p.Key.Bucket].Name)))],
            [.. overdue.Select(o => new Measurement<double>(o.Value, hub, new("tier", o.Key)))],
            [new Measurement<double>(unsealed, hub)],
            checkpointAge is { } age ? [new Measurement<double>(age, hub)] : []);
    }

    private sealed record HubState(
        IReadOnlyList<Measurement<double>> Pending,
        IReadOnlyList<Measurement<double>> Overdue,
        IReadOnlyList<Measurement<double>> Unsealed,
        IReadOnlyList<Measurement<double>> CheckpointAge);
}
