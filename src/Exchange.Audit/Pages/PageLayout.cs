using System.Text;
using Exchange.Audit.Access;
using Microsoft.AspNetCore.Http;

namespace Exchange.Audit.Pages;

/// <summary>The frame every page shares: title, navigation, who is signed in, and the little CSS there is.</summary>
public static class PageLayout
{
    /// <summary>No script runs on these pages; styles are inline; forms only post back here; no framing.</summary>
    public const string ContentSecurityPolicy =
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    private const string Css = """
        :root { --ink:#1d2733; --muted:#5c6b7a; --line:#d8dee6; --bg:#f5f7fa; --brand:#a11d21; --ok:#1e7b34; --warn:#a66300; --bad:#b3261e; }
        * { box-sizing: border-box; }
        body { margin:0; font:14px/1.45 system-ui, "Segoe UI", Roboto, "Noto Sans", Arial, sans-serif; color:var(--ink); background:var(--bg); }
        header { background:var(--brand); color:#fff; padding:10px 24px; display:flex; align-items:center; gap:24px; }
        header .brand { font-weight:700; font-size:16px; }
        header .brand small { display:block; font-weight:400; font-size:12px; opacity:.85; }
        header nav a { color:#fff; text-decoration:none; margin-right:16px; padding:4px 0; border-bottom:2px solid transparent; }
        header nav a.active { border-bottom-color:#fff; }
        header .who { margin-left:auto; font-size:12px; text-align:right; }
        header .who form { display:inline; }
        header .who button { background:transparent; color:#fff; border:1px solid rgba(255,255,255,.6); border-radius:3px; padding:2px 8px; cursor:pointer; font-size:12px; }
        main { max-width:1240px; margin:0 auto; padding:16px 24px 48px; }
        h1 { font-size:22px; margin:8px 0 2px; }
        h1 + .sub, .sub { color:var(--muted); margin:0 0 14px; }
        h2 { font-size:17px; margin:26px 0 8px; border-bottom:1px solid var(--line); padding-bottom:4px; }
        h2 small, th small, label small { color:var(--muted); font-weight:400; }
        .card { background:#fff; border:1px solid var(--line); border-radius:6px; padding:14px 16px; }
        form.search { display:grid; grid-template-columns:repeat(6, minmax(0,1fr)); gap:10px 12px; align-items:end; }
        form.search label, form.inline label { display:flex; flex-direction:column; font-size:12px; font-weight:600; gap:3px; }
        input, select { font:inherit; padding:5px 7px; border:1px solid #b9c3ce; border-radius:4px; background:#fff; min-width:0; }
        button.primary, a.button { background:var(--brand); color:#fff; border:0; border-radius:4px; padding:7px 14px; font:inherit; font-weight:600; cursor:pointer; text-decoration:none; display:inline-block; }
        a.button.secondary { background:#fff; color:var(--brand); border:1px solid var(--brand); }
        .actions { display:flex; gap:8px; align-items:end; grid-column:span 2; }
        button, a.button { white-space:nowrap; }
        table { border-collapse:collapse; width:100%; background:#fff; border:1px solid var(--line); }
        th, td { text-align:left; padding:6px 8px; border-bottom:1px solid var(--line); vertical-align:top; }
        th { background:#eef2f6; font-size:12px; white-space:nowrap; }
        td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
        td.mono, td.num { white-space:nowrap; }
        table.report td:first-child { min-width:170px; }
        table.report { font-size:13px; } table.report th { white-space:normal; } table.report th, table.report td { padding:5px 6px; }
        .scroll { overflow-x:auto; }
        tr.group td { background:#f3f5f8; font-weight:700; }
        .code, .mono { font-family:ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size:12px; color:var(--muted); }
        .hash { font-family:ui-monospace, Menlo, Consolas, monospace; font-size:11px; word-break:break-all; color:var(--muted); }
        .badge { display:inline-block; border-radius:10px; padding:1px 8px; font-size:12px; font-weight:600; white-space:nowrap; }
        .b-ok { background:#e3f3e6; color:var(--ok); } .b-warn { background:#fff1dc; color:var(--warn); }
        .b-bad { background:#fde7e5; color:var(--bad); } .b-muted { background:#edf0f3; color:var(--muted); }
        .error { background:#fde7e5; color:var(--bad); border:1px solid #f2b8b3; border-radius:4px; padding:8px 12px; margin:10px 0; }
        .note { color:var(--muted); font-size:12px; }
        dl.facts { display:grid; grid-template-columns:max-content 1fr; gap:4px 16px; margin:0; }
        dl.facts dt { color:var(--muted); } dl.facts dd { margin:0; }
        ol.timeline { list-style:none; margin:0; padding:0 0 0 18px; border-left:2px solid var(--line); }
        ol.timeline li { position:relative; margin:0 0 12px; padding-left:10px; }
        ol.timeline li::before { content:""; position:absolute; left:-25px; top:5px; width:10px; height:10px; border-radius:50%; background:var(--muted); border:2px solid #fff; }
        ol.timeline li.ok::before { background:var(--ok); } ol.timeline li.bad::before { background:var(--bad); } ol.timeline li.status::before { background:#2a6fb0; }
        ol.timeline .when { font-variant-numeric:tabular-nums; color:var(--muted); font-size:12px; }
        .pager { margin-top:10px; display:flex; gap:12px; align-items:center; }
        .chart { background:#fff; border:1px solid var(--line); border-radius:6px; padding:8px; }
        .login { max-width:460px; margin:24px 0; }
        .login input { width:100%; }
        """;

