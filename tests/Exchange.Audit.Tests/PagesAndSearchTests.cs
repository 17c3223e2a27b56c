using System.Text.RegularExpressions;
using Exchange.Audit.Compliance;
using Exchange.Audit.Pages;
using Exchange.Audit.Queries;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;

namespace Exchange.Audit.Tests;

/// <summary>HTML escaping, the SVG chart, search parameters, and the OpenAPI description against the mapped routes.</summary>
public sealed partial class PagesAndSearchTests
{
    // ---- HTML ----------------------------------------------------------------------------------------------------

    [Test]
    public void Interpolated_values_are_escaped_and_fragments_are_not()
    {
        const string subject = "<script>alert('x')</script> & \"Công văn\"";
        var cell = Html.Of($"<td title=\"{subject}\">{subject}</td>{Html.Raw("<br>")}");

        Assert.Multiple(() =>
        {
            Assert.That(cell.Value, Does.Not.Contain("<script>"));
            Assert.That(cell.Value, Does.Not.Contain("\"Công"), "a quote cannot end the attribute");
            Assert.That(cell.Value, Does.Contain("&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;Công văn&quot;"));
            Assert.That(cell.Value, Does.EndWith("</td><br>"));
        });
    }

    [Test]
    public void Lists_of_fragments_and_nullable_fragments_are_markup()
    {
        List<HtmlFragment> items = [Html.Of($"<li>{"a<b"}</li>"), Html.Of($"<li>{"c"}</li>")];
        HtmlFragment? maybe = Html.Raw("<hr>");

        Assert.That(Html.Of($"<ul>{items}</ul>{maybe}").Value, Is.EqualTo("<ul><li>a&lt;b</li><li>c</li></ul><hr>"));
    }

    [Test]
    public void Numbers_are_written_in_the_invariant_culture()
    {
        var previous = Thread.CurrentThread.CurrentCulture;
        Thread.CurrentThread.CurrentCulture = new System.Globalization.CultureInfo("vi-VN");
        try
        {
            Assert.That(Html.Of($"{1234.5}").Value, Is.EqualTo("1234.5"));
        }
        finally
        {
            Thread.CurrentThread.CurrentCulture = previous;
        }
    }

    [Test]
    public void The_chart_escapes_labels_and_draws_one_bar_per_measured_row()
    {
        var svg = BarChart.Render(
        [
            new Bar("Cấp tỉnh", 0.75, 0.70, "75.0% (3/4)", Emphasis: true),
            new Bar("<b>Sở</b>", 0.5, 0.70, "50.0% (1/2)", Emphasis: false),
            new Bar("UBND xã", null, 0.30, "0 văn bản", Emphasis: false),
        ], "Tỷ lệ <ký số>").Value;

        Assert.Multiple(() =>
        {
            Assert.That(svg, Does.StartWith("<svg "));
            Assert.That(svg, Does.Not.Contain("<b>"));
            Assert.That(svg, Does.Contain("&lt;b&gt;Sở&lt;/b&gt;"));
            Assert.That(svg, Does.Contain("<title>Tỷ lệ &lt;ký số&gt;</title>"));
            Assert.That(BarFill().Matches(svg).Select(m => m.Groups[1].Value), Is.EqualTo(new[] { "#1e7b34", "#b3261e" }), "green meets, red below; none for no documents");
        });
    }

    [GeneratedRegex("<rect x=\"[0-9.]+\" y=\"[0-9.]+\" width=\"[0-9.]+\" height=\"14\" rx=\"2\" fill=\"(#[0-9a-f]{6})\"")]
    private static partial Regex BarFill();

    // ---- Search parameters ---------------------------------------------------------------------------------------

    private static DeliverySearch Parse(params (string Name, string Value)[] query)
    {
        Assert.That(DeliverySearch.TryParse(n => query.FirstOrDefault(q => q.Name == n).Value, out var search, out var error), Is.True, error);
        return search;
    }

    private static string Refuse(params (string Name, string Value)[] query)
    {
        Assert.That(DeliverySearch.TryParse(n => query.FirstOrDefault(q => q.Name == n).Value, out _, out var error), Is.False);
        return error;
    }

    [Test]
    public void Dates_are_whole_days_in_Vietnam_time_and_to_includes_its_day()
    {
        var search = Parse(("from", "2026-11-01"), ("to", "2026-11-30"));

        Assert.Multiple(() =>
        {
            Assert.That(search.From, Is.EqualTo(new DateTimeOffset(2026, 10, 31, 17, 0, 0, TimeSpan.Zero)));
            Assert.That(search.To, Is.EqualTo(new DateTimeOffset(2026, 11, 30, 17, 0, 0, TimeSpan.Zero)));
            Assert.That(Parse(("from", "2026-11-01T08:00:00Z")).From, Is.EqualTo(new DateTimeOffset(2026, 11, 1, 8, 0, 0, TimeSpan.Zero)));
            Assert.That(Parse(("from", "2026-11-01T08:00:00")).From, Is.EqualTo(new DateTimeOffset(2026, 11, 1, 1, 0, 0, TimeSpan.Zero)), "no offset: Vietnam time");
        });
    }

