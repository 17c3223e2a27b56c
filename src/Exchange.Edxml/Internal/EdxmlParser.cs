using System.Buffers;
using System.Collections.Frozen;
using System.Runtime.InteropServices;
using System.Text;
using System.Xml;
using Exchange.Core;
using static Exchange.Edxml.Internal.EdxmlNames;

namespace Exchange.Edxml.Internal;

/// <summary>What the parser does with an attachment's base64 body.</summary>
internal enum AttachmentBodies
{
    /// <summary>Skipped without building a string: reading a header costs little more than scanning the bytes.</summary>
    Skip,

    /// <summary>Decoded block by block into a scratch buffer and dropped: the base64 and the size limit are checked in
    /// constant memory, and nothing is kept (the hub checks what it carries this way; it never keeps or opens attachments).</summary>
    Check,

    /// <summary>Decoded and kept.</summary>
    Decode,
}

/// <summary>
/// One forward pass over a package with <see cref="XmlReader"/>: DTDs prohibited, no resolver, size-capped. Elements
/// are matched by local name in the edXML namespace (or none), in any order; an element QCVN 102:2016 does not define
/// where it stands is refused (<see cref="Defined"/>), and so is any element of another namespace but the XML-DSig
/// <c>Signature</c> in <c>edXMLHeader</c>, which is skipped whole (<see cref="NextChild"/>). Attachment bodies are handled as <see cref="AttachmentBodies"/> says.
/// </summary>
internal sealed class EdxmlParser
{
    private const int ChunkChars = 16 * 1024;

    /// <summary>
    /// The elements QCVN 102:2016/BTTTT defines in its namespace, as the children each element may have: the only
    /// place where the parser decides what a package may contain. An element of the edXML namespace (or of none, which
    /// the parser reads as edXML) that is not listed under its parent is refused as <c>package-invalid</c>, naming its
    /// path: a package that is not the standard's shape is not one to carry, and a recipient's document system would
    /// otherwise receive elements the sender thought were read. That covers an <c>Attachment</c> outside
    /// <c>AttachmentEncoded</c>, where nobody would decode it. Elements of other namespaces are refused too, but for the
    /// XML-DSig <c>Signature</c> in <c>edXMLHeader</c>, in either namespace, which is skipped whole (its children are
    /// XML-DSig's, not edXML's; see <see cref="NextChild"/>). The set is what the samples of the national axis carry
    /// (tests/Exchange.Edxml.Tests/samples) and schemas/edxml/README.md describes; the correct spelling <c>Business…</c>
    /// is accepted beside QCVN's <c>Bussiness…</c>. Leaves (text elements) are not listed: their children are refused by
    /// the text reader.
    /// </summary>
    private static readonly FrozenDictionary<string, FrozenSet<string>> Defined = new Dictionary<string, string[]>
    {
        [Root] = [Envelope, AttachmentEncoded],
        [Envelope] = [Header, Body],
        [Header] = [MessageHeader, TraceHeaderList, Signature],
        [MessageHeader] =
        [
            From, To, DocumentId, Code, PromulgationInfo, DocumentType, Subject, Content, SignerInfo, DueDate, ToPlaces,
            OtherInfo, ResponseFor, SteeringType, StaffInfo, EdxmlNames.StatusCode, Description, Timestamp,
        ],
        [From] = Organisation,
        [To] = Organisation,
        [Code] = [CodeNumber, CodeNotation],
        [PromulgationInfo] = [Place, PromulgationDate],
        [DocumentType] = [EdxmlNames.Type, TypeDetail, TypeName],
        [SignerInfo] = [Competence, Position, FullName],
        [ToPlaces] = [Place],
        [OtherInfo] = [Priority, SphereOfPromulgation, TyperNotation, PromulgationAmount, PageAmount, Direction, Appendixes],
        [Appendixes] = [Appendix],
        [ResponseFor] = [OrganId, Code, PromulgationDate, DocumentId],
        [StaffInfo] = [Department, Staff, Email, Mobile],
        [TraceHeaderList] = [TraceHeader, Bussiness, Business],
        [TraceHeader] = [OrganId, Timestamp],
        [Bussiness] = BusinessBlock,
        [Business] = BusinessBlock,
        [BussinessDocumentInfo] = BusinessDocumentInfoBlock,
        [BusinessDocumentInfo] = BusinessDocumentInfoBlock,
        [ReceiverList] = [Receiver],
        [Receiver] = [OrganId, ReceiverType],
        [ReplacementInfoList] = [ReplacementInfo],
        [ReplacementInfo] = [DocumentId, OrganIdList],
        [OrganIdList] = [OrganId],
        [Body] = [Manifest],
        [Manifest] = [Reference],
        [Reference] = [ContentId, ContentType, Description, AttachmentName],
        [AttachmentEncoded] = [Attachment],
        [Attachment] = [ContentId, AttachmentName, Description, ContentType, ContentTransferEncoded],
    }.ToFrozenDictionary(e => e.Key, e => e.Value.ToFrozenSet(StringComparer.Ordinal), StringComparer.Ordinal);

