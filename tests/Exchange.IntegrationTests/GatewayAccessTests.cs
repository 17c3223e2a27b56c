using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Exchange.Cli;
using Exchange.Cli.Commands;
using Exchange.Gateway;
using Exchange.Gateway.Access;
using Exchange.Persistence.Gateway;
using Microsoft.EntityFrameworkCore;

namespace Exchange.IntegrationTests;

/// <summary>
/// Who may call a gateway's HTTP API (issue #6 part 5): API keys per agency, stored hashed in the gateway's database;
/// the roles agency, auditor and operator; keys of another agency; revocation; the `exchange gateway key` command.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class GatewayAccessTests : ProvinceFixture
{
    private const string Sender = SampleDirectory.HomeAffairs;
    private const string Recipient = SampleDirectory.PhucXaWard;

    private Guid _envelope;
    private string _subject = null!;
    private string _recipientAuditorKey = null!;
    private string _senderOperatorKey = null!;

    protected override IReadOnlyCollection<string> GatewayAgencies => [Sender, Recipient];

    private Uri Url(string agency, string path) => new(new Uri(Province.Gateways[agency].App.Urls.First()), path);

    private string RecipientDatabase => Province.Names.GatewayDatabase(Recipient);

    [OneTimeSetUp]
    public async Task SendADocumentAndMakeKeys()
    {
        _subject = $"Công văn kiểm tra quyền {Guid.NewGuid():N}";
        var answer = await Client(Sender).SendDocumentAsync(new DocumentMetadata([Recipient], _subject, CodeNotation: "QUYEN"), [("a.txt", "text/plain", "x"u8.ToArray())]);
        Assert.That((await WaitForOutcomeAsync(Sender, answer.EnvelopeId)).State, Is.EqualTo("delivered"));
        _envelope = answer.EnvelopeId;

        // One key through the command line, one through the library the command uses.
        var (exit, output) = await CliAsync("gateway", "key", "create", "--agency", Recipient, "--role", "auditor", "--name", "Thanh tra tỉnh", "--json", "--database", RecipientDatabase);
        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), output);
        using (var created = JsonDocument.Parse(output))
        {
            _recipientAuditorKey = created.RootElement.GetProperty("key").GetString()!;
            Assert.That(created.RootElement.GetProperty("role").GetString(), Is.EqualTo("auditor"));
            Assert.That(created.RootElement.GetProperty("agency").GetString(), Is.EqualTo(Recipient));
        }

        _senderOperatorKey = await Province.CreateGatewayKeyAsync(Sender, ApiClientRoles.Operator, "Trực vận hành");
    }

    private static async Task<(int Exit, string Output)> CliAsync(params string[] args)
    {
        var output = new StringWriter();
        var original = Console.Out;
        Console.SetOut(output);
        try
        {
            var exit = await new RootCommand { GatewayCommand.Create() }.Parse(args).InvokeAsync();
            return (exit, output.ToString().Trim());
        }
        finally
        {
            Console.SetOut(original);
        }
    }

    private static HttpRequestMessage Request(HttpMethod method, Uri url, string? key, HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, url) { Content = content };
        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }

        return request;
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpMethod method, Uri url, string? key, HttpContent? content = null)
    {
        using var http = new HttpClient();
        return await http.SendAsync(Request(method, url, key, content));
    }

    private static MultipartFormDataContent DocumentForm(string to) => new()
    {
        { JsonContent.Create(new DocumentMetadata([to], "Không được gửi"), options: JsonSerializerOptions.Web), "metadata" },
    };

    private static async Task AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string reason, string what)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(status), $"{what}: {body}");
        using var problem = JsonDocument.Parse(body);
        Assert.That(problem.RootElement.GetProperty("reason").GetString(), Is.EqualTo(reason), what);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), what);
    }

    /// <summary>Every endpoint of the API, as (method, path, body).</summary>
    private IEnumerable<(HttpMethod Method, string Path, Func<HttpContent?> Body)> Endpoints() =>
    [
        (HttpMethod.Post, "/api/documents", () => DocumentForm(Sender)),
        (HttpMethod.Post, "/api/packages", () => new MultipartFormDataContent { { new ByteArrayContent("<x/>"u8.ToArray()), "package", "p.edxml" } }),
        (HttpMethod.Get, $"/api/documents/{_envelope}", () => null),
        (HttpMethod.Post, $"/api/documents/{_envelope}/status", () => JsonContent.Create(new StatusReport(13))),
        (HttpMethod.Get, "/api/inbox", () => null),
        (HttpMethod.Get, $"/api/inbox/{_envelope}", () => null),
        (HttpMethod.Get, $"/api/inbox/{_envelope}/package", () => null),
        (HttpMethod.Get, $"/api/inbox/{_envelope}/signature", () => null),
        (HttpMethod.Post, $"/api/inbox/{_envelope}/status", () => JsonContent.Create(new StatusReport(1))),
        (HttpMethod.Get, "/api/operations/outbox", () => null),
        (HttpMethod.Get, "/api/no-such-endpoint", () => null),
    ];

    [Test]
    public async Task Every_endpoint_answers_401_unauthorized_without_a_key_and_health_stays_open()
    {
        foreach (var (method, path, body) in Endpoints())
        {
            using var response = await SendAsync(method, Url(Recipient, path), key: null, body());
            await AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized", $"{method} {path}");
            Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("X-Api-Key").And.Contain("Bearer"), $"{method} {path}");
        }

        using var live = await SendAsync(HttpMethod.Get, Url(Recipient, "/health/live"), key: null);
        using var ready = await SendAsync(HttpMethod.Get, Url(Recipient, "/health/ready"), key: null);
        Assert.That(live.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task An_unknown_or_malformed_key_answers_401_unauthorized()
    {
        var keys = new[]
        {
            GatewayKeys.Prefix + Recipient + "_" + new string('A', 43), // well formed, this agency, never made
            Province.Gateways[Recipient].ApiKey[..^1] + (Province.Gateways[Recipient].ApiKey[^1] == 'A' ? 'B' : 'A'), // one character changed
            Exchange.Audit.Access.ApiKeys.Generate(), // an audit host's key
            "not a key",
            new string('k', 5000),
        };
        foreach (var key in keys)
        {
            using var response = await SendAsync(HttpMethod.Get, Url(Recipient, "/api/inbox"), key);
            await AssertProblemAsync(response, HttpStatusCode.Unauthorized, "unauthorized", key[..Math.Min(20, key.Length)]);
        }
    }

    [Test]
    public async Task A_revoked_key_answers_401_from_the_next_request_on()
    {
        var name = $"Phần mềm cũ {Guid.NewGuid():N}";
        var (created, output) = await CliAsync("gateway", "key", "create", "--agency", Recipient, "--role", "agency", "--name", name, "--json", "--database", RecipientDatabase);
        Assert.That(created, Is.EqualTo(ExitCodes.Ok), output);
        string key;
        using (var json = JsonDocument.Parse(output))
        {
            key = json.RootElement.GetProperty("key").GetString()!;
        }

        using (var before = await SendAsync(HttpMethod.Get, Url(Recipient, "/api/inbox"), key))
        {
            Assert.That(before.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        var (revoked, revokeOutput) = await CliAsync("gateway", "key", "revoke", "--agency", Recipient, "--name", name, "--database", RecipientDatabase);
        Assert.That(revoked, Is.EqualTo(ExitCodes.Ok), revokeOutput);

        using (var after = await SendAsync(HttpMethod.Get, Url(Recipient, "/api/inbox"), key))
        {
            await AssertProblemAsync(after, HttpStatusCode.Unauthorized, "unauthorized", "revoked key");
        }

        var (again, _) = await CliAsync("gateway", "key", "revoke", "--agency", Recipient, "--name", name, "--database", RecipientDatabase);
        Assert.That(again, Is.EqualTo(ExitCodes.Refused), "nothing in force to revoke");

        var (listed, list) = await CliAsync("gateway", "key", "list", "--agency", Recipient, "--json", "--database", RecipientDatabase);
        Assert.That(listed, Is.EqualTo(ExitCodes.Ok), list);
        Assert.That(list, Does.Not.Contain(key[GatewayKeys.Prefix.Length..]), "list shows no key");
        using var rows = JsonDocument.Parse(list);
        var row = rows.RootElement.EnumerateArray().Single(r => r.GetProperty("name").GetString() == name);
        Assert.That(row.GetProperty("revokedAt").ValueKind, Is.EqualTo(JsonValueKind.String));
    }

    [Test]
    public async Task The_database_keeps_only_the_hash_and_names_in_force_are_unique()
    {
        await using var db = Province.CreateGatewayDb(Recipient);
        var rows = await db.Database.SqlQueryRaw<string>("select c::text as \"Value\" from gateway.api_clients c").ToListAsync();
        var secret = _recipientAuditorKey[(GatewayKeys.Prefix.Length + Recipient.Length + 1)..];
        Assert.That(rows, Is.Not.Empty);
        Assert.That(rows, Has.None.Contains(secret), "no row holds the key");
        Assert.That(await db.ApiClients.AsNoTracking().CountAsync(c => c.KeySha256 == Exchange.ServiceDefaults.Access.ApiKey.Hash(_recipientAuditorKey)), Is.EqualTo(1));

        var (exit, _) = await CliAsync("gateway", "key", "create", "--agency", Recipient, "--role", "auditor", "--name", "Thanh tra tỉnh", "--database", RecipientDatabase);
        Assert.That(exit, Is.EqualTo(ExitCodes.UsageOrIo), "a second key in force with the same name");
    }

    [Test]
    public async Task An_auditor_key_reads_but_every_write_is_403_forbidden()
    {
        using (var inbox = await SendAsync(HttpMethod.Get, Url(Recipient, "/api/inbox"), _recipientAuditorKey))
        {
            Assert.That(inbox.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await inbox.Content.ReadAsStringAsync(), Does.Contain(_envelope.ToString()));
        }

        using (var package = await SendAsync(HttpMethod.Get, Url(Recipient, $"/api/inbox/{_envelope}/package"), _recipientAuditorKey))
        {
            Assert.That(package.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        await using (var db = Province.CreateGatewayDb(Recipient))
        {
            var handedOver = await db.Inbox.AsNoTracking().Where(i => i.EnvelopeId == _envelope).Select(i => i.HandedOverAt).SingleAsync();
            Assert.That(handedOver, Is.Null, "an auditor's read is not the handover to the document system");
        }

        foreach (var (method, path, body) in Endpoints().Where(e => e.Method == HttpMethod.Post))
        {
            using var response = await SendAsync(method, Url(Recipient, path), _recipientAuditorKey, body());
            await AssertProblemAsync(response, HttpStatusCode.Forbidden, "forbidden", $"auditor {method} {path}");
        }

        await using (var db = Province.CreateGatewayDb(Recipient))
        {
            Assert.That(await db.Statuses.AsNoTracking().CountAsync(s => s.EnvelopeId == _envelope && s.Direction == StatusDirections.Sent), Is.Zero,
                "no status was reported by the refused posts");
        }
    }

    [Test]
    public async Task An_operator_key_sees_delivery_states_but_cannot_submit_or_read_documents()
    {
        foreach (var (method, path, body) in Endpoints().Where(e => !e.Path.StartsWith("/api/operations", StringComparison.Ordinal)))
        {
            using var response = await SendAsync(method, Url(Sender, path), _senderOperatorKey, body());
            await AssertProblemAsync(response, HttpStatusCode.Forbidden, "forbidden", $"operator {method} {path}");
        }

        using var outbox = await SendAsync(HttpMethod.Get, Url(Sender, "/api/operations/outbox"), _senderOperatorKey);
        var text = await outbox.Content.ReadAsStringAsync();
        Assert.That(outbox.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        var view = JsonSerializer.Deserialize<OperationsOutbox>(text, JsonSerializerOptions.Web)!;
        Assert.Multiple(() =>
        {
            Assert.That(view.Agency, Is.EqualTo(Sender));
            Assert.That(view.Documents.Single(d => d.EnvelopeId == _envelope).State, Is.EqualTo("delivered"));
            Assert.That(view.Documents.Single(d => d.EnvelopeId == _envelope).Recipients.Single().Code, Is.EqualTo(Recipient));
            Assert.That(view.Counts.Accepted, Is.GreaterThanOrEqualTo(1));
            Assert.That(text, Does.Not.Contain(_subject).And.Not.Contain("QUYEN"), "no subject or document number");
        });

        using var bad = await SendAsync(HttpMethod.Get, Url(Sender, "/api/operations/outbox?state=lost"), _senderOperatorKey);
        await AssertProblemAsync(bad, HttpStatusCode.BadRequest, "invalid-request", "unknown state");
    }

    [Test]
    public async Task A_key_of_another_agency_answers_403_forbidden_at_this_gateway()
    {
        using var response = await SendAsync(HttpMethod.Get, Url(Recipient, "/api/inbox"), Province.Gateways[Sender].ApiKey);

        await AssertProblemAsync(response, HttpStatusCode.Forbidden, "forbidden", "the sender's key at the recipient's gateway");
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain(Sender).And.Contain(Recipient));
    }

    [Test]
    public async Task An_agency_key_reads_its_own_documents_as_header_or_bearer_token()
    {
        using (var own = await Province.Gateways[Sender].Http.GetAsync(new Uri($"/api/documents/{_envelope}", UriKind.Relative)))
        {
            Assert.That(own.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await own.Content.ReadAsStringAsync(), Does.Contain(_subject));
        }

        using (var http = new HttpClient())
        {
            var bearer = new HttpRequestMessage(HttpMethod.Get, Url(Recipient, $"/api/inbox/{_envelope}"));
            bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Province.Gateways[Recipient].ApiKey);
            using var received = await http.SendAsync(bearer);
            Assert.That(received.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await received.Content.ReadAsStringAsync(), Does.Contain(_subject));

            var both = Request(HttpMethod.Get, Url(Recipient, "/api/inbox"), Province.Gateways[Recipient].ApiKey);
            both.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _recipientAuditorKey);
            using var conflicting = await http.SendAsync(both);
            await AssertProblemAsync(conflicting, HttpStatusCode.Unauthorized, "unauthorized", "two different keys");
        }
    }
}
