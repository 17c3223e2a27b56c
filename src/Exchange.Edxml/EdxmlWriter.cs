using Exchange.Core;
using Exchange.Edxml.Internal;
using static Exchange.Edxml.Internal.EdxmlNames;

namespace Exchange.Edxml;

/// <summary>
/// Writes document packages in the shape of the QCVN 102:2016 samples (see schemas/edxml/README.md): UTF-8 without
/// BOM, deterministic. What it writes, <see cref="EdxmlReader"/> reads back (text fields come back trimmed, empty ones
/// as null, timestamps in UTC+7 to the second).
/// </summary>
public static class EdxmlWriter
{
    public static byte[] Write(EdxmlPackage package) => Write(package, limits: null);

    /// <summary>Writes a package and refuses (<c>TooLarge</c>) one the reader would refuse under the same limits.</summary>
    public static byte[] Write(EdxmlPackage package, EdxmlLimits? limits)
    {
        ArgumentNullException.ThrowIfNull(package);
        var header = package.Header;
        ArgumentNullException.ThrowIfNull(header);
        var attachments = package.Attachments ?? [];
        var contentIds = Check(header, attachments, limits);

        using var output = new MemoryStream(EstimateSize(attachments));
        using (var x = new EdxmlXmlWriter(output, limits))
        {
            x.StartRoot();
            x.Start(Envelope);
            x.Start(EdxmlNames.Header);
            WriteMessageHeader(x, header);
            WriteTraceHeaderList(x, header);
            x.End();
            WriteManifest(x, attachments, contentIds);
            x.End();
            WriteAttachments(x, attachments, contentIds);
            x.End();
        }

        if (limits is not null && output.Length > limits.MaxPackageBytes)
        {
            throw new EdxmlException(
                ReasonCode.TooLarge,
                $"The package would be {output.Length} bytes; the limit is {limits.MaxPackageBytes} (EdxmlLimits.MaxPackageBytes).");
        }

        return output.ToArray();
    }

    internal static void WriteOrganisation(EdxmlXmlWriter x, string element, EdxmlOrganisation organisation)
    {
        x.Start(element);
        x.Text(OrganId, organisation.OrganId ?? string.Empty);
        x.Text(OrganizationInCharge, organisation.OrganizationInCharge);
        x.Text(OrganName, organisation.OrganName);
        x.Text(OrganAdd, organisation.OrganAdd);
        x.Text(Email, organisation.Email);
        x.Text(Telephone, organisation.Telephone);
        x.Text(Fax, organisation.Fax);
        x.Text(Website, organisation.Website);
        x.End();
    }

    internal static void WriteStaff(EdxmlXmlWriter x, EdxmlStaffInfo? staff)
    {
        if (staff is null)
        {
            return;
        }

        x.Start(StaffInfo);
        x.Text(Department, staff.Department);
        x.Text(Staff, staff.Staff);
        x.Text(Email, staff.Email);
        x.Text(Mobile, staff.Mobile);
        x.End();
    }

    private static string[] Check(EdxmlHeader header, IReadOnlyList<EdxmlAttachment> attachments, EdxmlLimits? limits)
    {
        ArgumentNullException.ThrowIfNull(header.From);
        if (header.To is not { Count: > 0 })
        {
            throw new EdxmlException(ReasonCode.PackageInvalid, "A document package needs at least one To.");
        }

        if (string.IsNullOrWhiteSpace(header.DocumentId))
        {
            throw new EdxmlException(ReasonCode.PackageInvalid, "A document package needs a DocumentId (see EdxmlDocumentId.Format).");
        }

        if (limits is not null && header.To.Count > limits.MaxRecipients)
        {
            throw new EdxmlException(
                ReasonCode.TooLarge, $"The package has {header.To.Count} To; the limit is {limits.MaxRecipients} (EdxmlLimits.MaxRecipients).");
        }

        if (limits is not null && attachments.Count > limits.MaxAttachments)
        {
            throw new EdxmlException(
                ReasonCode.TooLarge,
                $"The package has {attachments.Count} attachments; the limit is {limits.MaxAttachments} (EdxmlLimits.MaxAttachments).");
        }

        var contentIds = new string[attachments.Count];
        for (var i = 0; i < attachments.Count; i++)
        {
            // What the reader would refuse is refused here, so a gateway answers its caller at once.
            if (!EdxmlValues.IsPlainFileName(attachments[i].Name ?? string.Empty, out var problem))
            {
                throw new EdxmlException(ReasonCode.PackageInvalid, $"Attachment {i + 1} is named '{Untrusted.Quote(attachments[i].Name)}', which is not a plain file name: {problem}.");
            }

            if (limits is not null && attachments[i].Content.Length > limits.MaxAttachmentBytes)
            {
                throw new EdxmlException(
                    ReasonCode.TooLarge,
                    $"Attachment {i + 1} ('{Untrusted.Quote(attachments[i].Name)}') is {attachments[i].Content.Length} bytes; the limit is {limits.MaxAttachmentBytes} (EdxmlLimits.MaxAttachmentBytes).");
            }

            contentIds[i] = attachments[i].ContentId ?? $"cid:{i + 1}";
            if (Array.IndexOf(contentIds, contentIds[i], 0, i) >= 0)
            {
                throw new EdxmlException(ReasonCode.PackageInvalid, $"Two attachments have ContentId '{contentIds[i]}'.");
            }
        }

        return contentIds;
    }

