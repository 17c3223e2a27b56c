using Exchange.Contracts;
using Exchange.Core;
using Exchange.Persistence.Gateway;
using Exchange.Signing;
using Exchange.Signing.Evidence;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Exchange.Gateway;

/// <summary>
/// The newest signed checkpoint of the hub's evidence chain this gateway was shown (issue #16 item 12,
/// docs/evidence.md, "Anchors"), kept outside the hub so that a hub whose newest records were deleted with their
/// checkpoints is caught by `exchange audit verify-log --anchor`. Only a checkpoint signed by the pinned hub
/// sealing certificate (RFC 5652 over its canonical bytes) is kept: anyone could otherwise plant a false alarm, or
/// push the gateway's anchor aside.
/// </summary>
public static class HubCheckpoints
{
    /// <summary>Keeps <paramref name="shown"/> when it is newer than what is stored and signed by the pinned hub
    /// seal; returns the reason when it is refused, null when kept or not newer.</summary>
    public static async Task<string?> KeepAsync(GatewayDbContext db, HubCheckpoint shown, SignatureVerifier verifier, string pinnedSha256, DateTimeOffset now, CancellationToken ct)
    {
        if (!EvidenceChain.TryParseCheckpoint(shown.Canonical, out var checkpoint, out var error))
        {
            return $"not a checkpoint: {error}";
        }

        var index = checkpoint!.ChainIndex;
        var newest = await db.Database.SqlQuery<long>($"select coalesce(max(chain_index), 0) as \"Value\" from gateway.hub_checkpoints").SingleAsync(ct);
        if (index <= newest)
        {
            // The common case: the same checkpoint, shown with every acceptance until the next one is signed.
            return null;
        }

        var check = new CheckpointVerifier(verifier, [pinnedSha256]).Verify(new SignedCheckpoint(checkpoint, shown.Signature, shown.Certificate));
        if (check.Problem is { } problem)
        {
            return $"{problem.Code}: {problem.Reason}";
        }

        var canonical = shown.Canonical;
        var signature = shown.Signature;
        var certificate = shown.Certificate;
        var at = now.ToUniversalTime();
        await db.Database.ExecuteSqlInterpolatedAsync($"""
            insert into gateway.hub_checkpoints (chain_index, canonical, signature, certificate, received_at)
            values ({index}, {canonical}, {signature}, {certificate}, {at})
            on conflict (chain_index) do nothing
            """, ct);
        await db.Database.ExecuteSqlInterpolatedAsync($"delete from gateway.hub_checkpoints where chain_index < {index}", ct);
        return null;
    }

    /// <summary>The newest kept checkpoint as an anchor file's content, or null when none was shown yet.</summary>
    public static async Task<ChainAnchor?> NewestAsync(GatewayDbContext db, string agencyCode, CancellationToken ct)
    {
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        if (connection.State != System.Data.ConnectionState.Open)
        {
            await connection.OpenAsync(ct);
        }

        await using var select = new NpgsqlCommand(
            "select canonical, signature, certificate, received_at from gateway.hub_checkpoints order by chain_index desc limit 1", connection);
        await using var reader = await select.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct))
        {
            return null;
        }

        if (!EvidenceChain.TryParseCheckpoint(reader.GetFieldValue<byte[]>(0), out var checkpoint, out var error))
        {
            throw new InvalidDataException($"The stored hub checkpoint is not readable: {error}");
        }

        var receivedAt = EvidenceChain.FormatTime(reader.GetFieldValue<DateTimeOffset>(3));
        return new ChainAnchor(new SignedCheckpoint(checkpoint!, reader.GetFieldValue<byte[]>(1), reader.GetFieldValue<byte[]>(2)),
            $"gateway {agencyCode}, received {receivedAt}");
    }
}
