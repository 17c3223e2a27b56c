using System.Security.Claims;

namespace Exchange.Audit.Access;

/// <summary>
/// Who is calling, and what they may see. An auditor sees every document. An agency sees a document it sent
/// (all of it), or one it received (the envelope, its own delivery, the evidence about it or about no particular
/// recipient, and the statuses it reported or was sent); anything else is "not found", so that the existence of
/// another agency's document does not leak.
/// </summary>
public sealed record AuditCaller(AuditRole Role, string? Agency, string KeyName)
{
    public const string RoleClaim = "exchange:audit-role";
    public const string AgencyClaim = "exchange:agency";
    public const string KeyClaim = "exchange:key-name";

    public bool IsAuditor => Role == AuditRole.Auditor;

    /// <summary>The agency whose documents the caller is limited to; null for auditors.</summary>
    public string? Scope => IsAuditor ? null : Agency;

    public bool CanSeeDocument(string senderCode, IEnumerable<string> recipientCodes) =>
        IsAuditor || senderCode == Agency || recipientCodes.Contains(Agency, StringComparer.Ordinal);

    /// <summary>Whether the caller sees everything about a document it may see (auditor, or its sender).</summary>
    public bool SeesWholeDocument(string senderCode) => IsAuditor || senderCode == Agency;

    /// <summary>Whether a recipient-scoped fact (a delivery, a record naming a recipient) is visible.</summary>
    public bool SeesRecipient(string senderCode, string? recipientCode) =>
        SeesWholeDocument(senderCode) || recipientCode is null || recipientCode == Agency;

    /// <summary>Whether a status (reported by one agency to another) is visible.</summary>
    public bool SeesStatus(string senderCode, string reporterCode, string recipientCode) =>
        SeesWholeDocument(senderCode) || reporterCode == Agency || recipientCode == Agency;

    public string Describe() => IsAuditor ? "auditor" : $"agency {Agency}";

    public ClaimsPrincipal ToPrincipal(string scheme)
    {
        var claims = new List<Claim>
        {
            new(RoleClaim, ApiKeys.RoleName(Role)),
            new(ClaimTypes.Role, ApiKeys.RoleName(Role)),
            new(KeyClaim, KeyName),
            new(ClaimTypes.Name, KeyName),
        };
        if (Agency is not null)
        {
            claims.Add(new Claim(AgencyClaim, Agency));
        }

        return new ClaimsPrincipal(new ClaimsIdentity(claims, scheme, ClaimTypes.Name, ClaimTypes.Role));
    }

    /// <summary>The caller an authenticated request carries; null when the request was not authenticated.</summary>
    public static AuditCaller? From(ClaimsPrincipal? user)
    {
        if (user?.Identity?.IsAuthenticated != true || !ApiKeys.TryParseRole(user.FindFirst(RoleClaim)?.Value, out var role))
        {
            return null;
        }

        return new AuditCaller(role, user.FindFirst(AgencyClaim)?.Value, user.FindFirst(KeyClaim)?.Value ?? "-");
    }
}
