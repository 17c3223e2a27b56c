using System.Data;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Exchange.Contracts;
using Exchange.Core;
using Npgsql;
using NpgsqlTypes;

namespace Exchange.Persistence;

/// <summary>
/// Packages too large to travel inside one bus message, stored once in chunks (<c>package_chunks</c> of the hub's and
/// each gateway's schema) and read back as a stream, so that no process holds a whole package in memory whatever its
/// size (docs/performance.md, "Large documents"). A package is keyed by its envelope's id. Storing a chunk that is
/// already there stores nothing: chunks that travel twice (a redelivery, a resend) are harmless.
/// <para>
/// Each package id is claimed (<c>package_claims</c>) by the agency that sent its envelope, with the number of chunks
/// announced, by the first chunk that arrives or by this host's own writer. Chunks for an id claimed by another
/// agency, past the claimed count, or over <see cref="MaxPackageBytes"/> are not stored, and nothing reads a chunk at
/// or past the count: before claims, anyone on the bus could add chunks to another agency's package, and the evidence
/// bundle joined every stored chunk (issue #16, item 6; docs/security.md).
/// </para>
/// </summary>
public sealed class PackageStore : IAsyncDisposable
{
    /// <summary>
    /// The chunk this side writes. Small enough that a chunk, and the bus message carrying it as base64 JSON (about
    /// 66 KB), stay under the runtime's large-object threshold (85,000 bytes): they are collected young, so a host's
    /// memory does not grow with the package however many chunks pass through it. A 200 MB package is ~5,600 rows.
    /// </summary>
    public const int ChunkBytes = 48 * 1024;

    /// <summary>The largest chunk accepted from another party.</summary>
    public const int MaxChunkBytes = 1024 * 1024;

    /// <summary>The most chunks of one package: with this side's chunks, 768 MiB.</summary>
    public const int MaxChunks = 16384;

    /// <summary>The most bytes stored for one package, whatever its chunks' sizes: <see cref="MaxChunks"/> of this side's chunks.</summary>
    public const long MaxPackageBytes = (long)MaxChunks * ChunkBytes;

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _table;
    private readonly string _claims;

    public PackageStore(string connectionString, string schema)
    {
        _dataSource = NpgsqlDataSource.Create(connectionString);
        _table = $"{schema}.package_chunks";
        _claims = $"{schema}.package_claims";
    }

    /// <summary>
    /// A stream whose bytes are stored as the package's chunks as they are written; <see cref="PackageWriter.CompleteAsync"/>
    /// ends it. The package is claimed for <paramref name="owner"/> (this host's agency) before its first chunk is stored.
    /// </summary>
    public PackageWriter OpenWrite(Guid packageId, string owner) => new(this, packageId, owner);

    /// <summary>Stores a whole stream as the package's chunks, claimed for <paramref name="owner"/>.</summary>
    public async Task<StoredPackage> WriteAsync(Guid packageId, string owner, Stream content, CancellationToken cancellationToken)
    {
        await using var writer = OpenWrite(packageId, owner);
        await content.CopyToAsync(writer, ChunkBytes, cancellationToken);
        return await writer.CompleteAsync(cancellationToken);
    }

