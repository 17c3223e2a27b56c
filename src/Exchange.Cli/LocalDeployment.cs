using Exchange.Cli.Commands;
using Exchange.Core;
using Exchange.Gateway;
using Exchange.Gateway.Access;
using Exchange.Persistence;
using Exchange.Persistence.Gateway;
using Exchange.Persistence.Hub;
using Exchange.Router;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Broker;
using Exchange.Signing;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Exchange.Cli;

/// <summary>What a local deployment is made of: which servers, which PKI, which directory, which agencies get a gateway.</summary>
public sealed record DeploymentSettings(
    ServerSettings Servers,
    string PkiFolder,
    DirectoryDocument Directory,
    string Prefix = "",
    IReadOnlyCollection<string>? GatewayAgencies = null,
    string LogLevel = "Warning",
    bool PerAgencyBrokerUsers = false,
    IReadOnlyDictionary<string, string?>? HostSettings = null)
{
    /// <summary>Extra registrations for every host before it is built (tests add a log capture here).</summary>
    public Action<WebApplicationBuilder>? ConfigureHost { get; init; }

    /// <summary>The handler of each gateway's <see cref="RunningGateway.Http"/> (tests over HTTPS trust their own CA in it).</summary>
    public Func<HttpMessageHandler>? GatewayHttpHandler { get; init; }

    /// <summary>Drop the prefix's databases before starting (<see cref="DeploymentDatabases"/>), so that a bench measures
    /// empty tables and not whatever earlier runs left in them.</summary>
    public bool FreshDatabases { get; init; }
}

/// <summary>
/// One running agency gateway. <see cref="Http"/> presents <see cref="ApiKey"/>, a key of role agency made for this
/// start, so whatever uses it acts as the agency's document system.
/// </summary>
public sealed record RunningGateway(Agency Agency, WebApplication App, HttpClient Http, string ApiKey);

/// <summary>
/// A hub and agency gateways running in this process against the real PostgreSQL and RabbitMQ: what
/// `exchange demo` and `exchange bench` start, and what the integration tests drive. Each host is the same
/// host a deployment runs on its own (Exchange.Router, Exchange.Gateway), with its own database and queue.
/// When the directory lists hubs (federation by tier), every hub runs, each with its own database and virtual
/// host, the hubs linked by shovels, and each gateway on the virtual host of the hub that serves it.
/// </summary>
public sealed class LocalDeployment : IAsyncDisposable
{
    /// <summary>The name of the key each start of an in-process gateway makes for itself, replacing the last one's.</summary>
    public const string LocalKeyName = "local deployment";

    private readonly DeploymentSettings _settings;
    private readonly Dictionary<string, RunningGateway> _gateways = new(StringComparer.Ordinal);
    private readonly Dictionary<string, WebApplication> _lowerHubs = new(StringComparer.Ordinal);
    private readonly List<BrokerUserResult> _brokerUsers = [];
    private Hosting.DevTimestampHost? _timestamps;

    /// <summary>The development timestamp authority the hubs timestamp their checkpoints with (RFC 3161).</summary>
    public Uri? TimestampUrl => _timestamps?.Url;

    private LocalDeployment(DeploymentSettings settings, DevPki pki, AgencyDirectory directory)
    {
        _settings = settings;
        Pki = pki;
        Directory = directory;
        Names = new ExchangeNames(settings.Prefix);
    }

    public DevPki Pki { get; }

    public AgencyDirectory Directory { get; private set; }

    public ExchangeNames Names { get; }

    /// <summary>The broker users made for this start (passwords included, in memory only); null without per-agency users.</summary>
    public IReadOnlyList<BrokerUserResult> BrokerUsers => _brokerUsers;

    /// <summary>The top hub (the only one without federation).</summary>
    public WebApplication? Router { get; private set; }

    /// <summary>The hubs below the top one, by the code of the agency whose subtree each serves.</summary>
    public IReadOnlyDictionary<string, WebApplication> LowerHubs => _lowerHubs;

    public IReadOnlyDictionary<string, RunningGateway> Gateways => _gateways;

    public string HubConnectionString => HubConnectionStringOf(null);

    /// <summary>The database of a hub (null or the top hub's code: the top hub's).</summary>
    public string HubConnectionStringOf(string? hub) => _settings.Servers.PostgresConnectionString(HubDatabaseOf(Names, Directory, hub));

    private static string HubDatabaseOf(ExchangeNames names, AgencyDirectory directory, string? hub) =>
        hub is null || hub == directory.TopHub ? names.HubDatabase : names.HubDatabaseOf(hub);

