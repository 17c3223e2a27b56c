using System.Text.Json;
using Exchange.Core;
using Exchange.Persistence.Gateway;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Exchange.Gateway.Vdxp;

/// <summary>
/// One authenticated request of the national axis's protocol: the client that signed it and the headers it signed.
/// Parameters are read from the signed set only (<see cref="Get"/>), so that a request replayed with an edited header
/// cannot act on another document.
/// </summary>
public sealed class VdxpCall
{
    /// <summary>Every parameter travels as a header with this prefix (the SDK's <c>XroadVnpt-</c>).</summary>
    public const string HeaderPrefix = "XroadVnpt-";

    private const string SignHeader = HeaderPrefix + "sign-header";
    private const string HashHeader = HeaderPrefix + "hash-header";
    private const string SystemIdHeader = HeaderPrefix + "systemid";

    private readonly IReadOnlyDictionary<string, string> _signed;

    private VdxpCall(VdxpClientRow client, IReadOnlyDictionary<string, string> signed)
    {
        Client = client;
        _signed = signed;
    }

    public VdxpClientRow Client { get; }

    /// <summary>A signed parameter by its name without the prefix (<c>docId</c>, <c>messagetype</c>), trimmed; null when not signed.</summary>
    public string? Get(string name) => _signed.TryGetValue(HeaderPrefix + name, out var value) ? value.Trim() : null;

    /// <summary>
    /// Checks the request's HMAC (docs/national-axis.md, "Authentication"): the client named by <c>XroadVnpt-systemid</c>
    /// is in force, <c>XroadVnpt-hash-header</c> is the HMAC-SHA256 under its secret of <c>XroadVnpt-sign-header</c> as
    /// received, the signed set names the same system id, and no header disagrees with its signed value. The timestamp
    /// is not judged: the SDK keeps the one its client object was made with for every later call.
    /// </summary>
    public static async Task<(VdxpCall? Call, string Refusal)> AuthenticateAsync(HttpRequest request, GatewayDbContext db, ILogger logger, CancellationToken ct)
    {
        var systemId = Header(request, SystemIdHeader);
        var signHeader = Header(request, SignHeader);
        var hashHeader = Header(request, HashHeader);
        if (string.IsNullOrEmpty(systemId) || string.IsNullOrEmpty(signHeader) || string.IsNullOrEmpty(hashHeader))
        {
            return (null, $"Send {SystemIdHeader}, {SignHeader} and {HashHeader} (the axis SDK's HMAC); `exchange gateway vdxp-client create` makes a system id and secret.");
        }

        var client = systemId.Length > 100 ? null : await VdxpClients.FindAsync(db, systemId, ct);
        if (client is null || !VdxpClients.SignatureHolds(client.Secret, signHeader, hashHeader))
        {
            // One answer for an unknown system id, a revoked one and a wrong secret: the caller learns nothing about which.
            logger.LogWarning("Refused a national-axis request from {Remote} for {Path}: unknown or revoked system id '{SystemId}' or a wrong HMAC",
                request.HttpContext.Connection.RemoteIpAddress, request.Path, Untrusted.Quote(systemId));
            return (null, "The system id is unknown or revoked, or the HMAC (XroadVnpt-hash-header) does not match its secret.");
        }

        Dictionary<string, string> signed;
        try
        {
            signed = JsonSerializer.Deserialize<Dictionary<string, string>>(signHeader) ?? [];
        }
        catch (JsonException)
        {
            return (null, $"{SignHeader} is not a JSON object of strings.");
        }

        signed = new Dictionary<string, string>(signed, StringComparer.OrdinalIgnoreCase);
        if (!signed.TryGetValue(SystemIdHeader, out var signedSystemId) || signedSystemId != systemId)
        {
            return (null, $"{SignHeader} must sign {SystemIdHeader} with the value the request sends.");
        }

        foreach (var (name, value) in signed)
        {
            if (request.Headers.TryGetValue(name, out var sent) && sent.Count > 0 && sent.ToString() != value)
            {
                return (null, $"The header {Untrusted.Quote(name)} differs from its signed value.");
            }
        }

        return (new VdxpCall(client, signed), string.Empty);
    }

    private static string? Header(HttpRequest request, string name) =>
        request.Headers.TryGetValue(name, out var values) && values.Count == 1 ? values[0] : null;
}