    private static string[] Organisation => [OrganId, OrganizationInCharge, OrganName, OrganAdd, Email, Telephone, Fax, Website];

    private static string[] BusinessBlock =>
    [
        DocumentId, BussinessDocType, EdxmlNames.BusinessDocType, BussinessDocReason, BusinessDocReason, Paper, StaffInfo,
        BussinessDocumentInfo, BusinessDocumentInfo, ReplacementInfoList,
    ];

    private static string[] BusinessDocumentInfoBlock => [DocumentInfo, DocumentReceiver, ReceiverList];

    private readonly XmlReader _reader;
    private readonly EdxmlLimits _limits;
    private readonly AttachmentBodies _bodies;
    private readonly List<string> _path = new(8);
    private readonly RawMessage _message = new();

    private EdxmlParser(XmlReader reader, EdxmlLimits limits, AttachmentBodies bodies)
    {
        _reader = reader;
        _limits = limits;
        _bodies = bodies;
    }

    /// <summary>The XPath-like path of the element entered last (<c>/edXML/edXMLEnvelope/…</c>), attachments numbered.</summary>
    private string Where => "/" + string.Join('/', _path);

    /// <summary>The local name of the element entered last, without an attachment's number (<c>Attachment[2]</c>).</summary>
    private string Parent
    {
        get
        {
            if (_path.Count == 0)
            {
                return string.Empty;
            }

            var last = _path[^1];
            var number = last.IndexOf('[', StringComparison.Ordinal);
            return number > 0 ? last[..number] : last;
        }
    }

    /// <summary>" at line n, position m" of the reader's node, when the reader knows it.</summary>
    private string At => _reader is IXmlLineInfo info && info.HasLineInfo()
        ? FormattableString.Invariant($" at line {info.LineNumber}, position {info.LinePosition}")
        : string.Empty;

    private string Inside => _path.Count == 0 ? string.Empty : $" (inside {Where})";

    public static RawMessage Parse(ReadOnlyMemory<byte> package, EdxmlLimits? limits, AttachmentBodies bodies)
    {
        using var stream = MemoryMarshal.TryGetArray(package, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(package.ToArray(), writable: false);
        return Parse(stream, limits, bodies);
    }

    /// <summary>
    /// Parses a package read from <paramref name="package"/> once, front to back, in memory bounded by the limits rather
    /// than by the package: what the byte overloads do too, through a <see cref="MemoryStream"/>.
    /// </summary>
    public static RawMessage Parse(Stream package, EdxmlLimits? limits, AttachmentBodies bodies)
    {
        limits ??= EdxmlLimits.Default;
        using var input = PackageInputStream.Open(package, limits.MaxPackageBytes, limits.MaxMarkupBytes);
        using var reader = XmlReader.Create(input, CreateSettings(limits), CreateContext());
        var parser = new EdxmlParser(reader, limits, bodies);
        try
        {
            parser.ParseDocument();
            return parser._message;
        }
        catch (XmlException e) when (e.Message.Contains("MaxCharactersInDocument", StringComparison.Ordinal))
        {
            throw new EdxmlException(
                ReasonCode.TooLarge,
                $"The package has more than {limits.MaxPackageBytes} characters (EdxmlLimits.MaxPackageBytes).",
                e);
        }
        catch (XmlException e)
        {
            // The path is that of the element open where the XML broke, as far as the parser had entered it.
            var at = e.LineNumber > 0 ? FormattableString.Invariant($" at line {e.LineNumber}, position {e.LinePosition}") : string.Empty;
            throw new EdxmlException(ReasonCode.PackageInvalid, $"The package is not well-formed XML{at}{parser.Inside}: {e.Message}", e);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or OverflowException or ArgumentException or DecoderFallbackException)
        {
            throw new EdxmlException(ReasonCode.PackageInvalid, $"The package cannot be read{parser.Inside}: {e.Message}", e);
        }
    }

    private static XmlReaderSettings CreateSettings(EdxmlLimits limits) => new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        MaxCharactersInDocument = limits.MaxPackageBytes,
        MaxCharactersFromEntities = 1024,
        CheckCharacters = true,
        IgnoreComments = true,
        IgnoreProcessingInstructions = true,
        IgnoreWhitespace = true,
        ConformanceLevel = ConformanceLevel.Document,
        CloseInput = true,
    };

    /// <summary>
    /// Pre-binds the prefixes real packages use without declaring them: edoc.edxml writes <c>xlink:href</c> with no
    /// <c>xmlns:xlink</c>, and <c>edXML:AttachmentEncoded</c> outside the element that declares <c>xmlns:edXML</c>.
    /// A package's own declarations still take precedence; namespace checking stays on for everything else.
    /// </summary>
    private static XmlParserContext CreateContext()
    {
        var names = new NameTable();
        var namespaces = new XmlNamespaceManager(names);
        namespaces.AddNamespace(Prefix, Namespace);
        namespaces.AddNamespace("xlink", XlinkNamespace);
        return new XmlParserContext(names, namespaces, xmlLang: null, XmlSpace.None);
    }

