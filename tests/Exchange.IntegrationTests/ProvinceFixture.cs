using Exchange.Cli;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Gateway;
using Exchange.ServiceDefaults;
using Exchange.Signing;
using MassTransit;

namespace Exchange.IntegrationTests;

/// <summary>
/// The sample province running in this process on the real servers, under a name prefix of its own, with a
/// dev PKI in a temporary folder.
/// </summary>
public abstract class ProvinceFixture
{
    protected LocalDeployment Province { get; private set; } = null!;

    protected string PkiFolder { get; private set; } = null!;

    /// <summary>Settings every host of this fixture's province gets on top of the defaults.</summary>
    protected virtual IReadOnlyDictionary<string, string?>? HostSettings => null;

    /// <summary>The directory the province starts with.</summary>
    protected virtual DirectoryDocument StartingDirectory => SampleDirectory.Load();

    /// <summary>The agencies whose gateways start with the province; null for all.</summary>
    protected virtual IReadOnlyCollection<string>? GatewayAgencies => null;

    /// <summary>The servers and logins the province uses; a fixture may use other logins (its own PostgreSQL user, TLS).</summary>
    protected virtual Task<ServerSettings> ServerSettingsAsync() => Task.FromResult(Servers.Settings);

    /// <summary>Last changes to the deployment's settings (a log capture, the HTTP handler of the gateways' clients).</summary>
    protected virtual DeploymentSettings Configure(DeploymentSettings settings) => settings;

    [OneTimeSetUp]
    public async Task StartProvince()
    {
        PkiFolder = Path.Combine(Path.GetTempPath(), $"exchange-it-pki-{Guid.NewGuid():N}");
        var prefix = $"{Servers.RunPrefix}{Guid.NewGuid().ToString("N")[..6]}-";
        var settings = new DeploymentSettings(await ServerSettingsAsync(), PkiFolder, StartingDirectory, prefix, GatewayAgencies, PerAgencyBrokerUsers: true, HostSettings: HostSettings);
        Province = await LocalDeployment.StartAsync(Configure(settings));
    }

    [OneTimeTearDown]
    public async Task StopProvince()
    {
        if (Province is not null)
        {
            await Province.DisposeAsync();
        }
    }

    protected GatewayClient Client(string agencyCode) => new(Province.Gateways[agencyCode].Http);

    protected static async Task Eventually(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"Timed out waiting for {what}.");
    }

    protected async Task<DocumentState> WaitForOutcomeAsync(string sender, Guid envelopeId)
    {
        DocumentState? state = null;
        await Eventually(async () =>
        {
            state = await Client(sender).GetDocumentAsync(envelopeId);
            return state?.State is "delivered" or "rejected";
        }, $"envelope {envelopeId} to be delivered or rejected");
        return state!;
    }

    /// <summary>A bus client that bypasses every gateway, as a hostile or broken one would.</summary>
    protected async Task SendToHubAsync<T>(params T[] messages)
        where T : class
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(Servers.Settings));
        await bus.StartAsync();
        try
        {
            var hub = await bus.GetSendEndpoint(new Uri($"queue:{Province.Names.HubQueue}"));
            await Task.WhenAll(messages.Select(m => hub.Send(m)));
        }
        finally
        {
            await bus.StopAsync();
        }
    }

}