    /// <summary>
    /// Stores one chunk that another host sent for <paramref name="owner"/>'s package of <paramref name="count"/> chunks.
    /// The first chunk of a package claims its id for that owner and count. Null when the chunk is stored, or was already
    /// (a chunk sent twice); else why it was not stored, with the reason code to count it under. Nothing is stored for an
    /// id another owner claimed, with another count, at or past the count, or over <see cref="MaxPackageBytes"/>.
    /// </summary>
    public async Task<(ReasonCode Reason, string Detail)?> AddChunkAsync(
        Guid packageId, string owner, int seq, int count, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        if (count is < 1 or > MaxChunks || seq < 0 || seq >= count || bytes.Length > MaxChunkBytes)
        {
            return (ReasonCode.TooLarge, $"Chunk {seq} of {count} ({bytes.Length} bytes) breaks the limits: at most {MaxChunks} chunks of at most {MaxChunkBytes} bytes, indexes below the count.");
        }

        await using (var claim = _dataSource.CreateCommand($"insert into {_claims} (package_id, owner, chunks) values ($1, $2, $3) on conflict (package_id) do nothing"))
        {
            claim.Parameters.Add(new NpgsqlParameter { Value = packageId });
            claim.Parameters.Add(new NpgsqlParameter { Value = owner });
            claim.Parameters.Add(new NpgsqlParameter { Value = count });
            await claim.ExecuteNonQueryAsync(cancellationToken);
        }

        // One statement: the claim row is locked while its byte count is checked and raised, so chunks stored at once
        // cannot pass the limit together; a chunk already stored (on conflict) adds nothing. A new statement sees the
        // claim whoever made it (READ COMMITTED takes a snapshot per statement).
        await using (var insert = _dataSource.CreateCommand($"""
            with claim as (
                select package_id from {_claims}
                where package_id = $1 and owner = $2 and chunks = $3 and $4 < chunks and bytes + octet_length($5) <= $6
                for update),
            stored as (
                insert into {_table} (package_id, seq, bytes) select package_id, $4, $5 from claim
                on conflict do nothing returning seq)
            update {_claims} set bytes = bytes + octet_length($5) where package_id = $1 and exists (select 1 from stored)
            """))
        {
            insert.Parameters.Add(new NpgsqlParameter { Value = packageId });
            insert.Parameters.Add(new NpgsqlParameter { Value = owner });
            insert.Parameters.Add(new NpgsqlParameter { Value = count });
            insert.Parameters.Add(new NpgsqlParameter { Value = seq });
            insert.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = bytes, NpgsqlDbType = NpgsqlDbType.Bytea });
            insert.Parameters.Add(new NpgsqlParameter { Value = MaxPackageBytes });
            if (await insert.ExecuteNonQueryAsync(cancellationToken) > 0)
            {
                return null;
            }
        }

        // Not stored: say why (the rare path, so a second look costs nothing that matters).
        var held = await ClaimAsync(packageId, cancellationToken);
        return held switch
        {
            null => (ReasonCode.PackageIncomplete, $"Package {packageId} has no claim; it was removed meanwhile."),
            { Owner: var other } when other != owner => (ReasonCode.DuplicateEnvelopeId,
                $"Package {packageId} belongs to '{other}'; a chunk sent for '{owner}' is not added to it."),
            { Chunks: var chunks } when chunks != count => (ReasonCode.PackageIncomplete,
                $"Package {packageId} was announced as {(chunks is null ? "a package this host is writing" : $"{chunks} chunk(s)")}; a chunk says {count}."),
            _ when await ChunkStoredAsync(packageId, seq, cancellationToken) => null,
            { Bytes: var stored } => (ReasonCode.TooLarge,
                $"Package {packageId} holds {stored} bytes; {bytes.Length} more would pass the limit of {MaxPackageBytes}."),
        };
    }

    /// <summary>Who claimed a package id, and for how many chunks (null while this host's own writer is still writing it).</summary>
    public async Task<PackageClaim?> ClaimAsync(Guid packageId, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"select owner, chunks, bytes from {_claims} where package_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = packageId });
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new PackageClaim(reader.GetString(0), reader.IsDBNull(1) ? null : reader.GetInt32(1), reader.GetInt64(2))
            : null;
    }

    /// <summary>All chunks stored under the id, whoever sent them (a test's and an operator's view).</summary>
    public async Task<int> CountChunksAsync(Guid packageId, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"select count(*) from {_table} where package_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = packageId });
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The chunks stored with an index below <paramref name="chunks"/>: the ones a package of that many is made of.</summary>
    public async Task<int> CountChunksAsync(Guid packageId, int chunks, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"select count(*) from {_table} where package_id = $1 and seq < $2");
        command.Parameters.Add(new NpgsqlParameter { Value = packageId });
        command.Parameters.Add(new NpgsqlParameter { Value = chunks });
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<bool> ChunkStoredAsync(Guid packageId, int seq, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"select exists (select 1 from {_table} where package_id = $1 and seq = $2)");
        command.Parameters.Add(new NpgsqlParameter { Value = packageId });
        command.Parameters.Add(new NpgsqlParameter { Value = seq });
        return await command.ExecuteScalarAsync(cancellationToken) is true;
    }

    /// <summary>Reads the package back, chunk by chunk, hashing it as it goes (<see cref="PackageReader.Sha256Hex"/>).</summary>
    public PackageReader OpenRead(Guid packageId, int chunks) => new(this, packageId, chunks);

    /// <summary>The package's chunks in order, one in memory at a time (to send them on).</summary>
    public async IAsyncEnumerable<byte[]> ReadChunksAsync(Guid packageId, int chunks, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var reader = OpenRead(packageId, chunks);
        while (await reader.NextChunkAsync(cancellationToken) is { } chunk)
        {
            yield return chunk;
        }
    }

    /// <summary>
    /// Deletes the package's chunks. Its claim stays (with no bytes counted): the id remains its owner's, so a resend of
    /// the same package by the same owner is stored again and nobody else's chunks are.
    /// </summary>
    public async Task DeleteAsync(Guid packageId, CancellationToken cancellationToken)
    {
        // A batch, not one command text: Npgsql takes positional parameters in one statement per command only.
        await using var batch = _dataSource.CreateBatch();
        foreach (var sql in new[] { $"delete from {_table} where package_id = $1", $"update {_claims} set bytes = 0 where package_id = $1" })
        {
            var command = new NpgsqlBatchCommand(sql);
            command.Parameters.Add(new NpgsqlParameter { Value = packageId });
            batch.BatchCommands.Add(command);
        }

        await batch.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>
    /// Deletes chunks older than <paramref name="age"/> that no envelope row (<paramref name="owners"/>, a query of ids)
    /// names: what a sender left half-way, or sent without ever sending its envelope. Returns the chunks deleted.
    /// </summary>
    public async Task<int> SweepOrphansAsync(string owners, TimeSpan age, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"""
            delete from {_table} c
            where c.received_at < now() - $1 and not exists (select 1 from ({owners}) o(id) where o.id = c.package_id)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = age });
        var deleted = await command.ExecuteNonQueryAsync(cancellationToken);
        // Claims no envelope took up go too, once they have no chunk left.
        await using var claims = _dataSource.CreateCommand($"""
            delete from {_claims} k
            where k.claimed_at < now() - $1 and not exists (select 1 from ({owners}) o(id) where o.id = k.package_id)
              and not exists (select 1 from {_table} c where c.package_id = k.package_id)
            """);
        claims.Parameters.Add(new NpgsqlParameter { Value = age });
        await claims.ExecuteNonQueryAsync(cancellationToken);
        return deleted;
    }

    public ValueTask DisposeAsync() => _dataSource.DisposeAsync();

    internal NpgsqlCommand InsertCommand(Guid packageId, int seq, ReadOnlyMemory<byte> bytes)
    {
        var command = _dataSource.CreateCommand($"insert into {_table} (package_id, seq, bytes) values ($1, $2, $3) on conflict do nothing");
        command.Parameters.Add(new NpgsqlParameter { Value = packageId });
        command.Parameters.Add(new NpgsqlParameter { Value = seq });
        command.Parameters.Add(new NpgsqlParameter<ReadOnlyMemory<byte>> { TypedValue = bytes, NpgsqlDbType = NpgsqlDbType.Bytea });
        return command;
    }

    /// <summary>
    /// One query for the package's chunks in order, the first <paramref name="chunks"/> only (never a row past the count
    /// announced); the rows are read one at a time as the caller asks for them.
    /// </summary>
    internal NpgsqlCommand SelectChunksCommand(NpgsqlConnection connection, Guid packageId, int chunks)
    {
        var command = new NpgsqlCommand($"select seq, bytes from {_table} where package_id = $1 and seq < $2 order by seq", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = packageId });
        command.Parameters.Add(new NpgsqlParameter { Value = chunks });
        return command;
    }

    /// <summary>
    /// Claims an id for this host's own writer (chunks unknown until it completes); throws when the id is someone
    /// else's, or already a complete package. Ids a writer uses are new envelope ids, so this fails only on a bug.
    /// </summary>
    internal NpgsqlCommand ClaimForWritingCommand(Guid packageId, string owner)
    {
        // The select does not see the row its own insert makes (one snapshot per statement), hence both halves.
        var command = _dataSource.CreateCommand($"""
            with claimed as (
                insert into {_claims} (package_id, owner, chunks) values ($1, $2, null) on conflict (package_id) do nothing returning package_id)
            select exists (select 1 from claimed)
                or exists (select 1 from {_claims} where package_id = $1 and owner = $2 and chunks is null)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = packageId });
        command.Parameters.Add(new NpgsqlParameter { Value = owner });
        return command;
    }

    /// <summary>Records the count and size of a package this host wrote, which ends its claim's writing state.</summary>
    internal NpgsqlCommand CompleteClaimCommand(Guid packageId, string owner, int chunks, long bytes)
    {
        var command = _dataSource.CreateCommand($"update {_claims} set chunks = $3, bytes = $4 where package_id = $1 and owner = $2");
        command.Parameters.Add(new NpgsqlParameter { Value = packageId });
        command.Parameters.Add(new NpgsqlParameter { Value = owner });
        command.Parameters.Add(new NpgsqlParameter { Value = chunks });
        command.Parameters.Add(new NpgsqlParameter { Value = bytes });
        return command;
    }

    internal static InvalidOperationException Claimed(Guid packageId) =>
        new($"Package {packageId} is already claimed by another sender or already complete; this host does not write into it.");

    internal NpgsqlConnection OpenConnection() => _dataSource.OpenConnection();

    internal ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken) => _dataSource.OpenConnectionAsync(cancellationToken);

    internal static InvalidOperationException Missing(Guid packageId, int seq) =>
        new($"Chunk {seq} of package {packageId} is not stored.");
}

