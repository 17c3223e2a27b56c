using Exchange.Audit.Access;
using Microsoft.Extensions.Configuration;

namespace Exchange.Audit.Tests;

/// <summary>API keys of the audit host: stored as hashes, checked at start, roles and what each may see.</summary>
public sealed class ApiKeyTests
{
    private const string Department = "000.00.01.H29";
    private const string Commune = "000.01.21.H29";
    private const string OtherCommune = "000.02.21.H29";

    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Test]
    public void Hash_is_the_lowercase_hex_sha256_of_the_keys_utf8_bytes()
    {
        // Expected value from: printf '%s' 'exk_test-vector' | sha256sum
        Assert.That(ApiKeys.Hash("exk_test-vector"), Is.EqualTo("5dfbe3f544f1ee6a51165633062494580c130ea316129a4ff7d93184cc20bcfd"));
    }

    [Test]
    public void Generated_keys_are_prefixed_url_safe_and_fresh()
    {
        var keys = Enumerable.Range(0, 50).Select(_ => ApiKeys.Generate()).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(keys, Is.Unique);
            Assert.That(keys, Has.All.StartWith("exk_"));
            Assert.That(keys.Select(k => k.Length), Has.All.EqualTo(4 + 43), "32 random bytes in unpadded base64url");
            Assert.That(keys.SelectMany(k => k[4..]), Has.All.Matches<char>(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'));
        });
    }

    [Test]
    public void Finds_a_configured_key_by_its_hash_and_nothing_else()
    {
        var auditorKey = ApiKeys.Generate();
        var agencyKey = ApiKeys.Generate();
        var ring = ApiKeyRing.FromConfiguration(Configuration(
            ("Audit:Keys:0:Sha256", ApiKeys.Hash(auditorKey)), ("Audit:Keys:0:Role", "auditor"), ("Audit:Keys:0:Name", "Thanh tra"),
            ("Audit:Keys:1:Sha256", ApiKeys.Hash(agencyKey).ToUpperInvariant()), ("Audit:Keys:1:Role", "Agency"), ("Audit:Keys:1:Agency", "00.01.H29")));

        Assert.Multiple(() =>
        {
            Assert.That(ring.Find(auditorKey), Is.EqualTo(new ApiKeyEntry("Thanh tra", ApiKeys.Hash(auditorKey), AuditRole.Auditor, null)));
            Assert.That(ring.Find(agencyKey)?.Role, Is.EqualTo(AuditRole.Agency));
            Assert.That(ring.Find(agencyKey)?.Agency, Is.EqualTo(Department), "the agency code is normalised to four groups");
            Assert.That(ring.Find(agencyKey)?.Name, Is.EqualTo("key 1"));
            Assert.That(ring.Find(ApiKeys.Generate()), Is.Null);
            Assert.That(ring.Find(ApiKeys.Hash(auditorKey)), Is.Null, "the stored hash is not itself a key");
            Assert.That(ring.Find(string.Empty), Is.Null);
            Assert.That(ring.Find(null), Is.Null);
            Assert.That(ring.Find(new string('x', ApiKeys.MaxKeyLength + 1)), Is.Null);
        });
    }

    [TestCase("Audit:Keys:0:Sha256", "not-a-hash", "Sha256 must be 64 hex digits")]
    [TestCase("Audit:Keys:0:Role", "admin", "Role must be 'auditor' or 'agency'")]
    public void Refuses_a_malformed_key_entry_at_start(string key, string value, string message)
    {
        var values = new Dictionary<string, string>
        {
            ["Audit:Keys:0:Sha256"] = ApiKeys.Hash("exk_x"),
            ["Audit:Keys:0:Role"] = "auditor",
            [key] = value,
        };

        var error = Assert.Throws<InvalidOperationException>(() => ApiKeyRing.FromConfiguration(Configuration(values.Select(kv => (kv.Key, kv.Value)).ToArray())));
        Assert.That(error!.Message, Does.Contain(message).And.Contain("Audit:Keys:0"));
    }

    [Test]
    public void Refuses_an_agency_key_without_an_agency_and_an_auditor_key_with_one()
    {
        Assert.Throws<InvalidOperationException>(() => ApiKeyRing.FromConfiguration(Configuration(
            ("Audit:Keys:0:Sha256", ApiKeys.Hash("exk_a")), ("Audit:Keys:0:Role", "agency"))));
        Assert.Throws<InvalidOperationException>(() => ApiKeyRing.FromConfiguration(Configuration(
            ("Audit:Keys:0:Sha256", ApiKeys.Hash("exk_a")), ("Audit:Keys:0:Role", "agency"), ("Audit:Keys:0:Agency", "not-a-code"))));
        Assert.Throws<InvalidOperationException>(() => ApiKeyRing.FromConfiguration(Configuration(
            ("Audit:Keys:0:Sha256", ApiKeys.Hash("exk_a")), ("Audit:Keys:0:Role", "auditor"), ("Audit:Keys:0:Agency", Department))));
        Assert.Throws<InvalidOperationException>(() => ApiKeyRing.FromConfiguration(Configuration(
            ("Audit:Keys:0:Sha256", ApiKeys.Hash("exk_a")), ("Audit:Keys:0:Role", "auditor"),
            ("Audit:Keys:1:Sha256", ApiKeys.Hash("exk_a")), ("Audit:Keys:1:Role", "auditor"))));
    }

    [Test]
    public void Configuration_lines_are_what_the_ring_reads_back()
    {
        var key = ApiKeys.Generate();
        var lines = ApiKeys.ConfigurationLines(3, ApiKeys.Hash(key), AuditRole.Agency, Commune);
        var ring = ApiKeyRing.FromConfiguration(Configuration(lines.Select(l => l.Split('=', 2)).Select(p => (p[0], p[1])).ToArray()));

        Assert.That(lines, Is.EqualTo(new[] { $"Audit:Keys:3:Sha256={ApiKeys.Hash(key)}", "Audit:Keys:3:Role=agency", $"Audit:Keys:3:Agency={Commune}" }));
        Assert.That(ring.Find(key), Is.EqualTo(new ApiKeyEntry("key 3", ApiKeys.Hash(key), AuditRole.Agency, Commune)));
    }

    [Test]
    public void An_auditor_sees_every_document_whole()
    {
        var auditor = new AuditCaller(AuditRole.Auditor, null, "a");

        Assert.Multiple(() =>
        {
            Assert.That(auditor.CanSeeDocument(Department, [Commune]), Is.True);
            Assert.That(auditor.SeesWholeDocument(Department), Is.True);
            Assert.That(auditor.Scope, Is.Null);
        });
    }

    [Test]
    public void An_agency_sees_what_it_sent_whole_and_what_it_received_in_part()
    {
        var sender = new AuditCaller(AuditRole.Agency, Department, "s");
        var recipient = new AuditCaller(AuditRole.Agency, Commune, "r");
        var stranger = new AuditCaller(AuditRole.Agency, OtherCommune, "x");

        Assert.Multiple(() =>
        {
            Assert.That(sender.CanSeeDocument(Department, [Commune, OtherCommune]), Is.True);
            Assert.That(sender.SeesRecipient(Department, OtherCommune), Is.True);
            Assert.That(recipient.CanSeeDocument(Department, [Commune]), Is.True);
            Assert.That(recipient.SeesWholeDocument(Department), Is.False);
            Assert.That(recipient.SeesRecipient(Department, Commune), Is.True);
            Assert.That(recipient.SeesRecipient(Department, null), Is.True, "records about no particular recipient (acceptance)");
            Assert.That(recipient.SeesRecipient(Department, OtherCommune), Is.False);
            Assert.That(recipient.SeesStatus(Department, Commune, Department), Is.True);
            Assert.That(recipient.SeesStatus(Department, OtherCommune, Department), Is.False);
            Assert.That(recipient.SeesStatus(Department, Department, Commune), Is.True, "a recall request addressed to it");
            Assert.That(stranger.CanSeeDocument(Department, [Commune]), Is.False);
            Assert.That(stranger.Scope, Is.EqualTo(OtherCommune));
        });
    }

    [Test]
    public void The_caller_survives_the_round_trip_through_claims()
    {
        var caller = new AuditCaller(AuditRole.Agency, Commune, "Phúc Xá");

        Assert.That(AuditCaller.From(caller.ToPrincipal("ApiKey")), Is.EqualTo(caller));
        Assert.That(AuditCaller.From(new System.Security.Claims.ClaimsPrincipal()), Is.Null);
    }

    [TestCase("/search?state=delivered", true)]
    [TestCase("/", true)]
    [TestCase("//evil.example/x", false)]
    [TestCase("/\\evil.example", false)]
    [TestCase("https://evil.example/", false)]
    [TestCase("javascript:alert(1)", false)]
    [TestCase("/search\r\nSet-Cookie: x", false)]
    [TestCase("", false)]
    public void Login_returns_only_to_paths_of_this_host(string url, bool local)
    {
        Assert.That(AuditPaths.IsLocal(url), Is.EqualTo(local));
    }
}
