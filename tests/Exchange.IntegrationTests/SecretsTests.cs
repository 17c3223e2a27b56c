using System.Net;
using Exchange.Cli;
using Exchange.Core;
using Exchange.Gateway;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Access;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Exchange.IntegrationTests;

/// <summary>
/// Secrets never appear in logs or evidence (issue #6 part 5): a document goes the whole way while every host logs at
/// Trace level into a capture, with a PostgreSQL login, broker logins, certificate password and API keys that occur
/// nowhere else, so finding one in a line can only mean it leaked.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SecretsTests : ProvinceFixture
{
    private const string Sender = SampleDirectory.HomeAffairs;
    private const string Recipient = SampleDirectory.PhucXaWard;

    private readonly LogCapture _logs = new();
    private ServerSettings _servers = null!;

    protected override IReadOnlyCollection<string> GatewayAgencies => [Sender, Recipient];

    /// <summary>
    /// A PostgreSQL login of this run with a random password: the shared development password ("exchange") is part of
    /// every database and queue name, so it could not be told apart in a log line. Left behind for the next run to drop
    /// (<see cref="Servers"/>), like the run's databases.
    /// </summary>
    protected override async Task<ServerSettings> ServerSettingsAsync()
    {
        var user = $"{Servers.RunPrefix}{Guid.NewGuid().ToString("N")[..6]}{Servers.LoginSuffix}";
        var password = ApiKey.Generate("pg-");
        await using var connection = new NpgsqlConnection(Servers.Settings.PostgresMaintenanceConnectionString());
        await connection.OpenAsync();
        try
        {
            // The name is [a-z0-9_] and the password base64url, both made here, so quoting them inline is safe.
            await using var create = new NpgsqlCommand($"create role \"{user}\" login createdb password '{password}'", connection);
            await create.ExecuteNonQueryAsync();
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            Assert.Fail($"This test makes a PostgreSQL login of its own, which needs CREATEROLE for {Servers.Settings.PostgresUser} ({e.MessageText}).");
        }

        _servers = Servers.Settings with { PostgresUser = user, PostgresPassword = password };
        return _servers;
    }

    protected override DeploymentSettings Configure(DeploymentSettings settings) => settings with
    {
        LogLevel = "Trace",
        ConfigureHost = builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(_logs);
        },
    };

    [Test]
    public async Task No_key_or_password_reaches_a_log_line_or_an_evidence_record()
    {
        var senderKey = Province.Gateways[Sender].ApiKey;
        var recipientKey = Province.Gateways[Recipient].ApiKey;
        var answer = await Client(Sender).SendDocumentAsync(
            new DocumentMetadata([Recipient], $"Công văn kiểm tra bí mật {Guid.NewGuid():N}"), [("a.txt", "text/plain", "x"u8.ToArray())]);
        try
        {
            Assert.That((await WaitForOutcomeAsync(Sender, answer.EnvelopeId)).State, Is.EqualTo("delivered"));
        }
        catch (AssertionException)
        {
            // What the hosts complained about, to read beside the failure.
            foreach (var line in _logs.Lines.Where(l => l.StartsWith("Warning", StringComparison.Ordinal) || l.StartsWith("Error", StringComparison.Ordinal)).Take(50))
            {
                await TestContext.Out.WriteLineAsync(line);
            }

            throw;
        }

        using (var package = await Province.Gateways[Recipient].Http.GetAsync(new Uri($"/api/inbox/{answer.EnvelopeId}/package", UriKind.Relative)))
        {
            Assert.That(package.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        // A refused key is logged too: one character off the recipient's.
        var wrongKey = recipientKey[..^1] + (recipientKey[^1] == 'A' ? 'B' : 'A');
        using (var http = new HttpClient { BaseAddress = new Uri(Province.Gateways[Recipient].App.Urls.First()) })
        {
            http.DefaultRequestHeaders.Add(ApiKey.Header, wrongKey);
            using var refused = await http.GetAsync(new Uri("/api/inbox", UriKind.Relative));
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        }

        await Eventually(async () =>
        {
            await using var db = Province.CreateHubDb();
            return await db.Evidence.AsNoTracking().AnyAsync(e => e.EnvelopeId == answer.EnvelopeId && e.Kind == nameof(EvidenceKind.ContentHandover));
        }, "the handover evidence");

        // The secret part of each key (the agency code before it is not secret), every password in play.
        static string Secret(string key) => key[^ApiKey.SecretLength..];
        var secrets = new Dictionary<string, string>
        {
            ["the sender's API key"] = Secret(senderKey),
            ["the recipient's API key"] = Secret(recipientKey),
            ["the refused API key"] = Secret(wrongKey),
            ["the PKCS#12 password"] = Province.Pki.Password,
            ["the PostgreSQL password"] = _servers.PostgresPassword,
        };
        foreach (var user in Province.BrokerUsers.Where(u => u.Password is not null))
        {
            secrets[$"the AMQP password of {user.User}"] = user.Password!;
        }

        var lines = _logs.Lines.ToList();
        Assert.That(lines, Has.Count.GreaterThan(100), "the capture sees the hosts' logs at every level");
        Assert.That(lines, Has.Some.Contains("Refused an unknown or revoked API key"));
        Assert.That(lines, Has.Some.Contains("Npgsql").Or.Contains("Microsoft.EntityFrameworkCore"), "database activity is logged");
        Assert.That(lines, Has.Some.Contains("MassTransit"), "bus activity is logged");

        await using var hub = new NpgsqlConnection(_servers.PostgresConnectionString(Province.Names.HubDatabase));
        await hub.OpenAsync();
        var evidence = new List<string>();
        await using (var read = new NpgsqlCommand("select e::text from hub.evidence e", hub))
        await using (var reader = await read.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                evidence.Add(reader.GetString(0));
            }
        }

        Assert.That(evidence, Has.Count.GreaterThanOrEqualTo(3), "acceptance, consignment and handover at least");
        Assert.Multiple(() =>
        {
            foreach (var (what, secret) in secrets)
            {
                Assert.That(secret, Has.Length.GreaterThanOrEqualTo(16), $"{what} is distinctive enough to search for");
                Assert.That(lines.Where(l => l.Contains(secret, StringComparison.Ordinal)).Take(3), Is.Empty, $"{what} in the logs");
                Assert.That(evidence.Where(e => e.Contains(secret, StringComparison.Ordinal)), Is.Empty, $"{what} in the evidence");
            }
        });
    }
}
