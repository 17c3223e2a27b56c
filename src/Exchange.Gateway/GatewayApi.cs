using System.Security.Claims;
using System.Text.Json;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.Gateway.Access;
using Exchange.Persistence;
using Exchange.Persistence.Gateway;
using Exchange.ServiceDefaults;
using Exchange.Signing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Exchange.Gateway;

/// <summary>What a document system posts (as the <c>metadata</c> part, JSON) to send a document.</summary>
public sealed record DocumentMetadata(
    IReadOnlyList<string> To,
    string Subject,
    string? CodeNumber = null,
    string? CodeNotation = null,
    int? DocumentType = null,
    string? DocumentTypeName = null,
    string? PromulgationPlace = null,
    DateOnly? PromulgationDate = null,
    int Priority = 0,
    DateOnly? DueDate = null,
    string? Content = null,
    string? SignerFullName = null,
    string? SignerPosition = null,
    string? SignerCompetence = null,
    BusinessDocType BusinessDocType = BusinessDocType.New,
    string? BusinessDocReason = null,
    string? BusinessDocumentId = null);

public sealed record SubmissionAnswer(Guid EnvelopeId, string DocumentId, string State, string Location);

public sealed record RecipientState(string Code, string State, Guid? ReceiptId, DateTimeOffset? ReceivedAt);

public sealed record DocumentState(
    Guid EnvelopeId, string DocumentId, string Subject, string State, string? Reason, string? Detail,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<RecipientState> Recipients, IReadOnlyList<StatusView> Statuses);

public sealed record InboxItem(
    Guid EnvelopeId, string SenderCode, string DocumentId, string Subject, DateTimeOffset ReceivedAt, Guid ReceiptId,
    long DirectoryVersion, JsonElement Trace, IReadOnlyList<StatusView>? Statuses = null);

/// <summary>
/// The gateway's HTTP API for its agency's document system. Every endpoint needs an API key of this agency
/// (<see cref="GatewayPolicies"/>): writes the document system's own (role agency), reads also an auditor's.
/// </summary>
public static class GatewayApi
{
    public static IEndpointRouteBuilder MapGatewayApi(this IEndpointRouteBuilder app)
    {
        var writes = app.MapGroup("/api").RequireAuthorization(GatewayPolicies.Submit);
        writes.MapPost("/documents", PostDocument).DisableAntiforgery();
        writes.MapPost("/packages", PostPackage).DisableAntiforgery();

        var reads = app.MapGroup("/api").RequireAuthorization(GatewayPolicies.Read);
        reads.MapGet("/documents/{envelopeId:guid}", GetDocument);
        reads.MapGet("/inbox", ListInbox);
        reads.MapGet("/inbox/{envelopeId:guid}", GetInboxItem);
        reads.MapGet("/inbox/{envelopeId:guid}/package", GetPackage);
        reads.MapGet("/inbox/{envelopeId:guid}/signature", async (Guid envelopeId, GatewayDbContext db, CancellationToken ct) =>
            await db.Inbox.AsNoTracking().Where(i => i.EnvelopeId == envelopeId).Select(i => i.Signature).FirstOrDefaultAsync(ct) is { } bytes
                ? Results.File(bytes, "application/pkcs7-signature", $"{envelopeId}.p7s")
                : NotInInbox(envelopeId));
        reads.MapGet("/inbox/{envelopeId:guid}/trace", GetTrace);
        return app;
    }

