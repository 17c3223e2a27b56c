using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Exchange.ServiceDefaults.Access;

/// <summary>
/// The API keys of Exchange's HTTP hosts (the audit host, the agency gateways): how a key is made, how it is
/// stored, how a caller presents it and how a presented key is compared.
/// </summary>
/// <remarks>
/// <para>
/// A key is a prefix saying which host it is for (<c>exk_</c> audit, <c>exg_</c> gateway), optionally a scope
/// ended by <c>_</c> (a gateway key names its agency: <c>exg_000.00.01.H29_</c>), then 43 base64url characters:
/// 32 bytes from the operating system's random generator. Hosts store only the SHA-256 of the key's UTF-8 bytes.
/// A random 256-bit secret needs no slow password hash: there is nothing guessable for one to protect.
/// </para>
/// <para>
/// The scope is not secret and proves nothing on its own; it lets a host tell "a key for another agency" (a
/// document system pointed at the wrong gateway) from "no such key" without looking anything up.
/// </para>
/// </remarks>
public static class ApiKey
{
    /// <summary>The header that carries a key: the primary way to present one.</summary>
    public const string Header = "X-Api-Key";

    /// <summary>The other way: <c>Authorization: Bearer &lt;key&gt;</c> (RFC 6750 §2.1), for tools that only know bearer tokens.</summary>
    public const string BearerScheme = "Bearer";

    /// <summary>Longest key looked at; longer input is refused before hashing.</summary>
    public const int MaxLength = 256;

    /// <summary>Random bytes in a key.</summary>
    public const int SecretBytes = 32;

    /// <summary>Characters of the secret part: 32 bytes in unpadded base64url.</summary>
    public const int SecretLength = 43;

    /// <summary>A fresh key: <paramref name="prefix"/>, then <paramref name="scope"/> and <c>_</c> when given, then the secret.</summary>
    public static string Generate(string prefix, string? scope = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        if (scope is not null && (scope.Length == 0 || scope.Contains('_', StringComparison.Ordinal) || scope.Any(char.IsWhiteSpace)))
        {
            throw new ArgumentException("A key's scope is non-empty, without '_' or spaces.", nameof(scope));
        }

        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(SecretBytes)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return scope is null ? prefix + secret : $"{prefix}{scope}_{secret}";
    }

    /// <summary>SHA-256 of the key's UTF-8 bytes: what a host stores.</summary>
    public static byte[] Hash(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return SHA256.HashData(Encoding.UTF8.GetBytes(key));
    }

    /// <summary>The same hash as lowercase hex (how configuration files hold it).</summary>
    public static string HashHex(string key) => Convert.ToHexStringLower(Hash(key));

    /// <summary>
    /// The scope of a key of the form <c>{prefix}{scope}_{43 characters}</c>; false for anything else. The key is not
    /// checked against any store: this only reads what it claims.
    /// </summary>
    public static bool TryReadScope(string? key, string prefix, out string scope)
    {
        ArgumentException.ThrowIfNullOrEmpty(prefix);
        scope = string.Empty;
        if (key is null || key.Length > MaxLength || !key.StartsWith(prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = key.AsSpan(prefix.Length);
        // The scope ends at the first '_' (a scope has none); the secret, which may contain '_', is what follows.
        var end = rest.IndexOf('_');
        if (end <= 0 || rest.Length - end - 1 != SecretLength)
        {
            return false;
        }

        foreach (var c in rest[(end + 1)..])
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not '-' and not '_')
            {
                return false;
            }
        }

        scope = rest[..end].ToString();
        return true;
    }

    /// <summary>
    /// The entry whose stored hash matches <paramref name="presented"/>. Every entry is compared in constant time
    /// (<see cref="CryptographicOperations.FixedTimeEquals"/>) and none is skipped, so the time taken does not
    /// say which entry, if any, matched.
    /// </summary>
    public static T? Find<T>(string? presented, IEnumerable<(T Entry, byte[] Hash)> entries)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(entries);
        if (string.IsNullOrEmpty(presented) || presented.Length > MaxLength)
        {
            return null;
        }

        var hash = Hash(presented);
        T? found = null;
        foreach (var (entry, expected) in entries)
        {
            if (CryptographicOperations.FixedTimeEquals(hash, expected))
            {
                found = entry;
            }
        }

        return found;
    }

    /// <summary>
    /// The key a request presents: the <see cref="Header"/> header, or <c>Authorization: Bearer</c> when
    /// <paramref name="allowBearer"/>. Null when there is none, or when the request presents two different keys
    /// (<paramref name="conflicting"/> is then true: which one was meant cannot be known, so neither is used).
    /// Keys are never read from the query string, which request logs and proxies record.
    /// </summary>
    public static string? Read(HttpRequest request, out bool conflicting, bool allowBearer = true)
    {
        ArgumentNullException.ThrowIfNull(request);
        conflicting = false;
        var presented = new List<string>(2);
        foreach (var value in request.Headers[Header])
        {
            if (!string.IsNullOrWhiteSpace(value))
            {
                presented.Add(value.Trim());
            }
        }

        if (allowBearer)
        {
            foreach (var value in request.Headers.Authorization)
            {
                // The scheme is case-insensitive (RFC 9110 §11.1); other schemes (Basic, ...) are not ours to read.
                if (value is { Length: > 0 } && value.StartsWith(BearerScheme + " ", StringComparison.OrdinalIgnoreCase)
                    && value[(BearerScheme.Length + 1)..].Trim() is { Length: > 0 } token)
                {
                    presented.Add(token);
                }
            }
        }

        if (presented.Count == 0)
        {
            return null;
        }

        if (presented.Distinct(StringComparer.Ordinal).Skip(1).Any())
        {
            conflicting = true;
            return null;
        }

        return presented[0];
    }
}
