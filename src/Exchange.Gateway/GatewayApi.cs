using System.Text.Json;
using Exchange.Core;
using Exchange.Edxml;
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

/// <summary>The gateway's HTTP API for its agency's document system.</summary>
public static class GatewayApi
{
    public static IEndpointRouteBuilder MapGatewayApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");
        api.MapPost("/documents", PostDocument).DisableAntiforgery();
        api.MapPost("/packages", PostPackage).DisableAntiforgery();
        api.MapGet("/documents/{envelopeId:guid}", GetDocument);
        api.MapGet("/inbox", ListInbox);
        api.MapGet("/inbox/{envelopeId:guid}", GetInboxItem);
        api.MapGet("/inbox/{envelopeId:guid}/package", GetPackage);
        api.MapGet("/inbox/{envelopeId:guid}/signature", async (Guid envelopeId, GatewayDbContext db, CancellationToken ct) =>
            await db.Inbox.AsNoTracking().Where(i => i.EnvelopeId == envelopeId).Select(i => i.Signature).FirstOrDefaultAsync(ct) is { } bytes
                ? Results.File(bytes, "application/pkcs7-signature", $"{envelopeId}.p7s")
                : Results.NotFound());
        return app;
    }

    /// <summary>
    /// multipart/form-data: <c>metadata</c> (JSON, <see cref="DocumentMetadata"/>) and any number of <c>files</c>.
    /// The gateway builds the edXML package, signs it with the agency's organisation certificate and queues it.
    /// </summary>
    private static async Task<IResult> PostDocument(
        HttpRequest request, GatewayDbContext db, CmsSigner signer, OutboxDispatcher dispatcher, ResiliencePipelines resilience,
        IOptions<GatewayOptions> options, TimeProvider clock, CancellationToken ct)
    {
        if (!request.HasFormContentType)
        {
            return Problems.Refuse(ReasonCode.PackageInvalid, "Send multipart/form-data with a 'metadata' part (JSON) and 'files' parts.", StatusCodes.Status415UnsupportedMediaType);
        }

        var form = await request.ReadFormAsync(ct);
        var (idempotency, badKey) = await IdempotentSubmission.ReadAsync(request, form, ct);
        if ((badKey ?? await idempotency.StoredAnswerAsync(db, ct)) is { } answered)
        {
            return answered;
        }

        DocumentMetadata? metadata;
        try
        {
            metadata = JsonSerializer.Deserialize<DocumentMetadata>(form["metadata"].ToString(), JsonSerializerOptions.Web);
        }
        catch (JsonException e)
        {
            return Problems.Refuse(ReasonCode.PackageInvalid, $"The 'metadata' part is not valid JSON: {e.Message}");
        }

        if (metadata is null || string.IsNullOrWhiteSpace(metadata.Subject) || metadata.To is not { Count: > 0 })
        {
            return Problems.Refuse(ReasonCode.PackageInvalid, "The 'metadata' part must give 'subject' and at least one 'to' agency code.");
        }

        if (metadata.BusinessDocType != BusinessDocType.New && string.IsNullOrWhiteSpace(metadata.BusinessDocumentId))
        {
            return Problems.Refuse(ReasonCode.PackageInvalid, "A recall, update or replacement must name the document it acts on in 'businessDocumentId'.");
        }

        var gateway = options.Value;
        var recipients = new List<EdxmlOrganisation>();
        foreach (var to in metadata.To.Take(gateway.MaxRecipients + 1))
        {
            if (!AgencyCode.TryParse(to, out var code, out var error))
            {
                return Problems.Refuse(ReasonCode.InvalidAgencyCode, $"'to' value '{to}': {error}");
            }

            recipients.Add(new EdxmlOrganisation(code.Value));
        }

        if (recipients.Count > gateway.MaxRecipients)
        {
            return Problems.Refuse(ReasonCode.TooLarge, $"At most {gateway.MaxRecipients} recipients per document.");
        }

        var attachments = new List<EdxmlAttachment>();
        long total = 0;
        foreach (var file in form.Files)
        {
            total += file.Length;
            if (total > gateway.MaxPackageBytes)
            {
                return Problems.Refuse(ReasonCode.TooLarge, $"The attachments exceed {gateway.MaxPackageBytes} bytes.", StatusCodes.Status413PayloadTooLarge);
            }

            using var content = new MemoryStream((int)file.Length);
            await file.CopyToAsync(content, ct);
            attachments.Add(new EdxmlAttachment(file.FileName, string.IsNullOrEmpty(file.ContentType) ? "application/octet-stream" : file.ContentType, content.ToArray()));
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
        byte[] package;
        try
        {
            package = EdxmlWriter.Write(new EdxmlPackage(header, attachments));
        }
        catch (EdxmlException e)
        {
            return Problems.Refuse(e.Reason, e.Message);
        }

        return await QueueAsync(db, dispatcher, resilience, clock, header, package, signer.SignDetached(package), idempotency, ct);
    }

    /// <summary>
    /// multipart/form-data: <c>package</c> (a ready edXML package) and optionally <c>signature</c> (a detached
    /// CMS over its exact bytes). Without a signature the gateway signs; with one, it forwards it unchanged and
    /// the hub decides.
    /// </summary>
    private static async Task<IResult> PostPackage(
        HttpRequest request, GatewayDbContext db, CmsSigner signer, OutboxDispatcher dispatcher, ResiliencePipelines resilience,
        IOptions<GatewayOptions> options, TimeProvider clock, CancellationToken ct)
    {
        if (!request.HasFormContentType || request.Form.Files["package"] is not { } packageFile)
        {
            return Problems.Refuse(ReasonCode.PackageInvalid, "Send multipart/form-data with a 'package' part and, optionally, a 'signature' part.", StatusCodes.Status415UnsupportedMediaType);
        }

        var (idempotency, badKey) = await IdempotentSubmission.ReadAsync(request, request.Form, ct);
        if ((badKey ?? await idempotency.StoredAnswerAsync(db, ct)) is { } answered)
        {
            return answered;
        }

        var gateway = options.Value;
        if (packageFile.Length > gateway.MaxPackageBytes)
        {
            return Problems.Refuse(ReasonCode.TooLarge, $"The package exceeds {gateway.MaxPackageBytes} bytes.", StatusCodes.Status413PayloadTooLarge);
        }

        var package = await ReadAllAsync(packageFile, ct);
        EdxmlHeader header;
        try
        {
            header = EdxmlReader.ReadHeader(package, new EdxmlLimits { MaxPackageBytes = gateway.MaxPackageBytes, MaxRecipients = gateway.MaxRecipients });
        }
        catch (EdxmlException e)
        {
            return Problems.Refuse(e.Reason, e.Message);
        }

        if (!AgencyCode.TryParse(header.From.OrganId, out var from, out var error))
        {
            return Problems.Refuse(ReasonCode.InvalidAgencyCode, $"From/OrganId '{header.From.OrganId}': {error}");
        }

        if (from.Value != gateway.AgencyCode)
        {
            return Problems.Refuse(ReasonCode.SenderMismatch, $"This gateway sends for '{gateway.AgencyCode}'; the package is from '{from}'.");
        }

        var signature = request.Form.Files["signature"] is { } signatureFile
            ? await ReadAllAsync(signatureFile, ct)
            : signer.SignDetached(package);
        return await QueueAsync(db, dispatcher, resilience, clock, header, package, signature, idempotency, ct);
    }

    private static async Task<IResult> QueueAsync(
        GatewayDbContext db, OutboxDispatcher dispatcher, ResiliencePipelines resilience, TimeProvider clock, EdxmlHeader header, byte[] package, byte[] signature,
        IdempotentSubmission idempotency, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var envelopeId = Guid.CreateVersion7(now);
        db.Outbox.Add(new OutboxRow
        {
            EnvelopeId = envelopeId,
            DocumentId = header.DocumentId,
            Subject = header.Subject,
            // Recipients as the package names them; the hub validates and refuses bad codes with evidence.
            Recipients = header.To.Select(t => AgencyCode.TryParse(t.OrganId, out var c, out _) ? c.Value : t.OrganId).Distinct().ToArray(),
            Package = package,
            Signature = signature,
            PackageSha256 = Digests.Sha256Hex(package),
            State = OutboxStates.Queued,
            TraceParent = System.Diagnostics.Activity.Current?.Id,
            CreatedAt = now,
            UpdatedAt = now,
            IdempotencyKey = idempotency.Key,
            RequestSha256 = idempotency.RequestSha256,
        });
        await db.SaveAcceptedAsync(resilience, ct);
        dispatcher.Wake();
        // A concurrent request with the same key may have stored its document first (this insert then met the unique
        // key and stored nothing): answer with the stored one.
        return await idempotency.StoredAnswerAsync(db, ct)
            ?? IdempotentSubmission.Accepted(envelopeId, header.DocumentId, OutboxStates.Queued);
    }

    /// <summary>The exact signed package. The first fetch is the handover to the document system (ContentHandover evidence).</summary>
    private static async Task<IResult> GetPackage(Guid envelopeId, GatewayDbContext db, OutboxDispatcher dispatcher, TimeProvider clock, CancellationToken ct)
    {
        var bytes = await db.Inbox.AsNoTracking().Where(i => i.EnvelopeId == envelopeId).Select(i => i.Package).FirstOrDefaultAsync(ct);
        if (bytes is null)
        {
            return Results.NotFound();
        }

        var now = clock.GetUtcNow();
        if (await db.Inbox.Where(i => i.EnvelopeId == envelopeId && i.HandedOverAt == null)
                .ExecuteUpdateAsync(u => u.SetProperty(i => i.HandedOverAt, now), ct) > 0)
        {
            dispatcher.Wake();
        }

        return Results.File(bytes, "application/xml", $"{envelopeId}.edxml");
    }

    private static async Task<IResult> GetDocument(Guid envelopeId, GatewayDbContext db, CancellationToken ct)
    {
        var row = await db.Outbox.AsNoTracking().Include(o => o.Receipts).FirstOrDefaultAsync(o => o.EnvelopeId == envelopeId, ct);
        if (row is null)
        {
            return Results.NotFound();
        }

        var expired = await db.OutboxExpiries.AsNoTracking().Where(x => x.EnvelopeId == envelopeId).Select(x => x.RecipientCode).ToListAsync(ct);
        var recipients = row.Recipients.Select(code => row.Receipts.FirstOrDefault(r => r.RecipientCode == code) is { } receipt
            ? new RecipientState(code, "delivered", receipt.ReceiptId, receipt.ReceivedAt)
            : new RecipientState(code, row.State == OutboxStates.Rejected ? "rejected" : expired.Contains(code) ? "expired" : "pending", null, null)).ToList();
        var state = row.State == OutboxStates.Accepted && recipients.All(r => r.State == "delivered") ? "delivered" : row.State;
        var statuses = await StatusesAsync(db, envelopeId, ct);
        return Results.Ok(new DocumentState(row.EnvelopeId, row.DocumentId, row.Subject, state, row.Reason, row.Detail, row.CreatedAt, row.UpdatedAt, recipients, statuses));
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
            ? Results.NotFound()
            : Results.Ok(new InboxItem(i.EnvelopeId, i.SenderCode, i.DocumentId, i.Subject, i.ReceivedAt, i.ReceiptId, i.DirectoryVersion,
                JsonDocument.Parse(i.Trace).RootElement, await StatusesAsync(db, envelopeId, ct)));
    }

    private static async Task<IReadOnlyList<StatusView>> StatusesAsync(GatewayDbContext db, Guid envelopeId, CancellationToken ct) =>
        (await db.Statuses.AsNoTracking().Where(s => s.EnvelopeId == envelopeId).OrderBy(s => s.StatusTime).ThenBy(s => s.CreatedAt).ToListAsync(ct))
            .Select(StatusApi.View).ToList();

    private static async Task<byte[]> ReadAllAsync(IFormFile file, CancellationToken ct)
    {
        using var buffer = new MemoryStream((int)file.Length);
        await file.CopyToAsync(buffer, ct);
        return buffer.ToArray();
    }
}