    [Test]
    public void Normalises_codes_and_reads_state_status_and_limit()
    {
        var search = Parse(("sender", "00.01.H29"), ("recipient", " 000.01.21.h29 "), ("state", "Delivered"), ("status", "03"), ("limit", "10"));

        Assert.Multiple(() =>
        {
            Assert.That(search.Sender, Is.EqualTo("000.00.01.H29"));
            Assert.That(search.Recipient, Is.EqualTo("000.01.21.H29"));
            Assert.That(search.State, Is.EqualTo(DeliveryFilter.Delivered));
            Assert.That(search.Status, Is.EqualTo(3));
            Assert.That(search.Limit, Is.EqualTo(10));
            Assert.That(Parse().IsEmpty, Is.True);
            Assert.That(Parse().Limit, Is.EqualTo(DeliverySearch.DefaultLimit));
        });
    }

    [Test]
    public void A_document_that_is_a_guid_also_matches_the_envelope_id()
    {
        var id = Guid.NewGuid();

        Assert.That(Parse(("document", id.ToString())).EnvelopeId, Is.EqualTo(id));
        Assert.That(Parse(("document", "000.00.01.H29,2026/11/10,12/SNV-VP")).EnvelopeId, Is.Null);
    }

    [Test]
    public void Refuses_malformed_parameters_and_says_which()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Refuse(("sender", "H29")), Does.StartWith("sender:"));
            Assert.That(Refuse(("state", "lost")), Does.StartWith("state:"));
            Assert.That(Refuse(("state", "1")), Does.StartWith("state:"));
            Assert.That(Refuse(("status", "7")), Does.StartWith("status:"));
            Assert.That(Refuse(("limit", "0")), Does.StartWith("limit:"));
            Assert.That(Refuse(("limit", "501")), Does.StartWith("limit:"));
            Assert.That(Refuse(("from", "yesterday")), Does.StartWith("from:"));
            Assert.That(Refuse(("to", "2026-02-30")), Does.StartWith("to:"));
            Assert.That(Refuse(("cursor", "!!")), Does.StartWith("cursor:"));
            Assert.That(Refuse(("document", new string('x', 300))), Does.StartWith("document:"));
        });
    }

    [Test]
    public void A_cursor_round_trips()
    {
        var cursor = new SearchCursor(new DateTimeOffset(2026, 11, 10, 2, 3, 4, TimeSpan.Zero).AddTicks(1230), Guid.NewGuid(), "000.01.21.H29");

        Assert.That(Parse(("cursor", cursor.Encode())).After, Is.EqualTo(cursor));
    }

    [Test]
    public void The_search_repeats_itself_as_a_query_string()
    {
        var search = Parse(("sender", "000.00.01.H29"), ("from", "2026-11-01"), ("state", "pending"), ("status", "3"));
        var again = Parse(search.ToQuery().Select(kv => (kv.Key, kv.Value)).ToArray());

        Assert.That(again with { }, Is.EqualTo(search));
    }

    // ---- The OpenAPI description -----------------------------------------------------------------------------------

    [GeneratedRegex(@"^  (/api/[^:]+):\s*$", RegexOptions.Multiline)]
    private static partial Regex YamlPath();

    [GeneratedRegex(@"^    (get|post|put|patch|delete):\s*$", RegexOptions.Multiline)]
    private static partial Regex YamlMethod();

    [GeneratedRegex(@":[a-z]+\}")]
    private static partial Regex RouteConstraint();

    /// <summary>schemas/openapi/audit.yaml is hand-written: every route the host maps under /api is in it, and nothing else.</summary>
    [Test]
    public async Task The_openapi_description_lists_exactly_the_routes_the_host_maps()
    {
        var yaml = await File.ReadAllTextAsync(Path.Combine(TestContext.CurrentContext.TestDirectory, "openapi", "audit.yaml"));
        var described = new SortedSet<string>(StringComparer.Ordinal);
        var paths = YamlPath().Matches(yaml).ToList();
        for (var i = 0; i < paths.Count; i++)
        {
            var end = i + 1 < paths.Count ? paths[i + 1].Index : yaml.IndexOf("\ncomponents:", StringComparison.Ordinal);
            foreach (Match method in YamlMethod().Matches(yaml[paths[i].Index..end]))
            {
                described.Add($"{method.Groups[1].Value.ToUpperInvariant()} {paths[i].Groups[1].Value}");
            }
        }

        await using var app = AuditHost.Build([], new Dictionary<string, string?> { ["Logging:LogLevel:Default"] = "Warning" });
        var mapped = new SortedSet<string>(
            ((IEndpointRouteBuilder)app).DataSources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
                .Where(e => e.RoutePattern.RawText?.StartsWith("/api/", StringComparison.Ordinal) == true)
                .SelectMany(e => (e.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? []).Select(m => $"{m} {RouteConstraint().Replace(e.RoutePattern.RawText!, "}")}")),
            StringComparer.Ordinal);

        Assert.That(described, Is.EquivalentTo(mapped));
        Assert.That(mapped, Has.Count.GreaterThanOrEqualTo(7));
    }

    [Test]
    public void Durations_and_shares_read_well()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Html.Duration(42), Is.EqualTo("42 s"));
            Assert.That(Html.Duration(210), Is.EqualTo("3.5 min"));
            Assert.That(Html.Duration(7560), Is.EqualTo("2.1 h"));
            Assert.That(Html.Duration(null), Is.EqualTo("–"));
            Assert.That(Html.Percent(0.7), Is.EqualTo("70.0%"));
            Assert.That(Html.Time(new DateTimeOffset(2026, 10, 31, 17, 30, 0, TimeSpan.Zero)), Is.EqualTo("2026-11-01 00:30:00"));
            Assert.That(ReportMonth.VietnamOffset, Is.EqualTo(TimeSpan.FromHours(7)));
        });
    }
}
