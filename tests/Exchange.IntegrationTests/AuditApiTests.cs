using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Exchange.Audit;
using Exchange.Audit.Access;
using Exchange.Audit.Compliance;
using Exchange.Cli;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.Gateway;
using Exchange.ServiceDefaults;
using Exchange.Signing.Evidence;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Exchange.IntegrationTests;

/// <summary>
/// The auditors' host (issue #5 parts 5 and 6) over a real province's hub database: keys and roles, search, one
/// document's history, the evidence bundle, the pages and the compliance CSV.
/// </summary>
[TestFixture]
public sealed class AuditApiTests : ProvinceFixture
{
    private const string HomeAffairs = SampleDirectory.HomeAffairs;
    private const string Finance = SampleDirectory.Finance;
    private const string PhucXa = SampleDirectory.PhucXaWard;
    private const string HangBuom = SampleDirectory.HangBuomWard;

    private readonly string _auditorKey = ApiKeys.Generate();
    private readonly string _homeAffairsKey = ApiKeys.Generate();
    private readonly string _phucXaKey = ApiKeys.Generate();
    private readonly LogCapture _logs = new();

    private WebApplication _audit = null!;
    private HttpClient _http = null!;
    private string _subjectA = null!;
    private Guid _a;
    private string _documentA = null!;
    private Guid _b;
    private Guid _signedByPerson;
    private Guid _rejected;

