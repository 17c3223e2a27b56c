using System.Security.Cryptography.X509Certificates;
using Exchange.Cli;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Gateway;
using Exchange.Persistence.Evidence;
using Exchange.ServiceDefaults;
using Exchange.Signing;
using Exchange.Signing.Evidence;
using MassTransit;
using Npgsql;
using Microsoft.Extensions.DependencyInjection;

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

    /// <summary>
    /// Waits until every gateway holds the hub's signed directory. A gateway keeps it once its snapshot arrives after
    /// start, and until then it holds back deliveries routed by it (DirectoryBehindException); right after the broker
    /// itself started, that has been seen to take longer than a test's wait for a delivery.
    /// </summary>
    protected async Task WaitForSignedDirectoryAsync()
    {
        foreach (var (code, gateway) in Province.Gateways)
        {
            var directory = gateway.App.Services.GetRequiredService<Exchange.Gateway.GatewayDirectory>();
            await Eventually(async () => (await directory.CurrentAsync(CancellationToken.None))?.Version == Province.Directory.Version,
                $"the gateway of {code} to hold the hub's directory");
        }
    }

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

    /// <summary>
    /// An envelope's evidence bundle as an auditor gets it: loaded once its records are sealed, written with the PKI's
    /// CRL, and verified offline against the PKI's root and the hub's sealing certificate.
    /// </summary>
    protected async Task<(EvidenceBundleSource Source, BundleReport Report)> VerifyBundleOfflineAsync(Guid envelopeId)
    {
        BundleLoad load = new(null, "not read yet");
        await Eventually(async () =>
        {
            await using var connection = new NpgsqlConnection(Province.HubConnectionString);
            await connection.OpenAsync();
            return (load = await EvidenceChainStore.LoadBundleAsync(connection, [envelopeId])).Ready;
        }, "the envelope's bundle to be ready", TimeSpan.FromSeconds(30));
        var path = Path.Combine(PkiFolder, $"bundle-{envelopeId:N}.zip");
        await using (var output = File.Create(path))
        {
            EvidenceBundleWriter.Write(load.Source!, output, [await File.ReadAllBytesAsync(Province.Pki.CrlPath)]);
        }

        using var seal = X509CertificateLoader.LoadCertificateFromFile(Province.Pki.HubSealCertificatePath);
        var report = new EvidenceBundleVerifier(new EvidenceBundleVerifierOptions
        {
            TrustAnchors = [Province.Pki.RootCertificate],
            SealCertificateSha256 = [Digests.Sha256Hex(seal.RawData)],
        }).Verify(path);
        return (load.Source!, report);
    }

    /// <summary>A bus client that bypasses every gateway, as a hostile or broken one would.</summary>
    protected Task SendToHubAsync<T>(params T[] messages)
        where T : class => SendToQueueAsync(Province.Names.HubQueue, messages);

    /// <summary>Puts messages straight onto a queue with the shared login, as a compromised hub or broker account could.</summary>
    protected static async Task SendToQueueAsync<T>(string queue, params T[] messages)
        where T : class
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(Servers.Settings));
        await bus.StartAsync();
        try
        {
            var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{queue}"));
            await Task.WhenAll(messages.Select(m => endpoint.Send(m)));
        }
        finally
        {
            await bus.StopAsync();
        }
    }

}
