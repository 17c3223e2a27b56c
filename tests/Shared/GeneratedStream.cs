using System.Buffers.Binary;

namespace Exchange.Tests.Shared;

/// <summary>
/// A read-only, forward-only stream of <paramref name="length"/> deterministic bytes computed from their position
/// (SplitMix64 of the seed and the 8-byte word index), so that a test can feed hundreds of megabytes to a streaming
/// API without holding them, and feed the same bytes again. <paramref name="flipAt"/> flips one bit of the byte at
/// that position, for tamper tests.
/// </summary>
internal sealed class GeneratedStream(long length, ulong seed = 1, long flipAt = -1) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>The byte at <paramref name="position"/>, without reading the stream.</summary>
    public static byte ByteAt(long position, ulong seed = 1) => (byte)(Word(seed, position >> 3) >> (int)(8 * (position & 7)));

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var count = (int)Math.Min(buffer.Length, length - _position);
        var i = 0;
        while (i < count)
        {
            var at = _position + i;
            if ((at & 7) == 0 && count - i >= 8)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(buffer[i..], Word(seed, at >> 3));
                i += 8;
            }
            else
            {
                buffer[i++] = ByteAt(at, seed);
            }
        }

        if (flipAt >= _position && flipAt < _position + count)
        {
            buffer[(int)(flipAt - _position)] ^= 0x01;
        }

        _position += count;
        return count;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    private static ulong Word(ulong seed, long index)
    {
        var z = seed + ((ulong)index * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
