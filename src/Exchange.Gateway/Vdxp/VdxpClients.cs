using System.Security.Cryptography;
using System.Text;
using Exchange.Core;
using Exchange.Persistence.Gateway;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Exchange.Gateway.Vdxp;

/// <summary>A client just made: the only moment its secret is shown.</summary>
public sealed record CreatedVdxpClient(VdxpClientRow Client, string SystemId, string Secret);

/// <summary>A client name already in force (<c>vdxp_clients_active_name</c>).</summary>
public sealed class VdxpClientNameTakenException(string name)
    : Exception($"A client named '{name}' is in force already: revoke it first (exchange gateway vdxp-client revoke --name) or choose another name.");

/// <summary>
/// The clients of the national axis's protocol at one agency's gateway (<c>gateway.vdxp_clients</c>): each a
/// <c>system_id</c> and a secret, the pair a document system is configured with for the axis (docs/national-axis.md).
/// </summary>
public static class VdxpClients
{
    /// <summary>Longest client name.</summary>
    public const int MaxNameLength = 200;

    /// <summary>Shortest secret a client brings along (<paramref name="secret"/> of <see cref="CreateAsync"/>).</summary>
    public const int MinSecretLength = 8;

    /// <summary>
    /// Makes a client for <paramref name="agencyCode"/>. The system id is the agency's code and a random suffix (it is
    /// sent in the clear with every request); the secret is 32 random bytes in base64url. A document system moving from
    /// another axis may keep the pair it is configured with: give <paramref name="systemId"/> and <paramref name="secret"/>.
    /// With <paramref name="replace"/>, a client in force with the same name is revoked in the same transaction.
    /// </summary>
    /// <exception cref="VdxpClientNameTakenException">A client with this name is in force and <paramref name="replace"/> is false.</exception>
    public static async Task<CreatedVdxpClient> CreateAsync(
        GatewayDbContext db, string agencyCode, string name, TimeProvider clock, bool replace = false,
        string? systemId = null, string? secret = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(clock);
        var agency = AgencyCode.Parse(agencyCode).Value;
        name = name?.Trim() ?? string.Empty;
        if (name.Length is 0 or > MaxNameLength || name.Any(char.IsControl))
        {
            throw new ArgumentException($"A client's name has 1 to {MaxNameLength} characters, none of them control characters.", nameof(name));
        }

        if (systemId is not null && (systemId.Length is 0 or > 100 || systemId.Any(c => char.IsControl(c) || char.IsWhiteSpace(c))))
        {
            throw new ArgumentException("A system id has 1 to 100 characters, no spaces or control characters.", nameof(systemId));
        }

        if (secret is not null && (secret.Length is < MinSecretLength or > 200 || secret.Any(char.IsControl)))
        {
            throw new ArgumentException($"A secret has {MinSecretLength} to 200 characters, no control characters.", nameof(secret));
        }

        var now = clock.GetUtcNow();
        var row = new VdxpClientRow
        {
            ClientId = Guid.CreateVersion7(now),
            SystemId = systemId ?? $"{agency}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}",
            Name = name,
            AgencyCode = agency,
            Secret = secret ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_'),
            CreatedAt = now,
        };

        await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
        if (replace)
        {
            await db.VdxpClients.Where(c => c.Name == name && c.RevokedAt == null)
                .ExecuteUpdateAsync(u => u.SetProperty(c => c.RevokedAt, now), cancellationToken);
        }

        db.VdxpClients.Add(row);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: "vdxp_clients_active_name" })
        {
            throw new VdxpClientNameTakenException(name);
        }
        catch (DbUpdateException e) when (e.InnerException is PostgresException { SqlState: PostgresErrorCodes.UniqueViolation, ConstraintName: "vdxp_clients_system_id_key" })
        {
            throw new ArgumentException($"The system id '{row.SystemId}' is taken (system ids are never reused, revoked ones included).", nameof(systemId), e);
        }

        await transaction.CommitAsync(cancellationToken);
        db.Entry(row).State = EntityState.Detached;
        return new CreatedVdxpClient(row, row.SystemId, row.Secret);
    }

    /// <summary>Every client, in force or revoked, oldest first.</summary>
    public static Task<List<VdxpClientRow>> ListAsync(GatewayDbContext db, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        return db.VdxpClients.AsNoTracking().OrderBy(c => c.CreatedAt).ThenBy(c => c.Name).ToListAsync(cancellationToken);
    }

    /// <summary>Revokes the client in force with this system id or name; the number revoked (0 or 1). Its next request gets <c>FAIL</c>.</summary>
    public static Task<int> RevokeAsync(GatewayDbContext db, string? systemId, string? name, TimeProvider clock, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(clock);
        if (systemId is null == name is null)
        {
            throw new ArgumentException("Name the client by its system id or by its name.");
        }

        var now = clock.GetUtcNow();
        var query = db.VdxpClients.Where(c => c.RevokedAt == null);
        query = systemId is { } id ? query.Where(c => c.SystemId == id.Trim()) : query.Where(c => c.Name == name!.Trim());
        return query.ExecuteUpdateAsync(u => u.SetProperty(c => c.RevokedAt, now), cancellationToken);
    }

    /// <summary>The client in force with this system id; null for an unknown or revoked one.</summary>
    public static Task<VdxpClientRow?> FindAsync(GatewayDbContext db, string systemId, CancellationToken cancellationToken = default) =>
        db.VdxpClients.AsNoTracking().FirstOrDefaultAsync(c => c.SystemId == systemId && c.RevokedAt == null, cancellationToken);

    /// <summary>
    /// Whether <paramref name="hashHeader"/> is the lowercase hex HMAC-SHA256, keyed by the secret's UTF-8 bytes, of the
    /// <c>XroadVnpt-sign-header</c> value exactly as received: its member order follows the SDK's Java hash map and
    /// cannot be rebuilt, so the string is never re-serialised. Compared in constant time.
    /// </summary>
    public static bool SignatureHolds(string secret, string signHeader, string hashHeader)
    {
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(signHeader));
        var presented = hashHeader.Trim();
        if (presented.Length != expected.Length * 2)
        {
            return false;
        }

        byte[] bytes;
        try
        {
            bytes = Convert.FromHexString(presented);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(expected, bytes);
    }
}