    public static IResult Page(
        HttpContext context, string title, string subtitle, AuditCaller? caller, string active, HtmlFragment body, int status = StatusCodes.Status200OK)
    {
        ArgumentNullException.ThrowIfNull(context);
        var nav = caller is null
            ? HtmlFragment.Empty
            : Html.Of($"""
                <nav>
                  <a href="/search" class="{(active == "search" ? "active" : "")}">Tra cứu <small>/ Search</small></a>
                  <a href="/compliance" class="{(active == "compliance" ? "active" : "")}">Tuân thủ <small>/ Compliance</small></a>
                </nav>
                <div class="who">{(caller.IsAuditor ? "Kiểm toán viên / auditor" : $"Cơ quan / agency {caller.Agency}")}<br>
                  <form method="post" action="/logout"><button type="submit">Đăng xuất / Sign out</button></form></div>
                """);
        var html = Html.Of($"""
            <!doctype html>
            <html lang="vi">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="referrer" content="no-referrer">
            <title>{title} · Exchange audit</title>
            <style>{Html.Raw(Css)}</style>
            </head>
            <body>
            <header>
              <div class="brand">Trục liên thông văn bản — Kiểm toán<small>Exchange · audit of the document exchange hub</small></div>
              {nav}
            </header>
            <main>
            <h1>{title}</h1>
            <p class="sub">{subtitle}</p>
            {body}
            </main>
            </body>
            </html>
            """);
        return new HtmlPageResult(html.Value, status);
    }

    public static HtmlFragment StateBadge(string state) => state switch
    {
        "delivered" => Html.Of($"""<span class="badge b-ok">Đã giao · delivered</span>"""),
        "pending" or "forwarded" => Html.Of($"""<span class="badge b-warn">Đang chờ · pending</span>"""),
        "failed" => Html.Of($"""<span class="badge b-bad">Lỗi · failed</span>"""),
        "rejected" => Html.Of($"""<span class="badge b-bad">Bị từ chối · rejected</span>"""),
        "accepted" => Html.Of($"""<span class="badge b-ok">Đã chấp nhận · accepted</span>"""),
        _ => Html.Of($"""<span class="badge b-muted">{state}</span>"""),
    };

    /// <summary>Writes an HTML page with the headers every page carries.</summary>
    private sealed class HtmlPageResult(string html, int status) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            var response = httpContext.Response;
            response.StatusCode = status;
            response.ContentType = "text/html; charset=utf-8";
            response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
            response.Headers.XContentTypeOptions = "nosniff";
            response.Headers.CacheControl = "no-store";
            response.Headers["Referrer-Policy"] = "no-referrer";
            await response.WriteAsync(html, Encoding.UTF8, httpContext.RequestAborted);
        }
    }
}
