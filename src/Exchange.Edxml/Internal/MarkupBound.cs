using System.Buffers;
using Exchange.Core;

namespace Exchange.Edxml.Internal;

/// <summary>
/// Watches the package's bytes on their way to <see cref="System.Xml.XmlReader"/> and refuses, as <c>too-large</c>, any
/// stretch the reader would hold whole before the parser could look at it: a tag with its attributes (the reader keeps a
/// whole start tag in its buffer, so a 400 MB attribute value would be 800 MB of characters), a comment, a processing
/// instruction, a CDATA section or a DOCTYPE, and a run of white space (with character references, <c>&amp;#32;</c>)
/// in character data (the reader gathers leading white space into one string to decide whether a text node is only
/// white space). Text that is not white space is not bounded here: the parser reads it in chunks and stops at the
/// field's limit. Each such stretch may be <see cref="EdxmlLimits.MaxMarkupBytes"/> long; QCVN 102:2016's tags and the
/// indentation between them are a few dozen bytes.
/// </summary>
/// <remarks>
/// A byte-level scanner, ahead of the decoder, so that nothing is decoded to be measured. Zero bytes change no state:
/// in UTF-8 they are not XML and the reader refuses them; in UTF-16 they are the high bytes of ASCII characters, so the
/// same markup is recognised.
/// </remarks>
internal sealed class MarkupBound(long limit)
{
    private static readonly SearchValues<byte> TextSpecials = SearchValues.Create("<& \t\r\n\0"u8);
    private static readonly SearchValues<byte> TagSpecials = SearchValues.Create("\"'>"u8);

    private State _state = State.Text;
    private long _length;   // bytes of the current markup, or of the current run of white space
    private byte _quote;    // the quote a tag's attribute value opened
    private int _matched;   // bytes of "--" or "[CDATA[" matched after "<!"
    private bool _cdata;    // which of the two is being matched
    private byte _last1, _last2; // the last two bytes of a comment, PI or CDATA section, for its terminator

    private enum State
    {
        Text,
        Ampersand,
        CharRefHash,
        CharRefDigits,
        TagStart,
        Bang,
        Tag,
        Quoted,
        Comment,
        ProcessingInstruction,
        CData,
    }

    public void Scan(ReadOnlySpan<byte> bytes)
    {
        var i = 0;
        while (i < bytes.Length)
        {
            if (_state == State.Text)
            {
                var next = bytes[i..].IndexOfAny(TextSpecials);
                if (next != 0)
                {
                    _length = 0; // ordinary text ends a run of white space
                    if (next < 0)
                    {
                        return;
                    }

                    i += next;
                }
            }
            else if (_state is State.Tag)
            {
                var next = bytes[i..].IndexOfAny(TagSpecials);
                var skipped = next < 0 ? bytes.Length - i : next;
                Grow(skipped);
                if (next < 0)
                {
                    return;
                }

                i += next;
            }
            else if (_state is State.Quoted)
            {
                var next = bytes[i..].IndexOf(_quote);
                var skipped = next < 0 ? bytes.Length - i : next;
                Grow(skipped);
                if (next < 0)
                {
                    return;
                }

                i += next;
            }

            Step(bytes[i]);
            i++;
        }
    }

    private void Step(byte b)
    {
        if (b == 0)
        {
            Grow(1);
            return;
        }

        switch (_state)
        {
            case State.Text:
                if (b == (byte)'<')
                {
                    (_state, _length) = (State.TagStart, 0);
                }
                else if (b == (byte)'&')
                {
                    _state = State.Ampersand;
                }

                Grow(1);
                break;
            case State.Ampersand:
                Reference(b == (byte)'#', State.CharRefHash, b);
                break;
            case State.CharRefHash:
                Reference(b == (byte)'x' || char.IsAsciiDigit((char)b), State.CharRefDigits, b);
                break;
            case State.CharRefDigits:
                if (b == (byte)';')
                {
                    _state = State.Text;
                    Grow(1);
                }
                else
                {
                    Reference(char.IsAsciiHexDigit((char)b), State.CharRefDigits, b);
                }

                break;
            case State.TagStart:
                _state = b switch
                {
                    (byte)'!' => State.Bang,
                    (byte)'?' => State.ProcessingInstruction,
                    _ => State.Tag,
                };
                (_matched, _last1, _last2) = (0, 0, 0);
                Grow(1);
                if (_state == State.Tag)
                {
                    Tag(b);
                }

                break;
            case State.Bang:
                Grow(1);
                if (_matched == 0)
                {
                    _cdata = b == (byte)'[';
                }

                var opening = _cdata ? "[CDATA["u8 : "--"u8;
                if (b == opening[_matched])
                {
                    _matched++;
                    if (_matched == opening.Length)
                    {
                        _state = _cdata ? State.CData : State.Comment;
                    }
                }
                else
                {
                    _state = State.Tag; // a DOCTYPE or another declaration: the reader refuses it or reads it as a tag
                    Tag(b);
                }

                break;
            case State.Tag:
                Grow(1);
                Tag(b);
                break;
            case State.Quoted:
                Grow(1);
                if (b == _quote)
                {
                    _state = State.Tag;
                }

                break;
            case State.Comment:
            case State.ProcessingInstruction:
            case State.CData:
                Grow(1);
                var end = _state switch
                {
                    State.Comment => _last2 == (byte)'-' && _last1 == (byte)'-' && b == (byte)'>',
                    State.ProcessingInstruction => _last1 == (byte)'?' && b == (byte)'>',
                    _ => _last2 == (byte)']' && _last1 == (byte)']' && b == (byte)'>',
                };
                (_last2, _last1) = (_last1, b);
                if (end)
                {
                    (_state, _length) = (State.Text, 0);
                }

                break;
        }
    }

    private void Tag(byte b)
    {
        if (b is (byte)'"' or (byte)'\'')
        {
            (_state, _quote) = (State.Quoted, b);
        }
        else if (b == (byte)'>')
        {
            (_state, _length) = (State.Text, 0);
        }
    }

    /// <summary>A character reference goes on while it is one; anything else ends the run and is read as text.</summary>
    private void Reference(bool continues, State next, byte b)
    {
        if (continues)
        {
            _state = next;
            Grow(1);
            return;
        }

        (_state, _length) = (State.Text, 0);
        Step(b);
    }

    private void Grow(long bytes)
    {
        _length += bytes;
        if (_length > limit)
        {
            var what = _state switch
            {
                State.Text or State.Ampersand or State.CharRefHash or State.CharRefDigits => "a run of white space",
                State.Comment => "a comment",
                State.ProcessingInstruction => "a processing instruction",
                State.CData => "a CDATA section",
                _ => "a tag (with its attributes)",
            };
            throw new EdxmlException(
                ReasonCode.TooLarge,
                $"The package has {what} of more than {limit} bytes (EdxmlLimits.MaxMarkupBytes).");
        }
    }
}
