using Exchange.Core;
using Npgsql;

namespace Exchange.Persistence.Evidence;

/// <summary>A stored RFC 3161 timestamp of a checkpoint, with the checkpoint as it was signed.</summary>
public sealed record StoredTimestamp(SignedCheckpoint Checkpoint, byte[] Token, DateTimeOffset GenTime);

/// <summary>hub.evidence_checkpoint_timestamps (schemas/sql/hub/0012_evidence_checkpoint_timestamps.sql).</summary>
public static class CheckpointTimestampStore
{
    /// <summary>The newest checkpoint when it has no timestamp yet: only the newest is worth stamping, since it
    /// vouches for every record before it.</summary>
    public static async Task<SignedCheckpoint?> UnstampedNewestAsync(NpgsqlConnection connection, CancellationToken cancellationToken = default)
    {
        await using var select = new NpgsqlCommand("""
            select c.chain_index, c.record_hash, c.sealed_at, c.signature, c.certificate, c.envelope_heads_root from hub.evidence_checkpoints c
            where c.chain_index = (select max(chain_index) from hub.evidence_checkpoints)
              and not exists (select 1 from hub.evidence_checkpoint_timestamps t where t.chain_index = c.chain_index)
            """, connection);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new SignedCheckpoint(new EvidenceCheckpoint(reader.GetInt64(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2),
                    reader.IsDBNull(5) ? null : reader.GetString(5)),
                reader.GetFieldValue<byte[]>(3), reader.GetFieldValue<byte[]>(4))
            : null;
    }

    public static async Task StoreAsync(NpgsqlConnection connection, SignedCheckpoint checkpoint, byte[] token, DateTimeOffset genTime, DateTimeOffset now, CancellationToken cancellationToken = default)
    {
        await using var insert = new NpgsqlCommand("""
            insert into hub.evidence_checkpoint_timestamps (chain_index, checkpoint, signature, certificate, token, gen_time, stamped_at)
            values (@i, @c, @s, @cert, @t, @g, @now) on conflict (chain_index) do nothing
            """, connection);
        insert.Parameters.AddWithValue("i", checkpoint.Checkpoint.ChainIndex);
        insert.Parameters.AddWithValue("c", EvidenceChain.Canonical(checkpoint.Checkpoint));
        insert.Parameters.AddWithValue("s", checkpoint.Signature);
        insert.Parameters.AddWithValue("cert", checkpoint.Certificate);
        insert.Parameters.AddWithValue("t", token);
        insert.Parameters.AddWithValue("g", genTime.ToUniversalTime());
        insert.Parameters.AddWithValue("now", now.ToUniversalTime());
        await insert.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>The newest stored timestamp (highest chain index), or null.</summary>
    /// <exception cref="InvalidDataException">The stored checkpoint bytes are not a checkpoint.</exception>
    public static async Task<StoredTimestamp?> NewestAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction = null, CancellationToken cancellationToken = default)
    {
        await using var select = new NpgsqlCommand(
            "select checkpoint, signature, certificate, token, gen_time from hub.evidence_checkpoint_timestamps order by chain_index desc limit 1", connection, transaction);
        await using var reader = await select.ExecuteReaderAsync(cancellationToken);
        if (!await reader.ReadAsync(cancellationToken))
        {
            return null;
        }

        if (!EvidenceChain.TryParseCheckpoint(reader.GetFieldValue<byte[]>(0), out var checkpoint, out var error))
        {
            throw new InvalidDataException($"The newest stored checkpoint timestamp holds no readable checkpoint: {error}");
        }

        return new StoredTimestamp(new SignedCheckpoint(checkpoint!, reader.GetFieldValue<byte[]>(1), reader.GetFieldValue<byte[]>(2)),
            reader.GetFieldValue<byte[]>(3), reader.GetFieldValue<DateTimeOffset>(4));
    }
}