    private void ParseDocument()
    {
        if (_reader.MoveToContent() != XmlNodeType.Element)
        {
            throw Invalid("The package has no root element.");
        }

        if (_reader.LocalName != Root || _reader.NamespaceURI != Namespace)
        {
            var ns = _reader.NamespaceURI.Length == 0 ? "no namespace" : $"namespace '{_reader.NamespaceURI}'";
            throw Invalid($"The root element is <{_reader.Name}> in {ns}; an edXML package has <edXML xmlns=\"{Namespace}\">.");
        }

        var seen = new List<string>(2);
        if (Enter())
        {
            while (NextChild())
            {
                switch (_reader.LocalName)
                {
                    case Envelope:
                        Single(seen);
                        ParseEnvelope();
                        break;
                    case AttachmentEncoded:
                        ParseAttachmentEncoded();
                        break;
                    default:
                        _reader.Skip();
                        break;
                }
            }
        }

        // Read to the end, so that a truncated package or anything after the root element is refused.
        while (_reader.Read())
        {
        }
    }

    private void ParseEnvelope()
    {
        _message.HasEnvelope = true;
        var seen = new List<string>(2);
        if (!Enter())
        {
            return;
        }

        while (NextChild())
        {
            switch (_reader.LocalName)
            {
                case Header:
                    Single(seen);
                    ParseHeaderBlock();
                    break;
                case Body:
                    Single(seen);
                    ParseBody();
                    break;
                default:
                    _reader.Skip();
                    break;
            }
        }
    }

    private void ParseHeaderBlock()
    {
        _message.HasHeader = true;
        var seen = new List<string>(2);
        if (!Enter())
        {
            return;
        }

        while (NextChild())
        {
            switch (_reader.LocalName)
            {
                case MessageHeader:
                    Single(seen);
                    ParseMessageHeader();
                    break;
                case TraceHeaderList:
                    Single(seen);
                    ParseTraceHeaderList();
                    break;
                default:
                    _reader.Skip(); // Signature (XML-DSig placeholders in the samples), anything newer
                    break;
            }
        }
    }

    private void ParseMessageHeader()
    {
        _message.HasMessageHeader = true;
        var m = _message;
        var seen = new List<string>(24);
        if (!Enter())
        {
            return;
        }

        while (NextChild())
        {
            switch (_reader.LocalName)
            {
                case From:
                    Single(seen);
                    m.From = ReadOrganisation();
                    break;
                case To:
                    CheckCount(m.To.Count, _limits.MaxRecipients, nameof(EdxmlLimits.MaxRecipients));
                    m.To.Add(ReadOrganisation());
                    break;
                case DocumentId:
                    Single(seen);
                    m.DocumentId = ReadOptional();
                    break;
                case Code:
                    Single(seen);
                    ParseCode();
                    break;
                case PromulgationInfo:
                    Single(seen);
                    ParsePromulgationInfo();
                    break;
                case DocumentType:
                    Single(seen);
                    ParseDocumentType();
                    break;
                case Subject:
                    Single(seen);
                    m.Subject = ReadText();
                    break;
                case Content:
                    Single(seen);
                    m.Content = ReadOptional();
                    break;
                case SignerInfo:
                    Single(seen);
                    ParseSignerInfo();
                    break;
                case DueDate:
                    Single(seen);
                    m.DueDate = ReadDate();
                    break;
                case ToPlaces:
                    Single(seen);
                    ReadList(Place, m.ToPlaces);
                    break;
                case OtherInfo:
                    Single(seen);
                    ParseOtherInfo();
                    break;
                case ResponseFor:
                    CheckCount(m.ResponseFor.Count, _limits.MaxRecipients, nameof(EdxmlLimits.MaxRecipients));
                    m.ResponseFor.Add(ReadResponseFor());
                    break;
                case SteeringType:
                    Single(seen);
                    m.SteeringType = ReadInt();
                    break;
                case StaffInfo:
                    Single(seen);
                    m.Staff = ReadStaff();
                    break;
                case EdxmlNames.StatusCode:
                    Single(seen);
                    m.StatusCode = ReadStatusCode();
                    break;
                case Description:
                    Single(seen);
                    m.Description = ReadOptional();
                    break;
                case Timestamp:
                    Single(seen);
                    m.Timestamp = ReadTimestamp();
                    break;
                default:
                    _reader.Skip();
                    break;
            }
        }
    }

    private EdxmlOrganisation ReadOrganisation()
    {
        string? organId = null, name = null, inCharge = null, address = null, email = null, telephone = null, fax = null, website = null;
        var seen = new List<string>(8);
        if (Enter())
        {
            while (NextChild())
            {
                switch (_reader.LocalName)
                {
                    case OrganId:
                        Single(seen);
                        organId = ReadText();
                        break;
                    case OrganName:
                        Single(seen);
                        name = ReadOptional();
                        break;
                    case OrganizationInCharge:
                        Single(seen);
                        inCharge = ReadOptional();
                        break;
                    case OrganAdd:
                        Single(seen);
                        address = ReadOptional();
                        break;
                    case Email:
                        Single(seen);
                        email = ReadOptional();
                        break;
                    case Telephone:
                        Single(seen);
                        telephone = ReadOptional();
                        break;
                    case Fax:
                        Single(seen);
                        fax = ReadOptional();
                        break;
                    case Website:
                        Single(seen);
                        website = ReadOptional();
                        break;
                    default:
                        _reader.Skip();
                        break;
                }
            }
        }

        return new EdxmlOrganisation(organId ?? string.Empty, name, inCharge, address, email, telephone, fax, website);
    }