    /// <summary>
    /// multipart/form-data: <c>metadata</c> (JSON, <see cref="DocumentMetadata"/>) and any number of <c>files</c>.
    /// The gateway builds the edXML package, signs it with the agency's organisation certificate and queues it.
    /// </summary>
    private static async Task<IResult> PostDocument(
        HttpRequest request, GatewayDbContext db, PackageStore store, CmsSigner signer, OutboxDispatcher dispatcher, ResiliencePipelines resilience,
        IOptions<GatewayOptions> options, TimeProvider clock, CancellationToken ct)
    {
        var gateway = options.Value;
        var (form, unreadable) = await ReadFormAsync(request, "a 'metadata' part (JSON) and 'files' parts", ct);
        if (form is null)
        {
            return unreadable!;
        }

        if (form["metadata"] is not { Count: 1 } metadataPart)
        {
            return Problems.Invalid("The request must have exactly one 'metadata' part (JSON) beside its 'files' parts.");
        }

        // The form reader decodes a part that is not valid UTF-8 with replacement characters rather than failing;
        // a replacement character in metadata means the sender's encoding is broken, so it is refused, not passed on.
        if (metadataPart.ToString().Contains('\uFFFD', StringComparison.Ordinal))
        {
            return Problems.Invalid("The 'metadata' part is not valid UTF-8.");
        }

        var (idempotency, badKey) = await IdempotentSubmission.ReadAsync(request, form, ct);
        if ((badKey ?? await idempotency.StoredAnswerAsync(db, ct)) is { } answered)
        {
            return answered;
        }

        DocumentMetadata? metadata;
        try
        {
            metadata = JsonSerializer.Deserialize<DocumentMetadata>(metadataPart.ToString(), JsonSerializerOptions.Web);
        }
        catch (JsonException e)
        {
            return Problems.Invalid($"The 'metadata' part is not valid JSON: {e.Message}");
        }

        if (metadata is null || string.IsNullOrWhiteSpace(metadata.Subject) || metadata.To is not { Count: > 0 })
        {
            return Problems.Invalid("The 'metadata' part must give 'subject' and at least one 'to' agency code.");
        }

        if (!Enum.IsDefined(metadata.BusinessDocType))
        {
            return Problems.Invalid($"'businessDocType' {(int)metadata.BusinessDocType} is not 0 (new), 1 (revocation), 2 (update) or 3 (replacement).");
        }

        if (metadata.BusinessDocType != BusinessDocType.New && string.IsNullOrWhiteSpace(metadata.BusinessDocumentId))
        {
            return Problems.Invalid("A recall, update or replacement must name the document it acts on in 'businessDocumentId'.");
        }

        var recipients = new List<EdxmlOrganisation>();
        foreach (var to in metadata.To.Take(gateway.MaxRecipients + 1))
        {
            // An agency code, or a group the hub expands (RecipientGroup, docs/directory.md).
            if (!RecipientAddress.TryNormalise(to, out var address, out var error))
            {
                return Problems.Refuse(ReasonCode.InvalidAgencyCode, $"'to' value '{Untrusted.Quote(to)}': {error}");
            }

            recipients.Add(new EdxmlOrganisation(address));
        }

        if (recipients.Count > gateway.MaxRecipients)
        {
            return Problems.Refuse(ReasonCode.TooLarge, $"At most {gateway.MaxRecipients} recipients per document.", StatusCodes.Status413PayloadTooLarge);
        }

        if (!Addressing.TryCheck(gateway.AgencyCode, recipients.Select(r => r.OrganId), out var addressing, out var addressingDetail))
        {
            return Problems.Refuse(addressing, addressingDetail);
        }

        if (form.Files.Count > gateway.MaxAttachments)
        {
            return Problems.Refuse(ReasonCode.TooLarge, $"At most {gateway.MaxAttachments} files per document.", StatusCodes.Status413PayloadTooLarge);
        }

        long total = 0;
        foreach (var file in form.Files)
        {
            total += file.Length;
            if (file.Length > gateway.MaxAttachmentBytes || total > gateway.MaxPackageBytes)
            {
                return Problems.Refuse(ReasonCode.TooLarge,
                    $"A file may have {gateway.MaxAttachmentBytes} bytes and all files together {gateway.MaxPackageBytes}; '{Untrusted.Quote(file.FileName)}' is {file.Length} bytes.",
                    StatusCodes.Status413PayloadTooLarge);
            }
        }

        var now = clock.GetUtcNow();
        var date = metadata.PromulgationDate ?? DateOnly.FromDateTime(now.ToOffset(TimeSpan.FromHours(7)).DateTime);
        var codeNumber = metadata.CodeNumber ?? now.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var header = new EdxmlHeader
        {
            From = new EdxmlOrganisation(gateway.AgencyCode, gateway.AgencyName),
            To = recipients,
            DocumentId = EdxmlDocumentId.Format(gateway.AgencyCode, date, EdxmlDocumentId.Code(codeNumber, metadata.CodeNotation)!),
            CodeNumber = codeNumber,
            CodeNotation = metadata.CodeNotation,
            Subject = metadata.Subject,
            Content = metadata.Content,
            DocumentTypeCode = metadata.DocumentType,
            DocumentTypeName = metadata.DocumentTypeName,
            PromulgationPlace = metadata.PromulgationPlace,
            PromulgationDate = date,
            SignerFullName = metadata.SignerFullName,
            SignerPosition = metadata.SignerPosition,
            SignerCompetence = metadata.SignerCompetence,
            DueDate = metadata.DueDate,
            Priority = metadata.Priority,
            // Recall (1), update (2) and replacement (3) name the document they act on (QCVN 102:2016, Bussiness block).
            BusinessDocType = metadata.BusinessDocType,
            BusinessDocReason = metadata.BusinessDocReason,
            BusinessDocumentId = metadata.BusinessDocumentId,
        };
        var envelopeId = Guid.CreateVersion7(now);
        // Base64 makes a package about 4/3 of its files: one that will not travel inline is written straight into the
        // store, each file streamed from the request's buffered form, so no process holds it whole.
        var inline = total / 3 * 4 <= gateway.InlinePackageBytes;
        byte[] package = [];
        StoredPackage? storedPackage = null;
        try
        {
            if (!inline)
            {
                var sources = form.Files.Select(f => new EdxmlAttachmentSource(f.FileName, ContentTypeOf(f), f.Length, f.OpenReadStream)).ToList();
                await using var writer = store.OpenWrite(envelopeId, gateway.AgencyCode);
                EdxmlWriter.Write(writer, header, sources, gateway.ToEdxmlLimits(), ct);
                storedPackage = await writer.CompleteAsync(ct);
            }
            else
            {
                var attachments = new List<EdxmlAttachment>();
                foreach (var file in form.Files)
                {
                    attachments.Add(new EdxmlAttachment(file.FileName, ContentTypeOf(file), await ReadAllAsync(file, ct)));
                }

                package = EdxmlWriter.Write(new EdxmlPackage(header, attachments), gateway.ToEdxmlLimits());
            }
        }
        catch (EdxmlException e)
        {
            if (!inline)
            {
                await store.DeleteAsync(envelopeId, CancellationToken.None);
            }

            return Problems.Refuse(e);
        }

        var signature = storedPackage is null ? signer.SignDetached(package) : SignStored(signer, store, envelopeId, storedPackage);
        return await QueueAsync(db, dispatcher, store, resilience, clock, envelopeId, header, package, storedPackage, signature, idempotency, ct);
    }

