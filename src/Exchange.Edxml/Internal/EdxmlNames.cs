namespace Exchange.Edxml.Internal;

/// <summary>Element names of QCVN 102:2016 that Exchange reads and writes (see schemas/edxml/README.md).</summary>
internal static class EdxmlNames
{
    public const string Namespace = "http://www.mic.gov.vn/TBT/QCVN_102_2016";
    public const string Prefix = "edXML";
    public const string XlinkNamespace = "http://www.w3.org/1999/xlink";
    public const string DsigNamespace = "http://www.w3.org/2000/09/xmldsig#";

    public const string Root = "edXML";
    public const string Envelope = "edXMLEnvelope";
    public const string Header = "edXMLHeader";
    public const string MessageHeader = "MessageHeader";
    public const string TraceHeaderList = "TraceHeaderList";
    public const string TraceHeader = "TraceHeader";
    public const string Body = "edXMLBody";
    public const string Manifest = "edXMLManifest";
    public const string Reference = "Reference";
    public const string AttachmentEncoded = "AttachmentEncoded";
    public const string Attachment = "Attachment";

    // QCVN 102:2016 places an XML-DSig signature in edXMLHeader; real senders write it in the edXML namespace.
    public const string Signature = "Signature";

    public const string From = "From";
    public const string To = "To";
    public const string OrganId = "OrganId";
    public const string OrganizationInCharge = "OrganizationInCharge";
    public const string OrganName = "OrganName";
    public const string OrganAdd = "OrganAdd";
    public const string Email = "Email";
    public const string Telephone = "Telephone";
    public const string Fax = "Fax";
    public const string Website = "Website";

    public const string DocumentId = "DocumentId";
    public const string Code = "Code";
    public const string CodeNumber = "CodeNumber";
    public const string CodeNotation = "CodeNotation";
    public const string PromulgationInfo = "PromulgationInfo";
    public const string Place = "Place";
    public const string PromulgationDate = "PromulgationDate";
    public const string DocumentType = "DocumentType";
    public const string Type = "Type";
    public const string TypeDetail = "TypeDetail";
    public const string TypeName = "TypeName";
    public const string Subject = "Subject";
    public const string Content = "Content";
    public const string SignerInfo = "SignerInfo";
    public const string Competence = "Competence";
    public const string Position = "Position";
    public const string FullName = "FullName";
    public const string DueDate = "DueDate";
    public const string ToPlaces = "ToPlaces";
    public const string OtherInfo = "OtherInfo";
    public const string Priority = "Priority";
    public const string SphereOfPromulgation = "SphereOfPromulgation";
    public const string TyperNotation = "TyperNotation";
    public const string PromulgationAmount = "PromulgationAmount";
    public const string PageAmount = "PageAmount";
    public const string Direction = "Direction";
    public const string Appendixes = "Appendixes";
    public const string Appendix = "Appendix";
    public const string ResponseFor = "ResponseFor";
    public const string SteeringType = "SteeringType";

    public const string StaffInfo = "StaffInfo";
    public const string Department = "Department";
    public const string Staff = "Staff";
    public const string Mobile = "Mobile";
    public const string StatusCode = "StatusCode";
    public const string Description = "Description";
    public const string Timestamp = "Timestamp";

    // The business block is spelled "Bussiness" by QCVN 102:2016 senders; the correct spelling is accepted too.
    public const string Bussiness = "Bussiness";
    public const string Business = "Business";
    public const string BussinessDocType = "BussinessDocType";
    public const string BusinessDocType = "BusinessDocType";
    public const string BussinessDocReason = "BussinessDocReason";
    public const string BusinessDocReason = "BusinessDocReason";
    public const string BussinessDocumentInfo = "BussinessDocumentInfo";
    public const string BusinessDocumentInfo = "BusinessDocumentInfo";
    public const string Paper = "Paper";
    public const string DocumentInfo = "DocumentInfo";
    public const string DocumentReceiver = "DocumentReceiver";
    public const string ReceiverList = "ReceiverList";
    public const string Receiver = "Receiver";
    public const string ReceiverType = "ReceiverType";
    public const string ReplacementInfoList = "ReplacementInfoList";
    public const string ReplacementInfo = "ReplacementInfo";
    public const string OrganIdList = "OrganIdList";

    public const string ContentId = "ContentId";
    public const string ContentType = "ContentType";
    public const string AttachmentName = "AttachmentName";
    public const string ContentTransferEncoded = "ContentTransferEncoded";
    public const string ManifestVersion = "1.0";
}