    private void ParseCode() => ReadFields(
        (CodeNumber, () => _message.CodeNumber = ReadOptional()),
        (CodeNotation, () => _message.CodeNotation = ReadOptional()));

    private void ParsePromulgationInfo() => ReadFields(
        (Place, () => _message.PromulgationPlace = ReadOptional()),
        (PromulgationDate, () => _message.PromulgationDate = ReadDate()));

    private void ParseDocumentType() => ReadFields(
        (EdxmlNames.Type, () => _message.DocumentTypeCode = ReadInt()),
        (TypeDetail, () => _message.DocumentTypeDetail = ReadInt()),
        (TypeName, () => _message.DocumentTypeName = ReadOptional()));

    private void ParseSignerInfo() => ReadFields(
        (Competence, () => _message.SignerCompetence = ReadOptional()),
        (Position, () => _message.SignerPosition = ReadOptional()),
        (FullName, () => _message.SignerFullName = ReadOptional()));

    private void ParseOtherInfo()
    {
        var m = _message;
        var seen = new List<string>(8);
        if (!Enter())
        {
            return;
        }

        while (NextChild())
        {
            switch (_reader.LocalName)
            {
                case Priority:
                    Single(seen);
                    m.Priority = ReadInt();
                    break;
                case SphereOfPromulgation:
                    Single(seen);
                    m.SphereOfPromulgation = ReadOptional();
                    break;
                case TyperNotation:
                    Single(seen);
                    m.TyperNotation = ReadOptional();
                    break;
                case PromulgationAmount:
                    Single(seen);
                    m.PromulgationAmount = ReadInt();
                    break;
                case PageAmount:
                    Single(seen);
                    m.PageAmount = ReadInt();
                    break;
                case Direction:
                    Single(seen);
                    m.Direction = ReadBool();
                    break;
                case Appendixes:
                    Single(seen);
                    ReadList(Appendix, m.Appendixes);
                    break;
                default:
                    _reader.Skip();
                    break;
            }
        }
    }

    private RawResponseFor ReadResponseFor()
    {
        string? organId = null, code = null, documentId = null;
        DateOnly? date = null;
        var seen = new List<string>(4);
        if (Enter())
        {
            while (NextChild())
            {
                switch (_reader.LocalName)
                {
                    case OrganId:
                        Single(seen);
                        organId = ReadOptional();
                        break;
                    case Code:
                        Single(seen);
                        code = ReadOptional();
                        break;
                    case PromulgationDate:
                        Single(seen);
                        date = ReadDate();
                        break;
                    case DocumentId:
                        Single(seen);
                        documentId = ReadOptional();
                        break;
                    default:
                        _reader.Skip();
                        break;
                }
            }
        }

        return new RawResponseFor(organId, code, date, documentId);
    }

    private EdxmlStaffInfo? ReadStaff()
    {
        string? department = null, staff = null, email = null, mobile = null;
        var seen = new List<string>(4);
        if (Enter())
        {
            while (NextChild())
            {
                switch (_reader.LocalName)
                {
                    case Department:
                        Single(seen);
                        department = ReadOptional();
                        break;
                    case Staff:
                        Single(seen);
                        staff = ReadOptional();
                        break;
                    case Email:
                        Single(seen);
                        email = ReadOptional();
                        break;
                    case Mobile:
                        Single(seen);
                        mobile = ReadOptional();
                        break;
                    default:
                        _reader.Skip();
                        break;
                }
            }
        }

        return department is null && staff is null && email is null && mobile is null
            ? null
            : new EdxmlStaffInfo(department, staff, email, mobile);
    }

    private StatusCode ReadStatusCode()
    {
        var name = _reader.LocalName;
        var text = ReadText();
        if (text.Length is 0 or > 3 || !text.All(char.IsAsciiDigit))
        {
            throw Invalid($"{Where}/{name} '{text}' is not a two-digit status code.");
        }

        var value = int.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        return Enum.IsDefined((StatusCode)value)
            ? (StatusCode)value
            : throw Invalid($"{Where}/{name} '{text}' is not a status edXML defines (01-06, 13, 15, 16).");
    }

    private void ParseTraceHeaderList()
    {
        var seen = new List<string>(1);
        if (!Enter())
        {
            return;
        }

        while (NextChild())
        {
            switch (_reader.LocalName)
            {
                case TraceHeader:
                    CheckCount(_message.Trace.Count, _limits.MaxRecipients, nameof(EdxmlLimits.MaxRecipients));
                    _message.Trace.Add(ReadTraceHeader());
                    break;
                case Bussiness or Business:
                    Single(seen, Bussiness);
                    ParseBusiness();
                    break;
                default:
                    _reader.Skip();
                    break;
            }
        }
    }

