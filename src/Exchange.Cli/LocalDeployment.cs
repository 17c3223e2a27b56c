using Exchange.Cli.Commands;
using Exchange.Core;
using Exchange.Gateway;
using Exchange.Persistence;
using Exchange.Persistence.Gateway;
using Exchange.Persistence.Hub;
using Exchange.Router;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Broker;
using Exchange.Signing;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;

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
    IReadOnlyDictionary<string, string?>? HostSettings = null);

/// <summary>One running agency gateway.</summary>
public sealed record RunningGateway(Agency Agency, WebApplication App, HttpClient Http);

/// <summary>
/// A hub and agency gateways running in this process against the real PostgreSQL and RabbitMQ: what
/// `exchange demo` and `exchange bench` start, and what the integration tests drive. Each host is the same
/// host a deployment runs on its own (Exchange.Router, Exchange.Gateway), with its own database and queue.
/// </summary>
public sealed class LocalDeployment : IAsyncDisposable
{
    private readonly DeploymentSettings _settings;
    private readonly Dictionary<string, RunningGateway> _gateways = new(StringComparer.Ordinal);
    private BrokerProvisionResult? _brokerUsers;

    private LocalDeployment(DeploymentSettings settings, DevPki pki, AgencyDirectory directory)
    {
        _settings = settings;
        Pki = pki;
        Directory = directory;
        Names = new ExchangeNames(settings.Prefix);
    }

    public DevPki Pki { get; }

    public AgencyDirectory Directory { get; }

    public ExchangeNames Names { get; }

    public WebApplication? Router { get; private set; }

    public IReadOnlyDictionary<string, RunningGateway> Gateways => _gateways;

    /// <summary>The broker users of this deployment with their passwords, when it runs with per-agency users.</summary>
    public BrokerProvisionResult? BrokerUsers => _brokerUsers;

    public string HubConnectionString => _settings.Servers.PostgresConnectionString(Names.HubDatabase);

    public string GatewayConnectionString(string agencyCode) => _settings.Servers.PostgresConnectionString(Names.GatewayDatabase(agencyCode));

    /// <summary>Creates the PKI and directory if missing, then starts the hub and the gateways.</summary>
    public static async Task<LocalDeployment> StartAsync(DeploymentSettings settings, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        progress?.Report("dev PKI");
        var pki = DevPki.LoadOrCreate(settings.PkiFolder, settings.Directory.Agencies.Select(a => (a.Code, a.Name)), progress);

        progress?.Report("directory");
        var bound = BindDevCertificates(settings.Directory, pki);
        var names = new ExchangeNames(settings.Prefix);
        var hubConnection = settings.Servers.PostgresConnectionString(names.HubDatabase);
        await MigrationRunner.ApplyAsync(hubConnection, HubDbContext.Schema, cancellationToken: cancellationToken);
        await using (var db = CreateHubDb(hubConnection))
        {
            await DirectoryStore.ImportAsync(db, bound, TimeProvider.System, cancellationToken);
        }

        AgencyDirectory directory;
        await using (var db = CreateHubDb(hubConnection))
        {
            directory = (await DirectoryStore.LatestAsync(db, cancellationToken))!;
        }

        var deployment = new LocalDeployment(settings, pki, directory);
        if (settings.PerAgencyBrokerUsers)
        {
            // Rotated on every start: an in-process deployment keeps the passwords in memory only.
            progress?.Report("broker users");
            using var provisioner = new BrokerProvisioner(settings.Servers);
            deployment._brokerUsers = await provisioner.ProvisionAsync(
                BrokerCommand.Layout(names, directory.Agencies.Select(a => a.Code)), new BrokerProvisionOptions { RotatePasswords = true }, cancellationToken: cancellationToken);
        }

        try
        {
            progress?.Report("router");
            await deployment.StartRouterAsync(cancellationToken);
            var agencies = directory.Agencies
                .Where(a => settings.GatewayAgencies is null || settings.GatewayAgencies.Contains(a.Code))
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

    /// <summary>The directory with each agency's dev PKI organisation certificate registered to it.</summary>
    public static DirectoryDocument BindDevCertificates(DirectoryDocument directory, DevPki pki) =>
        new(directory.Agencies.Select(a => pki.HasAgency(a.Code)
            ? a with { Certificates = a.Certificates.Append(pki.AgencySigner(a.Code).CertificateSha256).Distinct().ToList() }
            : a).ToList());

    public static HubDbContext CreateHubDb(string connectionString) =>
        new(new DbContextOptionsBuilder<HubDbContext>().UseNpgsql(connectionString).Options);

    public HubDbContext CreateHubDb() => CreateHubDb(HubConnectionString);

    public GatewayDbContext CreateGatewayDb(string agencyCode) =>
        new(new DbContextOptionsBuilder<GatewayDbContext>().UseNpgsql(GatewayConnectionString(agencyCode)).Options);

    public async Task StartRouterAsync(CancellationToken cancellationToken = default)
    {
        if (Router is not null)
        {
            return;
        }

        var settings = CommonSettings();
        settings["Router:SealPkcs12Path"] = Pki.HubSealPkcs12Path;
        settings["Router:SealPkcs12Password"] = Pki.Password;
        if (_brokerUsers?.Users.Single(u => u.AgencyCode is null) is { } hubUser)
        {
            settings["Router:AmqpUser"] = hubUser.User;
            settings["Router:AmqpPassword"] = hubUser.Password;
        }

        var router = RouterHost.Build([], settings);
        await router.StartAsync(cancellationToken);
        Router = router;
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
        var settings = CommonSettings();
        settings["Gateway:AgencyCode"] = agency.Code;
        settings["Gateway:AgencyName"] = agency.Name;
        settings["Gateway:Pkcs12Path"] = Pki.AgencyPkcs12Path(agency.Code);
        settings["Gateway:Pkcs12Password"] = Pki.Password;
        if (_brokerUsers?.Users.Single(u => u.AgencyCode == agency.Code) is { } agencyUser)
        {
            settings["Gateway:AmqpUser"] = agencyUser.User;
            settings["Gateway:AmqpPassword"] = agencyUser.Password;
        }

        var app = GatewayHost.Build([], settings);
        await app.StartAsync(cancellationToken);
        var gateway = new RunningGateway(agency, app, new HttpClient { BaseAddress = new Uri(app.Urls.First()) });
        _gateways[agency.Code] = gateway;
        return gateway;
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
        foreach (var code in _gateways.Keys.ToList())
        {
            await StopGatewayAsync(code);
        }

        await StopRouterAsync();
    }

    private Dictionary<string, string?> CommonSettings()
    {
        var s = _settings.Servers;
        var settings = new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:0",
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
            [ServerSettings.AmqpVirtualHostVariable] = s.AmqpVirtualHost,
        };
        foreach (var (key, value) in _settings.HostSettings ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        return settings;
    }
}
