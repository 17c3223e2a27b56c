namespace Exchange.Edxml.Internal;

/// <summary>
/// Passes writes on to an output and counts them, so that a writer can say how many bytes it wrote to a stream that
/// cannot tell (a socket, a database import). <see cref="Detach"/> drops whatever is written afterwards.
/// </summary>
internal sealed class CountingStream(Stream output) : Stream
{
    private bool _detached;

    public long Written { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <summary>From now on writes go nowhere: what a failed writer flushes while it is disposed must not reach the output.</summary>
    public void Detach() => _detached = true;

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_detached)
        {
            return;
        }

        output.Write(buffer);
        Written += buffer.Length;
    }

    public override void Flush()
    {
        if (!_detached)
        {
            output.Flush();
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}
