using System.Buffers;
using System.Security.Cryptography;

namespace Exchange.Signing.Internal;

/// <summary>
/// The hashes of one content under each algorithm asked for, computed in a single pass: over a span, or over a stream
/// read once, front to back, through a pooled block, so that hashing a package costs the same memory whatever its
/// size. Signing and verification both take their digests from here, whichever way the content came.
/// </summary>
internal sealed class ContentDigests
{
    /// <summary>Large enough that a chunked database read or a socket fills it in few calls, small enough to pool.</summary>
    private const int BlockBytes = 64 * 1024;

    private readonly Dictionary<HashAlgorithmName, byte[]> _digests;

    private ContentDigests(Dictionary<HashAlgorithmName, byte[]> digests, long length)
    {
        _digests = digests;
        Length = length;
    }

    /// <summary>The bytes hashed: the content's length, or 0 when no hash was asked for and a stream was left unread.</summary>
    public long Length { get; }

    /// <summary>The digest under <paramref name="hash"/>, which must have been asked for.</summary>
    public byte[] this[HashAlgorithmName hash] => _digests[hash];

    public static ContentDigests Of(ReadOnlySpan<byte> content, IReadOnlyCollection<HashAlgorithmName> hashes)
    {
        var digests = new Dictionary<HashAlgorithmName, byte[]>(hashes.Count);
        foreach (var hash in hashes)
        {
            digests[hash] = Algorithms.Hash(hash, content);
        }

        return new ContentDigests(digests, content.Length);
    }

    public static ContentDigests Of(Stream content, IReadOnlyCollection<HashAlgorithmName> hashes)
    {
        var digests = new Dictionary<HashAlgorithmName, byte[]>(hashes.Count);
        if (hashes.Count == 0)
        {
            return new ContentDigests(digests, 0);
        }

        var incremental = hashes.Select(IncrementalHash.CreateHash).ToArray();
        var buffer = ArrayPool<byte>.Shared.Rent(BlockBytes);
        long length = 0;
        try
        {
            int read;
            while ((read = content.Read(buffer, 0, BlockBytes)) > 0)
            {
                foreach (var hash in incremental)
                {
                    hash.AppendData(buffer, 0, read);
                }

                length += read;
            }

            foreach (var hash in incremental)
            {
                digests[hash.AlgorithmName] = hash.GetHashAndReset();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            foreach (var hash in incremental)
            {
                hash.Dispose();
            }
        }

        return new ContentDigests(digests, length);
    }
}
