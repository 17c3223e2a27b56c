using Exchange.Core;
using Exchange.Persistence.Gateway;
using Exchange.ServiceDefaults.Access;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Exchange.Gateway.Access;

/// <summary>A key just made: the only moment the key itself exists outside its holder.</summary>
public sealed record CreatedGatewayKey(ApiClientRow Client, string Key);

/// <summary>A key name already in force (<c>api_clients_active_name</c>); revoke that key first or choose another name.</summary>
public sealed class GatewayKeyNameTakenException(string name)
    : Exception($"A key named '{name}' is in force already: revoke it first (exchange gateway key revoke --name) or choose another name.");

/// <summary>
/// The API keys of one agency's gateway, stored in its own database (<c>gateway.api_clients</c>). A key is
/// <c>exg_</c>, the agency's code, <c>_</c> and 43 base64url characters (<see cref="ApiKey"/>), e.g.
/// <c>exg_000.00.01.H29_Xk2…</c>; the database keeps its SHA-256 only.
/// </summary>
public static class GatewayKeys
{
    public const string Prefix = "exg_";

    /// <summary>Longest key name.</summary>
    public const int MaxNameLength = 200;

    /// <summary>The agency a key names, normalised; false for text that is not a gateway key. Proves nothing about the key.</summary>
    public static bool TryReadAgency(string? key, out string agencyCode)
    {
        agencyCode = string.Empty;
        if (!ApiKey.TryReadScope(key, Prefix, out var scope) || !AgencyCode.TryParse(scope, out var code, out _))
        {
            return false;
        }

        agencyCode = code.Value;
        return true;
    }

    public static bool IsRole(string? role) => role is not null && ApiClientRoles.All.Contains(role, StringComparer.Ordinal);

    /// <summary>
    /// Makes a key for <paramref name="agencyCode"/> with <paramref name="role"/> and stores its hash. With
    /// <paramref name="replace"/>, a key in force with the same name is revoked in the same transaction (how an
    /// in-process deployment gives itself a fresh key on each start); without it, that is refused.
    /// </summary>
    /// <exception cref="GatewayKeyNameTakenException">A key with this name is in force and <paramref name="replace"/> is false.</exception>
    public static async Task<CreatedGatewayKey> CreateAsync(
        GatewayDbContext db, string agencyCode, string role, string name, TimeProvider clock, bool replace = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(clock);
        var agency = AgencyCode.Parse(agencyCode).Value;
        if (!IsRole(role))
        {
            throw new ArgumentException($"A gateway key's role is one of {string.Join(", ", ApiClientRoles.All)}.", nameof(role));
        }

        name = name?.Trim() ?? string.Empty;
        if (name.Length is 0 or > MaxNameLength || name.Any(char.IsControl))
        {
            throw new ArgumentException($"A key's name has 1 to {MaxNameLength} characters, none of them control characters.", nameof(name));
        }

        var key = ApiKey.Generate(Prefix, agency);
        var now = clock.GetUtcNow();
        var row = new ApiClientRow
        {
            ClientId = Guid.CreateVersion7(now),
            Name = name,
            AgencyCode = agency,
            Role = role,
            KeySha256 = ApiKey.Hash(key),
            CreatedAt = now,
        };

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (replace)
        {
            await db.ApiClients.Where(c => c.Name == name && c.RevokedAt == null)
                .ExecuteUpdateAsync(u => u.SetProperty(c => c.RevokedAt, now), cancellationToken);
        }

        db.ApiClients.Add(row);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: "api_clients_active_name" })
        {
            throw new GatewayKeyNameTakenException(name);
        }

        await transaction.CommitAsync(cancellationToken);
        db.Entry(row).State = EntityState.Detached;
        return new CreatedGatewayKey(row, key);
    }

    /// <summary>Every key, in force or revoked, oldest first.</summary>
    public static Task<List<ApiClientRow>> ListAsync(GatewayDbContext db, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        return db.ApiClients.AsNoTracking().OrderBy(c => c.CreatedAt).ThenBy(c => c.Name).ToListAsync(cancellationToken);
    }

    /// <summary>Revokes the key in force with this id or name; the number of keys revoked (0 or 1). It stops working on the next request.</summary>
    public static Task<int> RevokeAsync(GatewayDbContext db, Guid? clientId, string? name, TimeProvider clock, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(clock);
        if (clientId is null == name is null)
        {
            throw new ArgumentException("Name the key by its id or by its name.");
        }

        var now = clock.GetUtcNow();
        var query = db.ApiClients.Where(c => c.RevokedAt == null);
        query = clientId is { } id ? query.Where(c => c.ClientId == id) : query.Where(c => c.Name == name!.Trim());
        return query.ExecuteUpdateAsync(u => u.SetProperty(c => c.RevokedAt, now), cancellationToken);
    }

    /// <summary>
    /// The key in force whose hash is the presented key's; null for an unknown or revoked key. The lookup is by
    /// the SHA-256 of the presented key, on a unique index: timing can at most tell a caller something about the
    /// hash of a key it chose, which does not help it find another key's preimage.
    /// </summary>
    public static async Task<ApiClientRow?> FindAsync(GatewayDbContext db, string? presented, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        if (string.IsNullOrEmpty(presented) || presented.Length > ApiKey.MaxLength)
        {
            return null;
        }

        var hash = ApiKey.Hash(presented);
        return await db.ApiClients.AsNoTracking().FirstOrDefaultAsync(c => c.KeySha256 == hash && c.RevokedAt == null, cancellationToken);
    }
}