/// <summary>Who a stored package id belongs to (<see cref="PackageStore"/>), how many chunks make it (null while this host writes it), and the bytes stored.</summary>
public sealed record PackageClaim(string Owner, int? Chunks, long Bytes);

/// <summary>Writes a package into the store one chunk at a time, hashing it; nothing of it is kept in memory beyond one chunk.</summary>
public sealed class PackageWriter : Stream
{
    private readonly PackageStore _store;
    private readonly Guid _packageId;
    private readonly string _owner;
    private bool _claimed;
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _buffer = new byte[PackageStore.ChunkBytes];
    private int _filled;
    private int _chunks;
    private long _length;

    internal PackageWriter(PackageStore store, Guid packageId, string owner)
    {
        _store = store;
        _packageId = packageId;
        _owner = owner;
    }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => _length;
    public override long Position { get => _length; set => throw new NotSupportedException(); }

    /// <summary>Stores the last chunk and says what was stored.</summary>
    public async Task<StoredPackage> CompleteAsync(CancellationToken cancellationToken)
    {
        if (_filled > 0 || _chunks == 0)
        {
            await FlushChunkAsync(cancellationToken);
        }

        await using (var complete = _store.CompleteClaimCommand(_packageId, _owner, _chunks, _length))
        {
            await complete.ExecuteNonQueryAsync(cancellationToken);
        }

        return new StoredPackage(_length, _chunks, Convert.ToHexStringLower(_sha256.GetHashAndReset()));
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            var take = Take(buffer);
            buffer = buffer[take..];
            if (_filled == _buffer.Length)
            {
                if (!_claimed)
                {
                    using var claim = _store.ClaimForWritingCommand(_packageId, _owner);
                    _claimed = claim.ExecuteScalar() is true ? true : throw PackageStore.Claimed(_packageId);
                }

                using var command = _store.InsertCommand(_packageId, _chunks, _buffer);
                command.ExecuteNonQuery();
                Next();
            }
        }
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (!buffer.IsEmpty)
        {
            var take = Take(buffer.Span);
            buffer = buffer[take..];
            if (_filled == _buffer.Length)
            {
                await FlushChunkAsync(cancellationToken);
            }
        }
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _sha256.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Take(ReadOnlySpan<byte> source)
    {
        var take = Math.Min(source.Length, _buffer.Length - _filled);
        source[..take].CopyTo(_buffer.AsSpan(_filled));
        _sha256.AppendData(source[..take]);
        _filled += take;
        _length += take;
        return take;
    }

