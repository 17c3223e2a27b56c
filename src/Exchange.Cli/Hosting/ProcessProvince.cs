using Exchange.Cli.Commands;
using Exchange.Core;
using Exchange.Persistence;
using Exchange.Persistence.Hub;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Broker;
using Exchange.Signing;

namespace Exchange.Cli.Hosting;

/// <summary>
/// What a province of host processes (<see cref="HostProcess"/>: the chaos run, `exchange province run`) needs before its
/// hosts start, and the settings each host gets: one place, so that both run their hosts alike.
/// </summary>
internal static class ProcessProvince
{
    /// <summary>
    /// The development PKI (a certificate for each agency that registered none), the directory in the hub's database with
    /// those certificates bound, and one broker user per agency of <paramref name="brokerAgencies"/> and the hub's, their
    /// passwords rotated: returned here once, kept by the caller for the hosts it (re)starts.
    /// </summary>
    public static async Task<(DevPki Pki, BrokerProvisionResult Users)> PrepareAsync(
        ServerSettings servers, ExchangeNames names, DirectoryDocument directory, IEnumerable<string> brokerAgencies, CancellationToken ct)
    {
        var pki = DevPki.LoadOrCreate(ExchangeHome.Pki, directory.Agencies.Where(a => a.Certificates.Count == 0).Select(a => (a.Code, a.Name)));
        var hub = servers.PostgresConnectionString(names.HubDatabase);
        await MigrationRunner.ApplyAsync(hub, HubDbContext.Schema, cancellationToken: ct);
        await using (var db = LocalDeployment.CreateHubDb(hub))
        {
            await DirectoryStore.ImportAsync(db, LocalDeployment.BindDevCertificates(directory, pki), TimeProvider.System, ct);
        }

        using var provisioner = new BrokerProvisioner(servers);
        var users = await provisioner.ProvisionAsync(
            BrokerCommand.Layout(names, brokerAgencies), new BrokerProvisionOptions { RotatePasswords = true }, cancellationToken: ct);
        return (pki, users);
    }

    /// <summary>Settings every host gets: the deployment's prefix, the trust anchor and CRL, one-line logs with dates.</summary>
    public static Dictionary<string, string> Common(string prefix, DevPki pki) => new()
    {
        // The development PKI on this machine's local servers: development mode.
        [ServerSettings.DevelopmentVariable] = "1",
        ["Exchange:Prefix"] = prefix,
        ["Trust:TrustAnchorFiles:0"] = pki.RootCertificatePath,
        ["Trust:CrlFiles:0"] = pki.CrlPath,
        ["Logging:LogLevel:Default"] = "Warning",
        ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Information",
        ["Logging:Console:FormatterName"] = "simple",
        ["Logging:Console:FormatterOptions:TimestampFormat"] = "yyyy-MM-dd HH:mm:ss.fff ",
        ["Logging:Console:FormatterOptions:SingleLine"] = "true",
    };

    /// <summary>The hub's settings on top of <paramref name="common"/>: its sealing certificate, its own broker user, and
    /// the timestamp authority that stamps its evidence checkpoints (RFC 3161), when one runs.</summary>
    public static Dictionary<string, string> Hub(IReadOnlyDictionary<string, string> common, DevPki pki, BrokerProvisionResult users, Uri? timestampUrl = null)
    {
        var user = users.Users.Single(u => u.AgencyCode is null);
        var settings = new Dictionary<string, string>(common)
        {
            ["Router:SealPkcs12Path"] = pki.HubSealPkcs12Path,
            ["Router:SealPkcs12Password"] = pki.Password,
            ["Router:AmqpUser"] = user.User,
            ["Router:AmqpPassword"] = user.Password!,
        };
        if (timestampUrl is not null)
        {
            settings["Router:Evidence:TimestampUrl"] = timestampUrl.ToString();
        }

        return settings;
    }

    /// <summary>An agency's gateway's settings on top of <paramref name="common"/>: its organisation certificate and its own broker user.</summary>
    public static Dictionary<string, string> Gateway(IReadOnlyDictionary<string, string> common, Agency agency, DevPki pki, BrokerProvisionResult users)
    {
        var user = users.Users.Single(u => u.AgencyCode == agency.Code);
        return new(common)
        {
            ["Gateway:AgencyCode"] = agency.Code,
            ["Gateway:AgencyName"] = agency.Name,
            ["Gateway:Pkcs12Path"] = pki.AgencyPkcs12Path(agency.Code),
            ["Gateway:Pkcs12Password"] = pki.Password,
            ["Gateway:HubCertificatePath"] = pki.HubSealCertificatePath,
            ["Gateway:AmqpUser"] = user.User,
            ["Gateway:AmqpPassword"] = user.Password!,
        };
    }
}