    private EdxmlTraceEntry ReadTraceHeader()
    {
        string? organId = null;
        DateTimeOffset? timestamp = null;
        var seen = new List<string>(2);
        if (Enter())
        {
            while (NextChild())
            {
                switch (_reader.LocalName)
                {
                    case OrganId:
                        Single(seen);
                        organId = ReadText();
                        break;
                    case Timestamp:
                        Single(seen);
                        timestamp = ReadTimestamp();
                        break;
                    default:
                        _reader.Skip();
                        break;
                }
            }
        }

        return new EdxmlTraceEntry(organId ?? string.Empty, timestamp);
    }

    private void ParseBusiness()
    {
        var m = _message;
        var seen = new List<string>(8);
        if (!Enter())
        {
            return;
        }

        while (NextChild())
        {
            switch (_reader.LocalName)
            {
                case DocumentId:
                    Single(seen);
                    m.BusinessDocumentId = ReadOptional();
                    break;
                case BussinessDocType or EdxmlNames.BusinessDocType:
                    Single(seen, BussinessDocType);
                    m.BusinessDocType = ReadBusinessDocType();
                    break;
                case BussinessDocReason or BusinessDocReason:
                    Single(seen, BussinessDocReason);
                    m.BusinessDocReason = ReadOptional();
                    break;
                case Paper:
                    Single(seen);
                    m.Paper = ReadInt();
                    break;
                case StaffInfo:
                    Single(seen);
                    m.BusinessStaff = ReadStaff();
                    break;
                case BussinessDocumentInfo or BusinessDocumentInfo:
                    Single(seen, BussinessDocumentInfo);
                    m.Update = ReadBusinessUpdate();
                    break;
                case ReplacementInfoList:
                    Single(seen);
                    ParseReplacements();
                    break;
                default:
                    _reader.Skip();
                    break;
            }
        }
    }

    private BusinessDocType ReadBusinessDocType()
    {
        var name = _reader.LocalName;
        var value = ReadInt();
        return value switch
        {
            null => BusinessDocType.New,
            >= 0 and <= 3 => (BusinessDocType)value.Value,
            _ => throw Invalid($"{Where}/{name} '{value}' is not 0 (new), 1 (revocation), 2 (update) or 3 (replacement)."),
        };
    }

    private EdxmlBusinessUpdate ReadBusinessUpdate()
    {
        int? documentInfo = null, documentReceiver = null;
        var receivers = new List<EdxmlReceiver>();
        var seen = new List<string>(3);
        if (Enter())
        {
            while (NextChild())
            {
                switch (_reader.LocalName)
                {
                    case DocumentInfo:
                        Single(seen);
                        documentInfo = ReadInt();
                        break;
                    case DocumentReceiver:
                        Single(seen);
                        documentReceiver = ReadInt();
                        break;
                    case ReceiverList:
                        Single(seen);
                        ParseReceivers(receivers);
                        break;
                    default:
                        _reader.Skip();
                        break;
                }
            }
        }

        return new EdxmlBusinessUpdate(documentInfo, documentReceiver, receivers);
    }

    private void ParseReceivers(List<EdxmlReceiver> receivers)
    {
        if (!Enter())
        {
            return;
        }

        while (NextChild())
        {
            if (_reader.LocalName != Receiver)
            {
                _reader.Skip();
                continue;
            }

            CheckCount(receivers.Count, _limits.MaxRecipients, nameof(EdxmlLimits.MaxRecipients));
            string? organId = null;
            int? type = null;
            var seen = new List<string>(2);
            if (!Enter())
            {
                receivers.Add(new EdxmlReceiver(string.Empty, null));
                continue;
            }

            while (NextChild())
            {
                switch (_reader.LocalName)
                {
                    case OrganId:
                        Single(seen);
                        organId = ReadText();
                        break;
                    case ReceiverType:
                        Single(seen);
                        type = ReadInt();
                        break;
                    default:
                        _reader.Skip();
                        break;
                }
            }

            receivers.Add(new EdxmlReceiver(organId ?? string.Empty, type));
        }
    }

    private void ParseReplacements()
    {
        if (!Enter())
        {
            return;
        }

        while (NextChild())
        {
            if (_reader.LocalName != ReplacementInfo)
            {
                _reader.Skip();
                continue;
            }

            CheckCount(_message.Replacements.Count, _limits.MaxRecipients, nameof(EdxmlLimits.MaxRecipients));
            string? documentId = null;
            var organIds = new List<string>();
            var seen = new List<string>(2);
            if (Enter())
            {
                while (NextChild())
                {
                    switch (_reader.LocalName)
                    {
                        case DocumentId:
                            Single(seen);
                            documentId = ReadText();
                            break;
                        case OrganIdList:
                            Single(seen);
                            ReadList(OrganId, organIds);
                            break;
                        default:
                            _reader.Skip();
                            break;
                    }
                }
            }

            _message.Replacements.Add(new EdxmlReplacement(documentId ?? string.Empty, organIds));
        }
    }

