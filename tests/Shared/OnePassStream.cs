namespace Exchange.Tests.Shared;

/// <summary>
/// Wraps a stream so that it looks like a network or database read: not seekable, no length, and handing out at most
/// <paramref name="maxRead"/> bytes per call. Counts what was read, so a test can show the input was read once, to its end.
/// </summary>
internal sealed class OnePassStream(Stream inner, int maxRead = 7_919) : Stream
{
    private bool _disposed;

    public long BytesRead { get; private set; }

    public override bool CanRead => !_disposed;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public static OnePassStream Over(byte[] bytes, int maxRead = 7_919) => new(new MemoryStream(bytes, writable: false), maxRead);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var read = inner.Read(buffer[..Math.Min(buffer.Length, maxRead)]);
        BytesRead += read;
        return read;
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
            inner.Dispose();
            _disposed = true;
        }

        base.Dispose(disposing);
    }
}
