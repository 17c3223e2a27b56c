using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Exchange.Cli.Commands;
using Exchange.Cli.Hosting;
using Exchange.Core;
using Exchange.Gateway.Access;
using Exchange.Gateway.Vdxp;
using Exchange.Persistence;
using Exchange.Persistence.Gateway;
using Exchange.Persistence.Hub;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Broker;
using Exchange.Signing;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Exchange.Cli.Province;

/// <summary>What `exchange province run` (and the first `up`) is asked for; null: the stored plan's, or the default.</summary>
public sealed record ProvinceOptions(string? Prefix, int? BasePort, string? DirectoryFile);

/// <summary>A province that cannot start as asked (a port taken, a plan made with other settings): said to the user, exit 2.</summary>
public sealed class ProvinceSetupException(string message) : Exception(message);

/// <summary>
/// `exchange province run`: the supervisor of a long-running province. It sets up what the province needs (the
/// development PKI, the directory in the hub's database, one broker user per agency, and, the first time only, the
/// credentials of <see cref="ProvincePlan"/>), then runs the hub, the auditors' host and one gateway per agency, each a
/// process of its own on the plan's fixed port, starts again any that exits (<see cref="HostProcess"/>), keeps
/// <c>state.json</c> current, and stops every host when it is told to stop (SIGTERM, Ctrl-C).
/// </summary>
public static class ProvinceSupervisor
{
    /// <summary>How long the supervisor may take to stop its hosts after SIGTERM (each gets 15 s, all at once).</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(60);

    private static readonly TimeSpan StateInterval = TimeSpan.FromSeconds(2);

    /// <summary>The name every development credential of the province carries in a gateway's database.</summary>
    private const string CredentialName = "province";

