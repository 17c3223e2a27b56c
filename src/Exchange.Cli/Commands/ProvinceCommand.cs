using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Exchange.Cli.Province;
using Spectre.Console;

namespace Exchange.Cli.Commands;

/// <summary>
/// `exchange province up|status|down|run`: the sample province kept running for a document system to use. `up` starts
/// the supervisor (`run`) in a session of its own, or finds it running, waits until every host answers /health/ready,
/// and prints where each listens with its development credentials; `down` stops the supervisor and with it every host.
/// Files live under EXCHANGE_HOME: province/province.json (plan and credentials), province/state.json (processes),
/// logs/province/ (one log per host and the supervisor's). See docs/operations.md, "Province".
/// </summary>
public static class ProvinceCommand
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);

    public static Command Create()
    {
        var upJson = new Option<bool>("--json") { Description = "End with one JSON line: every gateway's URL and credentials, the hub's and the audit host's." };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for every host to be ready.", DefaultValueFactory = _ => 300 };
        var (prefix, basePort, directory) = PlanOptions();
        var up = new Command("up", "Start the province (or find it running), wait until every host is ready, print its URLs and credentials.")
        {
            upJson, timeout, prefix, basePort, directory,
        };
        up.SetAction((p, ct) => UpAsync(
            new ProvinceOptions(p.GetValue(prefix), p.GetValue(basePort), p.GetValue(directory)), p.GetValue(upJson), TimeSpan.FromSeconds(Math.Max(1, p.GetValue(timeout))), ct));

        var (runPrefix, runBasePort, runDirectory) = PlanOptions();
        var run = new Command("run", "The supervisor itself, in the foreground (`up` starts it detached): runs every host and restarts any that exits, until SIGTERM.")
        {
            runPrefix, runBasePort, runDirectory,
        };
        run.SetAction((p, ct) => ProvinceSupervisor.RunAsync(new ProvinceOptions(p.GetValue(runPrefix), p.GetValue(runBasePort), p.GetValue(runDirectory)), ct));

        var statusJson = new Option<bool>("--json") { Description = "Print one JSON object." };
        var status = new Command("status", "Whether the supervisor runs; each host's URL, process, readiness and restarts. Exit 0 only when all are up.") { statusJson };
        status.SetAction((p, ct) => StatusAsync(p.GetValue(statusJson), ct));

        var down = new Command("down", "Stop the supervisor and every host of the province (the servers keep running).");
        down.SetAction((_, ct) => DownAsync(ct));

        return new Command("province", "The sample province kept running: hub, audit host and one gateway per agency, each a supervised process.") { up, status, down, run };
    }

    /// <summary>True when the command line asks for the supervisor, which needs longer than other commands to stop on SIGTERM.</summary>
    public static bool IsSupervisor(ParseResult parsed) =>
        parsed.CommandResult.Command.Name == "run" && parsed.CommandResult.Command.Parents.OfType<Command>().Any(c => c.Name == "province");

    private static (Option<string?> Prefix, Option<int?> BasePort, Option<string?> Directory) PlanOptions() =>
    (
        new Option<string?>("--prefix") { Description = $"Name prefix of the province's databases, queues and broker users (first start only; default {ProvincePlan.DefaultPrefix})." },
        new Option<int?>("--base-port") { Description = $"The hub's port; the audit host's is the next, the gateways' start {ProvincePlan.GatewayOffset} above (first start only; default {ProvincePlan.DefaultBasePort})." },
        new Option<string?>("--directory") { Description = "A directory file (JSON) instead of the sample province (first start only)." }
    );

    private static async Task<int> UpAsync(ProvinceOptions options, bool json, TimeSpan timeout, CancellationToken ct)
    {
        var state = ProvinceState.Load(ProvinceFiles.StatePath);
        Process? started = null;
        int supervisor;
        if (state is { Stopping: false } && state.SupervisorAlive)
        {
            supervisor = state.SupervisorPid;
            Say($"the province runs already (supervisor pid {supervisor}); starting nothing");
        }
        else
        {
            started = StartSupervisor(options);
            supervisor = started.Id;
            Say($"started the supervisor (pid {supervisor}; log {ProvinceFiles.SupervisorLog})");
        }

        using (started)
        {
            var deadline = DateTimeOffset.UtcNow + timeout;
            using var http = new HttpClient { Timeout = ProbeTimeout };
            var said = string.Empty;
            while (true)
            {
                if (started is { HasExited: true })
                {
                    Say($"the supervisor stopped (exit {started.ExitCode}) before the province was up; the end of its log:");
                    foreach (var line in Tail(ProvinceFiles.SupervisorLog, 15))
                    {
                        await Console.Error.WriteLineAsync($"  {line}");
                    }

                    return started.ExitCode == ExitCodes.UsageOrIo ? ExitCodes.UsageOrIo : ExitCodes.Refused;
                }

                state = ProvinceState.Load(ProvinceFiles.StatePath);
                var plan = ProvincePlan.Load(ProvinceFiles.PlanPath);
                string progress;
                if (state is null || state.SupervisorPid != supervisor || plan is null || state.Hosts.Count == 0)
                {
                    progress = "setting up (development PKI, directory, broker users, credentials)";
                }
                else
                {
                    var ready = await Task.WhenAll(state.Hosts.Select(h => ReadyAsync(http, h.Url, ct)));
                    if (ready.All(r => r))
                    {
                        Say($"every host is ready: hub {plan.Answer.Hub.Url}, audit {plan.Answer.Audit.Url}, {plan.Answer.Gateways.Count} gateways");
                        Print(plan, json);
                        return ExitCodes.Ok;
                    }

                    progress = $"{ready.Count(r => r)} of {state.Hosts.Count} hosts ready";
                    if (DateTimeOffset.UtcNow > deadline)
                    {
                        Say($"not every host was ready within {timeout.TotalSeconds:0} s: {string.Join(", ", state.Hosts.Where((_, i) => !ready[i]).Select(h => h.Name))}; see {ProvinceFiles.LogFolder}");
                        return ExitCodes.Refused;
                    }
                }

                if (DateTimeOffset.UtcNow > deadline)
                {
                    Say($"the province was not set up within {timeout.TotalSeconds:0} s; see {ProvinceFiles.SupervisorLog}");
                    return ExitCodes.Refused;
                }

                if (progress != said)
                {
                    Say(progress);
                    said = progress;
                }

                await Task.Delay(500, ct);
            }
        }
    }

    /// <summary>
    /// Starts `exchange province run` in a session of its own (setsid), its output appended to the supervisor's log and
    /// not to a pipe of ours: it outlives this command and the terminal, and a caller reading our output to its end is
    /// not kept waiting by it. Every other descriptor it would inherit is closed first: run under `flock LOCK exchange
    /// province up`, it would otherwise hold the lock for as long as the province runs.
    /// </summary>
    private static Process StartSupervisor(ProvinceOptions options)
    {
        Directory.CreateDirectory(ProvinceFiles.LogFolder);
        var self = Environment.ProcessPath ?? "dotnet";
        var start = new ProcessStartInfo("setsid") { UseShellExecute = false, WorkingDirectory = AppContext.BaseDirectory };
        start.ArgumentList.Add("bash");
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add("""
            log=$1; shift
            for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done
            exec "$@" >>"$log" 2>&1 </dev/null
            """);
        start.ArgumentList.Add("bash");
        start.ArgumentList.Add(ProvinceFiles.SupervisorLog);
        start.ArgumentList.Add(self);
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "exchange.dll"));
        }

        start.ArgumentList.Add("province");
        start.ArgumentList.Add("run");
        if (options.Prefix is { } prefix)
        {
            start.ArgumentList.Add("--prefix");
            start.ArgumentList.Add(prefix);
        }

        if (options.BasePort is { } port)
        {
            start.ArgumentList.Add("--base-port");
            start.ArgumentList.Add(port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (options.DirectoryFile is { } file)
        {
            start.ArgumentList.Add("--directory");
            start.ArgumentList.Add(Path.GetFullPath(file));
        }

        // The supervisor's EXCHANGE_HOME is ours even when we found it from the working folder.
        start.Environment[Signing.ExchangeHome.EnvironmentVariable] = Signing.ExchangeHome.Path;
        return Process.Start(start) ?? throw new InvalidOperationException("Could not start the supervisor (setsid).");
    }

    private static void Print(ProvincePlan plan, bool json)
    {
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(plan.Answer, ProvincePlan.Json));
            return;
        }

        var table = new Table().AddColumns("Agency", "Kind", "Gateway", "API key (X-Api-Key)", "National axis (/vdxp): system id, secret");
        foreach (var g in plan.Answer.Gateways)
        {
            table.AddRow(Markup.Escape($"{g.Name}\n{g.Agency}"), g.Kind, Markup.Escape(g.Url), Markup.Escape(g.ApiKey), Markup.Escape($"{g.Vdxp.SystemId}\n{g.Vdxp.Secret}"));
        }

        AnsiConsole.Write(table);
        Console.WriteLine($"hub   {plan.Answer.Hub.Url}");
        Console.WriteLine($"audit {plan.Answer.Audit.Url}  API key {plan.Answer.Audit.ApiKey}");
        Console.WriteLine($"Development credentials, kept in {ProvinceFiles.PlanPath}; logs in {ProvinceFiles.LogFolder}.");
    }

    private static async Task<int> StatusAsync(bool json, CancellationToken ct)
    {
        var state = ProvinceState.Load(ProvinceFiles.StatePath);
        var running = state is not null && state.SupervisorAlive;
        using var http = new HttpClient { Timeout = ProbeTimeout };
        var hosts = state is null ? [] : state.Hosts;
        var up = await Task.WhenAll(hosts.Select(h => running && h.Running ? ReadyAsync(http, h.Url, ct) : Task.FromResult(false)));
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                supervisor = new { running, pid = running ? state!.SupervisorPid : (int?)null, log = ProvinceFiles.SupervisorLog },
                hosts = hosts.Select((h, i) => new { name = h.Name, role = h.Role, agency = h.Agency, url = h.Url, pid = running ? h.Pid : null, up = up[i], restarts = h.Restarts }),
            }, ProvincePlan.Json));
        }
        else
        {
            Console.WriteLine(running
                ? $"province: supervisor running (pid {state!.SupervisorPid}, since {state.StartedAt:u}; log {ProvinceFiles.SupervisorLog})"
                : "province: supervisor not running (deploy/local/province.sh up starts it)");
            if (hosts.Count > 0)
            {
                var table = new Table().AddColumns("Host", "URL", "Pid", "State", "Restarts");
                for (var i = 0; i < hosts.Count; i++)
                {
                    var h = hosts[i];
                    table.AddRow(Markup.Escape(h.Name), Markup.Escape(h.Url), running ? h.Pid?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-" : "-",
                        up[i] ? "[green]up[/]" : "[red]down[/]", h.Restarts.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }

                AnsiConsole.Write(table);
            }
        }

        return running && up.All(u => u) && hosts.Count > 0 ? ExitCodes.Ok : ExitCodes.Refused;
    }

    private static async Task<int> DownAsync(CancellationToken ct)
    {
        var state = ProvinceState.Load(ProvinceFiles.StatePath);
        if (state is null || !state.SupervisorAlive)
        {
            var leftovers = KillLeftovers(state);
            Console.WriteLine(leftovers > 0
                ? $"province: the supervisor was not running; stopped {leftovers} host(s) it had left behind"
                : "province: not running");
            return ExitCodes.Ok;
        }

        var pid = state.SupervisorPid;
        using (var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false }))
        {
            await term!.WaitForExitAsync(ct);
        }

        Say($"stopping the supervisor (pid {pid}) and its {state.Hosts.Count} hosts");
        var deadline = DateTimeOffset.UtcNow + ProvinceSupervisor.StopTimeout + TimeSpan.FromSeconds(10);
        while (ProvinceState.IsOurs(pid, ProvinceState.SupervisorMarker) && DateTimeOffset.UtcNow < deadline)
        {
            await Task.Delay(250, ct);
        }

        if (ProvinceState.IsOurs(pid, ProvinceState.SupervisorMarker))
        {
            Say($"the supervisor did not stop in time; killing it");
            using var process = Process.GetProcessById(pid);
            process.Kill();
        }

        var left = KillLeftovers(ProvinceState.Load(ProvinceFiles.StatePath));
        Console.WriteLine($"province: stopped the supervisor (pid {pid}) and its {state.Hosts.Count} hosts{(left > 0 ? $" ({left} killed)" : string.Empty)}; the servers keep running (deploy/local/services.sh down stops them)");
        return ExitCodes.Ok;
    }

    /// <summary>Kills hosts a supervisor left running (it was killed itself); how many.</summary>
    private static int KillLeftovers(ProvinceState? state)
    {
        var killed = 0;
        foreach (var host in state?.Hosts ?? [])
        {
            if (host.Pid is { } pid && ProvinceState.HostAlive(host))
            {
                try
                {
                    using var process = Process.GetProcessById(pid);
                    process.Kill();
                    process.WaitForExit(TimeSpan.FromSeconds(10));
                    killed++;
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    // Gone meanwhile.
                }
            }
        }

        return killed;
    }

    private static async Task<bool> ReadyAsync(HttpClient http, string url, CancellationToken ct)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(new Uri(url), "/health/ready"), ct);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
        {
            return false;
        }
    }

    private static IEnumerable<string> Tail(string path, int lines)
    {
        try
        {
            return File.ReadLines(path).TakeLast(lines).ToList();
        }
        catch (IOException)
        {
            return [];
        }
    }

    private static void Say(string line) => Console.Error.WriteLine($"province: {line}");
}
