using Exchange.Core;

namespace Exchange.Edxml.Internal;

internal sealed record RawResponseFor(string? OrganId, string? Code, DateOnly? PromulgationDate, string? DocumentId)
{
    public bool IsEmpty => OrganId is null && Code is null && PromulgationDate is null && DocumentId is null;
}

internal sealed record RawReference(string? ContentId, string? ContentType, string? Description, string? Name);

internal sealed class RawAttachment(int number)
{
    public int Number { get; } = number;

    public string? ContentId { get; set; }

    public string? Name { get; set; }

    public string? Description { get; set; }

    public string? ContentType { get; set; }

    public bool HasContent { get; set; }

    public byte[]? Content { get; set; }
}

/// <summary>
/// Everything the streaming parser found in one package, before it is checked and turned into the public model.
/// One parser serves document and status packages; <see cref="StatusCode"/> tells them apart.
/// </summary>
internal sealed class RawMessage
{
    public bool HasEnvelope { get; set; }

    public bool HasHeader { get; set; }

    public bool HasMessageHeader { get; set; }

    public EdxmlOrganisation? From { get; set; }

    public List<EdxmlOrganisation> To { get; } = [];

    public string? DocumentId { get; set; }

    public string? CodeNumber { get; set; }

    public string? CodeNotation { get; set; }

    public string? PromulgationPlace { get; set; }

    public DateOnly? PromulgationDate { get; set; }

    public int? DocumentTypeCode { get; set; }

    public int? DocumentTypeDetail { get; set; }

    public string? DocumentTypeName { get; set; }

    public string? Subject { get; set; }

    public string? Content { get; set; }

    public string? SignerCompetence { get; set; }

    public string? SignerPosition { get; set; }

    public string? SignerFullName { get; set; }

    public DateOnly? DueDate { get; set; }

    public List<string> ToPlaces { get; } = [];

    public int? Priority { get; set; }

    public string? SphereOfPromulgation { get; set; }

    public string? TyperNotation { get; set; }

    public int? PromulgationAmount { get; set; }

    public int? PageAmount { get; set; }

    public bool? Direction { get; set; }

    public List<string> Appendixes { get; } = [];

    public List<RawResponseFor> ResponseFor { get; } = [];

    public int? SteeringType { get; set; }

    public EdxmlStaffInfo? Staff { get; set; }

    public StatusCode? StatusCode { get; set; }

    public string? Description { get; set; }

    public DateTimeOffset? Timestamp { get; set; }

    public List<EdxmlTraceEntry> Trace { get; } = [];

    public BusinessDocType BusinessDocType { get; set; }

    public string? BusinessDocReason { get; set; }

    public string? BusinessDocumentId { get; set; }

    public int? Paper { get; set; }

    public EdxmlStaffInfo? BusinessStaff { get; set; }

    public EdxmlBusinessUpdate? Update { get; set; }

    public List<EdxmlReplacement> Replacements { get; } = [];

    public List<RawReference> Manifest { get; } = [];

    public List<RawAttachment> Attachments { get; } = [];

    public EdxmlHeader ToHeader()
    {
        var from = CheckCommon();
        if (StatusCode is { } code)
        {
            throw Invalid($"This is a status package (MessageHeader/StatusCode {(int)code:D2}), not a document package; read it with EdxmlStatusReader.");
        }

        if (To.Count == 0)
        {
            throw Invalid("MessageHeader has no To: a document package names at least one recipient.");
        }

        if (Subject is null)
        {
            throw Invalid("MessageHeader has no Subject.");
        }

        CheckAttachments();
        var responseFor = ResponseFor.Find(r => !r.IsEmpty);
        return new EdxmlHeader
        {
            From = from,
            To = To,
            DocumentId = DocumentId ?? DeriveDocumentId(from),
            CodeNumber = CodeNumber,
            CodeNotation = CodeNotation,
            Subject = Subject,
            Content = Content,
            DocumentTypeCode = DocumentTypeCode,
            DocumentTypeDetail = DocumentTypeDetail,
            DocumentTypeName = DocumentTypeName,
            PromulgationPlace = PromulgationPlace,
            PromulgationDate = PromulgationDate,
            SignerCompetence = SignerCompetence,
            SignerPosition = SignerPosition,
            SignerFullName = SignerFullName,
            DueDate = DueDate,
            ToPlaces = ToPlaces,
            Priority = Priority ?? 0,
            SphereOfPromulgation = SphereOfPromulgation,
            TyperNotation = TyperNotation,
            PromulgationAmount = PromulgationAmount,
            PageAmount = PageAmount,
            Direction = Direction,
            Appendixes = Appendixes,
            SteeringType = SteeringType,
            BusinessDocType = BusinessDocType,
            BusinessDocReason = BusinessDocReason,
            BusinessDocumentId = BusinessDocumentId,
            Paper = Paper,
            Staff = BusinessStaff,
            Update = Update,
            Replacements = Replacements,
            ResponseForDocumentId = responseFor is null ? null : responseFor.DocumentId ?? DeriveResponseForId(responseFor, responseFor.OrganId),
            ResponseForOrganId = responseFor?.OrganId,
            ResponseForCode = responseFor?.Code,
            ResponseForPromulgationDate = responseFor?.PromulgationDate,
            Trace = Trace,
        };
    }

