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

    private readonly NpgsqlDataSource _dataSource;
    private readonly string _table;

    public PackageStore(string connectionString, string schema)
    {
        _dataSource = NpgsqlDataSource.Create(connectionString);
        _table = $"{schema}.package_chunks";
    }

    /// <summary>A stream whose bytes are stored as the package's chunks as they are written; <see cref="PackageWriter.CompleteAsync"/> ends it.</summary>
    public PackageWriter OpenWrite(Guid packageId) => new(this, packageId);

    /// <summary>Stores a whole stream as the package's chunks.</summary>
    public async Task<StoredPackage> WriteAsync(Guid packageId, Stream content, CancellationToken cancellationToken)
    {
        await using var writer = OpenWrite(packageId);
        await content.CopyToAsync(writer, ChunkBytes, cancellationToken);
        return await writer.CompleteAsync(cancellationToken);
    }

    /// <summary>Stores one chunk (a no-op when it is already stored).</summary>
    public async Task AddChunkAsync(Guid packageId, int seq, ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
    {
        await using var command = InsertCommand(packageId, seq, bytes);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    public async Task<int> CountChunksAsync(Guid packageId, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"select count(*) from {_table} where package_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = packageId });
        return Convert.ToInt32(await command.ExecuteScalarAsync(cancellationToken), System.Globalization.CultureInfo.InvariantCulture);
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

    public async Task DeleteAsync(Guid packageId, CancellationToken cancellationToken)
    {
        await using var command = _dataSource.CreateCommand($"delete from {_table} where package_id = $1");
        command.Parameters.Add(new NpgsqlParameter { Value = packageId });
        await command.ExecuteNonQueryAsync(cancellationToken);
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
        return await command.ExecuteNonQueryAsync(cancellationToken);
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

    /// <summary>One query for every chunk in order; the rows are read one at a time as the caller asks for them.</summary>
    internal NpgsqlCommand SelectChunksCommand(NpgsqlConnection connection, Guid packageId)
    {
        var command = new NpgsqlCommand($"select seq, bytes from {_table} where package_id = $1 order by seq", connection);
        command.Parameters.Add(new NpgsqlParameter { Value = packageId });
        return command;
    }

    internal NpgsqlConnection OpenConnection() => _dataSource.OpenConnection();

    internal ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken) => _dataSource.OpenConnectionAsync(cancellationToken);

    internal static InvalidOperationException Missing(Guid packageId, int seq) =>
        new($"Chunk {seq} of package {packageId} is not stored.");
}

/// <summary>Writes a package into the store one chunk at a time, hashing it; nothing of it is kept in memory beyond one chunk.</summary>
public sealed class PackageWriter : Stream
{
    private readonly PackageStore _store;
    private readonly Guid _packageId;
    private readonly IncrementalHash _sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private readonly byte[] _buffer = new byte[PackageStore.ChunkBytes];
    private int _filled;
    private int _chunks;
    private long _length;

    internal PackageWriter(PackageStore store, Guid packageId)
    {
        _store = store;
        _packageId = packageId;
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
            _command ??= _store.SelectChunksCommand(_connection, _packageId);
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
        _command ??= _store.SelectChunksCommand(_connection, _packageId);
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
