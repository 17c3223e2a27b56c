using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Exchange.Cli.Chaos;

/// <summary>
/// One Exchange host (Exchange.Router or Exchange.Gateway) run as a child process on a loopback port, so that it can
/// be killed with SIGKILL and started again on the same port. Its standard output and error are appended to a log
/// file. Settings go in as environment variables (<c>Section__Key</c>), so that passwords never appear in a
/// process listing.
/// </summary>
internal sealed class HostProcess : IAsyncDisposable
{
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(120);

    private readonly string _assembly;
    private readonly IReadOnlyDictionary<string, string> _settings;
    private readonly string _logPath;
    private readonly Lock _logLock = new();
    private Process? _process;
    private bool _stopping;
    private StreamWriter? _log;

    /// <param name="name">For logs: <c>router</c>, <c>gateway-000.00.01.H29</c>.</param>
    /// <param name="assembly">The host's program, <c>Exchange.Router</c> or <c>Exchange.Gateway</c>, which ship next to this tool.</param>
    public HostProcess(string name, string assembly, IReadOnlyDictionary<string, string> settings, string logFolder)
    {
        Name = name;
        _assembly = assembly;
        _settings = settings;
        _logPath = Path.Combine(logFolder, $"{name}.log");
        Url = new Uri($"http://127.0.0.1:{FreeLoopbackPort()}");
    }

    public string Name { get; }

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
        WriteLog($"---- chaos: starting {Name} at {DateTimeOffset.UtcNow:O} on {Url}");
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
        _process = process;
        await WaitReadyAsync(ct);
    }

    /// <summary>
    /// What a supervisor does in production (systemd's <c>Restart=on-failure</c>): a host that exits by itself, not killed
    /// or stopped by the run (a crash, or the endpoint watchdog stopping a host whose bus no longer consumes), is started
    /// again a second later.
    /// </summary>
    private void RestartAfterOwnExit(Process process)
    {
        if (_stopping || !ReferenceEquals(_process, process))
        {
            return; // killed or stopped by the run, which starts it again itself if it wants to
        }

        _process = null;
        WriteLog($"---- chaos: {Name} exited by itself (code {process.ExitCode}) at {DateTimeOffset.UtcNow:O}; starting it again, as its supervisor would");
        _ = Task.Run(async () =>
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            try
            {
                await StartAsync(CancellationToken.None);
            }
#pragma warning disable CA1031 // a failed restart is logged; the run's checks then show what it cost
            catch (Exception e)
#pragma warning restore CA1031
            {
                WriteLog($"---- chaos: restarting {Name} failed: {e.Message}");
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
        WriteLog($"---- chaos: SIGKILL {Name} (pid {process.Id}) at {DateTimeOffset.UtcNow:O}");
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