    private static string ContentTypeOf(IFormFile file) => string.IsNullOrEmpty(file.ContentType) ? "application/octet-stream" : file.ContentType;

    internal static byte[] SignStored(CmsSigner signer, PackageStore store, Guid envelopeId, StoredPackage stored)
    {
        using var package = store.OpenRead(envelopeId, stored.Chunks);
        return signer.SignDetached(package);
    }

    /// <summary>
    /// multipart/form-data: <c>package</c> (a ready edXML package) and optionally <c>signature</c> (a detached
    /// CMS over its exact bytes). Without a signature the gateway signs; with one, it forwards it unchanged and
    /// the hub decides.
    /// </summary>
    private static async Task<IResult> PostPackage(
        HttpRequest request, GatewayDbContext db, PackageStore store, CmsSigner signer, OutboxDispatcher dispatcher, ResiliencePipelines resilience,
        IOptions<GatewayOptions> options, TimeProvider clock, CancellationToken ct)
    {
        var gateway = options.Value;
        var (form, unreadable) = await ReadFormAsync(request, "a 'package' part and, optionally, a 'signature' part", ct);
        if (form is null)
        {
            return unreadable!;
        }

        var (idempotency, badKey) = await IdempotentSubmission.ReadAsync(request, form, ct);
        if ((badKey ?? await idempotency.StoredAnswerAsync(db, ct)) is { } answered)
        {
            return answered;
        }

        if (form.Files.GetFiles("package") is not [var packageFile] || form.Files.GetFiles("signature").Count > 1)
        {
            return Problems.Invalid("The request must have one 'package' part (a file) and at most one 'signature' part.");
        }

        var signatureFile = form.Files.GetFile("signature");
        if (packageFile.Length > gateway.MaxPackageBytes || signatureFile?.Length > gateway.MaxSignatureBytes)
        {
            return Problems.Refuse(ReasonCode.TooLarge,
                $"A package may have {gateway.MaxPackageBytes} bytes and its signature {gateway.MaxSignatureBytes}; these have {packageFile.Length} and {signatureFile?.Length ?? 0}.",
                StatusCodes.Status413PayloadTooLarge);
        }

        // A package over the inline limit is checked and stored as a stream from the request's buffered form.
        var inline = packageFile.Length <= gateway.InlinePackageBytes;
        var package = inline ? await ReadAllAsync(packageFile, ct) : [];
        var limits = gateway.ToEdxmlLimits();
        EdxmlHeader header;
        try
        {
            // Attachments are checked (base64, size, names) as the hub will, so the caller hears now, not later.
            if (inline)
            {
                header = EdxmlReader.Validate(package, limits);
            }
            else
            {
                await using var stream = packageFile.OpenReadStream();
                header = EdxmlReader.Validate(stream, limits);
            }
        }
        catch (EdxmlException e)
        {
            return Problems.Refuse(e);
        }

        if (CheckAddresses(header, gateway) is var (reason, detail) && reason != ReasonCode.Ok)
        {
            return Problems.Refuse(reason, detail);
        }

        var envelopeId = Guid.CreateVersion7(clock.GetUtcNow());
        StoredPackage? stored = null;
        if (!inline)
        {
            await using var stream = packageFile.OpenReadStream();
            stored = await store.WriteAsync(envelopeId, gateway.AgencyCode, stream, ct);
        }

        var signature = signatureFile is not null ? await ReadAllAsync(signatureFile, ct)
            : stored is null ? signer.SignDetached(package)
            : SignStored(signer, store, envelopeId, stored);
        return await QueueAsync(db, dispatcher, store, resilience, clock, envelopeId, header, package, stored, signature, idempotency, ct);
    }