    private async Task FlushChunkAsync(CancellationToken cancellationToken)
    {
        if (!_claimed)
        {
            await using var claim = _store.ClaimForWritingCommand(_packageId, _owner);
            _claimed = await claim.ExecuteScalarAsync(cancellationToken) is true ? true : throw PackageStore.Claimed(_packageId);
        }

        await using var command = _store.InsertCommand(_packageId, _chunks, _buffer.AsMemory(0, _filled));
        await command.ExecuteNonQueryAsync(cancellationToken);
        Next();
    }

    private void Next()
    {
        _chunks++;
        _filled = 0;
    }
}

/// <summary>
/// Reads a stored package front to back with one query whose rows (chunks) are fetched as they are needed, one in
/// memory at a time, and hashes what it reads: once read to the end, <see cref="Sha256Hex"/> and <see cref="Length"/>
/// describe the bytes actually stored.
/// </summary>
public sealed class PackageReader : Stream
{
    private readonly PackageStore _store;
    private readonly Guid _packageId;
    private readonly int _chunks;
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private NpgsqlConnection? _connection;
    private NpgsqlCommand? _command;
    private NpgsqlDataReader? _rows;
    private byte[] _chunk = [];
    private int _offset;
    private int _next;
    private long _read;
    private string? _hash;