    private static void WriteMessageHeader(EdxmlXmlWriter x, EdxmlHeader h)
    {
        x.Start(MessageHeader);
        WriteOrganisation(x, From, h.From);
        foreach (var to in h.To)
        {
            WriteOrganisation(x, To, to);
        }

        x.Text(DocumentId, h.DocumentId);
        if (h.CodeNumber is not null || h.CodeNotation is not null)
        {
            x.Start(Code);
            x.Text(CodeNumber, h.CodeNumber);
            x.Text(CodeNotation, h.CodeNotation);
            x.End();
        }

        if (h.PromulgationPlace is not null || h.PromulgationDate is not null)
        {
            x.Start(PromulgationInfo);
            x.Text(Place, h.PromulgationPlace);
            x.Date(PromulgationDate, h.PromulgationDate);
            x.End();
        }

        if (h.DocumentTypeCode is not null || h.DocumentTypeDetail is not null || h.DocumentTypeName is not null)
        {
            x.Start(DocumentType);
            x.Int(EdxmlNames.Type, h.DocumentTypeCode);
            x.Int(TypeDetail, h.DocumentTypeDetail);
            x.Text(TypeName, h.DocumentTypeName);
            x.End();
        }

        x.Text(Subject, h.Subject ?? string.Empty);
        x.Text(Content, h.Content);
        if (h.SignerCompetence is not null || h.SignerPosition is not null || h.SignerFullName is not null)
        {
            x.Start(SignerInfo);
            x.Text(Competence, h.SignerCompetence);
            x.Text(Position, h.SignerPosition);
            x.Text(FullName, h.SignerFullName);
            x.End();
        }

        x.Date(DueDate, h.DueDate);
        x.Start(OtherInfo);
        x.Int(Priority, h.Priority);
        x.Text(SphereOfPromulgation, h.SphereOfPromulgation);
        x.Text(TyperNotation, h.TyperNotation);
        x.Int(PromulgationAmount, h.PromulgationAmount);
        x.Int(PageAmount, h.PageAmount);
        x.Bool(Direction, h.Direction);
        WriteList(x, Appendixes, Appendix, h.Appendixes);
        x.End();
        if (h.ResponseForOrganId is not null || h.ResponseForCode is not null || h.ResponseForPromulgationDate is not null
            || h.ResponseForDocumentId is not null)
        {
            x.Start(ResponseFor);
            x.Text(OrganId, h.ResponseForOrganId);
            x.Text(Code, h.ResponseForCode);
            x.Date(PromulgationDate, h.ResponseForPromulgationDate);
            x.Text(DocumentId, h.ResponseForDocumentId);
            x.End();
        }

        x.Int(SteeringType, h.SteeringType);
        WriteList(x, ToPlaces, Place, h.ToPlaces);
        x.End();
    }

    /// <summary>
    /// A TraceHeaderList element on its own (QCVN 102:2016): the hops a package made, which a recipient's gateway hands
    /// its document system beside the signed package. Hubs never write them into the package: that would break its signature.
    /// </summary>
    public static byte[] WriteTraceHeaderList(IEnumerable<EdxmlTraceEntry> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        using var output = new MemoryStream();
        using (var x = new EdxmlXmlWriter(output, limits: null))
        {
            x.Start(TraceHeaderList);
            WriteTraceHeaders(x, entries);
            x.End();
        }

        return output.ToArray();
    }

