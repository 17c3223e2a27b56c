namespace Exchange.Edxml;

/// <summary>
/// An organisation as edXML names it (<c>From</c>, <c>To</c>, QCVN 102:2016 §2.2). <see cref="OrganId"/> is kept
/// exactly as written (trimmed): the router validates it with <c>AgencyCode</c>, the reader never refuses a package
/// for an odd id. A missing <c>OrganId</c> element reads as the empty string.
/// </summary>
public sealed record EdxmlOrganisation(
    string OrganId,
    string? OrganName = null,
    string? OrganizationInCharge = null,
    string? OrganAdd = null,
    string? Email = null,
    string? Telephone = null,
    string? Fax = null,
    string? Website = null);

/// <summary>
/// One attached file. <see cref="Content"/> is the decoded base64 of <c>ContentTransferEncoded</c>, byte for byte
/// (a zipped attachment stays zipped).
/// </summary>
public sealed record EdxmlAttachment(string Name, string ContentType, byte[] Content, string? Description = null)
{
    /// <summary>
    /// The <c>ContentId</c> (<c>cid:…</c>) that links the manifest <c>Reference</c> to the <c>Attachment</c>.
    /// The writer numbers attachments <c>cid:1</c>, <c>cid:2</c>, … when this is null.
    /// </summary>
    public string? ContentId { get; init; }
}

/// <summary>
/// An attached file to write whose bytes come from a stream (a file stored in chunks), so that
/// <see cref="EdxmlWriter.Write(Stream, EdxmlHeader, IReadOnlyList{EdxmlAttachmentSource}, EdxmlLimits?, CancellationToken)"/>
/// never holds it whole. The fields are those of <see cref="EdxmlAttachment"/>, with <see cref="Length"/> and
/// <see cref="Open"/> in place of the bytes.
/// </summary>
/// <param name="Length">The bytes <see cref="Open"/> yields: checked against the limits before anything is written,
/// and against the stream as it is read.</param>
/// <param name="Open">Opens the content, once per write, at its first byte; the writer disposes what it returns.</param>
public sealed record EdxmlAttachmentSource(string Name, string ContentType, long Length, Func<Stream> Open, string? Description = null)
{
    /// <summary>As <see cref="EdxmlAttachment.ContentId"/>: the writer numbers attachments <c>cid:1</c>, <c>cid:2</c>, … when this is null.</summary>
    public string? ContentId { get; init; }
}

/// <summary><c>TraceHeaderList/Bussiness/BussinessDocType</c>: what the package does to the document.</summary>
public enum BusinessDocType
{
    /// <summary>0, văn bản mới.</summary>
    New = 0,

    /// <summary>1, thu hồi.</summary>
    Revocation = 1,

    /// <summary>2, cập nhật.</summary>
    Update = 2,

    /// <summary>3, thay thế.</summary>
    Replacement = 3,
}

/// <summary>A <c>TraceHeader</c>: an organisation the package passed through, and when. A missing OrganId reads as "".</summary>
public sealed record EdxmlTraceEntry(string OrganId, DateTimeOffset? Timestamp);

/// <summary><c>StaffInfo</c>: the clerk who handled the document or status.</summary>
public sealed record EdxmlStaffInfo(string? Department = null, string? Staff = null, string? Email = null, string? Mobile = null);

/// <summary><c>Bussiness/ReplacementInfoList/ReplacementInfo</c>: a document being replaced, for which organisations.</summary>
public sealed record EdxmlReplacement(string DocumentId, IReadOnlyList<string> OrganIds);

/// <summary><c>Bussiness/BussinessDocumentInfo/ReceiverList/Receiver</c>.</summary>
public sealed record EdxmlReceiver(string OrganId, int? ReceiverType);

/// <summary>
/// <c>Bussiness/BussinessDocumentInfo</c>, sent with an update (BussinessDocType 2): whether the document's information
/// and its receivers changed, and the receivers concerned.
/// </summary>
public sealed record EdxmlBusinessUpdate(int? DocumentInfo, int? DocumentReceiver, IReadOnlyList<EdxmlReceiver> Receivers);

/// <summary>The <c>MessageHeader</c> (and <c>TraceHeaderList</c>) of a document package.</summary>
public sealed record EdxmlHeader
{
    public required EdxmlOrganisation From { get; init; }

    public required IReadOnlyList<EdxmlOrganisation> To { get; init; }

    /// <summary>
    /// The document's identity. Read from <c>MessageHeader/DocumentId</c> when present and not empty (any text: the
    /// samples carry both <c>000.00.00.G22,2015/09/30,7816/VPCP-TTĐT</c> and GUIDs); otherwise derived as
    /// <c>From/OrganId,PromulgationDate,CodeNumber/CodeNotation</c> (see <see cref="EdxmlDocumentId"/>).
    /// </summary>
    public required string DocumentId { get; init; }

    public string? CodeNumber { get; init; }

    public string? CodeNotation { get; init; }

