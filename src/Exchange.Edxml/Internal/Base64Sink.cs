using System.Buffers;

namespace Exchange.Edxml.Internal;

/// <summary>
/// Decodes <c>ContentTransferEncoded</c> text chunk by chunk, so that an attachment is never held as a string and the
/// decoded bytes are allocated once, at their exact size. Strict RFC 4648 base64 (padding required, nothing after it),
/// with whitespace allowed anywhere because senders wrap lines; the decoder in <see cref="System.Xml.XmlReader"/> is
/// too lenient for that (it silently drops a dangling character). Built with <c>keep: false</c> it checks and counts
/// without keeping anything: one scratch block is reused, so memory stays constant whatever the attachment's size.
/// </summary>
internal sealed class Base64Sink(bool keep = true) : IDisposable
{
    private const int BlockChars = 64 * 1024; // a multiple of 4
    private const int BlockBytes = BlockChars / 4 * 3;

    private static readonly SearchValues<char> Whitespace = SearchValues.Create(" \t\r\n");

    private readonly char[] _chars = ArrayPool<char>.Shared.Rent(BlockChars);
    private readonly List<(byte[] Bytes, int Length)> _blocks = [];
    private byte[]? _scratch;
    private int _pending;
    private long _accepted;
    private long _decoded;
    private bool _padded;

    /// <summary>Bytes decoded so far.</summary>
    public long DecodedLength => _decoded;

    /// <summary>Bytes the text added so far decodes to at least (padding can take off at most two).</summary>
    public long MinimumDecodedLength => _decoded + Math.Max(0, _pending / 4 * 3 - 2);

    /// <summary>Adds text; on failure <paramref name="error"/> says what is wrong.</summary>
    public bool TryAdd(ReadOnlySpan<char> text, out string error)
    {
        error = string.Empty;
        while (true)
        {
            var start = text.IndexOfAnyExcept(Whitespace);
            if (start < 0)
            {
                return true;
            }

            text = text[start..];
            var end = text.IndexOfAny(Whitespace);
            var run = end < 0 ? text : text[..end];
            text = end < 0 ? ReadOnlySpan<char>.Empty : text[end..];
            while (!run.IsEmpty)
            {
                if (_padded)
                {
                    error = $"has base64 data after the '=' padding (at character {_accepted + 1})";
                    return false;
                }

                var count = Math.Min(run.Length, BlockChars - _pending);
                run[..count].CopyTo(_chars.AsSpan(_pending));
                _pending += count;
                _accepted += count;
                run = run[count..];
                if (_pending == BlockChars && !TryFlush(out error))
                {
                    return false;
                }
            }
        }
    }

    /// <summary>Decodes what is left and returns the bytes; fails when the text ends inside a 4-character group.</summary>
    public bool TryFinish(out byte[] content, out string error)
    {
        content = [];
        if (_pending % 4 != 0)
        {
            error = $"is not valid base64: {_accepted} characters is not a multiple of 4 (truncated?)";
            return false;
        }

        if (!TryFlush(out error))
        {
            return false;
        }

        if (!keep)
        {
            return true;
        }

        content = new byte[_decoded];
        var at = 0;
        foreach (var (bytes, length) in _blocks)
        {
            bytes.AsSpan(0, length).CopyTo(content.AsSpan(at));
            at += length;
        }

        return true;
    }

    public void Dispose()
    {
        ArrayPool<char>.Shared.Return(_chars);
        if (_scratch is not null)
        {
            ArrayPool<byte>.Shared.Return(_scratch);
        }

        foreach (var (bytes, _) in _blocks)
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }

        _blocks.Clear();
    }

    private bool TryFlush(out string error)
    {
        error = string.Empty;
        if (_pending == 0)
        {
            return true;
        }

        var block = _chars.AsSpan(0, _pending);
        var bytes = keep ? ArrayPool<byte>.Shared.Rent(BlockBytes) : _scratch ??= ArrayPool<byte>.Shared.Rent(BlockBytes);
        if (!Convert.TryFromBase64Chars(block, bytes, out var written))
        {
            if (keep)
            {
                ArrayPool<byte>.Shared.Return(bytes);
            }

            error = $"is not valid base64 (a character outside A-Z a-z 0-9 + / =, or a misplaced '=', between characters {_accepted - _pending + 1} and {_accepted})";
            return false;
        }

        if (keep)
        {
            _blocks.Add((bytes, written));
        }

        _decoded += written;
        _padded = block[^1] == '=';
        _pending = 0;
        return true;
    }
}