    public static async Task<int> RunAsync(ProvinceOptions options, CancellationToken ct)
    {
        Directory.CreateDirectory(ProvinceFiles.Folder);
        Directory.CreateDirectory(ProvinceFiles.LogFolder);
        var earlier = ProvinceState.Load(ProvinceFiles.StatePath);
        if (earlier is not null && earlier.SupervisorPid != Environment.ProcessId && earlier.SupervisorAlive)
        {
            Log($"a supervisor runs already (pid {earlier.SupervisorPid}); `exchange province down` stops it");
            return ExitCodes.Refused;
        }

        KillLeftovers(earlier);

        ProvincePlan plan;
        DirectoryDocument directory;
        IReadOnlyList<Agency> agencies;
        try
        {
            (plan, directory, agencies) = Plan(options);
            CheckPortsFree(plan);
        }
        catch (ProvinceSetupException e)
        {
            Log(e.Message);
            return ExitCodes.UsageOrIo;
        }

        var servers = ServerSettings.FromEnvironment();
        var names = new ExchangeNames(plan.Prefix);
        Log($"setting up the province (prefix '{plan.Prefix}', {agencies.Count} agencies): development PKI, directory, broker users");
        // Broker passwords are rotated on every start and kept in this process only: the hosts it restarts get them again.
        var (pki, users) = await ProcessProvince.PrepareAsync(servers, names, directory, agencies.Select(a => a.Code), ct);

        if (!File.Exists(ProvinceFiles.PlanPath))
        {
            Log("making the development credentials (once: every later start reuses them)");
            plan = await WithCredentialsAsync(plan, servers, names, ct);
            plan.Save(ProvinceFiles.PlanPath);
        }

        // The development timestamp authority (RFC 3161) runs inside the supervisor: the hub it restarts keeps stamping.
        await using var timestamps = await DevTimestampHost.StartAsync(pki, cancellationToken: ct);
        Log($"development timestamp authority at {timestamps.Url}");
        var hosts = Hosts(plan, agencies, pki, users, timestamps.Url);
        var startedAt = DateTimeOffset.UtcNow;
        var stateLock = new Lock();
        void WriteState(bool stopping)
        {
            lock (stateLock)
            {
                new ProvinceState(Environment.ProcessId, startedAt, DateTimeOffset.UtcNow, stopping, hosts.Select(h => h.State()).ToList())
                    .Save(ProvinceFiles.StatePath);
            }
        }

        foreach (var host in hosts)
        {
            host.Process.Notice = line =>
            {
                Log(line);
                WriteState(stopping: false);
            };
        }

        WriteState(stopping: false);
        try
        {
            Log($"starting the hub, the audit host and {hosts.Count - 2} gateways (logs in {ProvinceFiles.LogFolder})");
            await StartAsync(hosts[0], ct);
            WriteState(stopping: false);
            await Task.WhenAll(hosts.Skip(1).Select(async h =>
            {
                await StartAsync(h, ct);
                WriteState(stopping: false);
            }));
            Log($"every host is up: hub {plan.Answer.Hub.Url}, audit {plan.Answer.Audit.Url}, gateways from {plan.Answer.Gateways.FirstOrDefault()?.Url}");
            while (!ct.IsCancellationRequested)
            {
                WriteState(stopping: false);
                try
                {
                    await Task.Delay(StateInterval, ct);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Told to stop while starting: stop what started.
        }
        finally
        {
            Log("stopping every host");
            WriteState(stopping: true);
            await Task.WhenAll(hosts.Skip(1).Select(h => h.Process.StopAsync()));
            await hosts[0].Process.StopAsync();
            WriteState(stopping: true);
            foreach (var host in hosts)
            {
                await host.Process.DisposeAsync();
            }

            NpgsqlConnection.ClearAllPools();
            Log("stopped");
        }

        return ExitCodes.Ok;
    }

    /// <summary>A host that does not come up is logged, not fatal: its supervisor keeps starting it, and `status` shows it down.</summary>
    private static async Task StartAsync(SupervisedHost host, CancellationToken ct)
    {
        try
        {
            await host.Process.StartAsync(ct);
            Log($"{host.Process.Name} ready at {host.Process.Url.ToString().TrimEnd('/')} (pid {host.Process.ProcessId})");
        }
        catch (Exception e) when (e is InvalidOperationException or TimeoutException)
        {
            Log($"{host.Process.Name}: {e.Message}");
        }
    }

    /// <summary>The stored plan, or a new one (without credentials yet) from the options; the directory and the agencies that get a gateway.</summary>
    private static (ProvincePlan Plan, DirectoryDocument Directory, IReadOnlyList<Agency> Agencies) Plan(ProvinceOptions options)
    {
        var stored = ProvincePlan.Load(ProvinceFiles.PlanPath);
        if (stored is not null)
        {
            var differs = new List<string>();
            if (options.Prefix is { } p && p != stored.Prefix)
            {
                differs.Add($"--prefix {stored.Prefix}");
            }

            if (options.BasePort is { } b && b != stored.BasePort)
            {
                differs.Add($"--base-port {stored.BasePort}");
            }

            if (options.DirectoryFile is { } d && Path.GetFullPath(d) != stored.DirectoryFile)
            {
                differs.Add($"--directory {stored.DirectoryFile ?? "(the sample province)"}");
            }

            if (differs.Count > 0)
            {
                throw new ProvinceSetupException(
                    $"the province was set up with {string.Join(", ", differs)} ({ProvinceFiles.PlanPath}); to change it, run `down`, remove that file (its credentials go with it) and run `up` again");
            }
        }

        var directoryFile = stored?.DirectoryFile ?? (options.DirectoryFile is { } file ? Path.GetFullPath(file) : null);
        DirectoryDocument directory;
        try
        {
            directory = directoryFile is null ? SampleDirectory.Load() : DirectoryDocument.Parse(File.ReadAllText(directoryFile));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Text.Json.JsonException or FormatException or ArgumentException)
        {
            throw new ProvinceSetupException($"cannot read the directory {directoryFile}: {e.Message}");
        }

        // A retired agency (merged away) keeps its directory entry but runs no gateway.
        var now = DateTimeOffset.UtcNow;
        var agencies = directory.Agencies.Where(a => a.IsActiveAt(now)).ToList();
        if (stored is not null)
        {
            var planned = stored.Answer.Gateways.Select(g => g.Agency).ToHashSet(StringComparer.Ordinal);
            var missing = agencies.Where(a => !planned.Contains(a.Code)).Select(a => a.Code).ToList();
            if (missing.Count > 0)
            {
                Log($"note: the directory now has agencies the plan has no gateway for ({string.Join(", ", missing)}); remove {ProvinceFiles.PlanPath} to plan them");
            }

            return (stored, directory, agencies.Where(a => planned.Contains(a.Code)).ToList());
        }

        var basePort = options.BasePort ?? ProvincePlan.DefaultBasePort;
        if (basePort is < 1024 || basePort + ProvincePlan.GatewayOffset + agencies.Count > IPEndPoint.MaxPort)
        {
            throw new ProvinceSetupException($"--base-port {basePort}: the plan needs ports {basePort} to {basePort + ProvincePlan.GatewayOffset + agencies.Count - 1}, above 1023");
        }

        var gateways = agencies.Select((a, i) =>
        {
            var url = ProvincePlan.GatewayUrl(basePort, i);
            return new ProvinceGateway(a.Code, a.Name, a.Kind.ToString(), url, string.Empty, new ProvinceVdxp($"{url}/vdxp", string.Empty, string.Empty));
        }).ToList();
        var plan = new ProvincePlan(options.Prefix ?? ProvincePlan.DefaultPrefix, basePort, directoryFile,
            new ProvinceAnswer(gateways, new ProvinceHub(ProvincePlan.HubUrl(basePort)), new ProvinceAudit(ProvincePlan.AuditUrl(basePort), string.Empty)));
        return (plan, directory, agencies);
    }

    /// <summary>Refuses to start on a port another program holds: a host there would fail to bind and be restarted for ever.</summary>
    private static void CheckPortsFree(ProvincePlan plan)
    {
        var taken = new List<int>();
        foreach (var port in plan.Ports)
        {
            try
            {
                using var listener = new TcpListener(IPAddress.Loopback, port);
                listener.Start();
            }
            catch (SocketException)
            {
                taken.Add(port);
            }
        }

        if (taken.Count > 0)
        {
            throw new ProvinceSetupException(
                $"port(s) {string.Join(", ", taken)} of the province's plan are taken by another program (`ss -ltnp` names it); stop it, or set the province up again with --base-port");
        }
    }

    /// <summary>Per gateway an API key of role agency and a national-axis client; an auditors' key for the audit host.</summary>
    private static async Task<ProvincePlan> WithCredentialsAsync(ProvincePlan plan, ServerSettings servers, ExchangeNames names, CancellationToken ct)
    {
        var gateways = new List<ProvinceGateway>();
        foreach (var gateway in plan.Answer.Gateways)
        {
            var connection = servers.PostgresConnectionString(names.GatewayDatabase(gateway.Agency));
            await MigrationRunner.ApplyAsync(connection, GatewayDbContext.Schema, cancellationToken: ct);
            await using var db = new GatewayDbContext(new DbContextOptionsBuilder<GatewayDbContext>().UseExchangePostgres(connection).Options);
            // replace: a plan file removed by hand leaves credentials of the same name behind; the new ones revoke them.
            var key = await GatewayKeys.CreateAsync(db, gateway.Agency, ApiClientRoles.Agency, CredentialName, TimeProvider.System, replace: true, ct);
            var client = await VdxpClients.CreateAsync(db, gateway.Agency, CredentialName, TimeProvider.System, replace: true, cancellationToken: ct);
            gateways.Add(gateway with { ApiKey = key.Key, Vdxp = gateway.Vdxp with { SystemId = client.SystemId, Secret = client.Secret } });
        }

        return plan with
        {
            Answer = plan.Answer with { Gateways = gateways, Audit = plan.Answer.Audit with { ApiKey = Audit.Access.ApiKeys.Generate() } },
        };
    }

    private static List<SupervisedHost> Hosts(ProvincePlan plan, IReadOnlyList<Agency> agencies, DevPki pki, BrokerProvisionResult users, Uri timestampUrl)
    {
        var common = ProcessProvince.Common(plan.Prefix, pki);
        var logs = ProvinceFiles.LogFolder;
        var hosts = new List<SupervisedHost>
        {
            new("hub", null, new HostProcess("hub", "Exchange.Router", ProcessProvince.Hub(common, pki, users, timestampUrl), logs, new Uri(plan.Answer.Hub.Url), "province")),
            new("audit", null, new HostProcess("audit", "Exchange.Audit", new Dictionary<string, string>(common)
            {
                ["Audit:Keys:0:Name"] = CredentialName,
                ["Audit:Keys:0:Sha256"] = Audit.Access.ApiKeys.Hash(plan.Answer.Audit.ApiKey),
                ["Audit:Keys:0:Role"] = Audit.Access.ApiKeys.RoleName(Audit.Access.AuditRole.Auditor),
            }, logs, new Uri(plan.Answer.Audit.Url), "province")),
        };
        foreach (var gateway in plan.Answer.Gateways)
        {
            var agency = agencies.SingleOrDefault(a => a.Code == gateway.Agency);
            if (agency is null)
            {
                Log($"note: {gateway.Agency} ({gateway.Name}) is no longer an active agency of the directory: its gateway does not run");
                continue;
            }

            hosts.Add(new("gateway", agency.Code, new HostProcess(
                $"gateway-{agency.Code}", "Exchange.Gateway", ProcessProvince.Gateway(common, agency, pki, users), logs, new Uri(gateway.Url), "province")));
        }

        return hosts;
    }

    /// <summary>
    /// Hosts of an earlier supervisor that was killed (SIGKILL cannot be caught, so it could not stop them): still
    /// holding their ports, they would keep the new ones from starting.
    /// </summary>
    private static void KillLeftovers(ProvinceState? earlier)
    {
        foreach (var host in earlier?.Hosts ?? [])
        {
            if (host.Pid is { } pid && ProvinceState.HostAlive(host))
            {
                Log($"stopping {host.Name} (pid {pid}), left running by an earlier supervisor");
                try
                {
                    using var process = System.Diagnostics.Process.GetProcessById(pid);
                    process.Kill();
                    process.WaitForExit(TimeSpan.FromSeconds(10));
                }
                catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    // Gone meanwhile.
                }
            }
        }
    }

    internal static void Log(string line) =>
        Console.Error.WriteLine($"{DateTimeOffset.UtcNow.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture)} province: {line}");

    private sealed record SupervisedHost(string Role, string? Agency, HostProcess Process)
    {
        public ProvinceHostState State() =>
            new(Process.Name, Role, Agency, Process.Url.ToString().TrimEnd('/'), Process.ProcessId, Process.Running, Process.Restarts, Process.LogPath);
    }
}
