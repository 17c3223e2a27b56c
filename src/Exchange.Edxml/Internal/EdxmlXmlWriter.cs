using System.Text;
using System.Xml;
using Exchange.Core;
using static Exchange.Edxml.Internal.EdxmlNames;

namespace Exchange.Edxml.Internal;

/// <summary>
/// Writes edXML the way the shared samples look: <c>&lt;?xml version="1.0" encoding="UTF-8"?&gt;</c>, the default
/// namespace on <c>edXML</c>, the <c>edXML:</c> prefix inside the envelope, two-space indentation, LF line ends,
/// UTF-8 without BOM. Output depends only on the input (no clock, no random ids), so the same package always
/// gives the same bytes.
/// </summary>
internal sealed class EdxmlXmlWriter : IDisposable
{
    private static readonly byte[] Declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"u8.ToArray();

    private static readonly XmlWriterSettings Settings = new()
    {
        Encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false),
        Indent = true,
        IndentChars = "  ",
        NewLineChars = "\n",
        NewLineHandling = NewLineHandling.Entitize, // a CR in a field survives the round trip as &#xD;
        OmitXmlDeclaration = true,
        CloseOutput = false,
        CheckCharacters = true,
        ConformanceLevel = ConformanceLevel.Document,
    };

    private readonly XmlWriter _xml;
    private readonly EdxmlLimits? _limits;

    public EdxmlXmlWriter(Stream output, EdxmlLimits? limits)
    {
        output.Write(Declaration);
        _xml = XmlWriter.Create(output, Settings);
        _limits = limits;
    }

    public void StartRoot() => _xml.WriteStartElement(Root, Namespace);

    public void Start(string name) => _xml.WriteStartElement(Prefix, name, Namespace);

    /// <summary>Elements outside the envelope (AttachmentEncoded) are unprefixed in the samples: the default namespace.</summary>
    public void StartUnprefixed(string name) => _xml.WriteStartElement(name, Namespace);

    public void Attribute(string name, string value) => _xml.WriteAttributeString(name, value);

    public void End() => _xml.WriteEndElement();

    public void Text(string name, string? value, bool prefixed = true)
    {
        if (value is null)
        {
            return;
        }

        Check(name, value);
        if (prefixed)
        {
            Start(name);
        }
        else
        {
            StartUnprefixed(name);
        }

        _xml.WriteString(value);
        End();
    }

    public void Date(string name, DateOnly? value)
    {
        if (value is { } date)
        {
            Text(name, EdxmlValues.FormatDate(date));
        }
    }

    public void Timestamp(string name, DateTimeOffset? value)
    {
        if (value is { } timestamp)
        {
            Text(name, EdxmlValues.FormatTimestamp(timestamp));
        }
    }

    public void Int(string name, int? value)
    {
        if (value is { } number)
        {
            Text(name, EdxmlValues.FormatInt(number));
        }
    }

    public void Bool(string name, bool? value)
    {
        if (value is { } flag)
        {
            Text(name, EdxmlValues.FormatBool(flag));
        }
    }

    /// <summary>Appends to the current element's base64, one unwrapped line as every sample has it; blocks whose
    /// lengths are multiples of 3 join without padding (RFC 4648 §4).</summary>
    public void Base64Block(byte[] buffer, int count) => _xml.WriteBase64(buffer, 0, count);

    /// <summary>
    /// Ends an element of base64: <c>&lt;x /&gt;</c> when it holds no bytes (how an empty attachment has always been
    /// written), with an end tag of its own when it does, even when its bytes were left out to measure the rest.
    /// </summary>
    public void EndBase64(bool holdsBytes)
    {
        if (holdsBytes)
        {
            _xml.WriteFullEndElement();
        }
        else
        {
            _xml.WriteEndElement();
        }
    }

    public void Dispose()
    {
        _xml.Flush();
        _xml.Dispose();
    }

    private void Check(string name, string value)
    {
        if (_limits is not null && value.Length > _limits.MaxFieldLength)
        {
            throw new EdxmlException(
                ReasonCode.TooLarge,
                $"{name} is {value.Length} characters long; the limit is {_limits.MaxFieldLength} (EdxmlLimits.MaxFieldLength).");
        }

        for (var i = 0; i < value.Length; i++)
        {
            if (XmlConvert.IsXmlChar(value[i]))
            {
                continue;
            }

            if (i + 1 < value.Length && XmlConvert.IsXmlSurrogatePair(value[i + 1], value[i]))
            {
                i++;
                continue;
            }

            throw new EdxmlException(
                ReasonCode.PackageInvalid,
                $"{name} has the character U+{(int)value[i]:X4} at position {i + 1}, which XML 1.0 cannot carry.");
        }
    }
}
