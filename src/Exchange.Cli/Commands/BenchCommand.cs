using System.CommandLine;
using System.Text.Json;
using Exchange.Cli.Bench;
using Exchange.ServiceDefaults;

namespace Exchange.Cli.Commands;

/// <summary>
/// `exchange bench [throughput]`: documents through the real path (sender gateway's HTTP API → hub → recipient gateway →
/// signed receipt back), measured against the bus's own ceiling in the same run. `exchange bench latency`: the same at a
/// fixed offered load, half the throughput it measures first. `exchange bench verify`: signature verification speed
/// next to SignedCms. Each prints one JSON object as its last line with <c>--json</c>.
/// </summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var throughput = Options("Documents to send.", 1000);
        var command = new Command("bench", "Measure the real path (the throughput scenario; see the subcommands).");
        throughput.AddTo(command);
        command.SetAction((p, ct) => ThroughputAsync(throughput.Read(p), ct));

        var explicitThroughput = Options("Documents to send.", 1000);
        var throughputCommand = new Command("throughput", "Documents/s through the real path, latency percentiles, and the bus's one-hop ceiling.");
        explicitThroughput.AddTo(throughputCommand);
        throughputCommand.SetAction((p, ct) => ThroughputAsync(explicitThroughput.Read(p), ct));

        var latency = Options("Documents to send at the fixed load.", 1000);
        var rate = new Option<double?>("--rate") { Description = "Documents/s to offer; default: half the throughput measured first in the same run." };
        var latencyCommand = new Command("latency", "Latency percentiles at a fixed offered load (half the measured throughput).") { rate };
        latency.AddTo(latencyCommand);
        latencyCommand.SetAction((p, ct) => LatencyAsync(latency.Read(p), p.GetValue(rate), ct));

        var fanoutRecipients = new Option<int>("--recipients") { Description = "Wards in the district the directive goes to.", DefaultValueFactory = _ => 1000 };
        var fanoutSize = new Option<int>("--size") { Description = "Attachment size in bytes.", DefaultValueFactory = _ => 10 * 1024 };
        var fanoutTimeout = new Option<int>("--timeout") { Description = "Seconds to wait for every receipt of one directive.", DefaultValueFactory = _ => 120 };
        var fanoutJson = new Option<bool>("--json") { Description = "End with one JSON line of results." };
        var fanout = new Command("fanout", "One directive to every ward of a district (1,000 by default): seconds until every receipt is recorded.")
            { fanoutRecipients, fanoutSize, fanoutTimeout, fanoutJson };
        fanout.SetAction((p, ct) => FanoutAsync(p.GetValue(fanoutRecipients), p.GetValue(fanoutSize), TimeSpan.FromSeconds(p.GetValue(fanoutTimeout)), p.GetValue(fanoutJson), ct));

        var verifyJson = new Option<bool>("--json") { Description = "End with one JSON line of results." };
        var verify = new Command("verify", "Signature verifications per second, Exchange next to SignedCms, in one run.") { verifyJson };
        verify.SetAction((p, ct) => VerifyBench.RunAsync(p.GetValue(verifyJson), ct));

        var largeSize = new Option<int>("--size-mb") { Description = "Attachment size in MiB.", DefaultValueFactory = _ => 200 };
        var largeTimeout = new Option<int>("--timeout") { Description = "Seconds to wait for the receipt.", DefaultValueFactory = _ => 900 };
        var largeJson = new Option<bool>("--json") { Description = "End with one JSON line of results." };
        var large = new Command("large", "One large attachment (200 MiB by default) end to end, with each host process's peak resident memory.")
            { largeSize, largeTimeout, largeJson };
        large.SetAction((p, ct) => LargeAsync(p.GetValue(largeSize), TimeSpan.FromSeconds(p.GetValue(largeTimeout)), p.GetValue(largeJson), ct));

        command.Subcommands.Add(throughputCommand);
        command.Subcommands.Add(latencyCommand);
        command.Subcommands.Add(fanout);
        command.Subcommands.Add(large);
        command.Subcommands.Add(verify);
        return command;
    }

    private sealed record Settings(int Count, int Size, int Concurrency, int Warmup, int Routers, TimeSpan Timeout, bool Json)
    {
        public string? Problem => Count < 1 || Size < 0 || Concurrency < 1 || Warmup < 0 || Routers is < 1 or > 8
            ? "--count and --concurrency must be at least 1, --size and --warmup at least 0, --routers 1 to 8."
            : null;
    }

    private sealed record PathOptions(Option<int> Count, Option<int> Size, Option<int> Concurrency, Option<int> Warmup, Option<int> Routers, Option<int> Timeout, Option<bool> Json)
    {
        public void AddTo(Command command)
        {
            command.Options.Add(Count);
            command.Options.Add(Size);
            command.Options.Add(Concurrency);
            command.Options.Add(Warmup);
            command.Options.Add(Routers);
            command.Options.Add(Timeout);
            command.Options.Add(Json);
        }

        public Settings Read(ParseResult p) =>
            new(p.GetValue(Count), p.GetValue(Size), p.GetValue(Concurrency), p.GetValue(Warmup), p.GetValue(Routers), TimeSpan.FromSeconds(p.GetValue(Timeout)), p.GetValue(Json));
    }

    private static PathOptions Options(string countDescription, int defaultCount) => new(
        new Option<int>("--count") { Description = countDescription, DefaultValueFactory = _ => defaultCount },
        new Option<int>("--size") { Description = "Attachment size in bytes.", DefaultValueFactory = _ => 10 * 1024 },
        new Option<int>("--concurrency") { Description = "HTTP submissions in flight at once.", DefaultValueFactory = _ => 16 },
        // The JIT recompiles hot code for a while after start (tiered compilation); a short warm-up measures that instead.
        new Option<int>("--warmup") { Description = "Documents sent and confirmed before measuring.", DefaultValueFactory = _ => 300 },
        new Option<int>("--routers") { Description = "Hub instances competing for the hub's queues (the second and later as processes of their own).", DefaultValueFactory = _ => 1 },
        new Option<int>("--timeout") { Description = "Seconds to wait for every receipt.", DefaultValueFactory = _ => 300 },
        new Option<bool>("--json") { Description = "End with one JSON line of results." });

    private static async Task<int> ThroughputAsync(Settings s, CancellationToken ct)
    {
        if (s.Problem is { } problem)
        {
            await Console.Error.WriteLineAsync(problem);
            return ExitCodes.UsageOrIo;
        }

        var console = new ConsoleProgress();
        var servers = ServerSettings.FromEnvironment();
        console.Stage($"bus ceiling: {s.Count} messages of {s.Size} bytes, one hop");
        var ceiling = await BusCeiling.MeasureAsync(servers, $"{PathBench.Prefix}bus-ceiling", s.Count, s.Size, s.Concurrency, ct);

        await using var bench = await PathBench.StartAsync(s.Size, s.Routers, console.Stages("starting "), ct);
        await WarmUpAsync(bench, s, console, ct);
        using var counters = new QueueCounters(servers);
        // Every queue of the bench deployment: the hub's and the agencies'. Not the ceiling's, which is idle by now.
        string[] queues = [PathBench.Prefix + "exchange-hub", PathBench.Prefix + "agency-"];
        var publishedBefore = await counters.PublishedAsync(queues, ct);

        console.Stage($"sending {s.Count} documents of {s.Size} bytes, {s.Concurrency} at a time");
        var cpu = new CpuMeter();
        var ids = await bench.SendAsync(s.Count, s.Concurrency, s.Timeout, console, ct);
        var measured = await bench.MeasureAsync(ids, ct);
        var cpuPerDoc = cpu.PerItem(measured.Confirmed);
        var published = await counters.PublishedAsync(queues, ct) - publishedBefore;

        return Report(s, new
        {
            scenario = "throughput",
            documents = s.Count,
            confirmed = measured.Confirmed,
            size_bytes = s.Size,
            routers = s.Routers,
            concurrency = s.Concurrency,
            warmup = s.Warmup,
            seconds = measured.Seconds,
            docs_per_s = measured.DocsPerSecond,
            p50_ms = measured.P50Ms,
            p95_ms = measured.P95Ms,
            p99_ms = measured.P99Ms,
            bus_ceiling_per_s = Math.Round(ceiling, 1),
            hops_per_doc = measured.Confirmed == 0 ? 0 : Math.Round((double)published / measured.Confirmed, 2),
            cpu_ms_per_doc = cpuPerDoc,
        }, measured, console);
    }

    private static async Task<int> LatencyAsync(Settings s, double? rate, CancellationToken ct)
    {
        if ((s.Problem ?? (rate is <= 0 ? "--rate must be above 0." : null)) is { } problem)
        {
            await Console.Error.WriteLineAsync(problem);
            return ExitCodes.UsageOrIo;
        }

        var console = new ConsoleProgress();
        await using var bench = await PathBench.StartAsync(s.Size, s.Routers, console.Stages("starting "), ct);
        await WarmUpAsync(bench, s, console, ct);
        double? measuredThroughput = null;
        if (rate is null)
        {
            console.Stage($"measuring throughput first ({s.Count} documents, {s.Concurrency} at a time)");
            measuredThroughput = (await bench.MeasureAsync(await bench.SendAsync(s.Count, s.Concurrency, s.Timeout, console, ct), ct)).DocsPerSecond;
            rate = measuredThroughput / 2;
        }

        console.Stage($"offering {s.Count} documents at {rate:0.#}/s");
        var measured = await bench.MeasureAsync(await bench.SendAtRateAsync(s.Count, rate.Value, s.Timeout, console, ct), ct);
        return Report(s, new
        {
            scenario = "latency",
            documents = s.Count,
            confirmed = measured.Confirmed,
            size_bytes = s.Size,
            routers = s.Routers,
            warmup = s.Warmup,
            throughput_docs_per_s = measuredThroughput,
            offered_per_s = Math.Round(rate.Value, 1),
            achieved_per_s = measured.DocsPerSecond,
            p50_ms = measured.P50Ms,
            p95_ms = measured.P95Ms,
            p99_ms = measured.P99Ms,
        }, measured, console);
    }

    private static async Task<int> FanoutAsync(int recipients, int size, TimeSpan timeout, bool json, CancellationToken ct)
    {
        if (recipients < 1 || recipients > 99_000 || size < 0)
        {
            await Console.Error.WriteLineAsync("--recipients must be 1 to 99000 and --size at least 0.");
            return ExitCodes.UsageOrIo;
        }

        var console = new ConsoleProgress();
        var result = await FanoutBench.RunAsync(recipients, size, timeout, console, ct);
        console.Stage($"{result.Confirmed}/{recipients} receipts recorded in {result.Seconds} s (first directive, cold: {result.FirstSeconds} s)");
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                scenario = "fanout",
                recipients,
                size_bytes = size,
                seconds = result.Seconds,
                first_seconds = result.FirstSeconds,
                confirmed = result.Confirmed,
                refused = result.Refused,
            }));
        }

        return result.Confirmed == recipients ? ExitCodes.Ok : ExitCodes.Refused;
    }

    private static async Task<int> LargeAsync(int sizeMb, TimeSpan timeout, bool json, CancellationToken ct)
    {
        if (sizeMb < 1)
        {
            await Console.Error.WriteLineAsync("--size-mb must be at least 1.");
            return ExitCodes.UsageOrIo;
        }

        var console = new ConsoleProgress();
        var result = await LargeBench.RunAsync(sizeMb * 1024L * 1024, timeout, console, ct);
        console.Stage($"{(result.Delivered ? "delivered" : "NOT delivered")} in {result.Seconds} s (upload {result.UploadSeconds} s), package {result.PackageMb} MiB, "
            + $"{(result.PackageIntact ? "intact" : "NOT intact")}; peak RSS MiB: {string.Join(", ", result.PeakRssMb.Select(p => $"{p.Key} {p.Value}"))}");
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                scenario = "large",
                size_mb = result.SizeMb,
                package_mb = result.PackageMb,
                seconds = result.Seconds,
                upload_seconds = result.UploadSeconds,
                delivered = result.Delivered,
                package_intact = result.PackageIntact,
                peak_rss_mb = result.PeakRssMb,
            }));
        }

        return result.Delivered && result.PackageIntact ? ExitCodes.Ok : ExitCodes.Refused;
    }

    private static async Task WarmUpAsync(PathBench bench, Settings s, ConsoleProgress console, CancellationToken ct)
    {
        if (s.Warmup > 0)
        {
            console.Stage($"warming up ({s.Warmup} documents)");
            await bench.SendAsync(s.Warmup, s.Concurrency, s.Timeout, console, ct);
        }
    }

    // The anonymous results are written in snake_case already; this names the records inside them (cpu_ms_per_doc) alike.
    private static readonly JsonSerializerOptions SnakeCase = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private static int Report(Settings s, object result, PathMeasurement measured, ConsoleProgress console)
    {
        console.Stage($"{measured.Confirmed}/{s.Count} confirmed in {measured.Seconds} s: {measured.DocsPerSecond} docs/s, p50 {measured.P50Ms} ms, p95 {measured.P95Ms} ms, p99 {measured.P99Ms} ms");
        if (s.Json)
        {
            Console.WriteLine(JsonSerializer.Serialize(result, SnakeCase));
        }

        return measured.Confirmed == s.Count ? ExitCodes.Ok : ExitCodes.Refused;
    }
}
