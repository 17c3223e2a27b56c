using Exchange.Cli.Hosting;
using Exchange.Gateway;
using Exchange.ServiceDefaults;
using Exchange.Signing;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Cli.Bench;

/// <summary>What one measured batch of documents did: receipts confirmed, over how long, and latency percentiles.</summary>
internal sealed record PathMeasurement(int Confirmed, double Seconds, double DocsPerSecond, double P50Ms, double P95Ms, double P99Ms);

/// <summary>
/// The real path for the bench: a sender's gateway, the hub and a recipient's gateway in this process on the local
/// servers, with per-agency broker users. A document counts once the sender's gateway has recorded its signed receipt;
/// its latency runs from the HTTP submission being stored to that receipt being recorded.
/// </summary>
internal sealed class PathBench : IAsyncDisposable
{
    public const string Prefix = "bench-";

    private const string Sender = SampleDirectory.HomeAffairs;
    private const string Recipient = SampleDirectory.PhucXaWard;

    private readonly LocalDeployment _deployment;
    private readonly GatewayClient _client;
    private readonly byte[] _payload;
    private readonly List<HostProcess> _extraRouters = [];

    private PathBench(LocalDeployment deployment, int size)
    {
        _deployment = deployment;
        _client = new GatewayClient(deployment.Gateways[Sender].Http);
        _payload = new byte[size];
        new Random(42).NextBytes(_payload);
    }

    /// <param name="routers">Hub instances competing for the hub's queues: the one in this process, and the rest as processes of their own.</param>
    public static async Task<PathBench> StartAsync(int size, int routers, IProgress<string> progress, CancellationToken ct)
    {
        var settings = new DeploymentSettings(
            ServerSettings.FromEnvironment(), ExchangeHome.Pki, SampleDirectory.Load(), Prefix, GatewayAgencies: [Sender, Recipient], PerAgencyBrokerUsers: true) { FreshDatabases = true };
        var bench = new PathBench(await LocalDeployment.StartAsync(settings, progress, ct), size);
        var hubSettings = bench._deployment.HubSettings()
            .Where(s => s.Value is not null && s.Key != "urls")
            .ToDictionary(s => s.Key, s => s.Value!, StringComparer.Ordinal);
        var logs = Path.Combine(ExchangeHome.Path, "logs", "bench");
        Directory.CreateDirectory(logs);
        for (var i = 2; i <= routers; i++)
        {
            progress.Report($"router {i} of {routers} (a process of its own)");
            var router = new HostProcess($"router-{i}", "Exchange.Router", hubSettings, logs);
            bench._extraRouters.Add(router);
            await router.StartAsync(ct);
        }

        return bench;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var router in _extraRouters)
        {
            await router.StopAsync();
            await router.DisposeAsync();
        }

        await _deployment.DisposeAsync();
    }

    /// <summary>Sends <paramref name="count"/> documents, <paramref name="concurrency"/> submissions in flight, and waits for their receipts.</summary>
    public async Task<List<Guid>> SendAsync(int count, int concurrency, TimeSpan timeout, ConsoleProgress? progress, CancellationToken ct)
    {
        var sent = new List<Guid>(count);
        using var gate = new SemaphoreSlim(concurrency);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync(ct);
            try
            {
                await SubmitAsync(i, sent, ct);
            }
            finally
            {
                gate.Release();
            }
        }));
        await WaitForReceiptsAsync(sent, timeout, progress, ct);
        return sent;
    }

    /// <summary>Offers <paramref name="count"/> documents at a fixed rate, each submitted on its schedule whatever the others do, then waits for the receipts.</summary>
    public async Task<List<Guid>> SendAtRateAsync(int count, double perSecond, TimeSpan timeout, ConsoleProgress? progress, CancellationToken ct)
    {
        var sent = new List<Guid>(count);
        var start = TimeProvider.System.GetTimestamp();
        var submissions = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            var due = TimeSpan.FromSeconds(i / perSecond) - TimeProvider.System.GetElapsedTime(start);
            if (due > TimeSpan.Zero)
            {
                await Task.Delay(due, ct);
            }

            submissions.Add(SubmitAsync(i, sent, ct));
        }

        await Task.WhenAll(submissions);
        await WaitForReceiptsAsync(sent, timeout, progress, ct);
        return sent;
    }

    public async Task<PathMeasurement> MeasureAsync(IReadOnlyCollection<Guid> ids, CancellationToken ct)
    {
        await using var db = _deployment.CreateGatewayDb(Sender);
        var rows = await db.Outbox.AsNoTracking()
            .Where(o => ids.Contains(o.EnvelopeId))
            .SelectMany(o => o.Receipts.Select(r => new { o.CreatedAt, r.ConfirmedAt }))
            .ToListAsync(ct);
        if (rows.Count == 0)
        {
            return new PathMeasurement(0, 0, 0, double.NaN, double.NaN, double.NaN);
        }

        var latencies = rows.Select(r => (r.ConfirmedAt - r.CreatedAt).TotalMilliseconds).Order().ToArray();
        var seconds = (rows.Max(r => r.ConfirmedAt) - rows.Min(r => r.CreatedAt)).TotalSeconds;
        return new PathMeasurement(rows.Count, Math.Round(seconds, 3), Math.Round(rows.Count / seconds, 1),
            Percentile(latencies, 0.50), Percentile(latencies, 0.95), Percentile(latencies, 0.99));
    }

    private async Task SubmitAsync(int i, List<Guid> sent, CancellationToken ct)
    {
        var answer = await _client.SendDocumentAsync(
            new DocumentMetadata([Recipient], $"Văn bản đo tải số {i}", CodeNotation: "BENCH"),
            [("payload.bin", "application/octet-stream", _payload)], ct);
        lock (sent)
        {
            sent.Add(answer.EnvelopeId);
        }
    }

    private async Task WaitForReceiptsAsync(List<Guid> sent, TimeSpan timeout, ConsoleProgress? progress, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        await using var db = _deployment.CreateGatewayDb(Sender);
        async Task Wait(Action<int> report)
        {
            while (!deadline.IsCancellationRequested)
            {
                var done = await db.OutboxReceipts.CountAsync(r => sent.Contains(r.EnvelopeId), ct);
                report(done);
                if (done >= sent.Count)
                {
                    return;
                }

                // Each count names every document sent (thousands of ids) and costs PostgreSQL tens of ms, CPU the
                // path being measured shares; the figures come from the rows' own timestamps, not from this poll.
                await Task.Delay(1000, ct);
            }
        }

        if (progress is null)
        {
            await Wait(_ => { });
        }
        else
        {
            await progress.TrackAsync("receipts", sent.Count, Wait);
        }
    }

    private static double Percentile(double[] sorted, double p) =>
        Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 1);
}
