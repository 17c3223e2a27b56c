using System.Globalization;
using System.Net;
using Exchange.Audit;
using Exchange.Cli;
using Exchange.Gateway;
using Exchange.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Exchange.IntegrationTests;

/// <summary>
/// Every host serves Prometheus metrics at /metrics, without a key, and the counters and gauges move by what the
/// documents did. The hosts share this process, so the counters (process-wide) are compared before and after; the
/// gauges are read from this fixture's own databases and are compared exactly.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class MetricsTests : ProvinceFixture
{
    private const string Sender = SampleDirectory.HomeAffairs;
    private const string Recipient = SampleDirectory.PhucXaWard;

    /// <summary>A commune whose gateway does not run here: what is sent to it stays pending.</summary>
    private const string Offline = SampleDirectory.HangBacWard;

    private const string UnknownAgency = "000.09.99.H29";

    private WebApplication? _audit;
    private readonly LogCapture _auditLogs = new();

    private static DocumentMetadata Letter(string to) =>
        new([to], $"Công văn kiểm thử số liệu {Guid.NewGuid():N}", CodeNotation: "SNV-TEST", PromulgationPlace: "Hà Nội");

    private static (string, string, byte[])[] Attachment() =>
        [("van-ban.txt", "text/plain; charset=utf-8", "Nội dung văn bản"u8.ToArray())];

    protected override IReadOnlyCollection<string>? GatewayAgencies => [Sender, Recipient];

    /// <summary>
    /// Started once the hub's checks are done: the hosts share this process and so their meters, and a scrape of the
    /// hub would otherwise take the audit host's reading of the month (kept a few minutes) before the documents.
    /// </summary>
    private async Task<WebApplication> StartTheAuditHostAsync()
    {
        var s = Servers.Settings;
        _audit = AuditHost.Build([], new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Exchange:Prefix"] = Province.Names.Prefix,
            [ServerSettings.PostgresHostVariable] = s.PostgresHost,
            [ServerSettings.PostgresPortVariable] = s.PostgresPort.ToString(CultureInfo.InvariantCulture),
            [ServerSettings.PostgresUserVariable] = s.PostgresUser,
            [ServerSettings.PostgresPasswordVariable] = s.PostgresPassword,
        }, builder => builder.Logging.AddProvider(_auditLogs));
        await _audit.StartAsync();
        return _audit;
    }

    [OneTimeTearDown]
    public async Task StopTheAuditHost()
    {
        if (_audit is not null)
        {
            await _audit.DisposeAsync();
        }

        _auditLogs.Dispose();
    }

    private static async Task<PrometheusText> ScrapeAsync(WebApplication host)
    {
        // No API key: a scraper holds none, also on a gateway whose other endpoints all want one.
        using var http = new HttpClient { BaseAddress = new Uri(host.Urls.First()) };
        using var response = await http.GetAsync(new Uri(ServiceDefaultsExtensions.MetricsPath, UriKind.Relative));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"{host.Urls.First()}/metrics");
        return new PrometheusText(await response.Content.ReadAsStringAsync());
    }

    /// <summary>The exchange_* metrics named in deploy/observability (the Grafana dashboard and the Prometheus rules).</summary>
    private static SortedSet<string> ObservabilityMetricNames()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "Exchange.sln")))
            folder = folder.Parent;
        Assert.That(folder, Is.Not.Null, "the repository's root, above the test's folder");
        var observability = Path.Combine(folder!.FullName, "deploy", "observability");
        var text = string.Concat(File.ReadAllText(Path.Combine(observability, "grafana-dashboard.json")), File.ReadAllText(Path.Combine(observability, "alert-rules.yml")));
        return new SortedSet<string>(System.Text.RegularExpressions.Regex.Matches(text, "exchange_[a-z_]+").Select(m => m.Value), StringComparer.Ordinal);
    }

    [Test]
    public async Task Counts_what_documents_did_on_the_hub_and_every_host_serves_metrics()
    {
        var hub = Province.Router!;
        var before = await ScrapeAsync(hub);

        var delivered = await Client(Sender).SendDocumentAsync(Letter(Recipient), Attachment());
        var pending = await Client(Sender).SendDocumentAsync(Letter(Offline), Attachment());
        var refused = await Client(Sender).SendDocumentAsync(Letter(UnknownAgency), Attachment());
        Assert.That((await WaitForOutcomeAsync(Sender, delivered.EnvelopeId)).State, Is.EqualTo("delivered"));
        Assert.That((await WaitForOutcomeAsync(Sender, refused.EnvelopeId)).Reason, Is.EqualTo("unknown-recipient"));
        await Eventually(async () => (await Client(Sender).GetDocumentAsync(pending.EnvelopeId))?.State == "accepted", "the letter to the offline commune to be accepted");

        var after = await ScrapeAsync(hub);
        double Moved(string metric, params (string, string)[] labels) => after.Sum(metric, labels) - before.Sum(metric, labels);
        Assert.Multiple(() =>
        {
            // Sở Nội vụ is a department: the province tier.
            Assert.That(Moved("exchange_envelopes_accepted_total", ("tier", "province")), Is.EqualTo(2), "accepted");
            Assert.That(Moved("exchange_envelopes_rejected_total", ("reason", "unknown-recipient"), ("tier", "province")), Is.EqualTo(1), "rejected");
            Assert.That(Moved("exchange_deliveries_confirmed_total", ("tier", "commune")), Is.EqualTo(1), "receipts");
            Assert.That(Moved("exchange_delivery_duration_milliseconds_count", ("tier", "commune")), Is.EqualTo(1), "delivery time");
            // The hub verifies each of the three submissions and the receipt.
            Assert.That(Moved("exchange_signature_verifications_total", ("result", "ok")), Is.GreaterThanOrEqualTo(4), "verifications");
            Assert.That(after.Sum("exchange_signature_verification_duration_seconds_count"), Is.GreaterThanOrEqualTo(after.Sum("exchange_signature_verifications_total")));
            Assert.That(after.Has("dotnet_gc_collections_total") || after.Has("process_runtime_dotnet_gc_collections_count_total"), Is.True, "the runtime's own");
        });

        // Gauges come from this hub's own database: exact.
        await Eventually(async () =>
        {
            var state = await ScrapeAsync(hub);
            return state.Sum("exchange_deliveries_pending", ("tier", "commune")) == 1;
        }, "the pending gauge to show the letter to the offline commune", TimeSpan.FromSeconds(30));
        var gauges = await ScrapeAsync(hub);
        Assert.Multiple(() =>
        {
            Assert.That(gauges.Sum("exchange_deliveries_pending", ("tier", "commune"), ("age", "under_1m")), Is.EqualTo(1));
            Assert.That(gauges.Sum("exchange_deliveries_pending", ("tier", "province")), Is.EqualTo(0));
            Assert.That(gauges.Sum("exchange_deliveries_overdue"), Is.EqualTo(0));
            Assert.That(gauges.Has("exchange_evidence_unsealed"), Is.True);
        });
        await Eventually(async () => (await ScrapeAsync(hub)).Has("exchange_evidence_checkpoint_age_seconds"), "a signed checkpoint's age", TimeSpan.FromSeconds(30));

        var gateway = await ScrapeAsync(Province.Gateways[Recipient].App);
        Assert.That(gateway.Has("exchange_signature_verifications_total"), Is.True, "the gateway verifies what it receives");
        Assert.That(gateway.Has("http_server_request_duration_seconds_count"), Is.True, "ASP.NET Core's own");

        // The month so far: this fixture's hub database holds only the two letters accepted above.
        var auditHost = await StartTheAuditHostAsync();
        var audit = await ScrapeAsync(auditHost);
        for (var tries = 0; tries < 100 && !audit.Has("exchange_compliance_sent"); tries++)
        {
            await Task.Delay(200);
            audit = await ScrapeAsync(auditHost);
        }

        Assert.That(audit.Sum("exchange_compliance_sent", ("tier", "province")), Is.EqualTo(2),
            string.Join('\n', _auditLogs.Lines.Where(l => l.Contains("gauges", StringComparison.Ordinal))));
        Assert.Multiple(() =>
        {
            Assert.That(audit.Sum("exchange_compliance_target", ("tier", "province")), Is.EqualTo(0.7));
            Assert.That(audit.Sum("exchange_compliance_target", ("tier", "commune")), Is.EqualTo(0.3));
            // Signed counts a document carrying both the organisation's and a person's signature (Nghị định 30/2020);
            // these letters carry the organisation's only.
            Assert.That(audit.Has("exchange_compliance_signed_share"), Is.True);
            Assert.That(audit.Sum("exchange_compliance_signed_share", ("tier", "province")), Is.Zero);
        });

        // What deploy/observability's dashboard and alert rules ask for is what the hosts serve.
        var served = new[] { after, gauges, gateway, audit }.SelectMany(m => m.SampleNames()).ToHashSet(StringComparer.Ordinal);
        Assert.That(ObservabilityMetricNames(), Is.Not.Empty.And.SubsetOf(served));
    }
}

