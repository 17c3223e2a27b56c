using Exchange.Core;

namespace Exchange.Edxml.Internal;

/// <summary>
/// A package as the XML reader gets it from a forward-only stream: the few stray bytes some senders put before
/// <c>&lt;?xml</c> skipped (found by peeking at the first <see cref="MaxStrayPrefix"/> bytes), and every byte counted
/// against <see cref="EdxmlLimits.MaxPackageBytes"/>, because a stream (a request body, a package read back from the
/// database in chunks) need not know its length. Every byte passed on is watched by <see cref="MarkupBound"/>, so that
/// the reader is never handed a stretch it would hold whole. Leaves the stream it reads open.
/// </summary>
internal sealed class PackageInputStream : Stream
{
    /// <summary>Most bytes tolerated before <c>&lt;?xml</c> (edoc_new.edxml starts with "1212").</summary>
    private const int MaxStrayPrefix = 64;

    private readonly Stream _package;
    private readonly long _limit;
    private readonly MarkupBound _markup;
    private readonly byte[] _head = new byte[MaxStrayPrefix];
    private readonly int _headLength;
    private int _headAt;
    private long _read;

    private PackageInputStream(Stream package, long limit, long markupLimit)
    {
        _package = package;
        _limit = limit;
        _markup = new MarkupBound(markupLimit);
        _headLength = package.ReadAtLeast(_head, _head.Length, throwOnEndOfStream: false);
        Count(_headLength);
        _headAt = StrayPrefixLength(_head.AsSpan(0, _headLength));
    }

    /// <summary>Whether the package had no bytes at all.</summary>
    public bool IsEmpty => _headLength == 0;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>
    /// Opens the package at the current position of <paramref name="package"/>. When the stream knows its length, an
    /// empty or oversized package is refused before a byte is read, with the message the byte overloads have always given.
    /// </summary>
    public static PackageInputStream Open(Stream package, long limit, long markupLimit)
    {
        if (package.CanSeek)
        {
            var length = package.Length - package.Position;
            if (length == 0)
            {
                throw Empty();
            }

            if (length > limit)
            {
                throw new EdxmlException(
                    ReasonCode.TooLarge,
                    $"The package is {length} bytes; the limit is {limit} (EdxmlLimits.MaxPackageBytes).");
            }
        }

        var input = new PackageInputStream(package, limit, markupLimit);
        return input.IsEmpty ? throw Empty() : input;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_headAt < _headLength)
        {
            var count = Math.Min(buffer.Length, _headLength - _headAt);
            _head.AsSpan(_headAt, count).CopyTo(buffer);
            _headAt += count;
            _markup.Scan(buffer[..count]);
            return count;
        }

        var read = _package.Read(buffer);
        Count(read);
        _markup.Scan(buffer[..read]);
        return read;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>
    /// Real senders put a few stray bytes before the XML declaration. They are skipped only when <c>&lt;?xml</c>
    /// follows within <see cref="MaxStrayPrefix"/> bytes and nothing before it looks like markup.
    /// </summary>
    private static int StrayPrefixLength(ReadOnlySpan<byte> head)
    {
        if (head.IsEmpty || head[0] is (byte)'<' or 0xEF or 0xFE or 0xFF)
        {
            return 0;
        }

        var start = head.IndexOf("<?xml"u8);
        return start > 0 && head[..start].IndexOf((byte)'<') < 0 ? start : 0;
    }

    private static EdxmlException Empty() => new(ReasonCode.PackageInvalid, "The package is empty.");

    private void Count(int read)
    {
        _read += read;
        if (_read > _limit)
        {
            throw new EdxmlException(
                ReasonCode.TooLarge,
                $"The package has more than {_limit} bytes (EdxmlLimits.MaxPackageBytes).");
        }
    }
}
