using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Exchange.Gateway;
using Exchange.ServiceDefaults;
using Exchange.Signing;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Cli.Commands;

/// <summary>
/// `exchange bench`: sends N documents through the real path (sender gateway's HTTP API → hub → recipient
/// gateway → signed receipt back) and reports documents/s and submit-to-receipt latency percentiles.
/// `exchange bench verify`: signature verification speed next to SignedCms.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var count = new Option<int>("--count") { Description = "Documents to send.", DefaultValueFactory = _ => 500 };
        var size = new Option<int>("--size") { Description = "Attachment size in bytes.", DefaultValueFactory = _ => 10 * 1024 };
        var concurrency = new Option<int>("--concurrency") { Description = "HTTP submissions in flight at once.", DefaultValueFactory = _ => 16 };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for every receipt.", DefaultValueFactory = _ => 300 };
        // The JIT recompiles hot code for a while after start (tiered compilation); a short warm-up measures that instead.
        var warmup = new Option<int>("--warmup") { Description = "Documents sent and confirmed before measuring.", DefaultValueFactory = _ => 300 };
        var json = new Option<bool>("--json") { Description = "End with one JSON line of results." };
        var command = new Command("bench", "Measure the real path: documents/s and submit-to-receipt latency.") { count, size, concurrency, timeout, warmup, json };
        command.SetAction((p, ct) => RunAsync(p.GetValue(count), p.GetValue(size), p.GetValue(concurrency), p.GetValue(warmup), TimeSpan.FromSeconds(p.GetValue(timeout)), p.GetValue(json), ct));

        var verifyJson = new Option<bool>("--json") { Description = "End with one JSON line of results." };
        var verify = new Command("verify", "Signature verifications per second, Exchange next to SignedCms, in one run.") { verifyJson };
        verify.SetAction((p, ct) => VerifyBench.RunAsync(p.GetValue(verifyJson), ct));
        command.Subcommands.Add(verify);
        return command;
    }

    private static async Task<int> RunAsync(int count, int size, int concurrency, int warmup, TimeSpan timeout, bool json, CancellationToken ct)
    {
        if (count < 1 || size < 0 || concurrency < 1 || warmup < 0)
        {
            await Console.Error.WriteLineAsync("--count and --concurrency must be at least 1, --size and --warmup at least 0.");
            return ExitCodes.UsageOrIo;
        }

        var console = new ConsoleProgress();
        var sender = SampleDirectory.HomeAffairs;
        var recipient = SampleDirectory.PhucXaWard;
        var settings = new DeploymentSettings(
            ServerSettings.FromEnvironment(), ExchangeHome.Pki, SampleDirectory.Load(), Prefix: "bench-", GatewayAgencies: [sender, recipient], PerAgencyBrokerUsers: true);
        await using var deployment = await LocalDeployment.StartAsync(settings, console.Stages("starting "), ct);
        var client = new GatewayClient(deployment.Gateways[sender].Http);
        var payload = new byte[size];
        new Random(42).NextBytes(payload);

        if (warmup > 0)
        {
            console.Stage($"warming up ({warmup} documents)");
            await SendAndWaitAsync(warmup, console);
        }

        console.Stage($"sending {count} documents of {size} bytes, {concurrency} at a time");
        var clock = Stopwatch.StartNew();
        var ids = await SendAndWaitAsync(count, console);
        clock.Stop();

        await using var db = deployment.CreateGatewayDb(sender);
        var rows = await db.Outbox.AsNoTracking()
            .Where(o => ids.Contains(o.EnvelopeId))
            .SelectMany(o => o.Receipts.Select(r => new { o.CreatedAt, r.ConfirmedAt }))
            .ToListAsync(ct);
        var latencies = rows.Select(r => (r.ConfirmedAt - r.CreatedAt).TotalMilliseconds).Order().ToArray();
        var seconds = (rows.Max(r => r.ConfirmedAt) - rows.Min(r => r.CreatedAt)).TotalSeconds;
        var result = new
        {
            scenario = "probe",
            documents = count,
            confirmed = rows.Count,
            size_bytes = size,
            concurrency,
            warmup,
            seconds = Math.Round(seconds, 3),
            docs_per_s = Math.Round(rows.Count / seconds, 1),
            p50_ms = Percentile(latencies, 0.50),
            p95_ms = Percentile(latencies, 0.95),
            p99_ms = Percentile(latencies, 0.99),
            wall_seconds = Math.Round(clock.Elapsed.TotalSeconds, 3),
        };
        console.Stage($"{result.confirmed}/{count} confirmed in {result.seconds} s: {result.docs_per_s} docs/s, p50 {result.p50_ms} ms, p95 {result.p95_ms} ms, p99 {result.p99_ms} ms");
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(result));
        }

        return rows.Count == count ? ExitCodes.Ok : ExitCodes.Refused;

        async Task<List<Guid>> SendAndWaitAsync(int n, ConsoleProgress? progress)
        {
            var sent = new List<Guid>(n);
            using var gate = new SemaphoreSlim(concurrency);
            var tasks = Enumerable.Range(0, n).Select(async i =>
            {
                await gate.WaitAsync(ct);
                try
                {
                    var answer = await client.SendDocumentAsync(
                        new DocumentMetadata([recipient], $"Văn bản đo tải số {i}", CodeNotation: "BENCH"),
                        [("payload.bin", "application/octet-stream", payload)], ct);
                    lock (sent)
                    {
                        sent.Add(answer.EnvelopeId);
                    }
                }
                finally
                {
                    gate.Release();
                }
            }).ToList();
            await Task.WhenAll(tasks);

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(timeout);
            await using var gatewayDb = deployment.CreateGatewayDb(sender);
            async Task Wait(Action<int> report)
            {
                while (!deadline.IsCancellationRequested)
                {
                    var done = await gatewayDb.OutboxReceipts.CountAsync(r => sent.Contains(r.EnvelopeId), ct);
                    report(done);
                    if (done >= n)
                    {
                        return;
                    }

                    await Task.Delay(100, ct);
                }
            }

            if (progress is null)
            {
                await Wait(_ => { });
            }
            else
            {
                await progress.TrackAsync("receipts", n, Wait);
            }

            return sent;
        }
    }

    private static double Percentile(double[] sorted, double p) =>
        sorted.Length == 0 ? double.NaN : Math.Round(sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)], 1);
}