    [OneTimeSetUp]
    public async Task SendDocumentsAndStartTheAuditHost()
    {
        // A: Sở Nội vụ → Phúc Xá, with markup in the subject (subjects are user input).
        _subjectA = $"Công văn <b>kiểm thử</b> & \"trích yếu\" {Guid.NewGuid():N}";
        var a = await Client(HomeAffairs).SendDocumentAsync(
            new DocumentMetadata([PhucXa], _subjectA, CodeNotation: "SNV-KT", PromulgationPlace: "Hà Nội"),
            [("van-ban.txt", "text/plain; charset=utf-8", "Nội dung"u8.ToArray())]);
        // B: Sở Tài chính → Hàng Buồm: neither Sở Nội vụ's nor Phúc Xá's business.
        var b = await Client(Finance).SendDocumentAsync(
            new DocumentMetadata([HangBuom], $"Báo cáo tài chính {Guid.NewGuid():N}", CodeNotation: "STC-BC"),
            [("bao-cao.txt", "text/plain", "x"u8.ToArray())]);
        // C: Sở Nội vụ → Phúc Xá, signed by the organisation and by a person (a certificate no agency registers).
        var package = Package(HomeAffairs, PhucXa, $"Quyết định có chữ ký cá nhân {Guid.NewGuid():N}");
        var c = await Client(HomeAffairs).SendPackageAsync(package, CoSignAsPerson(package, Province.Pki.AgencySigner(HomeAffairs).SignDetached(package)));
        // D: a package in Sở Nội vụ's name signed only by that person: refused as signer-not-bound.
        var personal = Package(HomeAffairs, PhucXa, $"Văn bản giả mạo {Guid.NewGuid():N}");
        var d = await Client(HomeAffairs).SendPackageAsync(personal, PersonSigner().SignDetached(personal));

        Assert.That((await WaitForOutcomeAsync(HomeAffairs, a.EnvelopeId)).State, Is.EqualTo("delivered"));
        Assert.That((await WaitForOutcomeAsync(Finance, b.EnvelopeId)).State, Is.EqualTo("delivered"));
        Assert.That((await WaitForOutcomeAsync(HomeAffairs, c.EnvelopeId)).State, Is.EqualTo("delivered"));
        Assert.That((await WaitForOutcomeAsync(HomeAffairs, d.EnvelopeId)).State, Is.EqualTo("rejected"));
        (_a, _documentA, _b, _signedByPerson, _rejected) = (a.EnvelopeId, a.DocumentId, b.EnvelopeId, c.EnvelopeId, d.EnvelopeId);

        var s = Servers.Settings;
        _audit = AuditHost.Build([], new Dictionary<string, string?>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Exchange:Prefix"] = Province.Names.Prefix,
            ["Trust:CrlFiles:0"] = Province.Pki.CrlPath,
            ["Logging:LogLevel:Default"] = "Debug",
            ["Audit:Keys:0:Sha256"] = ApiKeys.Hash(_auditorKey),
            ["Audit:Keys:0:Role"] = "auditor",
            ["Audit:Keys:1:Sha256"] = ApiKeys.Hash(_homeAffairsKey),
            ["Audit:Keys:1:Role"] = "agency",
            ["Audit:Keys:1:Agency"] = HomeAffairs,
            ["Audit:Keys:2:Sha256"] = ApiKeys.Hash(_phucXaKey),
            ["Audit:Keys:2:Role"] = "agency",
            ["Audit:Keys:2:Agency"] = PhucXa,
            [ServerSettings.PostgresHostVariable] = s.PostgresHost,
            [ServerSettings.PostgresPortVariable] = s.PostgresPort.ToString(CultureInfo.InvariantCulture),
            [ServerSettings.PostgresUserVariable] = s.PostgresUser,
            [ServerSettings.PostgresPasswordVariable] = s.PostgresPassword,
        }, builder =>
        {
            // Everything the host logs, at every level, goes to the capture only: the keys must be in none of it.
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(_logs);
        });
        await _audit.StartAsync();
        _http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = new Uri(_audit.Urls.First()) };
    }

    [OneTimeTearDown]
    public async Task StopTheAuditHost()
    {
        _http?.Dispose();
        if (_audit is not null)
        {
            await _audit.StopAsync();
            await _audit.DisposeAsync();
        }
    }

    private static byte[] Package(string from, string to, string subject)
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var number = Guid.NewGuid().ToString("N")[..10];
        return EdxmlWriter.Write(new EdxmlPackage(new EdxmlHeader
        {
            From = new EdxmlOrganisation(from),
            To = [new EdxmlOrganisation(to)],
            DocumentId = EdxmlDocumentId.Format(from, today, $"{number}/QĐ"),
            CodeNumber = number,
            CodeNotation = "QĐ",
            Subject = subject,
            PromulgationDate = today,
        }, [new EdxmlAttachment("quyet-dinh.txt", "text/plain", "Nội dung quyết định"u8.ToArray())]));
    }

    private Exchange.Signing.CmsSigner PersonSigner() =>
        Exchange.Signing.CmsSigner.FromPkcs12(Province.Pki.IssueRogueCertificate("Nguyễn Văn An"), Province.Pki.Password);

    /// <summary>Adds the person's SignerInfo beside the organisation's (RFC 5652 §5.1: SignerInfos is a set).</summary>
    private byte[] CoSignAsPerson(byte[] package, byte[] organisationSignature)
    {
        using var person = X509CertificateLoader.LoadPkcs12FromFile(Province.Pki.IssueRogueCertificate("Nguyễn Văn An"), Province.Pki.Password);
        var cms = new SignedCms(new ContentInfo(package), detached: true);
        cms.Decode(organisationSignature);
        var signer = new System.Security.Cryptography.Pkcs.CmsSigner(SubjectIdentifierType.IssuerAndSerialNumber, person)
        {
            IncludeOption = X509IncludeOption.EndCertOnly,
            DigestAlgorithm = new System.Security.Cryptography.Oid("2.16.840.1.101.3.4.2.1"),
        };
        signer.Certificates.Add(Province.Pki.IssuingCertificate);
        signer.SignedAttributes.Add(new Pkcs9SigningTime(DateTime.UtcNow));
        cms.ComputeSignature(signer, silent: true);
        return cms.Encode();
    }

    private async Task<HttpResponseMessage> GetAsync(string path, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (key is not null)
        {
            request.Headers.Add(ApiKeys.Header, key);
        }

        return await _http.SendAsync(request);
    }

    private async Task<JsonElement> GetJsonAsync(string path, string key)
    {
        using var response = await GetAsync(path, key);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        return (await response.Content.ReadFromJsonAsync<JsonElement>())!;
    }

    private async Task<List<Guid>> SearchAsync(string query, string key) =>
        (await GetJsonAsync($"/api/deliveries?limit=500&{query}", key)).GetProperty("items").EnumerateArray()
            .Select(i => i.GetProperty("envelopeId").GetGuid()).ToList();

    private static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status, string reason)
    {
        Assert.That(response.StatusCode, Is.EqualTo(status));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(problem.GetProperty("reason").GetString(), Is.EqualTo(reason));
        return problem;
    }

    [Test]
    public async Task No_key_or_an_unknown_key_is_401_with_a_problem()
    {
        using var none = await GetAsync("/api/deliveries", key: null);
        await AssertProblemAsync(none, HttpStatusCode.Unauthorized, "unauthorized");
        Assert.That(none.Headers.WwwAuthenticate.ToString(), Does.StartWith("ApiKey"));

        using var unknown = await GetAsync($"/api/envelopes/{_a}", ApiKeys.Generate());
        await AssertProblemAsync(unknown, HttpStatusCode.Unauthorized, "unauthorized");
    }

    [Test]
    public async Task An_auditor_key_sees_every_document()
    {
        var all = await SearchAsync(string.Empty, _auditorKey);

        Assert.That(all, Is.SupersetOf(new[] { _a, _b, _signedByPerson, _rejected }));
        var history = await GetJsonAsync($"/api/envelopes/{_b}", _auditorKey);
        Assert.That(history.GetProperty("sender").GetString(), Is.EqualTo(Finance));
        Assert.That(history.GetProperty("partial").GetBoolean(), Is.False);
    }

    [Test]
    public async Task An_agency_key_sees_only_its_own_documents_and_404_for_another()
    {
        var mine = await SearchAsync(string.Empty, _homeAffairsKey);
        Assert.That(mine, Is.SupersetOf(new[] { _a, _signedByPerson, _rejected }));
        Assert.That(mine, Does.Not.Contain(_b));
        Assert.That(await SearchAsync($"sender={Finance}", _homeAffairsKey), Is.Empty);

        using var other = await GetAsync($"/api/envelopes/{_b}", _homeAffairsKey);
        var otherProblem = await AssertProblemAsync(other, HttpStatusCode.NotFound, "not-found");
        var missingId = Guid.NewGuid();
        using var missing = await GetAsync($"/api/envelopes/{missingId}", _homeAffairsKey);
        var missingProblem = await AssertProblemAsync(missing, HttpStatusCode.NotFound, "not-found");
        Assert.That(otherProblem.GetProperty("detail").GetString(), Is.EqualTo(missingProblem.GetProperty("detail").GetString()!.Replace(missingId.ToString(), _b.ToString(), StringComparison.Ordinal)),
            "the answer for another agency's document is that of a missing one");

        // The recipient sees the document, but only its own part of it.
        var received = await GetJsonAsync($"/api/envelopes/{_a}", _phucXaKey);
        Assert.That(received.GetProperty("partial").GetBoolean(), Is.True);
        Assert.That(received.GetProperty("deliveries").EnumerateArray().Select(d => d.GetProperty("recipient").GetString()), Is.EqualTo(new[] { PhucXa }));
        Assert.That(await SearchAsync(string.Empty, _phucXaKey), Does.Not.Contain(_rejected), "a refused envelope has no delivery to its would-be recipient");
    }

    [Test]
    public async Task Searches_by_document_sender_state_and_period()
    {
        var today = DateTimeOffset.UtcNow.ToOffset(ReportMonth.VietnamOffset).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

        Assert.That(await SearchAsync($"document={Uri.EscapeDataString(_documentA)}", _auditorKey), Is.EqualTo(new[] { _a }));
        Assert.That(await SearchAsync($"document={_a}", _auditorKey), Is.EqualTo(new[] { _a }));
        Assert.That(await SearchAsync($"sender={Finance}&recipient={HangBuom}&state=delivered", _auditorKey), Does.Contain(_b));
        var rejected = await SearchAsync("state=rejected", _auditorKey);
        Assert.That(rejected, Does.Contain(_rejected));
        Assert.That(rejected, Does.Not.Contain(_a));
        Assert.That(await SearchAsync($"from={today}&to={today}&sender={HomeAffairs}", _auditorKey), Does.Contain(_a));
        Assert.That(await SearchAsync("from=2001-01-01&to=2001-01-31", _auditorKey), Is.Empty);

        using var bad = await GetAsync("/api/deliveries?state=lost", _auditorKey);
        await AssertProblemAsync(bad, HttpStatusCode.BadRequest, "invalid-request");
    }

    [Test]
    public async Task Pages_through_results_with_a_cursor()
    {
        var first = await GetJsonAsync("/api/deliveries?limit=1", _auditorKey);
        var next = first.GetProperty("next").GetString();
        var second = await GetJsonAsync($"/api/deliveries?limit=1&cursor={next}", _auditorKey);

        Assert.That(next, Is.Not.Null);
        Assert.That(second.GetProperty("items")[0].GetProperty("envelopeId").GetGuid(), Is.Not.EqualTo(first.GetProperty("items")[0].GetProperty("envelopeId").GetGuid()));
    }

    [Test]
    public async Task Reports_the_personal_and_organisation_signatures_of_a_document()
    {
        var history = await GetJsonAsync($"/api/envelopes/{_signedByPerson}", _auditorKey);
        var plain = await GetJsonAsync($"/api/envelopes/{_a}", _auditorKey);

        Assert.That(history.GetProperty("requiredSignatures").GetBoolean(), Is.True);
        Assert.That(history.GetProperty("signers").EnumerateArray().Select(s => s.GetProperty("kind").GetString()), Is.EquivalentTo(new[] { "organisation", "personal" }));
        Assert.That(plain.GetProperty("requiredSignatures").GetBoolean(), Is.False, "the gateway's organisation signature alone");
        Assert.That(plain.GetProperty("evidence").EnumerateArray().Select(e => e.GetProperty("kind").GetString()), Is.SupersetOf(new[] { "SubmissionAcceptance", "ContentConsignment" }));
    }

    [Test]
    public async Task The_downloaded_bundle_verifies_offline()
    {
        byte[]? zip = null;
        await Eventually(async () =>
        {
            using var response = await GetAsync($"/api/envelopes/{_a}/bundle", _auditorKey);
            if (response.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                return false; // not sealed and checkpointed yet
            }

            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/zip"));
            zip = await response.Content.ReadAsByteArrayAsync();
            return true;
        }, "the bundle to be ready", TimeSpan.FromSeconds(30));

        using var seal = X509CertificateLoader.LoadCertificateFromFile(Province.Pki.HubSealCertificatePath);
        var report = new EvidenceBundleVerifier(new EvidenceBundleVerifierOptions
        {
            TrustAnchors = [Province.Pki.RootCertificate],
            SealCertificateSha256 = [Digests.Sha256Hex(seal.RawData)],
        }).Verify(new MemoryStream(zip!));

        Assert.That(report.Valid, Is.True, string.Join("; ", report.Problems));
        Assert.That(report.Envelopes.Single().EnvelopeId, Is.EqualTo(_a));

        using var agency = await GetAsync($"/api/envelopes/{_a}/bundle", _homeAffairsKey);
        await AssertProblemAsync(agency, HttpStatusCode.Forbidden, "forbidden");
        using var stranger = await GetAsync($"/api/envelopes/{_b}/bundle", _homeAffairsKey);
        await AssertProblemAsync(stranger, HttpStatusCode.NotFound, "not-found");
    }

    [Test]
    public async Task Pages_render_and_escape_the_subject()
    {
        var escaped = "Công văn &lt;b&gt;kiểm thử&lt;/b&gt; &amp; &quot;trích yếu&quot;";
        foreach (var path in new[] { $"/search?sender={HomeAffairs}", $"/documents/{_a}", "/compliance" })
        {
            using var response = await GetAsync(path, _auditorKey);
            var html = await response.Content.ReadAsStringAsync();

            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), path);
            Assert.That(response.Content.Headers.ContentType?.ToString(), Is.EqualTo("text/html; charset=utf-8"));
            Assert.That(response.Headers.GetValues("Content-Security-Policy").Single(), Does.Contain("default-src 'none'"));
            Assert.That(html, Does.Not.Contain("<b>kiểm thử</b>"), path);
            if (path != "/compliance")
            {
                Assert.That(html, Does.Contain(escaped), path);
            }
            else
            {
                Assert.That(html, Does.Contain("<svg").And.Contain("Sở Nội vụ"));
            }
        }

        using var phucXaView = await GetAsync($"/documents/{_b}", _phucXaKey);
        Assert.That(phucXaView.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task A_browser_signs_in_with_the_form_and_reads_with_the_cookie()
    {
        using var anonymous = await GetAsync("/search?state=delivered", key: null);
        Assert.That(anonymous.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(anonymous.Headers.Location?.ToString(), Is.EqualTo("/login?returnUrl=%2Fsearch%3Fstate%3Ddelivered"));

        using var wrong = await _http.PostAsync("/login", new FormUrlEncodedContent([new("key", "exk_wrong"), new("returnUrl", "/search")]));
        Assert.That(wrong.StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));

        using var login = await _http.PostAsync("/login", new FormUrlEncodedContent([new("key", _phucXaKey), new("returnUrl", "//evil.example/")]));
        Assert.That(login.StatusCode, Is.EqualTo(HttpStatusCode.Redirect));
        Assert.That(login.Headers.Location?.ToString(), Is.EqualTo("/search"), "never back to another host");
        var cookie = login.Headers.GetValues("Set-Cookie").Single();
        Assert.That(cookie, Does.Contain("httponly").IgnoreCase.And.Contain("samesite=strict").IgnoreCase);

        using var page = new HttpRequestMessage(HttpMethod.Get, $"/documents/{_a}");
        page.Headers.Add("Cookie", cookie.Split(';')[0]);
        using var read = await _http.SendAsync(page);
        Assert.That(read.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        // The cookie reads; it never writes.
        using var post = new HttpRequestMessage(HttpMethod.Post, "/api/paper-counts") { Content = JsonContent.Create(new { month = CurrentMonth, count = 1 }) };
        post.Headers.Add("Cookie", cookie.Split(';')[0]);
        using var written = await _http.SendAsync(post);
        await AssertProblemAsync(written, HttpStatusCode.Unauthorized, "unauthorized");
    }

    private static string CurrentMonth => ReportMonth.Containing(DateTimeOffset.UtcNow).ToString();

    [Test]
    public async Task Csv_has_the_header_row_and_counts_the_signed_document()
    {
        using var response = await GetAsync($"/api/compliance.csv?month={CurrentMonth}", _auditorKey);
        var text = Encoding.UTF8.GetString(await response.Content.ReadAsByteArrayAsync()).TrimStart('\uFEFF');
        var lines = text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/csv"));
        Assert.That(lines[0], Is.EqualTo(string.Join(',', ComplianceCsv.Columns)));
        var homeAffairs = lines.Single(l => l.Contains($",agency,{HomeAffairs},", StringComparison.Ordinal)).Split(',');
        Assert.That(int.Parse(homeAffairs[Array.IndexOf(ComplianceCsv.Columns, "sent")], CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(2));
        Assert.That(int.Parse(homeAffairs[Array.IndexOf(ComplianceCsv.Columns, "signed")], CultureInfo.InvariantCulture), Is.GreaterThanOrEqualTo(1));

        using var agencyCsv = await GetAsync($"/api/compliance.csv?month={CurrentMonth}", _phucXaKey);
        var agencyLines = Encoding.UTF8.GetString(await agencyCsv.Content.ReadAsByteArrayAsync()).TrimStart('\uFEFF').Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.That(agencyLines.Skip(1).Select(l => l.Split(',')[2]), Is.EqualTo(new[] { PhucXa }), "an agency reads its own line only");
    }

    [Test]
    public async Task Only_an_agency_key_reports_its_paper_count_and_the_report_uses_the_newest()
    {
        async Task<HttpResponseMessage> PostAsync(string key, object body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/paper-counts") { Content = JsonContent.Create(body) };
            request.Headers.Add(ApiKeys.Header, key);
            return await _http.SendAsync(request);
        }

        using (var first = await PostAsync(_homeAffairsKey, new { month = CurrentMonth, count = 40 }))
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.Created), await first.Content.ReadAsStringAsync());
        }

        using (var corrected = await PostAsync(_homeAffairsKey, new { month = CurrentMonth, count = 2, note = "sửa số liệu" }))
        {
            Assert.That(corrected.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        }

        using (var auditor = await PostAsync(_auditorKey, new { month = CurrentMonth, count = 1 }))
        {
            await AssertProblemAsync(auditor, HttpStatusCode.Forbidden, "forbidden");
        }

        using (var forOther = await PostAsync(_homeAffairsKey, new { month = CurrentMonth, count = 1, agency = Finance }))
        {
            await AssertProblemAsync(forOther, HttpStatusCode.Forbidden, "forbidden");
        }

        using (var future = await PostAsync(_homeAffairsKey, new { month = "2999-01", count = 1 }))
        {
            await AssertProblemAsync(future, HttpStatusCode.BadRequest, "invalid-request");
        }

        var report = await GetJsonAsync($"/api/compliance?month={CurrentMonth}", _homeAffairsKey);
        var line = report.GetProperty("agencies").EnumerateArray().Single();
        Assert.That(line.GetProperty("code").GetString(), Is.EqualTo(HomeAffairs));
        Assert.That(line.GetProperty("paper").GetInt32(), Is.EqualTo(2));
        var sent = line.GetProperty("sent").GetInt32();
        Assert.That(line.GetProperty("electronicShare").GetDouble(), Is.EqualTo((double)sent / (sent + 2)).Within(1e-9));
    }

    [Test]
    public async Task Keys_never_appear_in_the_logs()
    {
        using (await GetAsync("/api/deliveries", _auditorKey))
        using (await GetAsync("/search", _homeAffairsKey))
        using (await GetAsync("/api/deliveries", _phucXaKey + "x"))
        using (await _http.PostAsync("/login", new FormUrlEncodedContent([new("key", _phucXaKey)])))
        {
        }

        var lines = _logs.Lines.ToList();
        Assert.That(lines, Is.Not.Empty, "the capture sees the host's logs");
        Assert.That(lines, Has.Some.Contains("unknown API key"));
        foreach (var key in new[] { _auditorKey, _homeAffairsKey, _phucXaKey })
        {
            Assert.That(lines.Where(l => l.Contains(key[4..], StringComparison.Ordinal)), Is.Empty);
        }
    }
}