    /// <summary>Attachments in document order, with metadata the Attachment lacks taken from its manifest Reference.</summary>
    public List<EdxmlAttachment> ToAttachments()
    {
        var attachments = new List<EdxmlAttachment>(Attachments.Count);
        foreach (var a in Attachments)
        {
            var reference = a.ContentId is null ? null : Manifest.Find(r => r.ContentId == a.ContentId);
            var name = a.Name ?? reference?.Name ?? ContentIdName(a.ContentId) ?? $"attachment-{a.Number}";
            var contentType = a.ContentType ?? reference?.ContentType ?? "application/octet-stream";
            attachments.Add(new EdxmlAttachment(name, contentType, a.Content ?? [], a.Description ?? reference?.Description)
            {
                ContentId = a.ContentId,
            });
        }

        return attachments;
    }

    public EdxmlStatus ToStatus()
    {
        var from = CheckCommon();
        if (StatusCode is not { } code)
        {
            throw Invalid("This is not a status package: MessageHeader has no StatusCode.");
        }

        if (Timestamp is not { } timestamp)
        {
            throw Invalid("MessageHeader has no Timestamp: a status says when it happened.");
        }

        var responseFor = ResponseFor.Find(r => !r.IsEmpty);
        if (responseFor?.OrganId is not { } organId)
        {
            throw Invalid("MessageHeader/ResponseFor/OrganId is missing or empty: a status package is addressed by it.");
        }

        // The document was issued by whoever sent it: the reporting organisation itself when it asks for a recall (13),
        // the organisation the status goes back to otherwise.
        var issuer = code == Edxml.StatusCode.RecallRequested ? from.OrganId : organId;
        return new EdxmlStatus
        {
            From = from,
            ResponseForOrganId = organId,
            ResponseForCode = responseFor.Code,
            ResponseForPromulgationDate = responseFor.PromulgationDate,
            ResponseForDocumentId = responseFor.DocumentId
                ?? DeriveResponseForId(responseFor, issuer)
                ?? throw Invalid("MessageHeader/ResponseFor has no DocumentId, and no Code and PromulgationDate to derive it from."),
            Code = code,
            Description = Description,
            Timestamp = timestamp,
            Staff = Staff,
        };
    }

    private EdxmlOrganisation CheckCommon()
    {
        if (!HasEnvelope)
        {
            throw Invalid("The package has no edXMLEnvelope.");
        }

        if (!HasHeader)
        {
            throw Invalid("edXMLEnvelope has no edXMLHeader.");
        }

        if (!HasMessageHeader)
        {
            throw Invalid("edXMLHeader has no MessageHeader.");
        }

        return From ?? throw Invalid("MessageHeader has no From.");
    }

    private void CheckAttachments()
    {
        for (var i = 0; i < Attachments.Count; i++)
        {
            var a = Attachments[i];
            if (!a.HasContent)
            {
                throw Invalid($"AttachmentEncoded/Attachment[{a.Number}] ({a.Name ?? a.ContentId}) has no ContentTransferEncoded.");
            }

            if (a.ContentId is not null && Attachments.FindIndex(0, i, b => b.ContentId == a.ContentId) >= 0)
            {
                throw Invalid($"Two attachments have ContentId '{a.ContentId}'.");
            }
        }

        foreach (var reference in Manifest)
        {
            if (reference.ContentId is not null && !Attachments.Exists(a => a.ContentId == reference.ContentId))
            {
                throw Invalid($"edXMLManifest lists '{reference.Name ?? reference.ContentId}' ({reference.ContentId}) but no Attachment has that ContentId.");
            }
        }
    }

    private string DeriveDocumentId(EdxmlOrganisation from)
    {
        var code = EdxmlDocumentId.Code(CodeNumber, CodeNotation);
        if (PromulgationDate is not { } date || code is null || from.OrganId.Length == 0)
        {
            throw Invalid(
                "MessageHeader has no DocumentId, and it cannot be derived as From/OrganId,PromulgationDate,CodeNumber/CodeNotation: "
                + (from.OrganId.Length == 0 ? "From/OrganId" : code is null ? "Code" : "PromulgationInfo/PromulgationDate")
                + " is missing.");
        }

        return EdxmlDocumentId.Format(from.OrganId, date, code);
    }

    private static string? DeriveResponseForId(RawResponseFor responseFor, string? issuer) =>
        issuer is not null && responseFor is { PromulgationDate: { } date, Code: { } code }
            ? EdxmlDocumentId.Format(issuer, date, code)
            : null;

    /// <summary>A name made from the ContentId when the attachment has none; only when it is a plain file name.</summary>
    private static string? ContentIdName(string? contentId)
    {
        var name = contentId is not null && contentId.StartsWith("cid:", StringComparison.OrdinalIgnoreCase) ? contentId[4..] : contentId;
        return string.IsNullOrWhiteSpace(name) || !EdxmlValues.IsPlainFileName(name, out _) ? null : name;
    }

    private static EdxmlException Invalid(string message) => new(ReasonCode.PackageInvalid, message);
}
