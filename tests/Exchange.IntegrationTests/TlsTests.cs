using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Exchange.Cli;
using Exchange.Gateway;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Tls;
using Exchange.Signing;

namespace Exchange.IntegrationTests;

/// <summary>
/// TLS as a setting (issue #6 part 5): the gateways' HTTP API over HTTPS (Kestrel's own certificate settings, with a
/// certificate of a CA made here) and every host's bus connection over AMQPS (EXCHANGE_AMQP_TLS, the TLS listener and
/// CA that deploy/local/services.sh gives the local RabbitMQ), with a document going the whole way.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class TlsTests : ProvinceFixture
{
    private const string Sender = SampleDirectory.HomeAffairs;
    private const string Recipient = SampleDirectory.PhucXaWard;

    private string _folder = null!;

    protected override IReadOnlyCollection<string> GatewayAgencies => [Sender, Recipient];

    protected override async Task<ServerSettings> ServerSettingsAsync()
    {
        var settings = Servers.Settings with
        {
            AmqpTls = true,
            // Without a setting (tests run outside deploy/local/env.sh), the CA that services.sh makes in this checkout.
            AmqpCaFile = Servers.Settings.AmqpCaFile
                ?? Path.Combine(ExchangeHome.FindCheckoutRoot(AppContext.BaseDirectory) ?? ".", ".local", "tls", "ca.pem"),
        };
        try
        {
            using var probe = new TcpClient();
            await probe.ConnectAsync(settings.AmqpHost, settings.AmqpTlsPort);
        }
        catch (SocketException e)
        {
            Assert.Fail($"RabbitMQ has no TLS listener at {settings.AmqpHost}:{settings.AmqpTlsPort} ({e.SocketErrorCode}). deploy/local/services.sh gives a node "
                + "one when it starts it (a node started before that needs `services.sh down` and `up`); for servers you run, set EXCHANGE_AMQP_TLS_PORT "
                + "and EXCHANGE_AMQP_CA_FILE.");
        }

        Assert.That(File.Exists(settings.AmqpCaFile), $"the broker's CA file {settings.AmqpCaFile} (EXCHANGE_AMQP_CA_FILE) exists");
        return settings;
    }

    /// <summary>The gateways' (and hub's) HTTPS certificate, for 127.0.0.1, from a CA of this fixture.</summary>
    protected override DeploymentSettings Configure(DeploymentSettings settings)
    {
        _folder = Directory.CreateTempSubdirectory("exchange-it-tls-").FullName;
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=Exchange integration test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(7));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        using var server = serverRequest.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(7), RandomNumberGenerator.GetBytes(12));
        var certificatePath = Path.Combine(_folder, "gateway.pem");
        var keyPath = Path.Combine(_folder, "gateway.key");
        File.WriteAllText(certificatePath, server.ExportCertificatePem());
        File.WriteAllText(keyPath, serverKey.ExportPkcs8PrivateKeyPem());
        var caPath = Path.Combine(_folder, "ca.pem");
        File.WriteAllText(caPath, ca.ExportCertificatePem());
        var trust = PrivateCaTrust.FromPemFile(caPath);

        return settings with
        {
            // Standard ASP.NET Core configuration: an https URL and Kestrel's default certificate (PEM and key).
            HostSettings = new Dictionary<string, string?>
            {
                ["urls"] = "https://127.0.0.1:0",
                ["Kestrel:Certificates:Default:Path"] = certificatePath,
                ["Kestrel:Certificates:Default:KeyPath"] = keyPath,
            },
            GatewayHttpHandler = () => new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = (_, certificate, _, errors) => trust.Validate(certificate, errors) },
            },
        };
    }

    [Test]
    public async Task A_document_travels_over_https_and_amqps_end_to_end()
    {
        Assert.That(new Uri(Province.Gateways[Sender].App.Urls.First()).Scheme, Is.EqualTo(Uri.UriSchemeHttps));
        await WaitForSignedDirectoryAsync();

        var answer = await Client(Sender).SendDocumentAsync(
            new DocumentMetadata([Recipient], $"Công văn qua TLS {Guid.NewGuid():N}"), [("a.txt", "text/plain", "x"u8.ToArray())]);
        Assert.That((await WaitForOutcomeAsync(Sender, answer.EnvelopeId)).State, Is.EqualTo("delivered"));
        using (var package = await Province.Gateways[Recipient].Http.GetAsync(new Uri($"/api/inbox/{answer.EnvelopeId}/package", UriKind.Relative)))
        {
            Assert.That(package.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        // Every connection of this province's broker users (the hub's and each agency's) is TLS, as the broker sees it.
        var users = Province.BrokerUsers.Select(u => u.User).ToHashSet(StringComparer.Ordinal);
        var s = Servers.Settings;
        using var management = new HttpClient { BaseAddress = s.AmqpManagementUri };
        management.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{s.AmqpUser}:{s.AmqpPassword}")));
        List<BrokerConnection> ours = [];
        await Eventually(async () =>
        {
            // The management API refreshes its connection list every few seconds.
            var all = await management.GetFromJsonAsync<List<BrokerConnection>>("api/connections?columns=user,ssl,ssl_protocol,port") ?? [];
            ours = all.Where(c => users.Contains(c.User)).ToList();
            return ours.Count >= 3;
        }, "the province's broker connections in the management API", TimeSpan.FromSeconds(30));

        Assert.Multiple(() =>
        {
            Assert.That(ours, Has.All.Matches<BrokerConnection>(c => c.Ssl), string.Join(", ", ours));
            Assert.That(ours.Select(c => c.Port), Has.All.EqualTo(s.AmqpTlsPort));
            Assert.That(ours.Select(c => c.SslProtocol), Has.All.Matches<string?>(p => p is "tlsv1.3" or "tlsv1.2"));
        });
    }

    [Test]
    public async Task A_client_that_does_not_trust_the_gateways_ca_is_refused_and_plain_http_is_not_served()
    {
        var url = new Uri(new Uri(Province.Gateways[Sender].App.Urls.First()), "/health/live");
        using (var untrusting = new HttpClient())
        {
            var error = Assert.ThrowsAsync<HttpRequestException>(() => untrusting.GetAsync(url));
            Assert.That(error!.InnerException, Is.InstanceOf<System.Security.Authentication.AuthenticationException>());
        }

        using var plain = new HttpClient();
        var http = new UriBuilder(url) { Scheme = Uri.UriSchemeHttp }.Uri;
        try
        {
            using var response = await plain.GetAsync(http);
            Assert.That(response.IsSuccessStatusCode, Is.False, $"plain HTTP on the TLS port answered {response.StatusCode}");
        }
        catch (HttpRequestException)
        {
            // The connection was closed: as good a refusal.
        }
    }

    private sealed record BrokerConnection(
        [property: System.Text.Json.Serialization.JsonPropertyName("user")] string User,
        [property: System.Text.Json.Serialization.JsonPropertyName("ssl")] bool Ssl,
        [property: System.Text.Json.Serialization.JsonPropertyName("ssl_protocol")] string? SslProtocol,
        [property: System.Text.Json.Serialization.JsonPropertyName("port")] int Port);
}
