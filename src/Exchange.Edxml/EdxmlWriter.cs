using System.Buffers;
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
    /// <summary>
    /// Attachment bytes read and encoded at a time. A multiple of 3, so that the blocks' base64 runs on as one line
    /// with no padding between them (RFC 4648 §4).
    /// </summary>
    private const int AttachmentBlockBytes = 48 * 1024;

    public static byte[] Write(EdxmlPackage package) => Write(package, limits: null);

    /// <summary>Writes a package and refuses (<c>TooLarge</c>) one the reader would refuse under the same limits.</summary>
    public static byte[] Write(EdxmlPackage package, EdxmlLimits? limits)
    {
        ArgumentNullException.ThrowIfNull(package);
        var attachments = (package.Attachments ?? []).Select(FromBytes).ToList();
        using var output = new MemoryStream(EstimateSize(attachments));
        Write(output, package.Header, attachments, limits);
        return output.ToArray();
    }

    /// <summary>
    /// Writes a package to <paramref name="output"/> with each attachment read from its stream in blocks and encoded as
    /// it goes, so that memory stays constant whatever the attachments' sizes; returns the bytes written. The bytes are
    /// those <see cref="Write(EdxmlPackage, EdxmlLimits?)"/> writes for the same content, and the same limits are
    /// enforced before anything is written (the size of the package is known from the attachments' lengths). An
    /// attachment whose stream does not yield its <see cref="EdxmlAttachmentSource.Length"/> fails the write with an
    /// <see cref="InvalidDataException"/>; what was written by then is not a well-formed package and must be dropped.
    /// </summary>
    public static long Write(
        Stream output,
        EdxmlHeader header,
        IReadOnlyList<EdxmlAttachmentSource> attachments,
        EdxmlLimits? limits = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(attachments);
        var contentIds = Check(header, attachments, limits);

        // Everything but the attachments' base64 is written once to nowhere to learn its size: the base64 adds exactly
        // 4 characters per 3 bytes (one ASCII byte each), so an oversized package is refused before a byte goes out.
        var size = WriteXml(Stream.Null, header, attachments, contentIds, limits, withContent: false, cancellationToken)
            + attachments.Sum(a => (a.Length + 2) / 3 * 4);
        if (limits is not null && size > limits.MaxPackageBytes)
        {
            throw new EdxmlException(
                ReasonCode.TooLarge,
                $"The package would be {size} bytes; the limit is {limits.MaxPackageBytes} (EdxmlLimits.MaxPackageBytes).");
        }

        return WriteXml(output, header, attachments, contentIds, limits, withContent: true, cancellationToken);
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

    private static string[] Check(EdxmlHeader header, IReadOnlyList<EdxmlAttachmentSource> attachments, EdxmlLimits? limits)
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

            ArgumentNullException.ThrowIfNull(attachments[i].Open, $"attachments[{i}].Open");
            ArgumentOutOfRangeException.ThrowIfNegative(attachments[i].Length, $"attachments[{i}].Length");
            if (limits is not null && attachments[i].Length > limits.MaxAttachmentBytes)
            {
                throw new EdxmlException(
                    ReasonCode.TooLarge,
                    $"Attachment {i + 1} ('{Untrusted.Quote(attachments[i].Name)}') is {attachments[i].Length} bytes; the limit is {limits.MaxAttachmentBytes} (EdxmlLimits.MaxAttachmentBytes).");
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

    private static void WriteManifest(EdxmlXmlWriter x, IReadOnlyList<EdxmlAttachmentSource> attachments, string[] contentIds)
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

    /// <summary>
    /// The AttachmentEncoded block. Without <paramref name="withContent"/> no attachment is opened and each
    /// ContentTransferEncoded is written without its base64: how the writer measures a package before writing it.
    /// </summary>
    private static void WriteAttachments(
        EdxmlXmlWriter x, IReadOnlyList<EdxmlAttachmentSource> attachments, string[] contentIds, bool withContent, CancellationToken cancellationToken)
    {
        if (attachments.Count == 0)
        {
            return;
        }

        var block = withContent ? ArrayPool<byte>.Shared.Rent(AttachmentBlockBytes) : null;
        try
        {
            x.StartUnprefixed(AttachmentEncoded);
            for (var i = 0; i < attachments.Count; i++)
            {
                var a = attachments[i];
                x.StartUnprefixed(Attachment);
                x.Text(ContentId, contentIds[i], prefixed: false);
                x.Text(AttachmentName, a.Name ?? string.Empty, prefixed: false);
                x.Text(Description, a.Description, prefixed: false);
                x.Text(ContentType, a.ContentType ?? string.Empty, prefixed: false);
                x.Start(ContentTransferEncoded);
                if (block is not null)
                {
                    WriteContent(x, a, i + 1, block, cancellationToken);
                }

                x.EndBase64(holdsBytes: a.Length > 0);
                x.End();
            }

            x.End();
        }
        finally
        {
            if (block is not null)
            {
                ArrayPool<byte>.Shared.Return(block);
            }
        }
    }

    /// <summary>Copies one attachment into the open base64 element, block by block, holding no more than one block.</summary>
    private static void WriteContent(EdxmlXmlWriter x, EdxmlAttachmentSource attachment, int number, byte[] block, CancellationToken cancellationToken)
    {
        using var content = attachment.Open()
            ?? throw new InvalidOperationException($"Attachment {number} ('{Untrusted.Quote(attachment.Name)}'): Open returned no stream.");
        var remaining = attachment.Length;
        while (remaining > 0)
        {
            cancellationToken.ThrowIfCancellationRequested();

            // Whole blocks only (the stream may hand out less per read), so that every block but the last is a multiple of 3.
            var wanted = (int)Math.Min(AttachmentBlockBytes, remaining);
            var read = content.ReadAtLeast(block.AsSpan(0, wanted), wanted, throwOnEndOfStream: false);
            if (read < wanted)
            {
                throw LengthMismatch(attachment, number, $"only {attachment.Length - remaining + read}");
            }

            x.Base64Block(block, read);
            remaining -= read;
        }

        if (content.Read(block, 0, 1) > 0)
        {
            throw LengthMismatch(attachment, number, "more");
        }
    }

    private static InvalidDataException LengthMismatch(EdxmlAttachmentSource attachment, int number, string yielded) =>
        new($"Attachment {number} ('{Untrusted.Quote(attachment.Name)}') was given as {attachment.Length} bytes, but its stream yielded {yielded}.");

    /// <summary>
    /// Writes the whole package, or (without <paramref name="withContent"/>) all of it but the attachments' base64;
    /// returns the bytes written.
    /// </summary>
    private static long WriteXml(
        Stream output,
        EdxmlHeader header,
        IReadOnlyList<EdxmlAttachmentSource> attachments,
        string[] contentIds,
        EdxmlLimits? limits,
        bool withContent,
        CancellationToken cancellationToken)
    {
        var counted = new CountingStream(output);
        var x = new EdxmlXmlWriter(counted, limits);
        try
        {
            x.StartRoot();
            x.Start(Envelope);
            x.Start(EdxmlNames.Header);
            WriteMessageHeader(x, header);
            WriteTraceHeaderList(x, header);
            x.End();
            WriteManifest(x, attachments, contentIds);
            x.End();
            WriteAttachments(x, attachments, contentIds, withContent, cancellationToken);
            x.End();
        }
        catch
        {
            // Disposing an XmlWriter closes the elements left open: cut it off from the output first, so that a write
            // that failed half-way leaves a truncated package every reader refuses, not a well-formed one missing content.
            counted.Detach();
            throw;
        }
        finally
        {
            x.Dispose();
        }

        return counted.Written;
    }

    /// <summary>An attachment held in memory, as the streaming writer takes it.</summary>
    private static EdxmlAttachmentSource FromBytes(EdxmlAttachment attachment)
    {
        var content = attachment.Content ?? [];
        return new EdxmlAttachmentSource(attachment.Name, attachment.ContentType, content.Length, () => new MemoryStream(content, writable: false), attachment.Description)
        {
            ContentId = attachment.ContentId,
        };
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

    private static int EstimateSize(IReadOnlyList<EdxmlAttachmentSource> attachments)
    {
        long size = 8 * 1024;
        foreach (var a in attachments)
        {
            size += (a.Length + 2) / 3 * 4 + 512;
        }

        return (int)Math.Min(size, Array.MaxLength);
    }
}