    public required string Subject { get; init; }

    public string? Content { get; init; }

    /// <summary><c>DocumentType/Type</c>.</summary>
    public int? DocumentTypeCode { get; init; }

    /// <summary><c>DocumentType/TypeDetail</c>.</summary>
    public int? DocumentTypeDetail { get; init; }

    /// <summary><c>DocumentType/TypeName</c>.</summary>
    public string? DocumentTypeName { get; init; }

    /// <summary><c>PromulgationInfo/Place</c>.</summary>
    public string? PromulgationPlace { get; init; }

    /// <summary><c>PromulgationInfo/PromulgationDate</c>.</summary>
    public DateOnly? PromulgationDate { get; init; }

    /// <summary><c>SignerInfo/Competence</c>.</summary>
    public string? SignerCompetence { get; init; }

    /// <summary><c>SignerInfo/Position</c>.</summary>
    public string? SignerPosition { get; init; }

    /// <summary><c>SignerInfo/FullName</c>.</summary>
    public string? SignerFullName { get; init; }

    public DateOnly? DueDate { get; init; }

    /// <summary><c>ToPlaces/Place</c>: the "Nơi nhận" lines as printed on the document.</summary>
    public IReadOnlyList<string> ToPlaces { get; init; } = [];

    /// <summary><c>OtherInfo/Priority</c>; 0 when absent.</summary>
    public int Priority { get; init; }

    /// <summary><c>OtherInfo/SphereOfPromulgation</c>.</summary>
    public string? SphereOfPromulgation { get; init; }

    /// <summary><c>OtherInfo/TyperNotation</c>.</summary>
    public string? TyperNotation { get; init; }

    /// <summary><c>OtherInfo/PromulgationAmount</c>.</summary>
    public int? PromulgationAmount { get; init; }

    /// <summary><c>OtherInfo/PageAmount</c>.</summary>
    public int? PageAmount { get; init; }

    /// <summary><c>OtherInfo/Direction</c>.</summary>
    public bool? Direction { get; init; }

    /// <summary><c>OtherInfo/Appendixes/Appendix</c>.</summary>
    public IReadOnlyList<string> Appendixes { get; init; } = [];

    public int? SteeringType { get; init; }

    /// <summary>
    /// <c>TraceHeaderList/Bussiness/BussinessDocType</c> (either spelling); <see cref="BusinessDocType.New"/> when the
    /// package has no business block.
    /// </summary>
    public BusinessDocType BusinessDocType { get; init; }

    /// <summary><c>Bussiness/BussinessDocReason</c>.</summary>
    public string? BusinessDocReason { get; init; }

    /// <summary><c>Bussiness/DocumentId</c>: the document the business operation refers to, as written.</summary>
    public string? BusinessDocumentId { get; init; }

    /// <summary><c>Bussiness/Paper</c>: whether a paper copy is also sent (0/1).</summary>
    public int? Paper { get; init; }

    /// <summary><c>Bussiness/StaffInfo</c>.</summary>
    public EdxmlStaffInfo? Staff { get; init; }

    /// <summary><c>Bussiness/BussinessDocumentInfo</c> (updates).</summary>
    public EdxmlBusinessUpdate? Update { get; init; }

    /// <summary><c>Bussiness/ReplacementInfoList/ReplacementInfo</c> (replacements).</summary>
    public IReadOnlyList<EdxmlReplacement> Replacements { get; init; } = [];

    /// <summary>
    /// <c>ResponseFor/DocumentId</c> of the first non-empty <c>ResponseFor</c>, or derived from its OrganId,
    /// PromulgationDate and Code when those are all present; null when the package answers nothing
    /// (no ResponseFor, <c>&lt;ResponseFor /&gt;</c>, or one with empty children).
    /// </summary>
    public string? ResponseForDocumentId { get; init; }

    /// <summary><c>ResponseFor/OrganId</c> of the first non-empty <c>ResponseFor</c>.</summary>
    public string? ResponseForOrganId { get; init; }

    /// <summary><c>ResponseFor/Code</c> (number/notation in one string) of the first non-empty <c>ResponseFor</c>.</summary>
    public string? ResponseForCode { get; init; }

    /// <summary><c>ResponseFor/PromulgationDate</c> of the first non-empty <c>ResponseFor</c>.</summary>
    public DateOnly? ResponseForPromulgationDate { get; init; }

    /// <summary><c>TraceHeaderList/TraceHeader</c> entries in document order, as read.</summary>
    public IReadOnlyList<EdxmlTraceEntry> Trace { get; init; } = [];
}

/// <summary>A document package: its header and its decoded attachments, in document order.</summary>
public sealed record EdxmlPackage(EdxmlHeader Header, IReadOnlyList<EdxmlAttachment> Attachments);

/// <summary>Whether a package carries a document or a status (a status has <c>MessageHeader/StatusCode</c>).</summary>
public enum EdxmlPackageKind
{
    Document,
    Status,
}
