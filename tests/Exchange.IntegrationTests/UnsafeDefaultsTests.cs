using Exchange.Audit;
using Exchange.Gateway;
using Exchange.Router;
using Exchange.ServiceDefaults;
using Microsoft.AspNetCore.Builder;

namespace Exchange.IntegrationTests;

/// <summary>
/// Issue #16, item 11: shared default logins, a gateway or hub without its own broker user, an unsigned evidence chain:
/// outside an explicit development mode (EXCHANGE_DEVELOPMENT=1) a host refuses to start that way, and says why. The
/// hosts are only built here, never started: the refusal comes before any server is asked.
/// </summary>
[TestFixture]
public sealed class UnsafeDefaultsTests
{
    private const string Agency = "000.00.01.H29";

    // A file for Gateway:HubCertificatePath, which must exist when a gateway is built (it is read only when used).
    private static readonly string HubCertificate = Path.GetTempFileName();

    [OneTimeTearDown]
    public void RemoveFile() => File.Delete(HubCertificate);

    /// <summary>What a deployment sets: its own logins, the gateway's and the hub's own broker users, the hub's seal.</summary>
    private static Dictionary<string, string?> Deployed() => new()
    {
        [ServerSettings.DevelopmentVariable] = "0",
        [ServerSettings.PostgresUserVariable] = "exchange_prod",
        [ServerSettings.PostgresPasswordVariable] = "a-password-of-its-own",
        [ServerSettings.AmqpUserVariable] = "operator",
        [ServerSettings.AmqpPasswordVariable] = "another-password",
        ["Gateway:AgencyCode"] = Agency,
        ["Gateway:HubCertificatePath"] = HubCertificate,
        ["Gateway:AmqpUser"] = "agency-000.00.01.h29",
        ["Gateway:AmqpPassword"] = "its-own",
        ["Router:AmqpUser"] = "hub",
        ["Router:AmqpPassword"] = "the-hubs-own",
        ["Router:SealPkcs12Path"] = "/etc/exchange/hub-seal.p12",
    };

    /// <summary>The local servers' settings as deploy/local/env.sh gives them, and nothing of the host's own.</summary>
    private static Dictionary<string, string?> LocalDefaults(string development) => new()
    {
        [ServerSettings.DevelopmentVariable] = development,
        [ServerSettings.PostgresUserVariable] = ServerSettings.Defaults.PostgresUser,
        [ServerSettings.PostgresPasswordVariable] = ServerSettings.Defaults.PostgresPassword,
        [ServerSettings.AmqpUserVariable] = ServerSettings.Defaults.AmqpUser,
        [ServerSettings.AmqpPasswordVariable] = ServerSettings.Defaults.AmqpPassword,
        ["Gateway:AgencyCode"] = Agency,
        ["Gateway:HubCertificatePath"] = HubCertificate,
    };

    private static async Task BuildsAsync(Func<IDictionary<string, string?>, WebApplication> build, Dictionary<string, string?> settings)
    {
        await using var app = build(settings);
    }

    [Test]
    public async Task A_gateway_with_the_shared_default_login_and_no_broker_user_of_its_own_refuses_to_start_outside_development_mode()
    {
        // 1. It works: a deployment's settings, and the local defaults in development mode.
        await BuildsAsync(s => GatewayHost.Build([], s), Deployed());
        await BuildsAsync(s => GatewayHost.Build([], s), LocalDefaults(development: "1"));

        // 2. The unsafe start: the local defaults without development mode.
        var refused = Assert.Throws<InvalidOperationException>(() => GatewayHost.Build([], LocalDefaults(development: "0")));

        // 3. Refused, naming every reason.
        Assert.That(refused!.Message, Does.StartWith("The gateway refuses to start outside development mode"));
        Assert.That(refused.Message, Does.Contain("Gateway:AmqpUser is not set").And.Contain("PostgreSQL's login is the local servers' default")
            .And.Contain("the broker login is the local servers' default"));
    }

    [Test]
    public async Task A_hub_without_its_own_broker_user_or_sealing_certificate_refuses_to_start_outside_development_mode()
    {
        await BuildsAsync(s => RouterHost.Build([], s), Deployed());

        var unsafeHub = Deployed();
        unsafeHub.Remove("Router:AmqpUser");
        unsafeHub.Remove("Router:SealPkcs12Path");
        var refused = Assert.Throws<InvalidOperationException>(() => RouterHost.Build([], unsafeHub));

        Assert.That(refused!.Message, Does.StartWith("The hub refuses to start outside development mode"));
        Assert.That(refused.Message, Does.Contain("Router:AmqpUser is not set").And.Contain("Router:SealPkcs12Path is not set"));
    }

    [Test]
    public async Task The_auditors_host_with_the_shared_default_database_login_refuses_to_start_outside_development_mode()
    {
        await BuildsAsync(s => AuditHost.Build([], s), Deployed());

        var refused = Assert.Throws<InvalidOperationException>(() => AuditHost.Build([], LocalDefaults(development: "0")));

        Assert.That(refused!.Message, Does.StartWith("The auditors' host refuses to start outside development mode").And.Contain("PostgreSQL's login"));
    }
}