    private void ParseBody()
    {
        if (!Enter())
        {
            return;
        }

        while (NextChild())
        {
            if (_reader.LocalName != Manifest)
            {
                _reader.Skip();
                continue;
            }

            if (!Enter())
            {
                continue;
            }

            while (NextChild())
            {
                if (_reader.LocalName != Reference)
                {
                    _reader.Skip();
                    continue;
                }

                CheckCount(_message.Manifest.Count, _limits.MaxAttachments, nameof(EdxmlLimits.MaxAttachments));
                _message.Manifest.Add(ReadReference());
            }
        }
    }

    private RawReference ReadReference()
    {
        string? contentId = null, contentType = null, description = null, name = null;
        var seen = new List<string>(4);
        if (Enter())
        {
            while (NextChild())
            {
                switch (_reader.LocalName)
                {
                    case ContentId:
                        Single(seen);
                        contentId = ReadOptional();
                        break;
                    case ContentType:
                        Single(seen);
                        contentType = ReadOptional();
                        break;
                    case Description:
                        Single(seen);
                        description = ReadOptional();
                        break;
                    case AttachmentName:
                        Single(seen);
                        name = ReadFileName();
                        break;
                    default:
                        _reader.Skip();
                        break;
                }
            }
        }

        return new RawReference(contentId, contentType, description, name);
    }

    private void ParseAttachmentEncoded()
    {
        if (!Enter())
        {
            return;
        }

        while (NextChild())
        {
            if (_reader.LocalName != Attachment)
            {
                _reader.Skip();
                continue;
            }

            CheckCount(_message.Attachments.Count, _limits.MaxAttachments, nameof(EdxmlLimits.MaxAttachments));
            var attachment = new RawAttachment(_message.Attachments.Count + 1);
            _message.Attachments.Add(attachment);
            ParseAttachment(attachment);
        }
    }

    private void ParseAttachment(RawAttachment attachment)
    {
        var seen = new List<string>(5);
        if (!Enter())
        {
            return;
        }

        _path[^1] = $"{Attachment}[{attachment.Number}]";
        while (NextChild())
        {
            switch (_reader.LocalName)
            {
                case ContentId:
                    Single(seen);
                    attachment.ContentId = ReadOptional();
                    break;
                case AttachmentName:
                    Single(seen);
                    attachment.Name = ReadFileName();
                    break;
                case Description:
                    Single(seen);
                    attachment.Description = ReadOptional();
                    break;
                case ContentType:
                    Single(seen);
                    attachment.ContentType = ReadOptional();
                    break;
                case ContentTransferEncoded:
                    Single(seen);
                    attachment.HasContent = true;
                    switch (_bodies)
                    {
                        case AttachmentBodies.Decode:
                            attachment.Content = ReadBase64(keep: true);
                            break;
                        case AttachmentBodies.Check:
                            ReadBase64(keep: false);
                            break;
                        default:
                            Skip();
                            break;
                    }

                    break;
                default:
                    _reader.Skip();
                    break;
            }
        }
    }

