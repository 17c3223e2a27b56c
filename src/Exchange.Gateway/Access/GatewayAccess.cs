using System.Security.Claims;
using System.Text.Encodings.Web;
using Exchange.Core;
using Exchange.Persistence.Gateway;
using Exchange.ServiceDefaults.Access;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Exchange.Gateway.Access;

/// <summary>Who is calling the gateway: which key, its role and the agency it belongs to.</summary>
public sealed record GatewayCaller(Guid ClientId, string Name, string Role, string Agency)
{
    public const string RoleClaim = "exchange:gateway-role";
    public const string AgencyClaim = "exchange:agency";
    public const string ClientClaim = "exchange:client-id";

    /// <summary>Whether this caller is the agency's document system, whose reads count as taking delivery.</summary>
    public bool IsDocumentSystem => Role == ApiClientRoles.Agency;

    public ClaimsPrincipal ToPrincipal(string scheme) => new(new ClaimsIdentity(
        [
            new Claim(RoleClaim, Role),
            new Claim(ClaimTypes.Role, Role),
            new Claim(AgencyClaim, Agency),
            new Claim(ClientClaim, ClientId.ToString()),
            new Claim(ClaimTypes.Name, Name),
        ], scheme, ClaimTypes.Name, ClaimTypes.Role));

    /// <summary>The caller an authenticated request carries; null when the request was not authenticated.</summary>
    public static GatewayCaller? From(ClaimsPrincipal? user) =>
        user?.Identity?.IsAuthenticated == true
        && user.FindFirst(RoleClaim)?.Value is { } role
        && user.FindFirst(AgencyClaim)?.Value is { } agency
        && Guid.TryParse(user.FindFirst(ClientClaim)?.Value, out var id)
            ? new GatewayCaller(id, user.Identity.Name ?? "-", role, agency)
            : null;
}

/// <summary>
/// What each role may call (docs/operations.md, "Gateway API authentication"). Every policy also requires the
/// key to belong to this gateway's agency.
/// </summary>
public static class GatewayPolicies
{
    /// <summary>Writes: submit documents and packages, report statuses. The agency's document system only.</summary>
    public const string Submit = "gateway-submit";

    /// <summary>Reads of documents, inbox, packages and signatures: the document system and auditors.</summary>
    public const string Read = "gateway-read";

    /// <summary>Delivery states without content: every role, operators included.</summary>
    public const string Operations = "gateway-operations";

