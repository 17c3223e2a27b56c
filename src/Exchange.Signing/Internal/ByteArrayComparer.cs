using System.Runtime.InteropServices;

namespace Exchange.Signing.Internal;

/// <summary>
/// Compares DER blobs by content, and lets a dictionary keyed by byte[] be probed with a span (no copy per lookup).
/// The hash mixes the length with the last bytes, which for a certificate are its signature value.
/// </summary>
internal sealed class ByteArrayComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    public static readonly ByteArrayComparer Instance = new();

    public bool Equals(byte[]? x, byte[]? y) => x is null ? y is null : y is not null && x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj) => Hash(obj);

    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

    public int GetHashCode(ReadOnlySpan<byte> alternate) => Hash(alternate);

    public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();

    private static int Hash(ReadOnlySpan<byte> data)
    {
        var hash = new HashCode();
        hash.Add(data.Length);
        var tail = data.Length > 32 ? data[^32..] : data;
        foreach (var word in MemoryMarshal.Cast<byte, long>(tail))
        {
            hash.Add(word);
        }

        hash.AddBytes(tail[(tail.Length & ~7)..]);
        return hash.ToHashCode();
    }
}
