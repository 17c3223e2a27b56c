using System.Globalization;
using System.Security.Claims;
using Exchange.Audit.Access;
using Exchange.Audit.Compliance;
using Exchange.Audit.Queries;
using Exchange.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Exchange.Audit.Pages;

/// <summary>
/// The server-rendered pages: search, one document's history, compliance, and the login form that sets the key
/// cookie. Plain HTML built with <see cref="Html"/>, which escapes every value; no script.
/// </summary>
public static class AuditPages
{
    public static IEndpointRouteBuilder MapAuditPages(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => Results.Redirect("/search")).AllowAnonymous();
        app.MapGet(AuditPaths.LoginPath, LoginForm).AllowAnonymous();
        app.MapPost(AuditPaths.LoginPath, LoginAsync).AllowAnonymous().DisableAntiforgery();
        app.MapPost("/logout", Logout).AllowAnonymous().DisableAntiforgery();
        var pages = app.MapGroup(string.Empty).RequireAuthorization();
        pages.MapGet("/search", SearchAsync);
        pages.MapGet("/documents/{envelopeId:guid}", DocumentAsync);
        pages.MapGet("/compliance", ComplianceAsync);
        return app;
    }

    // ---- Login ---------------------------------------------------------------------------------------------------

    private static IResult LoginForm(HttpContext context, string? returnUrl)
    {
        if (AuditCaller.From(context.User) is not null)
        {
            return Results.Redirect(AuditPaths.IsLocal(returnUrl) ? returnUrl! : "/search");
        }

        return LoginPage(context, returnUrl, error: null, StatusCodes.Status200OK);
    }

    private static IResult LoginPage(HttpContext context, string? returnUrl, string? error, int status)
    {
        var errorBlock = error is null ? HtmlFragment.Empty : Html.Of($"""<div class="error">{error}</div>""");
        var body = Html.Of($"""
            <div class="card login">
              <form method="post" action="/login" autocomplete="off">
                <input type="hidden" name="returnUrl" value="{(AuditPaths.IsLocal(returnUrl) ? returnUrl : "/search")}">
                <p><label>Khóa truy cập <small>/ API key</small><br><input type="password" name="key" required maxlength="{ApiKeys.MaxKeyLength}" autofocus></label></p>
                {errorBlock}
                <p><button class="primary" type="submit">Đăng nhập / Sign in</button></p>
                <p class="note">Khóa do quản trị viên cấp (<span class="mono">exchange audit key create</span>). Trình duyệt giữ khóa trong một cookie của phiên này.<br>
                The operator issues keys; the browser keeps yours in a cookie for this session.</p>
              </form>
            </div>
            """);
        return PageLayout.Page(context, "Đăng nhập", "Sign in with your API key", caller: null, active: string.Empty, body, status);
    }

    private static async Task<IResult> LoginAsync(HttpContext context, ApiKeyRing keys)
    {
        // A form posted from another site would log this browser in with someone else's key: refuse it.
        if (context.Request.Headers["Sec-Fetch-Site"].FirstOrDefault() is { } site && site is not ("same-origin" or "none"))
        {
            return AuditProblems.Forbidden("The login form must be posted from this site.");
        }

        if (!context.Request.HasFormContentType)
        {
            return AuditProblems.Invalid("Post the login form (application/x-www-form-urlencoded).");
        }

        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var returnUrl = form["returnUrl"].FirstOrDefault();
        var key = form["key"].FirstOrDefault()?.Trim();
        var entry = keys.Find(key);
        if (entry is null)
        {
            return LoginPage(context, returnUrl, "Khóa không hợp lệ. / That key is not valid.", StatusCodes.Status401Unauthorized);
        }

        context.Response.Cookies.Append(ApiKeys.Cookie, key!, new CookieOptions
        {
            HttpOnly = true,
            Secure = context.Request.IsHttps,
            SameSite = SameSiteMode.Strict,
            Path = "/",
            MaxAge = TimeSpan.FromHours(12),
            IsEssential = true,
        });
        return Results.Redirect(AuditPaths.IsLocal(returnUrl) ? returnUrl! : "/search");
    }

    private static IResult Logout(HttpContext context)
    {
        context.Response.Cookies.Delete(ApiKeys.Cookie, new CookieOptions { Path = "/" });
        return Results.Redirect(AuditPaths.LoginPath);
    }

    // ---- Search --------------------------------------------------------------------------------------------------

    private static async Task<IResult> SearchAsync(HttpContext context, ClaimsPrincipal user, AuditStore store, CancellationToken ct)
    {
        var caller = AuditApi.Caller(user);
        var directory = await store.Directories.LatestAsync(ct);
        var query = context.Request.Query;
        string? Get(string name) => query[name].FirstOrDefault();
        var valid = DeliverySearch.TryParse(Get, out var search, out var error);
        SearchPage? page = valid ? await store.SearchAsync(search, caller.Scope, ct) : null;

        var agencyOptions = Html.Join((directory?.Agencies ?? []).OrderBy(a => a.Code, StringComparer.Ordinal)
            .Select(a => Html.Of($"""<option value="{a.Code}">{a.Name}</option>""")));
        var states = new[] { ("", "— tất cả / any —"), ("delivered", "Đã giao / delivered"), ("pending", "Đang chờ / pending"), ("failed", "Lỗi / failed"), ("rejected", "Bị từ chối / rejected") };
        var stateOptions = Html.Join(states.Select(s => Html.Of($"""<option value="{s.Item1}" {Selected(Get("state"), s.Item1)}>{s.Item2}</option>""")));
        var statusOptions = Html.Join(new[] { ("", "— tất cả / any —") }
            .Concat(DeliverySearch.StatusCodes.Order().Select(c => (c.ToString("00", CultureInfo.InvariantCulture), $"{StatusName.Of(c).Label} / {StatusName.Of(c).English}")))
            .Select(s => Html.Of($"""<option value="{s.Item1}" {Selected(NormaliseStatus(Get("status")), s.Item1)}>{s.Item2}</option>""")));

        var form = Html.Of($"""
            <form class="search card" method="get" action="/search">
              <label>Văn bản <small>DocumentId / envelope id</small><input name="document" value="{Get("document")}" maxlength="{DeliverySearch.MaxDocumentLength}"></label>
              <label>Nơi gửi <small>sender</small><input name="sender" list="agencies" value="{Get("sender")}" placeholder="000.00.01.H29"></label>
              <label>Nơi nhận <small>recipient</small><input name="recipient" list="agencies" value="{Get("recipient")}" placeholder="000.01.21.H29"></label>
              <label>Từ ngày <small>from</small><input type="date" name="from" value="{DateValue(Get("from"))}"></label>
              <label>Đến ngày <small>to (inclusive)</small><input type="date" name="to" value="{DateValue(Get("to"))}"></label>
              <label>Trạng thái <small>state</small><select name="state">{stateOptions}</select></label>
              <label>Trạng thái xử lý <small>status reported</small><select name="status">{statusOptions}</select></label>
              <div class="actions"><button class="primary" type="submit">Tìm / Search</button><a class="button secondary" href="/search">Xóa / Clear</a></div>
              <datalist id="agencies">{agencyOptions}</datalist>
            </form>
            """);

        HtmlFragment results;
        if (!valid)
        {
            results = Html.Of($"""<div class="error">{error}</div>""");
        }
        else if (page!.Items.Count == 0)
        {
            results = Html.Of($"""<p class="note">Không có kết quả. / Nothing matches.</p>""");
        }
        else
        {
            var rows = Html.Join(page.Items.Select(h => Html.Of($"""
                <tr>
                  <td class="mono">{Html.Time(h.ReceivedAt)}</td>
                  <td><a href="/documents/{h.EnvelopeId}">{(string.IsNullOrWhiteSpace(h.Subject) ? "(không có trích yếu / no subject)" : h.Subject)}</a><br><span class="code">{h.DocumentId ?? h.EnvelopeId.ToString()}</span></td>
                  <td>{h.SenderName ?? "?"}<br><span class="code">{h.Sender}</span></td>
                  <td>{(h.Recipient is null ? Html.Text("–") : Html.Of($"{h.RecipientName ?? "?"}<br><span class=\"code\">{h.Recipient}</span>"))}</td>
                  <td>{PageLayout.StateBadge(h.State)}{(h.State is "rejected" ? Html.Of($"<br><span class=\"code\">{h.Reason}</span>") : h.FailureReason is { } why ? Html.Of($"<br><span class=\"code\">{why}</span>") : HtmlFragment.Empty)}</td>
                  <td>{(h.LatestStatus is { } s ? Html.Of($"{s.Name}<br><span class=\"code\">{Html.Time(s.StatusTime)}</span>") : Html.Text("–"))}</td>
                  <td class="mono">{Html.Time(h.DeliveredAt)}</td>
                </tr>
                """)));
            var next = page.Next is null
                ? HtmlFragment.Empty
                : Html.Of($"""<a class="button secondary" href="{Html.Url("/search", search.ToQuery().Append(new KeyValuePair<string, string>("cursor", page.Next)))}">Trang sau / Next page →</a>""");
            var first = search.After is null
                ? HtmlFragment.Empty
                : Html.Of($"""<a href="{Html.Url("/search", search.ToQuery())}">← Trang đầu / First page</a>""");
            results = Html.Of($"""
                <table>
                  <thead><tr>
                    <th>Hub nhận lúc<br><small>received (UTC+7)</small></th><th>Văn bản<br><small>document</small></th><th>Nơi gửi<br><small>sender</small></th>
                    <th>Nơi nhận<br><small>recipient</small></th><th>Trạng thái<br><small>delivery</small></th><th>Xử lý gần nhất<br><small>latest status</small></th>
                    <th>Đã giao lúc<br><small>delivered</small></th>
                  </tr></thead>
                  <tbody>{rows}</tbody>
                </table>
                <div class="pager">{first}{next}<span class="note">{page.Items.Count} dòng / rows</span></div>
                """);
        }

        var scopeNote = caller.IsAuditor
            ? "Mọi văn bản qua trục / every document through the hub"
            : $"Văn bản cơ quan {caller.Agency} đã gửi hoặc nhận / documents your agency sent or received";
        return PageLayout.Page(context, "Tra cứu văn bản", $"Search deliveries — {scopeNote}", caller, "search", Html.Of($"{form}<h2>Kết quả <small>/ Results</small></h2>{results}"),
            valid ? StatusCodes.Status200OK : StatusCodes.Status400BadRequest);
    }

    private static string Selected(string? current, string value) => string.Equals(current ?? string.Empty, value, StringComparison.OrdinalIgnoreCase) ? "selected" : string.Empty;

    private static string? NormaliseStatus(string? status) =>
        int.TryParse(status, NumberStyles.None, CultureInfo.InvariantCulture, out var code) ? code.ToString("00", CultureInfo.InvariantCulture) : status;

    /// <summary>What a date input can show: the date part of a date or date-time value, in Vietnam time.</summary>
    private static string? DateValue(string? text) =>
        DeliverySearch.TryTime(text, endOfDay: false, out var time) && time is { } t
            ? t.ToOffset(ReportMonth.VietnamOffset).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
            : null;

    // ---- One document --------------------------------------------------------------------------------------------

    private static async Task<IResult> DocumentAsync(
        Guid envelopeId, HttpContext context, ClaimsPrincipal user, AuditStore store, AuditSettings settings, TimeProvider clock, CancellationToken ct)
    {
        var caller = AuditApi.Caller(user);
        var h = await store.HistoryAsync(envelopeId, caller, settings.DeliveryDue, clock.GetUtcNow(), ct);
        if (h is null)
        {
            return PageLayout.Page(context, "Không tìm thấy", "Not found", caller, string.Empty,
                Html.Of($"""<div class="error">Không có văn bản {envelopeId} mà khóa này được xem. / No document {envelopeId} that this key may read.</div><p><a href="/search">← Tra cứu / Search</a></p>"""),
                StatusCodes.Status404NotFound);
        }

        var required = h.RequiredSignatures
            ? Html.Of($"""<span class="badge b-ok">Có chữ ký cá nhân và tổ chức · personal + organisation</span>""")
            : Html.Of($"""<span class="badge b-warn">Chỉ chữ ký tổ chức/truyền tải · organisation/transport only</span>""");
        var download = caller.IsAuditor
            ? Html.Of($"""
                <p><a class="button" href="/api/envelopes/{h.EnvelopeId}/bundle">Tải gói chứng cứ / Download evidence bundle (.zip)</a>
                <br><span class="note">Kiểm tra ngoại tuyến / verify offline: <span class="mono">exchange evidence verify evidence-{h.EnvelopeId}.zip</span></span></p>
                """)
            : Html.Of($"""<p class="note">Gói chứng cứ do kiểm toán viên cung cấp. / Evidence bundles are issued by auditors.</p>""");
        var partial = h.Partial
            ? Html.Of($"""<p class="note">Bạn thấy phần liên quan đến cơ quan mình (nơi nhận khác được ẩn). / You see your agency's part; other recipients are hidden.</p>""")
            : HtmlFragment.Empty;

        var facts = Html.Of($"""
            <div class="card">
            <dl class="facts">
              <dt>Trích yếu / Subject</dt><dd><strong>{h.Subject ?? "–"}</strong></dd>
              <dt>Mã văn bản / DocumentId</dt><dd class="mono">{h.DocumentId ?? "–"}</dd>
              <dt>Phong bì / Envelope</dt><dd class="mono">{h.EnvelopeId}</dd>
              <dt>Nơi gửi / Sender</dt><dd>{h.SenderName ?? "?"} <span class="code">{h.Sender}</span></dd>
              <dt>Gửi lúc / Submitted</dt><dd class="mono">{Html.Time(h.SubmittedAt)}</dd>
              <dt>Hub nhận lúc / Received</dt><dd class="mono">{Html.Time(h.ReceivedAt)}</dd>
              <dt>Kết quả / Outcome</dt><dd>{PageLayout.StateBadge(h.State)} <span class="code">{h.Reason}</span><br>{h.Detail}</dd>
              <dt>Chữ ký (NĐ 30/2020)</dt><dd>{required}</dd>
              <dt>SHA-256 gói tin / package</dt><dd class="hash">{h.PackageSha256}</dd>
              <dt>Phiên bản danh bạ / directory</dt><dd>{h.DirectoryVersion?.ToString(CultureInfo.InvariantCulture) ?? "–"}</dd>
            </dl>
            </div>
            {download}{partial}
            """);

        var signerRows = Html.Join(h.Signers.Select(s => Html.Of($"""
            <tr><td>{SignerBadge(s.Kind)}</td><td>{s.Subject}<br><span class="code">{s.Issuer}</span></td><td class="mono">{s.SerialNumber}</td>
            <td class="hash">{s.CertificateSha256}</td><td class="mono">{s.DigestAlgorithm}<br>{s.SignatureAlgorithm}</td><td class="mono">{Html.Time(s.SigningTime)}</td>
            <td><span class="code">{s.Verdict}</span></td></tr>
            """)));
        var signers = h.Signers.Count == 0
            ? Html.Of($"""<p class="note">Chữ ký không đọc được. / The signature could not be read.</p>""")
            : Html.Of($"""
                <table><thead><tr><th>Loại<br><small>kind</small></th><th>Người/tổ chức ký<br><small>subject, issuer</small></th><th>Số sê-ri<br><small>serial</small></th>
                <th>SHA-256 chứng thư<br><small>certificate</small></th><th>Thuật toán<br><small>algorithms</small></th><th>Thời điểm ký<br><small>signing time</small></th><th>Kết quả<br><small>verdict</small></th></tr></thead>
                <tbody>{signerRows}</tbody></table>
                """);

        var deliveryRows = Html.Join(h.Deliveries.Select(d => Html.Of($"""
            <tr><td>{d.RecipientName ?? "?"}<br><span class="code">{d.Recipient}</span></td><td>{PageLayout.StateBadge(d.State)}{(d.FailureReason is { } why ? Html.Of($"<br><span class=\"code\">{why}</span>") : HtmlFragment.Empty)}</td>
            <td class="mono">{Html.Time(d.ForwardedAt)}</td><td class="mono">{Html.Time(d.DeliveredAt)}</td><td class="mono">{Html.Time(d.DueAt)}</td>
            <td>{(d.Overdue ? Html.Of($"<span class=\"badge b-bad\">Quá hạn · overdue</span>") : Html.Of($"<span class=\"badge b-muted\">đúng hạn · on time</span>"))}</td>
            <td class="mono">{d.ReceiptId?.ToString() ?? "–"}</td></tr>
            """)));
        var deliveries = h.Deliveries.Count == 0
            ? Html.Of($"""<p class="note">Không có lượt chuyển (văn bản bị từ chối). / No deliveries (the envelope was refused).</p>""")
            : Html.Of($"""
                <table><thead><tr><th>Nơi nhận<br><small>recipient</small></th><th>Trạng thái<br><small>state</small></th><th>Chuyển lúc<br><small>forwarded</small></th>
                <th>Giao lúc<br><small>delivered (receipt)</small></th><th>Hạn<br><small>due ({settings.DeliveryDue.TotalHours:0} h)</small></th><th>Đúng hạn?<br><small>on time?</small></th><th>Biên nhận<br><small>receipt id</small></th></tr></thead>
                <tbody>{deliveryRows}</tbody></table>
                """);

        // Statuses are placed at the hub's time of receipt (next to their StatusReport record); each shows its own time too.
        var events = h.Evidence.Select(e => (Time: e.IssuedAt, Order: 1, Html: Html.Of($"""
                <li class="{(e.Reason == ReasonCode.Ok.ToCode() ? "ok" : "bad")}"><span class="when">{Html.Time(e.IssuedAt)}</span> · <strong>{e.Kind}</strong>
                {(e.Recipient is null ? HtmlFragment.Empty : Html.Of($"→ <span class=\"code\">{e.Recipient}</span>"))} · <span class="code">{e.Reason}</span><br>{e.Detail}
                <br><span class="note">{e.Issuer} · {(e.ChainIndex is { } index ? $"chuỗi / chain #{index}" : "chưa niêm phong / not sealed yet")}</span></li>
                """)))
            .Concat(h.Statuses.Select(s => (Time: s.ReceivedAt, Order: 0, Html: Html.Of($"""
                <li class="status"><span class="when">{Html.Time(s.ReceivedAt)}</span> · <strong>Trạng thái / status {s.Name}</strong>
                · {s.ReporterName ?? s.Reporter} → {s.RecipientName ?? s.Recipient}{(s.Description is { Length: > 0 } text ? Html.Of($"<br>{text}") : HtmlFragment.Empty)}
                <br><span class="note">thời điểm trên gói / status time {Html.Time(s.StatusTime)} · {s.State} <span class="code">{s.Reason}</span></span></li>
                """))))
            .OrderBy(x => x.Time)
            .ThenBy(x => x.Order)
            .Select(x => x.Html)
            .ToList();
        var timeline = events.Count == 0
            ? Html.Of($"""<p class="note">Chưa có bằng chứng. / No evidence yet.</p>""")
            : Html.Of($"""<ol class="timeline">{Html.Join(events)}</ol>""");

        var body = Html.Of($"""
            {facts}
            <h2>Chữ ký <small>/ Signers</small></h2>{signers}
            <h2>Chuyển phát <small>/ Deliveries</small></h2>{deliveries}
            <h2>Diễn biến <small>/ Timeline: evidence and statuses</small></h2>{timeline}
            """);
        return PageLayout.Page(context, h.Subject is { Length: > 0 } subject ? subject : "Văn bản", "Lịch sử văn bản / Document history", caller, "search", body);
    }

    private static HtmlFragment SignerBadge(string kind) => kind switch
    {
        "organisation" => Html.Of($"""<span class="badge b-ok">Tổ chức · organisation</span>"""),
        "personal" => Html.Of($"""<span class="badge b-ok">Cá nhân · personal</span>"""),
        "other-agency" => Html.Of($"""<span class="badge b-muted">Cơ quan khác · other agency</span>"""),
        _ => Html.Of($"""<span class="badge b-bad">Không hợp lệ · invalid</span>"""),
    };

    // ---- Compliance ----------------------------------------------------------------------------------------------

    private static async Task<IResult> ComplianceAsync(
        HttpContext context, string? month, ClaimsPrincipal user, AuditStore store, AuditSettings settings, TimeProvider clock, CancellationToken ct)
    {
        var caller = AuditApi.Caller(user);
        if (!AuditApi.TryMonth(month, clock, out var reportMonth, out _))
        {
            return PageLayout.Page(context, "Tuân thủ", "Compliance", caller, "compliance",
                Html.Of($"""<div class="error">Tháng không hợp lệ: dùng yyyy-MM. / Month: expected yyyy-MM, e.g. 2026-11.</div><p><a href="/compliance">← Tháng này / This month</a></p>"""),
                StatusCodes.Status400BadRequest);
        }

        var report = await store.ComplianceAsync(reportMonth, caller.Scope, clock.GetUtcNow(), settings.DeliveryDue, ct);

        var bars = new List<Bar>();
        foreach (var tier in report.Tiers)
        {
            bars.Add(new Bar(tier.Name, tier.SignedShare, tier.Target, Note(tier), Emphasis: true));
            bars.AddRange(report.Agencies.Where(a => a.Tier == tier.Tier).Select(a => new Bar(a.Name, a.SignedShare, a.Target, Note(a), Emphasis: false)));
        }

        if (report.Tiers.Count == 0)
        {
            bars.AddRange(report.Agencies.Select(a => new Bar(a.Name, a.SignedShare, a.Target, Note(a), Emphasis: false)));
        }

        var chart = BarChart.Render(bars, $"Tỷ lệ văn bản có chữ ký số cá nhân và tổ chức, tháng {reportMonth}");
        var csvLink = Html.Url("/api/compliance.csv", [new("month", reportMonth.ToString())]);
        var previous = Html.Url("/compliance", [new("month", reportMonth.Previous().ToString())]);

        var tierRows = Html.Join(report.Tiers.Concat(report.All is null ? [] : [report.All]).Select(l => Row(l, group: l.Scope == ComplianceScopes.All)));
        var agencyRows = Html.Join(report.Agencies.GroupBy(a => a.Tier).SelectMany(g =>
            new[] { Html.Of($"""<tr class="group"><td colspan="13">{(g.Key is { } t ? ComplianceCalculator.TierTitle(t) : "Ngoài danh bạ / not in the directory")}</td></tr>""") }
                .Concat(g.Select(a => Row(a, group: false)))));

        var body = Html.Of($"""
            <form class="inline card" method="get" action="/compliance" style="display:flex;gap:12px;align-items:end">
              <label>Tháng <small>month (UTC+7)</small><input type="month" name="month" value="{reportMonth}"></label>
              <button class="primary" type="submit">Xem / Show</button>
              <a href="{previous}">← Tháng trước / previous month</a>
              <a class="button secondary" href="{csvLink}" style="margin-left:auto">Tải CSV / Download CSV</a>
            </form>
            <h2>Tỷ lệ có chữ ký số cá nhân + tổ chức <small>/ share with personal and organisation signatures, against the national targets</small></h2>
            <div class="chart">{chart}</div>
            {(report.Tiers.Count == 0 ? HtmlFragment.Empty : Html.Of($"<h2>Theo cấp <small>/ By tier</small></h2>{Table(tierRows)}"))}
            <h2>Theo cơ quan <small>/ By agency</small></h2>{Table(agencyRows)}
            <p class="note">Đã gửi = văn bản hub chấp nhận trong tháng (giờ Việt Nam). Có chữ ký = có chữ ký hợp lệ của tổ chức gửi (gắn với cơ quan trong danh bạ)
            và ít nhất một chữ ký hợp lệ cá nhân (chứng thư không gắn với cơ quan nào). Quá hạn = chưa giao sau {settings.DeliveryDue.TotalHours:0} giờ kể từ khi chuyển.<br>
            Sent = documents the hub accepted in the month (Vietnam time). Signed = a valid signature bound to the sending organisation and at least one other valid
            signature by a certificate bound to no agency (a person's). Electronic share = sent ÷ (sent + paper), where the agency reported its paper count.
            Times run from submission to the recipient's signed receipt, and to its first status 03; overdue = not delivered {settings.DeliveryDue.TotalHours:0} h after forwarding.
            Report made {Html.Time(report.AsOf)}.</p>
            """);
        var scope = caller.IsAuditor ? "mọi cơ quan / every agency" : $"cơ quan {caller.Agency} / your agency only";
        return PageLayout.Page(context, $"Tuân thủ tháng {reportMonth}", $"Compliance report — Nghị định 30/2020 — {scope}", caller, "compliance", body);
    }

    private static string Note(ComplianceLine line) =>
        line.Sent == 0 ? "0 văn bản" : $"{Html.Percent(line.SignedShare)} ({line.Signed}/{line.Sent})";

    private static HtmlFragment Table(HtmlFragment rows) => Html.Of($"""
        <div class="scroll"><table class="report"><thead><tr>
          <th>Cơ quan / cấp<br><small>agency / tier</small></th><th class="num">Đã gửi<br><small>sent</small></th><th class="num">Có chữ ký<br><small>signed</small></th>
          <th class="num">Tỷ lệ<br><small>share</small></th><th class="num">Chỉ tiêu<br><small>target</small></th><th>Đạt?<br><small>meets</small></th>
          <th class="num">Giấy<br><small>paper</small></th><th class="num">Tỷ lệ điện tử<br><small>electronic</small></th>
          <th class="num">Đã giao<br><small>delivered</small></th><th class="num">Đến nơi<br><small>to delivery p50 / p95</small></th>
          <th class="num">Tiếp nhận (03)<br><small>to status 03 p50 / p95</small></th><th class="num">VB quá hạn<br><small>overdue docs</small></th><th class="num">Chưa giao quá hạn<br><small>open past due</small></th>
        </tr></thead><tbody>{rows}</tbody></table></div>
        """);

    private static HtmlFragment Row(ComplianceLine l, bool group)
    {
        var meets = l.MeetsTarget switch
        {
            true => Html.Of($"""<span class="badge b-ok">Đạt · yes</span>"""),
            false => Html.Of($"""<span class="badge b-bad">Chưa · no</span>"""),
            null => Html.Text("–"),
        };
        var name = l.Scope == ComplianceScopes.Agency ? Html.Of($"{l.Name}<br><span class=\"code\">{l.Code}</span>") : Html.Text(l.Name);
        return Html.Of($"""
            <tr class="{(group ? "group" : "")}"><td>{name}</td><td class="num">{l.Sent}</td><td class="num">{l.Signed}</td><td class="num">{Html.Percent(l.SignedShare)}</td>
            <td class="num">{Html.Percent(l.Target)}</td><td>{meets}</td><td class="num">{l.Paper?.ToString(CultureInfo.InvariantCulture) ?? "–"}</td>
            <td class="num">{Html.Percent(l.ElectronicShare)}</td><td class="num">{l.Delivered}/{l.Deliveries}</td>
            <td class="num">{Html.Duration(l.ToDelivery.MedianSeconds)} / {Html.Duration(l.ToDelivery.P95Seconds)}</td>
            <td class="num">{Html.Duration(l.ToStatus03.MedianSeconds)} / {Html.Duration(l.ToStatus03.P95Seconds)} <small>({l.ToStatus03.Count})</small></td>
            <td class="num">{l.OverdueDocuments}</td><td class="num">{l.UndeliveredPastDue}</td></tr>
            """);
    }
}
