using System.Text.Encodings.Web;
using Exchange.Core;
using Exchange.ServiceDefaults.Access;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Exchange.Audit.Access;

/// <summary>
/// Authenticates a request by its API key: the <c>X-Api-Key</c> header (or <c>Authorization: Bearer</c>, read by
/// <see cref="ApiKey.Read"/> as the gateways read it), or, for reading (GET/HEAD) only, the
/// cookie the login form sets, so that a browser can use the pages. Writes (POST /api/paper-counts) need the
/// header: a cookie is sent by the browser on its own, a header is not, so no other site can make a logged-in
/// browser write. Keys are never logged; an unknown key is logged as "unknown key" with the caller's address.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory loggerFactory, UrlEncoder encoder, ApiKeyRing keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";

    private readonly ILogger _log = loggerFactory.CreateLogger("Exchange.Audit.Access");

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = ApiKey.Read(Request, out var conflicting);
        var fromHeader = presented is not null;
        if (conflicting)
        {
            _log.LogWarning("Refused a request presenting two different API keys from {Remote} for {Method} {Path}",
                Context.Connection.RemoteIpAddress, Request.Method, Request.Path);
            return Task.FromResult(AuthenticateResult.Fail("Two different API keys."));
        }

        if (presented is null && (HttpMethods.IsGet(Request.Method) || HttpMethods.IsHead(Request.Method))
            && Request.Cookies.TryGetValue(ApiKeys.Cookie, out var cookie))
        {
            presented = cookie;
        }

        if (string.IsNullOrEmpty(presented))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var entry = keys.Find(presented);
        if (entry is null)
        {
            _log.LogWarning("Refused an unknown API key ({Carrier}) from {Remote} for {Method} {Path}",
                fromHeader ? "header" : "cookie", Context.Connection.RemoteIpAddress, Request.Method, Request.Path);
            return Task.FromResult(AuthenticateResult.Fail("Unknown API key."));
        }

        var caller = new AuditCaller(entry.Role, entry.Agency, entry.Name);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(caller.ToPrincipal(SchemeName), SchemeName)));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (AuditPaths.IsApi(Request.Path))
        {
            Response.Headers.WWWAuthenticate = $"{SchemeName} header=\"{ApiKeys.Header}\"";
            await AuditProblems.Result(ReasonCode.Unauthorized, StatusCodes.Status401Unauthorized,
                $"Send an API key in the {ApiKeys.Header} header (`exchange audit key create` makes one).").ExecuteAsync(Context);
            return;
        }

        if (Request.Cookies.ContainsKey(ApiKeys.Cookie))
        {
            // A key that no longer works (removed from configuration): forget it, so the login form is shown clean.
            Response.Cookies.Delete(ApiKeys.Cookie, new CookieOptions { Path = "/" });
        }

        Response.Redirect(AuditPaths.Login(Request.Path + Request.QueryString));
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        if (AuditPaths.IsApi(Request.Path))
        {
            await AuditProblems.Result(ReasonCode.Forbidden, StatusCodes.Status403Forbidden, "This key's role may not do that.").ExecuteAsync(Context);
            return;
        }

        Response.StatusCode = StatusCodes.Status403Forbidden;
    }
}

/// <summary>Where the API ends and the pages begin, and safe return addresses for the login form.</summary>
public static class AuditPaths
{
    public const string LoginPath = "/login";

    public static bool IsApi(PathString path) => path.StartsWithSegments("/api", StringComparison.OrdinalIgnoreCase);

    public static string Login(string? returnUrl) =>
        IsLocal(returnUrl) && returnUrl != "/" ? $"{LoginPath}?returnUrl={Uri.EscapeDataString(returnUrl!)}" : LoginPath;

    /// <summary>Only a path of this host: "/x", never "//host" or "/\host" (browsers read both as another host).</summary>
    public static bool IsLocal(string? url) =>
        !string.IsNullOrEmpty(url) && url[0] == '/' && (url.Length == 1 || (url[1] != '/' && url[1] != '\\'))
        && !url.Any(char.IsControl);
}