    /// <summary>A ready package's From must be this gateway's agency, and its To list must be one the hub can route.</summary>
    internal static (ReasonCode Reason, string Detail) CheckAddresses(EdxmlHeader header, GatewayOptions gateway)
    {
        if (!AgencyCode.TryParse(header.From.OrganId, out var from, out var error))
        {
            return (ReasonCode.InvalidAgencyCode, $"From/OrganId '{Untrusted.Quote(header.From.OrganId)}': {error}");
        }

        if (from.Value != gateway.AgencyCode)
        {
            return (ReasonCode.SenderMismatch, $"This gateway sends for '{gateway.AgencyCode}'; the package is from '{from}'.");
        }

        return Addressing.TryCheck(gateway.AgencyCode, header.To.Select(t => t.OrganId), out var reason, out var detail)
            ? (ReasonCode.Ok, string.Empty)
            : (reason, detail);
    }

    private static async Task<IResult> QueueAsync(
        GatewayDbContext db, OutboxDispatcher dispatcher, PackageStore store, ResiliencePipelines resilience, TimeProvider clock, Guid envelopeId,
        EdxmlHeader header, byte[] package, StoredPackage? stored, byte[] signature, IdempotentSubmission idempotency, CancellationToken ct)
    {
        await StoreSubmissionAsync(db, dispatcher, store, resilience, clock, envelopeId, header, package, stored, signature, idempotency, ct);
        // A concurrent request with the same key may have stored its document first (this insert then met the unique
        // key and stored nothing): answer with the stored one.
        return await idempotency.StoredAnswerAsync(db, ct)
            ?? IdempotentSubmission.Accepted(envelopeId, header.DocumentId, OutboxStates.Queued);
    }

