using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Exchange.Cli.Hosting;

/// <summary>
/// One Exchange host (Exchange.Router, Exchange.Gateway or Exchange.Audit) run as a child process on a loopback port, so
/// that it can be killed with SIGKILL and started again on the same port. Its standard output and error are appended to
/// a log file. Settings go in as environment variables (<c>Section__Key</c>), so that passwords never appear in a
/// process listing. A host that exits by itself is started again, sooner or later (<see cref="RestartDelay"/>): the
/// chaos run and the bench rely on it as on a production supervisor, and `exchange province run` is that supervisor.
/// </summary>
internal sealed class HostProcess : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(120);

    /// <summary>A host that ran at least this long before it exited counts as healthy again: its back-off starts over.</summary>
    private static readonly TimeSpan StableAfter = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan MaxRestartDelay = TimeSpan.FromSeconds(60);

    private readonly string _assembly;
    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly string _logPath;
    private readonly Lock _logLock = new();
    private Process? _process;
    private readonly string _label;
    private bool _stopping;
    private StreamWriter? _log;
    private DateTimeOffset _startedAt;
    private int _quickExits;
    private int _restarts;

    /// <param name="name">For logs: <c>router</c>, <c>gateway-000.00.01.H29</c>.</param>
    /// <param name="assembly">The host's program, <c>Exchange.Router</c>, <c>Exchange.Gateway</c> or <c>Exchange.Audit</c>, which ship next to this tool.</param>
    /// <param name="url">Where it listens (a loopback URL); default: a free port chosen now.</param>
    /// <param name="label">What starts it, for the marker lines in its log: <c>chaos</c>, <c>province</c>.</param>
    public HostProcess(string name, string assembly, IReadOnlyDictionary<string, string> settings, string logFolder, Uri? url = null, string label = "chaos")
    {
        Name = name;
        _assembly = assembly;
        _settings = settings;
        _label = label;
        _logPath = Path.Combine(logFolder, $"{name}.log");
        Url = url ?? new Uri($"http://127.0.0.1:{FreeLoopbackPort()}");
    }

    public string Name { get; }

    public string LogPath => _logPath;

    /// <summary>How many times it was started again after exiting by itself.</summary>
    public int Restarts => Volatile.Read(ref _restarts);

    /// <summary>Told of every exit and restart the host makes by itself (the supervisor's log).</summary>
    public Action<string>? Notice { get; set; }

    /// <summary>Where the host listens: the same port across restarts.</summary>
    public Uri Url { get; }

    public bool Running => _process is { HasExited: false };

    /// <summary>The running process's id, or null.</summary>
    public int? ProcessId => _process?.Id;

    /// <summary>Starts the host and waits until its /health/ready answers 200 (database and bus connected).</summary>
    public async Task StartAsync(CancellationToken ct)
    {
        if (Running)
        {
            return;
        }

        _log ??= new StreamWriter(new FileStream(_logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        WriteLog($"---- {_label}: starting {Name} at {DateTimeOffset.UtcNow:O} on {Url}");
        var start = StartInfo();
        start.ArgumentList.Add("--urls");
        start.ArgumentList.Add(Url.ToString().TrimEnd('/'));
        foreach (var (key, value) in _settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.Exited += (_, _) => RestartAfterOwnExit(process);
        process.OutputDataReceived += (_, e) => WriteLog(e.Data);
        process.ErrorDataReceived += (_, e) => WriteLog(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {Name} ({start.FileName}).");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _startedAt = DateTimeOffset.UtcNow;
        _process = process;
        await WaitReadyAsync(ct);
    }

    /// <summary>
    /// The wait before the next start after <paramref name="quickExits"/> exits in a row that each came soon after a
    /// start: 1 s, then doubling up to a minute, so that a host that cannot start (a port taken, a server down) is
    /// retried without spinning, and one that crashed once is back at once.
    /// </summary>
    public static TimeSpan RestartDelay(int quickExits) =>
        TimeSpan.FromSeconds(Math.Min(MaxRestartDelay.TotalSeconds, Math.Pow(2, Math.Clamp(quickExits - 1, 0, 10))));

    /// <summary>
    /// What a supervisor does in production (systemd's <c>Restart=on-failure</c>): a host that exits by itself, not killed
    /// or stopped by the run (a crash, a SIGKILL from outside, or the endpoint watchdog stopping a host whose bus no longer
    /// consumes), is started again after <see cref="RestartDelay"/>.
    /// </summary>
    private void RestartAfterOwnExit(Process process)
    {
        if (_stopping || !ReferenceEquals(_process, process))
        {
            return; // killed or stopped by the run, which starts it again itself if it wants to
        }

        _process = null;
        _quickExits = DateTimeOffset.UtcNow - _startedAt < StableAfter ? _quickExits + 1 : 1;
        var delay = RestartDelay(_quickExits);
        var line = $"{Name} (pid {process.Id}) exited without being told to (code {process.ExitCode}); starting it again in {delay.TotalSeconds:0} s";
        WriteLog($"---- {_label}: {line} at {DateTimeOffset.UtcNow:O}");
        Notice?.Invoke(line);
        _ = Task.Run(async () =>
        {
            await Task.Delay(delay);
            if (_stopping)
            {
                return;
            }

            Interlocked.Increment(ref _restarts);
            try
            {
                await StartAsync(CancellationToken.None);
                Notice?.Invoke($"{Name} is ready again (pid {ProcessId}, restart {Restarts})");
            }
#pragma warning disable CA1031 // a failed restart is logged; the process's own exit starts the next attempt
            catch (Exception e)
#pragma warning restore CA1031
            {
                WriteLog($"---- {_label}: restarting {Name} failed: {e.Message}");
                Notice?.Invoke($"restarting {Name} failed: {e.Message}");
            }
        });
    }

    /// <summary>SIGKILL: no shutdown code runs, as when a machine loses power or the kernel kills the process.</summary>
    public async Task KillAsync()
    {
        if (_process is not { } process)
        {
            return;
        }

        _process = null;
        WriteLog($"---- {_label}: SIGKILL {Name} (pid {process.Id}) at {DateTimeOffset.UtcNow:O}");
        try
        {
            // On Unix, Process.Kill sends SIGKILL.
            process.Kill();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Exited already.
        }

        await process.WaitForExitAsync(CancellationToken.None);
        process.Dispose();
    }

    /// <summary>SIGTERM and a few seconds for a clean stop (the hub seals its last evidence), then SIGKILL.</summary>
    public async Task StopAsync()
    {
        _stopping = true;
        if (_process is not { } process)
        {
            return;
        }

        if (!process.HasExited)
        {
            using var term = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false });
            if (term is not null)
            {
                await term.WaitForExitAsync(CancellationToken.None);
            }

            using var grace = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await process.WaitForExitAsync(grace.Token);
            }
            catch (OperationCanceledException)
            {
                // Did not stop in time.
            }
        }

        await KillAsync();
    }

    /// <summary>The last resort on exit (Ctrl-C, an unhandled error): no child outlives the run.</summary>
    public void KillNow()
    {
        try
        {
            _process?.Kill();
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // Exited already, or not ours to kill any more.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        lock (_logLock)
        {
            _log?.Dispose();
            _log = null;
        }
    }

    private ProcessStartInfo StartInfo()
    {
        // The hosts are built next to this tool (Exchange.Cli references both projects): the native launcher when
        // there is one, else the dotnet host running the assembly.
        var folder = AppContext.BaseDirectory;
        var launcher = Path.Combine(folder, OperatingSystem.IsWindows() ? $"{_assembly}.exe" : _assembly);
        var start = File.Exists(launcher)
            ? new ProcessStartInfo(launcher)
            : new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet") { ArgumentList = { Path.Combine(folder, $"{_assembly}.dll") } };
        start.UseShellExecute = false;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.RedirectStandardInput = false;
        start.WorkingDirectory = folder;
        return start;
    }

    private async Task WaitReadyAsync(CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTimeOffset.UtcNow + ReadyTimeout;
        while (true)
        {
            if (_process is not { HasExited: false })
            {
                throw new InvalidOperationException($"{Name} exited while starting; see {_logPath}.");
            }

            try
            {
                using var response = await http.GetAsync(new Uri("/health/ready", UriKind.Relative), ct);
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                // Not listening yet.
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"{Name} was not ready within {ReadyTimeout.TotalSeconds:0} s; see {_logPath}.");
            }

            await Task.Delay(200, ct);
        }
    }

    private void WriteLog(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_logLock)
        {
            _log?.WriteLine(line);
        }
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