    internal PackageReader(PackageStore store, Guid packageId, int chunks)
    {
        _store = store;
        _packageId = packageId;
        _chunks = chunks;
    }

    /// <summary>SHA-256 (lowercase hex) of the whole package; null until it has been read to the end.</summary>
    public string? Sha256Hex => _hash;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;

    /// <summary>Bytes read so far.</summary>
    public override long Length => _read;

    public override long Position { get => _read; set => throw new NotSupportedException(); }

    /// <summary>Reads whatever the caller left unread, so that the hash covers the whole package.</summary>
    public string ReadToEndAndHash()
    {
        var scratch = new byte[16 * 1024];
        while (Read(scratch, 0, scratch.Length) > 0)
        {
        }

        return _hash!;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        while (_offset == _chunk.Length)
        {
            if (AtEnd())
            {
                return 0;
            }

            _connection ??= _store.OpenConnection();
            _command ??= _store.SelectChunksCommand(_connection, _packageId, _chunks);
            _rows ??= _command.ExecuteReader(CommandBehavior.SequentialAccess);
            Take(_rows.Read() && _rows.GetInt32(0) == _next ? _rows.GetFieldValue<byte[]>(1) : throw PackageStore.Missing(_packageId, _next));
        }

        return Copy(buffer);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_offset == _chunk.Length)
        {
            if (AtEnd())
            {
                return 0;
            }

            Take(await FetchAsync(cancellationToken));
        }

        return Copy(buffer.Span);
    }

    /// <summary>The next chunk whole (to pass it on as it is), or null after the last; not to be mixed with <c>Read</c>.</summary>
    internal async ValueTask<byte[]?> NextChunkAsync(CancellationToken cancellationToken)
    {
        if (AtEnd())
        {
            return null;
        }

        var chunk = await FetchAsync(cancellationToken);
        _next++;
        _sha256.AppendData(chunk);
        _read += chunk.Length;
        return chunk;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _rows?.Dispose();
            _command?.Dispose();
            _connection?.Dispose();
            _sha256.Dispose();
        }

        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        if (_rows is not null)
        {
            await _rows.DisposeAsync();
        }

        if (_command is not null)
        {
            await _command.DisposeAsync();
        }

        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }

        _sha256.Dispose();
        await base.DisposeAsync();
    }

    private async Task<byte[]> FetchAsync(CancellationToken cancellationToken)
    {
        _connection ??= await _store.OpenConnectionAsync(cancellationToken);
        _command ??= _store.SelectChunksCommand(_connection, _packageId, _chunks);
        _rows ??= await _command.ExecuteReaderAsync(CommandBehavior.SequentialAccess, cancellationToken);
        return await _rows.ReadAsync(cancellationToken) && _rows.GetInt32(0) == _next
            ? await _rows.GetFieldValueAsync<byte[]>(1, cancellationToken)
            : throw PackageStore.Missing(_packageId, _next);
    }

    /// <summary>Makes a fetched chunk the one <c>Read</c> copies from.</summary>
    private void Take(byte[] chunk)
    {
        _chunk = chunk;
        _offset = 0;
        _next++;
    }

    private bool AtEnd()
    {
        if (_next < _chunks)
        {
            return false;
        }

        _hash ??= Convert.ToHexStringLower(_sha256.GetHashAndReset());
        return true;
    }

    private int Copy(Span<byte> buffer)
    {
        var take = Math.Min(buffer.Length, _chunk.Length - _offset);
        _chunk.AsSpan(_offset, take).CopyTo(buffer);
        _sha256.AppendData(_chunk.AsSpan(_offset, take));
        _offset += take;
        _read += take;
        return take;
    }
}