    private static string VirtualHostOf(DeploymentSettings settings, ExchangeNames names, AgencyDirectory directory, string? hub) =>
        hub is null || hub == directory.TopHub ? settings.Servers.AmqpVirtualHost : names.HubVirtualHost(settings.Servers.AmqpVirtualHost, hub);

    public string GatewayConnectionString(string agencyCode) => _settings.Servers.PostgresConnectionString(Names.GatewayDatabase(agencyCode));

    /// <summary>Creates the PKI and directory if missing, then starts the hub and the gateways.</summary>
    public static async Task<LocalDeployment> StartAsync(DeploymentSettings settings, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        progress?.Report("dev PKI");
        // Agencies the directory already registers certificates for (the bench's recipient farm) get no dev certificate.
        var pki = DevPki.LoadOrCreate(settings.PkiFolder, settings.Directory.Agencies.Where(a => a.Certificates.Count == 0).Select(a => (a.Code, a.Name)), progress);

        progress?.Report("directory");
        var bound = BindDevCertificates(settings.Directory, pki);
        var names = new ExchangeNames(settings.Prefix);
        if (settings.FreshDatabases)
        {
            progress?.Report("empty databases");
            await DeploymentDatabases.DropAsync(settings.Servers, names, cancellationToken);
        }

        var planned = new AgencyDirectory(0, bound);
        var lowerHubs = planned.Hubs.Where(h => h != planned.TopHub).ToList();
        foreach (var hub in lowerHubs.Prepend(null))
        {
            await ImportAsync(settings.Servers.PostgresConnectionString(HubDatabaseOf(names, planned, hub)), bound, cancellationToken);
        }

        AgencyDirectory directory;
        await using (var db = CreateHubDb(settings.Servers.PostgresConnectionString(names.HubDatabase)))
        {
            directory = (await DirectoryStore.LatestAsync(db, cancellationToken))!;
        }

        var deployment = new LocalDeployment(settings, pki, directory);
        using (var provisioner = new BrokerProvisioner(settings.Servers))
        {
            if (lowerHubs.Count > 0)
            {
                progress?.Report("hub links");
                foreach (var hub in lowerHubs)
                {
                    var parent = directory.ParentHub(hub);
                    var (below, above) = (deployment.VirtualHostOf(hub), deployment.VirtualHostOf(parent));
                    await provisioner.EnsureHubVirtualHostAsync(below, cancellationToken);
                    await provisioner.LinkHubsAsync(below, names.RelayQueue(parent!), above, names.RelayInQueue, cancellationToken);
                    await provisioner.LinkHubsAsync(above, names.RelayQueue(hub), below, names.RelayInQueue, cancellationToken);
                }
            }
        }

        if (settings.PerAgencyBrokerUsers)
        {
            // Rotated on every start: an in-process deployment keeps the passwords in memory only. Each hub's virtual host
            // gets the users of the agencies it serves; the hubs share one user, whose last rotated password counts.
            progress?.Report("broker users");
            foreach (var served in directory.Agencies.GroupBy(a => directory.ServingHub(a.Code)))
            {
                using var provisioner = new BrokerProvisioner(settings.Servers with { AmqpVirtualHost = deployment.VirtualHostOf(served.Key) });
                var result = await provisioner.ProvisionAsync(
                    BrokerCommand.Layout(names, served.Select(a => a.Code)), new BrokerProvisionOptions { RotatePasswords = true }, cancellationToken: cancellationToken);
                deployment._brokerUsers.RemoveAll(u => u.AgencyCode is null);
                deployment._brokerUsers.AddRange(result.Users);
            }
        }

        try
        {
            progress?.Report("timestamp authority");
            deployment._timestamps = await Hosting.DevTimestampHost.StartAsync(pki, cancellationToken: cancellationToken);
            progress?.Report(lowerHubs.Count > 0 ? $"{lowerHubs.Count + 1} hubs" : "router");
            await deployment.StartRouterAsync(cancellationToken);
            foreach (var hub in lowerHubs)
            {
                await deployment.StartLowerHubAsync(hub, cancellationToken);
            }

            // A retired agency (merged away) keeps its directory entry but runs no gateway.
            var now = DateTimeOffset.UtcNow;
            var agencies = directory.Agencies
                .Where(a => settings.GatewayAgencies is null ? a.IsActiveAt(now) : settings.GatewayAgencies.Contains(a.Code))
                .ToList();
            progress?.Report($"{agencies.Count} gateway(s)");
            foreach (var agency in agencies)
            {
                await deployment.StartGatewayAsync(agency.Code, cancellationToken);
            }

            return deployment;
        }
        catch
        {
            await deployment.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stores a changed directory as a new version in every hub's database, and routes by it from now on.</summary>
    public async Task<AgencyDirectory> ImportDirectoryAsync(DirectoryDocument document, CancellationToken cancellationToken = default)
    {
        var bound = BindDevCertificates(document, Pki);
        foreach (var hub in Directory.Hubs.Where(h => h != Directory.TopHub).Prepend(null))
        {
            await ImportAsync(HubConnectionStringOf(hub), bound, cancellationToken);
        }

        await using var db = CreateHubDb();
        Directory = (await DirectoryStore.LatestAsync(db, cancellationToken))!;
        return Directory;
    }

    private static async Task ImportAsync(string connectionString, DirectoryDocument document, CancellationToken cancellationToken)
    {
        await MigrationRunner.ApplyAsync(connectionString, HubDbContext.Schema, cancellationToken: cancellationToken);
        await using var db = CreateHubDb(connectionString);
        await DirectoryStore.ImportAsync(db, document, TimeProvider.System, cancellationToken);
    }

    private string VirtualHostOf(string? hub) => VirtualHostOf(_settings, Names, Directory, hub);

    /// <summary>The directory with each agency's dev PKI organisation certificate registered to it.</summary>
    public static DirectoryDocument BindDevCertificates(DirectoryDocument directory, DevPki pki) =>
        directory with
        {
            Agencies = directory.Agencies.Select(a => pki.HasAgency(a.Code)
                ? a with { Certificates = a.Certificates.Append(pki.AgencySigner(a.Code).CertificateSha256).Distinct().ToList() }
                : a).ToList(),
        };

    public static HubDbContext CreateHubDb(string connectionString) =>
        new(new DbContextOptionsBuilder<HubDbContext>().UseExchangePostgres(connectionString).Options);

    public HubDbContext CreateHubDb() => CreateHubDb(HubConnectionString);

    /// <summary>The database of the hub that runs for <paramref name="hub"/>'s subtree (federation).</summary>
    public HubDbContext CreateHubDbOf(string hub) => CreateHubDb(HubConnectionStringOf(hub));

    public GatewayDbContext CreateGatewayDb(string agencyCode) =>
        new(new DbContextOptionsBuilder<GatewayDbContext>().UseExchangePostgres(GatewayConnectionString(agencyCode)).Options);

    public async Task StartRouterAsync(CancellationToken cancellationToken = default)
    {
        if (Router is not null)
        {
            return;
        }

        Router = await StartHubAsync(Directory.TopHub, cancellationToken);
    }

    private async Task StartLowerHubAsync(string hub, CancellationToken cancellationToken) =>
        _lowerHubs[hub] = await StartHubAsync(hub, cancellationToken);

    /// <summary>
    /// The settings a hub of this deployment runs with (<paramref name="hub"/> null: the top hub); what a further
    /// instance of it, in a process of its own, needs to compete for the same queues (`exchange bench --routers`).
    /// </summary>
    public Dictionary<string, string?> HubSettings(string? hub = null)
    {
        var settings = CommonSettings(hub);
        settings["Router:SealPkcs12Path"] = Pki.HubSealPkcs12Path;
        settings["Router:SealPkcs12Password"] = Pki.Password;
        if (_timestamps is not null)
        {
            settings["Router:Evidence:TimestampUrl"] = _timestamps.Url.ToString();
        }
        settings["Router:HubCode"] = hub;
        settings["Router:Database"] = HubDatabaseOf(Names, Directory, hub);
        if (_brokerUsers.SingleOrDefault(u => u.AgencyCode is null) is { } hubUser)
        {
            settings["Router:AmqpUser"] = hubUser.User;
            settings["Router:AmqpPassword"] = hubUser.Password;
        }

        return settings;
    }

    private async Task<WebApplication> StartHubAsync(string? hub, CancellationToken cancellationToken)
    {
        var router = RouterHost.Build([], HubSettings(hub), _settings.ConfigureHost);
        await router.StartAsync(cancellationToken);
        return router;
    }

    public async Task StopRouterAsync(CancellationToken cancellationToken = default)
    {
        if (Router is { } router)
        {
            Router = null;
            await router.StopAsync(cancellationToken);
            await router.DisposeAsync();
        }
    }

    public async Task<RunningGateway> StartGatewayAsync(string agencyCode, CancellationToken cancellationToken = default)
    {
        var agency = Directory.Find(agencyCode) ?? throw new ArgumentException($"'{agencyCode}' is not in the directory.", nameof(agencyCode));
        var settings = CommonSettings(Directory.ServingHub(agency.Code));
        settings["Gateway:AgencyCode"] = agency.Code;
        settings["Gateway:AgencyName"] = agency.Name;
        settings["Gateway:Pkcs12Path"] = Pki.AgencyPkcs12Path(agency.Code);
        settings["Gateway:Pkcs12Password"] = Pki.Password;
        settings["Gateway:HubCertificatePath"] = Pki.HubSealCertificatePath;
        if (_brokerUsers.SingleOrDefault(u => u.AgencyCode == agency.Code) is { } agencyUser)
        {
            settings["Gateway:AmqpUser"] = agencyUser.User;
            settings["Gateway:AmqpPassword"] = agencyUser.Password;
        }

        var app = GatewayHost.Build([], settings, _settings.ConfigureHost);
        await app.StartAsync(cancellationToken);
        string key;
        try
        {
            key = await CreateGatewayKeyAsync(agency.Code, ApiClientRoles.Agency, LocalKeyName, replace: true, cancellationToken);
        }
        catch
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
            throw;
        }

        var http = GatewayClient.Authorize(new HttpClient(_settings.GatewayHttpHandler?.Invoke() ?? new SocketsHttpHandler()) { BaseAddress = new Uri(app.Urls.First()) }, key);
        var gateway = new RunningGateway(agency, app, http, key);
        _gateways[agency.Code] = gateway;
        return gateway;
    }

    /// <summary>Makes an API key in an agency gateway's database (its schema must exist: the gateway applies it at start).</summary>
    public async Task<string> CreateGatewayKeyAsync(string agencyCode, string role, string name, bool replace = false, CancellationToken cancellationToken = default)
    {
        await using var db = CreateGatewayDb(agencyCode);
        return (await GatewayKeys.CreateAsync(db, agencyCode, role, name, TimeProvider.System, replace, cancellationToken)).Key;
    }

    public async Task StopGatewayAsync(string agencyCode, CancellationToken cancellationToken = default)
    {
        if (_gateways.Remove(agencyCode, out var gateway))
        {
            gateway.Http.Dispose();
            await gateway.App.StopAsync(cancellationToken);
            await gateway.App.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        var connectionStrings = _gateways.Keys.Select(GatewayConnectionString).Concat(_lowerHubs.Keys.Select(HubConnectionStringOf)).Append(HubConnectionString).ToList();
        foreach (var code in _gateways.Keys.ToList())
        {
            await StopGatewayAsync(code);
        }

        foreach (var hub in _lowerHubs.Values)
        {
            await hub.StopAsync();
            await hub.DisposeAsync();
        }

        _lowerHubs.Clear();
        await StopRouterAsync();
        if (_timestamps is not null)
        {
            await _timestamps.DisposeAsync();
            _timestamps = null;
        }

        // Npgsql keeps a pool's idle connections open for 5 minutes after last use, and the pool outlives the hosts of
        // this process: a test run starting deployment after deployment would reach PostgreSQL's max_connections.
        foreach (var connectionString in connectionStrings)
        {
            using var connection = new NpgsqlConnection(connectionString);
            NpgsqlConnection.ClearPool(connection);
        }
    }

    /// <summary>Settings every host shares, on the virtual host of <paramref name="hub"/> (null: the top hub's).</summary>
    private Dictionary<string, string?> CommonSettings(string? hub)
    {
        var s = _settings.Servers;
        var settings = new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:0",
            // A deployment on this machine's local servers, for the demo, the tests and the benches: development mode.
            [ServerSettings.DevelopmentVariable] = "1",
            ["Exchange:Prefix"] = _settings.Prefix,
            ["Trust:TrustAnchorFiles:0"] = Pki.RootCertificatePath,
            ["Trust:CrlFiles:0"] = Pki.CrlPath,
            ["Logging:LogLevel:Default"] = _settings.LogLevel,
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
            [ServerSettings.PostgresHostVariable] = s.PostgresHost,
            [ServerSettings.PostgresPortVariable] = s.PostgresPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [ServerSettings.PostgresUserVariable] = s.PostgresUser,
            [ServerSettings.PostgresPasswordVariable] = s.PostgresPassword,
            [ServerSettings.AmqpHostVariable] = s.AmqpHost,
            [ServerSettings.AmqpPortVariable] = s.AmqpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [ServerSettings.AmqpUserVariable] = s.AmqpUser,
            [ServerSettings.AmqpPasswordVariable] = s.AmqpPassword,
            [ServerSettings.AmqpVirtualHostVariable] = VirtualHostOf(hub),
            [ServerSettings.AmqpTlsVariable] = s.AmqpTls ? "1" : "0",
            [ServerSettings.AmqpTlsPortVariable] = s.AmqpTlsPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [ServerSettings.AmqpCaFileVariable] = s.AmqpCaFile,
        };
        foreach (var (key, value) in _settings.HostSettings ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }
}