    /// <summary>Decodes the current element's base64 text; with <paramref name="keep"/> false the bytes are counted, not kept.</summary>
    private byte[] ReadBase64(bool keep)
    {
        var name = _reader.LocalName;
        if (_reader.IsEmptyElement)
        {
            _reader.Read();
            return [];
        }

        _path.Add(name);
        _reader.Read();
        using var sink = new Base64Sink(keep);
        var buffer = ArrayPool<char>.Shared.Rent(ChunkChars);
        try
        {
            string error;
            while (_reader.NodeType != XmlNodeType.EndElement)
            {
                switch (_reader.NodeType)
                {
                    case XmlNodeType.Text or XmlNodeType.CDATA or XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace:
                        int read;
                        while ((read = _reader.ReadValueChunk(buffer, 0, buffer.Length)) > 0)
                        {
                            if (!sink.TryAdd(buffer.AsSpan(0, read), out error))
                            {
                                throw Invalid($"{Where} {error}.");
                            }

                            CheckAttachmentSize(sink.MinimumDecodedLength);
                        }

                        _reader.Read();
                        break;
                    case XmlNodeType.Element:
                        throw Invalid($"{Where} holds an element <{_reader.Name}>; it must hold only base64 text.");
                    case XmlNodeType.None:
                        throw Invalid($"The package ends inside {Where}.");
                    default:
                        _reader.Read();
                        break;
                }
            }

            if (!sink.TryFinish(out var content, out error))
            {
                throw Invalid($"{Where} {error}.");
            }

            CheckAttachmentSize(sink.DecodedLength);

            _path.RemoveAt(_path.Count - 1);
            _reader.Read();
            return content;
        }
        finally
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    private void CheckAttachmentSize(long decoded)
    {
        if (decoded > _limits.MaxAttachmentBytes)
        {
            throw new EdxmlException(
                ReasonCode.TooLarge,
                $"{Where} holds more than {_limits.MaxAttachmentBytes} bytes (EdxmlLimits.MaxAttachmentBytes).");
        }
    }

    /// <summary>
    /// An attachment name is a file name, not a path: recipients' document systems save attachments under it, so a
    /// name with a directory separator (<c>../../etc/passwd</c>, <c>C:\Windows\x.dll</c>, <c>/etc/passwd</c>) or that is
    /// <c>.</c> or <c>..</c> is refused rather than cleaned, and the sender learns which one.
    /// </summary>
    private string? ReadFileName()
    {
        var name = _reader.LocalName;
        var value = ReadOptional();
        return value is null || EdxmlValues.IsPlainFileName(value, out var problem)
            ? value
            : throw Invalid($"{Where}/{name} '{Untrusted.Quote(value)}' is not a plain file name: {problem}.");
    }

    /// <summary>Skips the current element whole, with its name on the path meanwhile, so that a package broken inside it says where.</summary>
    private void Skip()
    {
        _path.Add(_reader.LocalName);
        _reader.Skip();
        _path.RemoveAt(_path.Count - 1);
    }

    /// <summary>Steps into the current element; false (and past it) when it is empty.</summary>
    private bool Enter()
    {
        if (_reader.IsEmptyElement)
        {
            _reader.Read();
            return false;
        }

        _path.Add(_reader.LocalName);
        _reader.Read();
        return true;
    }

    /// <summary>
    /// Moves to the next edXML child element of the element entered last; false (and past its end tag) when there is none.
    /// </summary>
    /// <remarks>
    /// QCVN 102:2016/BTTTT defines the package's elements in its namespace and places an XML-DSig <c>Signature</c> in
    /// <c>edXMLHeader</c>; it defines no extension point. So the only element of another namespace tolerated is that
    /// <c>Signature</c>, directly under <c>edXMLHeader</c>, in the XML-DSig namespace or in the edXML one (as the samples of
    /// the national axis write it), skipped whole and never trusted. Any other element of another namespace, anywhere, is
    /// refused rather than skipped: document systems downstream read by local name, so a <c>&lt;x:OrganId&gt;</c> in
    /// <c>From</c> or an <c>&lt;x:ContentTransferEncoded&gt;</c> in an <c>Attachment</c> is a decoy the hub would not have
    /// read but a recipient would.
    /// </remarks>
    private bool NextChild()
    {
        while (true)
        {
            switch (_reader.NodeType)
            {
                case XmlNodeType.Element:
                    if (_reader.LocalName == Signature && Parent == Header && _reader.NamespaceURI is Namespace or "" or DsigNamespace)
                    {
                        Skip();
                        break;
                    }

                    if (_reader.NamespaceURI is not (Namespace or ""))
                    {
                        throw Invalid(
                            $"{Where}/{_reader.Name}{At} is an element of namespace '{Untrusted.Quote(_reader.NamespaceURI)}': "
                            + "an edXML package (QCVN 102:2016) holds only the standard's elements, and an XML-DSig "
                            + "Signature in edXMLHeader.");
                    }

                    if (!Defined.TryGetValue(Parent, out var children) || !children.Contains(_reader.LocalName))
                    {
                        throw Invalid(
                            $"{Where}/{_reader.LocalName}{At} is not an element QCVN 102:2016 defines there: "
                            + "elements of the edXML namespace must be the standard's, in their place.");
                    }

                    return true;
                case XmlNodeType.EndElement:
                    _path.RemoveAt(_path.Count - 1);
                    _reader.Read();
                    return false;
                case XmlNodeType.Text or XmlNodeType.CDATA:
                    throw Invalid($"{Where} holds text '{StrayText()}' where only elements belong.");
                case XmlNodeType.None:
                    throw Invalid($"The package ends inside {Where}.");
                default:
                    _reader.Read();
                    break;
            }
        }
    }

    /// <summary>
    /// Reads a text element's value, trimmed, in chunks into a buffer of at most <see cref="EdxmlLimits.MaxFieldLength"/>
    /// characters, and refuses it at the first character past the limit: a field is never held whole before its length
    /// is known, so a subject of hundreds of megabytes costs one chunk, not its size twice over.
    /// </summary>
    private string ReadText()
    {
        _path.Add(_reader.LocalName);
        var value = string.Empty;
        if (!_reader.IsEmptyElement)
        {
            // Read up to the end tag only, so that XML broken after it is reported inside the parent, not here.
            _reader.Read();
            value = ReadBoundedContent();
            if (_reader.NodeType == XmlNodeType.Element)
            {
                throw Invalid($"{Where} holds an element <{_reader.Name}>{At}; it must hold only text.");
            }
        }

        _path.RemoveAt(_path.Count - 1);
        _reader.Read();
        return value;
    }

    /// <summary>
    /// The text and CDATA up to the next element or end tag, trimmed. Leading white space is dropped as it comes,
    /// trailing white space past the limit is counted, not kept; a character that is not white space past the limit
    /// ends the read with <c>too-large</c>.
    /// </summary>
    private string ReadBoundedContent()
    {
        var max = _limits.MaxFieldLength;
        var kept = new StringBuilder();
        var chunk = ArrayPool<char>.Shared.Rent(Math.Min(ChunkChars, max + 1));
        try
        {
            while (true)
            {
                switch (_reader.NodeType)
                {
                    case XmlNodeType.Text or XmlNodeType.CDATA or XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace:
                        int read;
                        while ((read = _reader.ReadValueChunk(chunk, 0, chunk.Length)) > 0)
                        {
                            foreach (var c in chunk.AsSpan(0, read))
                            {
                                var space = char.IsWhiteSpace(c);
                                if (kept.Length == 0 && space)
                                {
                                    continue;
                                }

                                if (kept.Length < max)
                                {
                                    kept.Append(c);
                                }
                                else if (!space)
                                {
                                    throw new EdxmlException(
                                        ReasonCode.TooLarge,
                                        $"{Where} is longer than {max} characters (EdxmlLimits.MaxFieldLength).");
                                }
                            }
                        }

                        _reader.Read();
                        break;
                    case XmlNodeType.Element or XmlNodeType.EndElement:
                        return kept.ToString().TrimEnd();
                    case XmlNodeType.None:
                        throw Invalid($"The package ends inside {Where}.");
                    default:
                        _reader.Read();
                        break;
                }
            }
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chunk);
        }
    }