/// <summary>The stored package a row names, or null when its package is inline.</summary>
public static class StoredPackageRows
{
    public static StoredPackage? Stored(this Gateway.OutboxRow row) => Of(row.PackageLength, row.PackageChunks, row.PackageSha256);

    public static StoredPackage? Stored(this Gateway.InboxRow row) => Of(row.PackageLength, row.PackageChunks, row.PackageSha256);

    public static StoredPackage? Stored(this Hub.EnvelopeRow row) => Of(row.PackageLength, row.PackageChunks, row.PackageSha256);

    private static StoredPackage? Of(long? length, int? chunks, string sha256) =>
        length is { } bytes && chunks is { } count ? new StoredPackage(bytes, count, sha256) : null;
}

/// <summary>
/// A package as a receiver checks it: inline (it travelled inside the bus message) or stored in chunks (it travelled
/// ahead of the message, <see cref="PackageChunk"/>). Checks read it through <see cref="Read{T}"/>, which gives them the
/// bytes or a fresh stream over the stored chunks, so that a stored package is never held in memory.
/// </summary>
public sealed class PackageBody
{
    private readonly byte[]? _bytes;
    private readonly PackageStore? _store;
    private readonly Guid _packageId;

    private PackageBody(byte[]? bytes, PackageStore? store, Guid packageId, StoredPackage? stored)
    {
        _bytes = bytes;
        _store = store;
        _packageId = packageId;
        Stored = stored;
        Length = bytes?.LongLength ?? stored!.Length;
        Sha256Hex = bytes is null ? stored!.Sha256 : Digests.Sha256Hex(bytes);
    }

    public static PackageBody Inline(byte[] bytes) => new(bytes, null, Guid.Empty, null);

    /// <summary>A stored package; its length and digest are the ones announced, so check it first (<c>PackageTransfer.CheckStoredAsync</c>).</summary>
    public static PackageBody InStore(PackageStore store, Guid packageId, StoredPackage stored) => new(null, store, packageId, stored);

    /// <summary>The message's package for <paramref name="stored"/> null, else the stored one.</summary>
    public static PackageBody Of(byte[] inline, PackageStore store, Guid packageId, StoredPackage? stored) =>
        stored is null ? Inline(inline) : InStore(store, packageId, stored);

    public long Length { get; }

    /// <summary>SHA-256 (lowercase hex) of the package.</summary>
    public string Sha256Hex { get; }

    /// <summary>How the package is stored, or null when it is inline.</summary>
    public StoredPackage? Stored { get; }

    /// <summary>The inline bytes; empty for a stored package (what a row keeps in its <c>package</c> column).</summary>
    public byte[] InlineBytes => _bytes ?? [];

    /// <summary>Runs a check over the bytes, or over a stream of the stored chunks.</summary>
    public T Read<T>(Func<ReadOnlyMemory<byte>, T> inline, Func<Stream, T> stored)
    {
        if (_bytes is not null)
        {
            return inline(_bytes);
        }

        using var stream = _store!.OpenRead(_packageId, Stored!.Chunks);
        return stored(stream);
    }
}