    /// <summary>
    /// Stores a signed package in the outbox as <c>queued</c> and wakes the dispatcher; the one place a submission is
    /// written, whichever API took it. A stored package (chunks) is deleted again when the row cannot be written.
    /// </summary>
    internal static async Task StoreSubmissionAsync(
        GatewayDbContext db, OutboxDispatcher dispatcher, PackageStore store, ResiliencePipelines resilience, TimeProvider clock, Guid envelopeId,
        EdxmlHeader header, byte[] package, StoredPackage? stored, byte[] signature, IdempotentSubmission idempotency, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        db.Outbox.Add(new OutboxRow
        {
            EnvelopeId = envelopeId,
            DocumentId = header.DocumentId,
            Subject = header.Subject,
            // Recipients as the package names them; the hub validates and refuses bad codes with evidence.
            Recipients = header.To.Select(t => RecipientAddress.NormaliseOrKeep(t.OrganId)).Distinct().ToArray(),
            Package = package,
            Signature = signature,
            PackageSha256 = stored?.Sha256 ?? Digests.Sha256Hex(package),
            PackageLength = stored?.Length,
            PackageChunks = stored?.Chunks,
            State = OutboxStates.Queued,
            TraceParent = System.Diagnostics.Activity.Current?.Id,
            CreatedAt = now,
            UpdatedAt = now,
            IdempotencyKey = idempotency.Key,
            RequestSha256 = idempotency.RequestSha256,
        });
        try
        {
            await db.SaveAcceptedAsync(resilience, ct);
        }
        catch when (stored is not null)
        {
            await store.DeleteAsync(envelopeId, CancellationToken.None);
            throw;
        }

        dispatcher.Wake();
    }

    /// <summary>
    /// The hops the envelope made (hubs, then this gateway) as an edXML TraceHeaderList (QCVN 102:2016), for the document
    /// system to keep with the package: the entries travel beside the signed bytes, never inside them.
    /// </summary>
    private static async Task<IResult> GetTrace(Guid envelopeId, GatewayDbContext db, CancellationToken ct)
    {
        var trace = await db.Inbox.AsNoTracking().Where(i => i.EnvelopeId == envelopeId).Select(i => i.Trace).FirstOrDefaultAsync(ct);
        if (trace is null)
        {
            return NotInInbox(envelopeId);
        }

        var entries = JsonSerializer.Deserialize<List<TraceEntry>>(trace, JsonSerializerOptions.Web) ?? [];
        return Results.Bytes(EdxmlWriter.WriteTraceHeaderList(entries.Select(e => new EdxmlTraceEntry(e.Hub, e.At))), "application/xml");
    }

    /// <summary>
    /// The exact signed package. The document system's first fetch is the handover (ContentHandover evidence); an
    /// auditor's read is not: the document has not reached the agency's own system by being audited.
    /// </summary>
    private static async Task<IResult> GetPackage(
        Guid envelopeId, ClaimsPrincipal user, GatewayDbContext db, PackageStore store, OutboxDispatcher dispatcher, TimeProvider clock, CancellationToken ct)
    {
        var row = await db.Inbox.AsNoTracking().Where(i => i.EnvelopeId == envelopeId)
            .Select(i => new { i.Package, i.PackageLength, i.PackageChunks }).FirstOrDefaultAsync(ct);
        if (row is null)
        {
            return NotInInbox(envelopeId);
        }

        if (GatewayCaller.From(user) is { IsDocumentSystem: true })
        {
            var now = clock.GetUtcNow();
            if (await db.Inbox.Where(i => i.EnvelopeId == envelopeId && i.HandedOverAt == null)
                    .ExecuteUpdateAsync(u => u.SetProperty(i => i.HandedOverAt, now), ct) > 0)
            {
                dispatcher.Wake();
            }
        }

        // A stored package is streamed from its chunks, never loaded whole.
        return row.PackageChunks is { } chunks
            ? Results.Stream(store.OpenRead(envelopeId, chunks), "application/xml", $"{envelopeId}.edxml")
            : Results.File(row.Package, "application/xml", $"{envelopeId}.edxml");
    }

    private static async Task<IResult> GetDocument(Guid envelopeId, GatewayDbContext db, CancellationToken ct)
    {
        var row = await db.Outbox.AsNoTracking().Include(o => o.Receipts).FirstOrDefaultAsync(o => o.EnvelopeId == envelopeId, ct);
        if (row is null)
        {
            return NotSent(envelopeId);
        }

        var expired = await db.OutboxExpiries.AsNoTracking().Where(x => x.EnvelopeId == envelopeId).Select(x => x.RecipientCode).ToListAsync(ct);
        var (state, recipients) = States(row.State, row.Reason, row.Recipients, row.Receipts, expired);
        var statuses = await StatusesAsync(db, envelopeId, ct);
        return Results.Ok(new DocumentState(row.EnvelopeId, row.DocumentId, row.Subject, state, row.Reason, row.Detail, row.CreatedAt, row.UpdatedAt, recipients, statuses));
    }

