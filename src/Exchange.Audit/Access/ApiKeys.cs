using Exchange.Core;
using Exchange.ServiceDefaults.Access;
using Microsoft.Extensions.Configuration;

namespace Exchange.Audit.Access;

/// <summary>What a key may do: auditors read everything; an agency reads only its own documents.</summary>
public enum AuditRole
{
    Auditor,
    Agency,
}

/// <summary>One configured key: only its SHA-256 is stored, never the key itself.</summary>
public sealed record ApiKeyEntry(string Name, string Sha256, AuditRole Role, string? Agency);

/// <summary>
/// The audit host's API keys. A key is <c>exk_</c> + 43 base64url characters (32 random bytes); the host stores
/// the lowercase hex SHA-256 of its UTF-8 bytes in configuration (<c>Audit:Keys:N:Sha256</c>, <c>:Role</c>,
/// <c>:Agency</c>, optional <c>:Name</c>). Making, hashing, presenting and comparing keys is shared with the
/// gateways (<see cref="ApiKey"/>); what is the audit host's own is here: the prefix, the cookie, the roles and
/// the configuration lines.
/// </summary>
public static class ApiKeys
{
    public const string Prefix = "exk_";

    /// <summary>The header that carries a key on API calls (<c>Authorization: Bearer</c> works too).</summary>
    public const string Header = ApiKey.Header;

    /// <summary>The cookie that carries a key for a browser, set by the login form.</summary>
    public const string Cookie = "exchange-audit-key";

    public const string Section = "Audit:Keys";

    /// <summary>Longest key looked at; longer input is refused before hashing.</summary>
    public const int MaxKeyLength = ApiKey.MaxLength;

    /// <summary>A fresh random key (32 bytes from the OS's CSPRNG).</summary>
    public static string Generate() => ApiKey.Generate(Prefix);

    /// <summary>Lowercase hex SHA-256 of the key's UTF-8 bytes: what configuration stores.</summary>
    public static string Hash(string key) => ApiKey.HashHex(key);

    public static string RoleName(AuditRole role) => role == AuditRole.Auditor ? "auditor" : "agency";

    public static bool TryParseRole(string? text, out AuditRole role)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "auditor":
                role = AuditRole.Auditor;
                return true;
            case "agency":
                role = AuditRole.Agency;
                return true;
            default:
                role = default;
                return false;
        }
    }

    /// <summary>The configuration lines for a key, as `exchange audit key create` prints them.</summary>
    public static IReadOnlyList<string> ConfigurationLines(int index, string sha256, AuditRole role, string? agency)
    {
        var lines = new List<string>
        {
            $"Audit:Keys:{index}:Sha256={sha256}",
            $"Audit:Keys:{index}:Role={RoleName(role)}",
        };
        if (agency is not null)
        {
            lines.Add($"Audit:Keys:{index}:Agency={agency}");
        }

        return lines;
    }
}

/// <summary>The configured keys, checked at start: a malformed entry stops the host rather than locking someone out silently.</summary>
public sealed class ApiKeyRing
{
    private readonly IReadOnlyList<(ApiKeyEntry Entry, byte[] Hash)> _keys;

    public ApiKeyRing(IEnumerable<ApiKeyEntry> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        _keys = keys.Select(k => (k, Convert.FromHexString(k.Sha256))).ToList();
    }

    public IReadOnlyList<ApiKeyEntry> Keys => _keys.Select(k => k.Entry).ToList();

    /// <exception cref="InvalidOperationException">An entry is malformed; the message names it (never a key).</exception>
    public static ApiKeyRing FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var entries = new List<ApiKeyEntry>();
        foreach (var section in configuration.GetSection(ApiKeys.Section).GetChildren())
        {
            var where = $"{ApiKeys.Section}:{section.Key}";
            var sha = section["Sha256"]?.Trim().ToLowerInvariant();
            if (sha is null || sha.Length != 64 || !sha.All(char.IsAsciiHexDigitLower))
            {
                throw new InvalidOperationException($"{where}:Sha256 must be 64 hex digits (the SHA-256 of the key; `exchange audit key create` prints it).");
            }

            if (!ApiKeys.TryParseRole(section["Role"], out var role))
            {
                throw new InvalidOperationException($"{where}:Role must be 'auditor' or 'agency'.");
            }

            string? agency = null;
            if (role == AuditRole.Agency)
            {
                if (!AgencyCode.TryParse(section["Agency"], out var code, out var error))
                {
                    throw new InvalidOperationException($"{where}:Agency: an agency key needs the agency's code. {error}");
                }

                agency = code.Value;
            }
            else if (!string.IsNullOrWhiteSpace(section["Agency"]))
            {
                throw new InvalidOperationException($"{where}:Agency is set on an auditor key; auditors read every agency's documents, so remove it or make the role 'agency'.");
            }

            var name = string.IsNullOrWhiteSpace(section["Name"]) ? $"key {section.Key}" : section["Name"]!.Trim();
            if (entries.Any(e => e.Sha256 == sha))
            {
                throw new InvalidOperationException($"{where}: the same key hash is configured twice.");
            }

            entries.Add(new ApiKeyEntry(name, sha, role, agency));
        }

        return new ApiKeyRing(entries);
    }

    /// <summary>The entry whose hash matches <paramref name="presented"/>, compared in constant time per entry.</summary>
    public ApiKeyEntry? Find(string? presented) => ApiKey.Find(presented, _keys);
}