    /// <summary>Registers the API key scheme and the policies; any endpoint that names no policy gets <see cref="Submit"/>'s.</summary>
    public static IServiceCollection AddGatewayAccess(this IServiceCollection services, string agencyCode)
    {
        services.AddAuthentication(GatewayKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, GatewayKeyAuthenticationHandler>(GatewayKeyAuthenticationHandler.SchemeName, null);
        AuthorizationPolicy Policy(params string[] roles) => new AuthorizationPolicyBuilder(GatewayKeyAuthenticationHandler.SchemeName)
            .RequireAuthenticatedUser()
            .RequireClaim(GatewayCaller.AgencyClaim, agencyCode)
            .RequireRole(roles)
            .Build();
        var submit = Policy(ApiClientRoles.Agency);
        services.AddAuthorizationBuilder()
            .AddPolicy(Submit, submit)
            .AddPolicy(Read, Policy(ApiClientRoles.Agency, ApiClientRoles.Auditor))
            .AddPolicy(Operations, Policy(ApiClientRoles.Agency, ApiClientRoles.Auditor, ApiClientRoles.Operator))
            // An endpoint added later without a policy is closed to all but the document system, not open to all.
            .SetFallbackPolicy(submit);
        return services;
    }
}

/// <summary>
/// Authenticates a gateway request by its API key (<see cref="ApiKey.Read"/>: <c>X-Api-Key</c>, or
/// <c>Authorization: Bearer</c>), looked up by its SHA-256 in the gateway's database on every request, so a
/// revoked key stops working at once. No key, or an unknown or revoked one: 401 <c>unauthorized</c>. A key
/// that names another agency, or whose role may not make the call: 403 <c>forbidden</c>. Keys are never
/// logged: refusals name the caller's address, and the key's name when it is known.
/// </summary>
public sealed class GatewayKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory loggerFactory, UrlEncoder encoder,
    GatewayDbContext db, IOptions<GatewayOptions> gateway)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, loggerFactory, encoder)
{
    public const string SchemeName = "ApiKey";

    private const string OtherAgencyItem = "exchange:key-of-agency";

    private readonly ILogger _log = loggerFactory.CreateLogger("Exchange.Gateway.Access");

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = ApiKey.Read(Request, out var conflicting);
        if (conflicting)
        {
            _log.LogWarning("Refused a request presenting two different API keys from {Remote} for {Method} {Path}",
                Context.Connection.RemoteIpAddress, Request.Method, Request.Path);
            return AuthenticateResult.Fail("Two different API keys.");
        }

        if (presented is null)
        {
            return AuthenticateResult.NoResult();
        }

        var agency = gateway.Value.AgencyCode;
        if (GatewayKeys.TryReadAgency(presented, out var keyAgency) && keyAgency != agency)
        {
            // Not looked up: this gateway's database holds only its own agency's keys. The agency named in a key is
            // not secret, so saying so tells a misdirected document system where it went wrong and nothing else.
            Context.Items[OtherAgencyItem] = keyAgency;
            _log.LogWarning("Refused a key of agency {KeyAgency} from {Remote} for {Method} {Path}",
                keyAgency, Context.Connection.RemoteIpAddress, Request.Method, Request.Path);
            return AuthenticateResult.Fail("A key of another agency.");
        }

        var client = await GatewayKeys.FindAsync(db, presented, Context.RequestAborted);
        if (client is null)
        {
            _log.LogWarning("Refused an unknown or revoked API key from {Remote} for {Method} {Path}",
                Context.Connection.RemoteIpAddress, Request.Method, Request.Path);
            return AuthenticateResult.Fail("Unknown or revoked API key.");
        }

        var caller = new GatewayCaller(client.ClientId, client.Name, client.Role, client.AgencyCode);
        return AuthenticateResult.Success(new AuthenticationTicket(caller.ToPrincipal(SchemeName), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        if (Context.Items.TryGetValue(OtherAgencyItem, out var keyAgency))
        {
            await RefuseAsync($"This key belongs to agency {keyAgency}; this gateway serves {gateway.Value.AgencyCode}.");
            return;
        }

        // RFC 9110 §11.6.1: the ways this host accepts credentials.
        Response.Headers.WWWAuthenticate = $"{SchemeName} header=\"{ApiKey.Header}\", {ApiKey.BearerScheme}";
        await Problems.Refuse(ReasonCode.Unauthorized,
            $"Send this gateway's API key in the {ApiKey.Header} header (`exchange gateway key create` makes one); the key is missing, unknown or revoked.",
            StatusCodes.Status401Unauthorized).ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var caller = GatewayCaller.From(Context.User);
        if (caller is not null && caller.Agency != gateway.Value.AgencyCode)
        {
            await RefuseAsync($"This key belongs to agency {caller.Agency}; this gateway serves {gateway.Value.AgencyCode}.");
            return;
        }

        _log.LogInformation("Refused {Method} {Path} to key '{Key}' (role {Role})", Request.Method, Request.Path, caller?.Name, caller?.Role);
        await RefuseAsync(caller?.Role switch
        {
            ApiClientRoles.Auditor => "An auditor's key reads; it may not submit or report anything.",
            ApiClientRoles.Operator => "An operator's key reads delivery states (/api/operations/outbox); it may not submit, report or read documents.",
            _ => "This key's role may not do that.",
        });
    }

    private Task RefuseAsync(string detail) =>
        Problems.Refuse(ReasonCode.Forbidden, detail, StatusCodes.Status403Forbidden).ExecuteAsync(Context);
}