    /// <summary>
    /// A sent document's state (<c>delivered</c> once every recipient's receipt is in; <c>held</c> while the hub's error
    /// queue holds its submission) and each recipient's.
    /// </summary>
    internal static (string State, IReadOnlyList<RecipientState> Recipients) States(
        string storedState, string? reason, IEnumerable<string> recipientCodes, IEnumerable<OutboxReceiptRow> receipts, IReadOnlyCollection<string> expired)
    {
        var recipients = recipientCodes.Select(code => receipts.FirstOrDefault(r => r.RecipientCode == code) is { } receipt
            ? new RecipientState(code, "delivered", receipt.ReceiptId, receipt.ReceivedAt)
            : new RecipientState(code, storedState == OutboxStates.Rejected ? "rejected" : expired.Contains(code) ? "expired" : "pending", null, null)).ToList();
        var state = storedState == OutboxStates.Accepted && recipients.All(r => r.State == "delivered") ? "delivered"
            : storedState == OutboxStates.Submitted && reason == ReasonCode.ProcessingFailed.ToCode() ? OutboxStates.Held
            : storedState;
        return (state, recipients);
    }

    private static async Task<IResult> ListInbox(GatewayDbContext db, DateTimeOffset? since, int? limit, CancellationToken ct)
    {
        var take = Math.Clamp(limit ?? 100, 1, 1000);
        var query = db.Inbox.AsNoTracking();
        if (since is { } after)
        {
            query = query.Where(i => i.ReceivedAt > after);
        }

        var rows = await query.OrderBy(i => i.ReceivedAt).Take(take)
            .Select(i => new { i.EnvelopeId, i.SenderCode, i.DocumentId, i.Subject, i.ReceivedAt, i.ReceiptId, i.DirectoryVersion, i.Trace })
            .ToListAsync(ct);
        return Results.Ok(rows.Select(i => new InboxItem(i.EnvelopeId, i.SenderCode, i.DocumentId, i.Subject, i.ReceivedAt, i.ReceiptId, i.DirectoryVersion, JsonDocument.Parse(i.Trace).RootElement)));
    }

    private static async Task<IResult> GetInboxItem(Guid envelopeId, GatewayDbContext db, CancellationToken ct)
    {
        var i = await db.Inbox.AsNoTracking().FirstOrDefaultAsync(x => x.EnvelopeId == envelopeId, ct);
        return i is null
            ? NotInInbox(envelopeId)
            : Results.Ok(new InboxItem(i.EnvelopeId, i.SenderCode, i.DocumentId, i.Subject, i.ReceivedAt, i.ReceiptId, i.DirectoryVersion,
                JsonDocument.Parse(i.Trace).RootElement, await StatusesAsync(db, envelopeId, ct)));
    }

    private static async Task<IReadOnlyList<StatusView>> StatusesAsync(GatewayDbContext db, Guid envelopeId, CancellationToken ct) =>
        (await db.Statuses.AsNoTracking().Where(s => s.EnvelopeId == envelopeId).OrderBy(s => s.StatusTime).ThenBy(s => s.CreatedAt).ToListAsync(ct))
            .Select(StatusApi.View).ToList();

    internal static IResult NotInInbox(Guid envelopeId) => Problems.NotFound($"No envelope {envelopeId} in this gateway's inbox.");

    internal static IResult NotSent(Guid envelopeId) => Problems.NotFound($"No envelope {envelopeId} sent through this gateway.");

    /// <summary>Reads a multipart form; a request that is not one, or breaks a limit or the framing, gets its problem instead.</summary>
    private static async Task<(IFormCollection? Form, IResult? Problem)> ReadFormAsync(HttpRequest request, string expected, CancellationToken ct)
    {
        if (!request.HasFormContentType)
        {
            return (null, Problems.Invalid(
                $"Send multipart/form-data with {expected}, not '{Untrusted.Quote(request.ContentType)}'.", StatusCodes.Status415UnsupportedMediaType));
        }

        try
        {
            return (await request.ReadFormAsync(ct), null);
        }
        catch (Exception e) when (Problems.FromRequestException(e) is { } problem)
        {
            return (null, problem);
        }
    }

    private static async Task<byte[]> ReadAllAsync(IFormFile file, CancellationToken ct)
    {
        using var buffer = new MemoryStream((int)file.Length);
        await file.CopyToAsync(buffer, ct);
        return buffer.ToArray();
    }
}