    /// <summary>The first 40 characters of stray text, read in one small chunk rather than whole (it may be huge).</summary>
    private string StrayText()
    {
        var chunk = new char[256];
        var text = new StringBuilder();
        int read;
        while (text.Length <= 40 && (read = _reader.ReadValueChunk(chunk, 0, chunk.Length)) > 0)
        {
            foreach (var c in chunk.AsSpan(0, read))
            {
                if (text.Length > 0 || !char.IsWhiteSpace(c))
                {
                    text.Append(c);
                }
            }
        }

        return Untrusted.Clip(text.ToString().TrimEnd(), 40);
    }

    private string? ReadOptional()
    {
        var value = ReadText();
        return value.Length == 0 ? null : value;
    }

    private delegate bool ValueParser<T>(string text, out T value);

    private DateOnly? ReadDate() => ReadValue<DateOnly>(EdxmlValues.TryParseDate, "a date (expected yyyy/MM/dd)");

    private DateTimeOffset? ReadTimestamp() =>
        ReadValue<DateTimeOffset>(EdxmlValues.TryParseTimestamp, "a timestamp (expected yyyy/MM/dd HH:mm:ss, Vietnam time)");

    private int? ReadInt() => ReadValue<int>(EdxmlValues.TryParseInt, "a whole number");

    private bool? ReadBool() => ReadValue<bool>(EdxmlValues.TryParseBool, "true or false");

    /// <summary>Reads a typed element; empty is null, anything unparseable is refused naming the element and the value.</summary>
    private T? ReadValue<T>(ValueParser<T> parse, string expected)
        where T : struct
    {
        var name = _reader.LocalName;
        var text = ReadText();
        if (text.Length == 0)
        {
            return null;
        }

        return parse(text, out var value)
            ? value
            : throw Invalid($"{Where}/{name} '{text}' is not {expected}.");
    }

    private void ReadList(string itemName, List<string> items)
    {
        if (!Enter())
        {
            return;
        }

        while (NextChild())
        {
            if (_reader.LocalName != itemName)
            {
                _reader.Skip();
                continue;
            }

            CheckCount(items.Count, _limits.MaxRecipients, nameof(EdxmlLimits.MaxRecipients));
            var item = ReadText();
            if (item.Length > 0)
            {
                items.Add(item);
            }
        }
    }

    /// <summary>Refuses a second occurrence of an element that may appear once: two Subjects would be ambiguous.</summary>
    /// <summary>
    /// Reads a block of simple child elements: each known child at most once, read by its reader; unknown
    /// children are skipped (real senders add their own).
    /// </summary>
    private void ReadFields(params (string Name, Action Read)[] fields)
    {
        var seen = new List<string>(fields.Length);
        if (!Enter())
        {
            return;
        }

        while (NextChild())
        {
            var field = Array.Find(fields, f => f.Name == _reader.LocalName);
            if (field.Read is null)
            {
                _reader.Skip();
                continue;
            }

            Single(seen);
            field.Read();
        }
    }

    private void Single(List<string> seen, string? key = null)
    {
        key ??= _reader.LocalName;
        if (seen.Contains(key))
        {
            throw Invalid($"{Where}/{_reader.LocalName} appears more than once.");
        }

        seen.Add(key);
    }

    private void CheckCount(int count, int limit, string limitName)
    {
        if (count >= limit)
        {
            throw new EdxmlException(
                ReasonCode.TooLarge,
                $"{Where} has more than {limit} {_reader.LocalName} elements (EdxmlLimits.{limitName}).");
        }
    }

    private static EdxmlException Invalid(string message) => new(ReasonCode.PackageInvalid, message);
}
