using System.Diagnostics;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using Exchange.Cli.Commands;
using Exchange.Cli.Hosting;
using Exchange.Core;
using Exchange.Gateway.Access;
using Exchange.Persistence;
using Exchange.Persistence.Gateway;
using Exchange.Persistence.Hub;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Broker;
using Exchange.Signing;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Cli.Chaos;

/// <summary>
/// The sample province for the chaos run: the hub and one gateway per sending or receiving agency, each a process
/// of its own (<see cref="HostProcess"/>) on loopback, with its own database and broker user, under the name prefix
/// <see cref="Prefix"/>. State of an earlier run is removed when a run starts, not when it ends, so that a failed
/// run leaves its databases and logs to inspect.
/// </summary>
internal sealed class ChaosProvince : IAsyncDisposable
{
    public const string Prefix = "chaos-";

    private readonly ServerSettings _servers;
    private readonly ChaosLog _log;
    private readonly string _logFolder;
    private readonly Dictionary<string, HostProcess> _gateways = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HttpClient> _http = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GatewayClient> _clients = new(StringComparer.Ordinal);
    private readonly PosixSignalRegistration[] _signals;
    private readonly string _prefix;
    private readonly TimeSpan _requestTimeout;
    private HostProcess? _router;

    /// <param name="prefix">The run's name prefix (<see cref="Prefix"/> for the chaos run); its logs go to logs/&lt;prefix&gt;.</param>
    /// <param name="requestTimeout">How long one HTTP request to a gateway may take (30 s by default).</param>
    public ChaosProvince(ServerSettings servers, ChaosLog log, string prefix = Prefix, TimeSpan? requestTimeout = null)
    {
        _requestTimeout = requestTimeout ?? TimeSpan.FromSeconds(30);
        _servers = servers;
        _log = log;
        _prefix = prefix;
        Names = new ExchangeNames(prefix);
        _logFolder = Path.Combine(ExchangeHome.Path, "logs", prefix.TrimEnd('-'));
        // No host outlives the run. Ctrl-C and SIGTERM kill them at once, in the signal handler itself: the command
        // line library's own handling gives the run two seconds to wind down and then ends the process, which was seen
        // to leave the hosts running. The default handling then ends this process. SIGKILL cannot be caught: then
        // the hosts stay behind (docs/operations.md).
        _signals =
        [
            PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal),
            PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal),
        ];
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAllNow();
    }

    public ExchangeNames Names { get; }

    /// <summary>The hub's process.</summary>
    public HostProcess Router => _router!;

    /// <summary>One gateway's process.</summary>
    public HostProcess Gateway(string agencyCode) => _gateways[agencyCode];

    public string LogFolder => _logFolder;

    public string HubConnectionString => _servers.PostgresConnectionString(Names.HubDatabase);

    public HubDbContext CreateHubDb() => LocalDeployment.CreateHubDb(HubConnectionString);

    public GatewayDbContext CreateGatewayDb(string agencyCode) =>
        new(new DbContextOptionsBuilder<GatewayDbContext>().UseExchangePostgres(_servers.PostgresConnectionString(Names.GatewayDatabase(agencyCode))).Options);

    /// <summary>The client of one gateway's HTTP API, made when the gateway started (<see cref="CreateClient"/>).</summary>
    public GatewayClient Client(string agencyCode) => _clients[agencyCode];

    /// <summary>Removes an earlier run's databases and queues, then sets up the PKI, the directory and the broker users, and starts every host.</summary>
    /// <param name="deadline">The hub's deadline for normal-priority deliveries (Router:Deadlines:Normal).</param>
    public async Task StartAsync(IReadOnlyCollection<string> gatewayAgencies, TimeSpan deadline, CancellationToken ct)
    {
        Directory.CreateDirectory(_logFolder);
        foreach (var old in Directory.EnumerateFiles(_logFolder, "*.log"))
        {
            File.Delete(old);
        }

        _log.Line("removing the previous run's databases and queues");
        await DeploymentDatabases.DropAsync(_servers, Names, ct);
        await DeleteQueuesAsync(ct);

        var directory = SampleDirectory.Load();
        _log.Line("development PKI, directory and broker users");
        var (pki, users) = await ProcessProvince.PrepareAsync(_servers, Names, directory, directory.Agencies.Select(a => a.Code), ct);
        var common = ProcessProvince.Common(_prefix, pki);
        var hub = ProcessProvince.Hub(common, pki, users);
        hub["Router:Deadlines:Normal"] = deadline.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
        hub["Router:Deadlines:CheckInterval"] = "00:00:02";
        _router = new HostProcess("router", "Exchange.Router", hub, _logFolder);

        foreach (var code in gatewayAgencies)
        {
            _gateways[code] = new HostProcess($"gateway-{code}", "Exchange.Gateway",
                ProcessProvince.Gateway(common, directory.Agencies.Single(a => a.Code == code), pki, users), _logFolder);
        }

        _log.Line($"starting the hub and {_gateways.Count} gateways as processes (logs in {_logFolder})");
        await _router.StartAsync(ct);
        await Task.WhenAll(_gateways.Values.Select(g => g.StartAsync(ct)));
        foreach (var (code, gateway) in _gateways)
        {
            // The document system's key (role agency), made in the gateway's own database now that it has its schema.
            await using var db = CreateGatewayDb(code);
            var key = (await GatewayKeys.CreateAsync(db, code, "agency", "chaos run", TimeProvider.System, replace: true, ct)).Key;
            _clients[code] = CreateClient(code, gateway.Url, key);
        }
    }

    /// <summary>
    /// The one place the run makes its clients of a gateway's HTTP API, each presenting that gateway's API key. Every
    /// submission goes through <see cref="GatewayClient"/>.
    /// </summary>
    private GatewayClient CreateClient(string agencyCode, Uri gateway, string apiKey)
    {
        // 30 s per attempt by default: a submission whose answer does not come is sent again, with the same idempotency key.
        var http = GatewayClient.Authorize(new HttpClient { BaseAddress = gateway, Timeout = _requestTimeout }, apiKey);
        _http[agencyCode] = http;
        return new GatewayClient(http);
    }

    /// <summary>SIGKILL the hub, leave it down for <paramref name="down"/>, start it again; returns when it is ready.</summary>
    public async Task KillRouterAsync(TimeSpan down, CancellationToken ct)
    {
        await _router!.KillAsync();
        await Task.Delay(down, ct);
        await _router.StartAsync(ct);
    }

    /// <summary>SIGKILL one gateway, leave it down for <paramref name="down"/>, start it again; returns when it is ready.</summary>
    public async Task KillGatewayAsync(string agencyCode, TimeSpan down, CancellationToken ct)
    {
        var gateway = _gateways[agencyCode];
        await gateway.KillAsync();
        await Task.Delay(down, ct);
        await gateway.StartAsync(ct);
    }

    /// <summary>Stops and starts a server through the services script (<c>restart-rabbitmq</c>, <c>restart-postgres</c>).</summary>
    public async Task RestartServerAsync(FileInfo servicesScript, string command, CancellationToken ct)
    {
        var log = Path.Combine(_logFolder, "services.log");
        await File.AppendAllTextAsync(log, $"{DateTimeOffset.UtcNow:HH:mm:ss.fff} ---- chaos: {command}\n", ct);
        // In a session of its own (setsid), writing its timestamped output straight to the log file, not to a pipe to
        // this process: if the run is stopped (Ctrl-C, SIGTERM) while a server restarts, the script neither gets the
        // signal nor dies writing to a closed pipe, and finishes the restart instead of leaving the server down.
        const string Script = """
            exec </dev/null >/dev/null 2>&1
            bash "$0" "$1" 2>&1 | while IFS= read -r line; do printf '%s %s\n' "$(date -u +%H:%M:%S.%3N)" "$line"; done >>"$2" 2>&1
            exit "${PIPESTATUS[0]}"
            """;
        var start = new ProcessStartInfo("setsid", ["--wait", "bash", "-c", Script, servicesScript.FullName, command, log])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not run {servicesScript.FullName}.");
        await process.WaitForExitAsync(ct);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{servicesScript.Name} {command} failed (exit {process.ExitCode}); see {log}.");
        }
    }

    /// <summary>Stops every host cleanly (SIGTERM), so that the hub seals its last evidence and signs a checkpoint.</summary>
    public async Task StopAsync()
    {
        await Task.WhenAll(_gateways.Values.Select(g => g.StopAsync()));
        if (_router is not null)
        {
            await _router.StopAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var signal in _signals)
        {
            signal.Dispose();
        }

        foreach (var http in _http.Values)
        {
            http.Dispose();
        }

        foreach (var gateway in _gateways.Values)
        {
            await gateway.DisposeAsync();
        }

        if (_router is not null)
        {
            await _router.DisposeAsync();
        }
    }

    private void OnSignal(PosixSignalContext context)
    {
        _log.Line($"{context.Signal}: killing the hosts and stopping");
        KillAllNow();
    }

    private void KillAllNow()
    {
        foreach (var gateway in _gateways.Values)
        {
            gateway.KillNow();
        }

        _router?.KillNow();
    }

    private async Task DeleteQueuesAsync(CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = _servers.ManagementApiUri(), Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{_servers.AmqpUser}:{_servers.AmqpPassword}")));
        var vhost = Uri.EscapeDataString(_servers.AmqpVirtualHost);
        foreach (var kind in new[] { "queues", "exchanges" })
        {
            var objects = await http.GetFromJsonAsync<List<NamedObject>>($"api/{kind}/{vhost}?columns=name", ct) ?? [];
            foreach (var o in objects.Where(o => o.Name.StartsWith(_prefix, StringComparison.Ordinal)))
            {
                using var response = await http.DeleteAsync($"api/{kind}/{vhost}/{Uri.EscapeDataString(o.Name)}", ct);
            }
        }
    }

    private sealed record NamedObject(string Name);
}