/// <summary>The Prometheus text exposition format, as much as these tests read: sample lines and their labels.</summary>
internal sealed class PrometheusText(string text)
{
    public string Text { get; } = text;

    private IEnumerable<(string Name, Dictionary<string, string> Labels, double Value)> Samples()
    {
        foreach (var raw in Text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
                continue;
            var brace = line.IndexOf('{', StringComparison.Ordinal);
            var close = line.LastIndexOf('}');
            string name;
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            string rest;
            if (brace >= 0 && close > brace)
            {
                name = line[..brace];
                foreach (var pair in SplitLabels(line[(brace + 1)..close]))
                    labels[pair.Key] = pair.Value;
                rest = line[(close + 1)..].Trim();
            }
            else
            {
                var space = line.IndexOf(' ', StringComparison.Ordinal);
                name = line[..space];
                rest = line[(space + 1)..].Trim();
            }

            var value = rest.Split(' ')[0];
            yield return (name, labels, value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                _ => double.Parse(value, CultureInfo.InvariantCulture),
            });
        }
    }

    private static IEnumerable<KeyValuePair<string, string>> SplitLabels(string labels)
    {
        var i = 0;
        while (i < labels.Length)
        {
            var eq = labels.IndexOf('=', i);
            var key = labels[i..eq].Trim().TrimStart(',').Trim();
            var value = new System.Text.StringBuilder();
            var j = eq + 2; // past ="
            for (; j < labels.Length && labels[j] != '"'; j++)
            {
                if (labels[j] == '\\' && j + 1 < labels.Length)
                    j++;
                value.Append(labels[j]);
            }

            yield return new(key, value.ToString());
            i = j + 1;
        }
    }

    /// <summary>The names of every metric family served (from the TYPE lines).</summary>
    public IReadOnlySet<string> Names() =>
        Text.Split('\n').Where(l => l.StartsWith("# TYPE ", StringComparison.Ordinal)).Select(l => l.Split(' ')[2]).ToHashSet(StringComparer.Ordinal);

    public IEnumerable<string> SampleNames() => Samples().Select(s => s.Name).Distinct();

    public bool Has(string metric) => Samples().Any(s => s.Name == metric);

    /// <summary>The sum over the samples of <paramref name="metric"/> whose labels include all of <paramref name="labels"/>; 0 when none.</summary>
    public double Sum(string metric, params (string Key, string Value)[] labels) =>
        Samples().Where(s => s.Name == metric && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value)).Sum(s => s.Value);
}