    private static void WriteTraceHeaders(EdxmlXmlWriter x, IEnumerable<EdxmlTraceEntry> entries)
    {
        foreach (var entry in entries)
        {
            x.Start(TraceHeader);
            x.Text(OrganId, entry.OrganId ?? string.Empty);
            x.Timestamp(Timestamp, entry.Timestamp);
            x.End();
        }
    }

    private static void WriteTraceHeaderList(EdxmlXmlWriter x, EdxmlHeader h)
    {
        x.Start(TraceHeaderList);
        WriteTraceHeaders(x, h.Trace ?? []);

        // QCVN 102:2016 spells the business block "Bussiness"; receivers look for that name.
        x.Start(Bussiness);
        x.Text(DocumentId, h.BusinessDocumentId);
        x.Int(BussinessDocType, (int)h.BusinessDocType);
        x.Text(BussinessDocReason, h.BusinessDocReason);
        x.Int(Paper, h.Paper);
        if (h.Update is { } update)
        {
            x.Start(BussinessDocumentInfo);
            x.Int(DocumentInfo, update.DocumentInfo);
            x.Int(DocumentReceiver, update.DocumentReceiver);
            x.Start(ReceiverList);
            foreach (var receiver in update.Receivers ?? [])
            {
                x.Start(Receiver);
                x.Text(OrganId, receiver.OrganId ?? string.Empty);
                x.Int(ReceiverType, receiver.ReceiverType);
                x.End();
            }

            x.End();
            x.End();
        }

        if (h.Replacements is { Count: > 0 })
        {
            x.Start(ReplacementInfoList);
            foreach (var replacement in h.Replacements)
            {
                x.Start(ReplacementInfo);
                x.Text(DocumentId, replacement.DocumentId ?? string.Empty);
                WriteList(x, OrganIdList, OrganId, replacement.OrganIds);
                x.End();
            }

            x.End();
        }

        WriteStaff(x, h.Staff);
        x.End();
        x.End();
    }

    private static void WriteManifest(EdxmlXmlWriter x, IReadOnlyList<EdxmlAttachment> attachments, string[] contentIds)
    {
        x.Start(Body);
        x.Start(Manifest);
        x.Attribute("version", ManifestVersion);
        for (var i = 0; i < attachments.Count; i++)
        {
            var a = attachments[i];
            x.Start(Reference);
            x.Text(ContentId, contentIds[i]);
            x.Text(ContentType, a.ContentType ?? string.Empty);
            x.Text(Description, a.Description);
            x.Text(AttachmentName, a.Name ?? string.Empty);
            x.End();
        }

        x.End();
        x.End();
    }

    private static void WriteAttachments(EdxmlXmlWriter x, IReadOnlyList<EdxmlAttachment> attachments, string[] contentIds)
    {
        if (attachments.Count == 0)
        {
            return;
        }

        x.StartUnprefixed(AttachmentEncoded);
        for (var i = 0; i < attachments.Count; i++)
        {
            var a = attachments[i];
            x.StartUnprefixed(Attachment);
            x.Text(ContentId, contentIds[i], prefixed: false);
            x.Text(AttachmentName, a.Name ?? string.Empty, prefixed: false);
            x.Text(Description, a.Description, prefixed: false);
            x.Text(ContentType, a.ContentType ?? string.Empty, prefixed: false);
            x.Base64(ContentTransferEncoded, a.Content ?? []);
            x.End();
        }

        x.End();
    }

    private static void WriteList(EdxmlXmlWriter x, string list, string item, IReadOnlyList<string>? values)
    {
        if (values is not { Count: > 0 })
        {
            return;
        }

        x.Start(list);
        foreach (var value in values)
        {
            x.Text(item, value ?? string.Empty);
        }

        x.End();
    }

    private static int EstimateSize(IReadOnlyList<EdxmlAttachment> attachments)
    {
        long size = 8 * 1024;
        foreach (var a in attachments)
        {
            size += ((a.Content?.Length ?? 0) + 2) / 3 * 4 + 512;
        }

        return (int)Math.Min(size, Array.MaxLength);
    }
}
