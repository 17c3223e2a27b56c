using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Exchange.Contracts;
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
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Exchange.Gateway.Vdxp;

/// <summary>
/// The national document axis's client protocol (the one its SDK, <c>SDKVXP</c>, speaks) at this gateway, under
/// <c>/vdxp/</c>: a document system configured with <c>http://host:port/vdxp</c> as its axis endpoint works unchanged
/// (docs/national-axis.md). Every operation is <c>POST /vdxp/{operation}</c> with its parameters in signed
/// <c>XroadVnpt-*</c> headers (<see cref="VdxpCall"/>) and answers a JSON object (<see cref="VdxpAnswer"/>).
/// </summary>
public static class VdxpApi
{
    public const string Prefix = "/vdxp";

    public static IEndpointRouteBuilder MapVdxpApi(this IEndpointRouteBuilder app)
    {
        // The protocol authenticates by its own HMAC, not by the gateway's API keys.
        var vdxp = app.MapGroup(Prefix).AllowAnonymous().DisableAntiforgery();
        vdxp.AddEndpointFilter(AnswerFaultsAsync);
        vdxp.MapPost("/sendEdoc", (HttpRequest r, VdxpOperations o, CancellationToken ct) => o.SendEdocAsync(r, ct));
        vdxp.MapPost("/getReceivedEdocList", (HttpRequest r, VdxpOperations o, CancellationToken ct) => o.ReceivedListAsync(r, ct));
        vdxp.MapPost("/getEdoc", (HttpRequest r, VdxpOperations o, CancellationToken ct) => o.GetEdocAsync(r, ct));
        vdxp.MapMethods("/downloadEdoc", ["GET", "POST"], (HttpRequest r, VdxpOperations o, CancellationToken ct) => o.DownloadEdocAsync(r, ct));
        vdxp.MapPost("/updateStatus", (HttpRequest r, VdxpOperations o, CancellationToken ct) => o.UpdateStatusAsync(r, ct));
        vdxp.MapPost("/getSentEdocList", (HttpRequest r, VdxpOperations o, CancellationToken ct) => o.SentListAsync(r, ct));
        vdxp.MapPost("/countReceiveEdoc", (HttpRequest r, VdxpOperations o, CancellationToken ct) => o.CountAsync(r, VdxpOperations.Edoc, ct));
        vdxp.MapPost("/countReceiveStatus", (HttpRequest r, VdxpOperations o, CancellationToken ct) => o.CountAsync(r, VdxpOperations.Status, ct));
        vdxp.MapPost("/getAgenciesList", (HttpRequest r, VdxpOperations o, CancellationToken ct) => o.AgenciesAsync(r, VdxpOperations.AgencyList.Current, ct));
        vdxp.MapPost("/getAgenciesListQD20", (HttpRequest r, VdxpOperations o, CancellationToken ct) => o.AgenciesAsync(r, VdxpOperations.AgencyList.ByLevel, ct));
        vdxp.MapPost("/getSynchronizeUnit", (HttpRequest r, VdxpOperations o, CancellationToken ct) => o.AgenciesAsync(r, VdxpOperations.AgencyList.Synchronize, ct));
        vdxp.MapPost("/registerAgency", (HttpRequest r, VdxpOperations o, CancellationToken ct) => o.DirectoryChangeAsync(r, "registerAgency", ct));
        vdxp.MapPost("/deleteAgency", (HttpRequest r, VdxpOperations o, CancellationToken ct) => o.DirectoryChangeAsync(r, "deleteAgency", ct));
        vdxp.MapMethods("/{operation}", ["GET", "POST"], (string operation) => VdxpAnswer.Fail(ReasonCode.InvalidRequest,
            $"'{Untrusted.Quote(operation)}' is not an operation of the national axis's protocol here (docs/national-axis.md lists them)."));
        return app;
    }

    /// <summary>
    /// A fault (the database or the broker unavailable) is answered in the protocol's shape too, with every member the SDK
    /// may read, so that the document system sees a FAIL it can retry rather than a body it cannot parse.
    /// </summary>
    private static async ValueTask<object?> AnswerFaultsAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception e) when (!context.HttpContext.RequestAborted.IsCancellationRequested && Problems.FromRequestException(e) is not null)
        {
            // The body broke a limit while it was read, or its framing.
            return VdxpAnswer.Fail(e is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } ? ReasonCode.TooLarge : ReasonCode.InvalidRequest,
                Untrusted.Quote(e.Message), [new("DocId", string.Empty)]);
        }
        catch (Exception e) when (!context.HttpContext.RequestAborted.IsCancellationRequested)
        {
            context.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(VdxpApi))
                .LogError(e, "National-axis request {Path} failed", context.HttpContext.Request.Path);
            return VdxpAnswer.Fail(ReasonCode.ProcessingFailed, "The gateway could not finish the request (its database or broker unavailable?); try again.",
                [new("DocId", string.Empty), new("data", Array.Empty<object>()), new("count", 0)]);
        }
    }
}

/// <summary>The operations of <see cref="VdxpApi"/>; one instance per request.</summary>
public sealed class VdxpOperations(
    GatewayDbContext db,
    PackageStore store,
    CmsSigner signer,
    OutboxDispatcher dispatcher,
    ResiliencePipelines resilience,
    GatewayDirectory directory,
    IOptions<GatewayOptions> options,
    TimeProvider clock,
    ILogger<VdxpOperations> logger)
{
    /// <summary>The three directory operations: who exists now, who exists now at one level, and everyone ever (with what changed).</summary>
    public enum AgencyList
    {
        Current,
        ByLevel,
        Synchronize,
    }

    /// <summary><c>messagetype</c> of a document, and of a status package.</summary>
    public const string Edoc = "edoc";

    public const string Status = "status";

    /// <summary>The service type the SDK sends and expects back.</summary>
    private const string ServiceType = "eDoc";

    /// <summary>The most items one list answer holds (oldest first); the rest follow once these are taken in.</summary>
    private const int ListLimit = 500;

    /// <summary>Vietnam's time (UTC+7, no daylight saving): the zone the axis's document systems show times in.</summary>
    private static readonly TimeSpan VietnamOffset = TimeSpan.FromHours(7);

    private static readonly KeyValuePair<string, object?>[] NoDocId = [new("DocId", string.Empty)];
    private static readonly KeyValuePair<string, object?>[] NoData = [new("data", Array.Empty<object>())];

    private GatewayOptions Gateway => options.Value;

    /// <summary>
    /// <c>sendEdoc</c>: the body, exactly as received, is the package this gateway signs (CMS, detached) and sends through
    /// the hub (<c>messagetype</c> <c>edoc</c>), or a status package about a document this agency received or sent
    /// (<c>status</c>). Answers <c>DocId</c>: the envelope id (a document) or status id (a status).
    /// </summary>
    public async Task<IResult> SendEdocAsync(HttpRequest request, CancellationToken ct)
    {
        var (call, refusal) = await VdxpCall.AuthenticateAsync(request, db, logger, ct);
        if (call is null)
        {
            return VdxpAnswer.Fail(ReasonCode.Unauthorized, refusal, NoDocId);
        }

        var messageType = call.Get("messagetype")?.ToLowerInvariant();
        if (messageType is not (Edoc or Status))
        {
            return VdxpAnswer.Fail(ReasonCode.InvalidRequest, "XroadVnpt-messagetype must be 'edoc' (a document) or 'status' (a status package).", NoDocId);
        }

        if (call.Get("from") is not { } fromText || !AgencyCode.TryParse(fromText, out var from, out _) || from.Value != Gateway.AgencyCode)
        {
            return VdxpAnswer.Fail(ReasonCode.SenderMismatch,
                $"XroadVnpt-from must be this gateway's agency, '{Gateway.AgencyCode}'; it is '{Untrusted.Quote(call.Get("from"))}'.", NoDocId);
        }

        if (call.Get("hash-file") is not { Length: >= 32 and <= 64 } hashFile)
        {
            return VdxpAnswer.Fail(ReasonCode.InvalidRequest, "XroadVnpt-hash-file must be the hex SHA-256 of the body.", NoDocId);
        }

        if (request.ContentLength > Gateway.MaxPackageBytes)
        {
            return VdxpAnswer.Fail(ReasonCode.TooLarge, $"A package may have {Gateway.MaxPackageBytes} bytes; this one has {request.ContentLength}.", NoDocId);
        }

        // Read twice (hashed and checked, then stored): buffered in memory up to 1 MiB and on disk beyond.
        request.EnableBuffering(1024 * 1024, Gateway.MaxPackageBytes);
        BodyDigests digests;
        try
        {
            digests = await HashAsync(request.Body, ct);
        }
        catch (IOException) when (!ct.IsCancellationRequested)
        {
            return VdxpAnswer.Fail(ReasonCode.TooLarge, $"A package may have {Gateway.MaxPackageBytes} bytes.", NoDocId);
        }

        if (digests.Length == 0)
        {
            return VdxpAnswer.Fail(ReasonCode.PackageInvalid, "The body is empty: send the edXML package as the body.", NoDocId);
        }

        // The package is the bytes hash-file names: the body, or the body without the line end SDKVXP writes after the
        // file it hashed (its captured requests end so, and a gateway saw it send so).
        bool Names(string? hex) => hex is not null
            && (string.Equals(hex, hashFile, StringComparison.OrdinalIgnoreCase) || string.Equals(SdkHex(hex), hashFile, StringComparison.OrdinalIgnoreCase));
        var (length, sha256) = Names(digests.Sha256) ? (digests.Length, digests.Sha256)
            : Names(digests.Sha256WithoutLineEnd) ? (digests.Length - 2, digests.Sha256WithoutLineEnd!)
            : (-1, digests.Sha256);
        if (length < 0)
        {
            return VdxpAnswer.Fail(ReasonCode.PackageIncomplete,
                $"The body's SHA-256 is {sha256}; XroadVnpt-hash-file announced {Untrusted.Quote(hashFile)} (the body was cut or changed on the way).", NoDocId);
        }

        var to = ReadTo(call);
        if (to is null)
        {
            return VdxpAnswer.Fail(ReasonCode.InvalidRequest, "XroadVnpt-to must be a JSON array of agency codes, as a string.", NoDocId);
        }

        request.Body.Position = 0;
        return messageType == Edoc
            ? await SendDocumentAsync(call, request.Body, length, sha256, to, ct)
            : await SendStatusAsync(request.Body, length, to, ct);
    }

    private async Task<IResult> SendDocumentAsync(VdxpCall call, Stream body, long length, string sha256, IReadOnlyList<string> to, CancellationToken ct)
    {
        // The same package from the same client is the same document (a retry after a lost answer): answered with its
        // first DocId, never sent twice.
        var key = $"vdxp:{call.Client.SystemId}:{sha256.ToLowerInvariant()}";
        if (await SubmittedUnderAsync(key, ct) is { } earlier)
        {
            return VdxpAnswer.Ok([new("DocId", earlier.ToString())], "This package was received before; its DocId is the first one's.");
        }

        var inline = length <= Gateway.InlinePackageBytes;
        var package = inline ? await ReadAllAsync(body, length, ct) : [];
        EdxmlHeader header;
        try
        {
            header = inline ? EdxmlReader.Validate(package, Gateway.ToEdxmlLimits()) : EdxmlReader.Validate(body, Gateway.ToEdxmlLimits());
        }
        catch (EdxmlException e)
        {
            return VdxpAnswer.Fail(e.Reason, e.Message, NoDocId);
        }

        if (GatewayApi.CheckAddresses(header, Gateway) is var (reason, detail) && reason != ReasonCode.Ok)
        {
            return VdxpAnswer.Fail(reason, detail, NoDocId);
        }

        // The SDK sends `to` only when the document system gives it; without it the package's To list alone decides.
        var addressed = header.To.Select(t => RecipientAddress.NormaliseOrKeep(t.OrganId)).ToHashSet(StringComparer.Ordinal);
        var named = to.Select(RecipientAddress.NormaliseOrKeep).ToHashSet(StringComparer.Ordinal);
        if (named.Count > 0 && !named.SetEquals(addressed))
        {
            return VdxpAnswer.Fail(ReasonCode.RecipientMismatch,
                $"XroadVnpt-to names {List(named)}; the package's To list names {List(addressed)}. They must agree: the package decides where it goes.", NoDocId);
        }

        var envelopeId = Guid.CreateVersion7(clock.GetUtcNow());
        StoredPackage? stored = null;
        if (!inline)
        {
            body.Position = 0;
            await using var writer = store.OpenWrite(envelopeId, Gateway.AgencyCode);
            await CopyAsync(body, writer, length, ct);
            stored = await writer.CompleteAsync(ct);
        }

        var signature = inline ? signer.SignDetached(package) : GatewayApi.SignStored(signer, store, envelopeId, stored!);
        await GatewayApi.StoreSubmissionAsync(db, dispatcher, store, resilience, clock, envelopeId, header, package, stored, signature,
            new IdempotentSubmission(key, sha256.ToLowerInvariant()), ct);
        // A concurrent copy of this request may have stored the document first: its id is the answer.
        var docId = await SubmittedUnderAsync(key, ct) ?? envelopeId;
        logger.LogInformation("National-axis client {SystemId} sent {EnvelopeId} ({DocumentId})", call.Client.SystemId, docId, header.DocumentId);
        return VdxpAnswer.Ok([new("DocId", docId.ToString())]);
    }

    private Task<Guid?> SubmittedUnderAsync(string key, CancellationToken ct) =>
        db.Outbox.AsNoTracking().Where(o => o.IdempotencyKey == key).Select(o => (Guid?)o.EnvelopeId).FirstOrDefaultAsync(ct);

    /// <summary>
    /// A status package the document system wrote (QCVN 102:2016 status, codes 01–06, 15, 16 about a document this agency
    /// received, 13 about one it sent), signed here and sent through the hub's status path as written.
    /// </summary>
    private async Task<IResult> SendStatusAsync(Stream body, long length, IReadOnlyList<string> to, CancellationToken ct)
    {
        if (length > Gateway.InlinePackageBytes)
        {
            return VdxpAnswer.Fail(ReasonCode.TooLarge, $"A status package may have {Gateway.InlinePackageBytes} bytes; this one has {length}.", NoDocId);
        }

        var package = await ReadAllAsync(body, length, ct);
        EdxmlStatus status;
        try
        {
            status = EdxmlStatusReader.Read(package, Gateway.ToEdxmlLimits());
        }
        catch (EdxmlException e)
        {
            return VdxpAnswer.Fail(e.Reason, e.Message, NoDocId);
        }

        if (RecipientAddress.NormaliseOrKeep(status.From.OrganId) != Gateway.AgencyCode)
        {
            return VdxpAnswer.Fail(ReasonCode.SenderMismatch,
                $"This gateway reports for '{Gateway.AgencyCode}'; the status package is from '{Untrusted.Quote(status.From.OrganId)}'.", NoDocId);
        }

        var addressee = RecipientAddress.NormaliseOrKeep(status.ResponseForOrganId);
        if (to.Count > 0 && to.Select(RecipientAddress.NormaliseOrKeep).Distinct().SingleOrDefault() != addressee)
        {
            return VdxpAnswer.Fail(ReasonCode.RecipientMismatch,
                $"XroadVnpt-to names {List(to)}; a status package goes to the organisation of its ResponseFor, '{Untrusted.Quote(addressee)}'.", NoDocId);
        }

        Guid? envelopeId;
        if (status.Code == StatusCode.RecallRequested)
        {
            // 13: the sender asks its recipients to let it recall the document.
            envelopeId = await db.Outbox.AsNoTracking()
                .Where(o => o.DocumentId == status.ResponseForDocumentId && o.Recipients.Contains(addressee))
                .OrderByDescending(o => o.CreatedAt).Select(o => (Guid?)o.EnvelopeId).FirstOrDefaultAsync(ct);
        }
        else if (Enum.IsDefined(status.Code))
        {
            envelopeId = await db.Inbox.AsNoTracking()
                .Where(i => i.DocumentId == status.ResponseForDocumentId && i.SenderCode == addressee)
                .OrderByDescending(i => i.ReceivedAt).Select(i => (Guid?)i.EnvelopeId).FirstOrDefaultAsync(ct);
        }
        else
        {
            return VdxpAnswer.Fail(ReasonCode.PackageInvalid, "A status is 01, 02, 03, 04, 05, 06, 13, 15 or 16.", NoDocId);
        }

        if (envelopeId is not { } envelope)
        {
            return VdxpAnswer.Fail(ReasonCode.NotFound, status.Code == StatusCode.RecallRequested
                ? $"This agency sent no document '{Untrusted.Quote(status.ResponseForDocumentId)}' to '{Untrusted.Quote(addressee)}'."
                : $"This agency received no document '{Untrusted.Quote(status.ResponseForDocumentId)}' from '{Untrusted.Quote(addressee)}'.", NoDocId);
        }

        // The same status package sent again (a retry after a lost answer) is the same status.
        var earlier = await db.Statuses.AsNoTracking()
            .Where(s => s.Direction == StatusDirections.Sent && s.EnvelopeId == envelope && s.RecipientCode == addressee && s.Package == package)
            .Select(s => (Guid?)s.StatusId).FirstOrDefaultAsync(ct);
        if (earlier is { } id)
        {
            return VdxpAnswer.Ok([new("DocId", id.ToString())], "This status package was received before; its DocId is the first one's.");
        }

        var now = clock.GetUtcNow();
        var row = StatusApi.Outgoing(signer, Gateway.AgencyCode, envelope, addressee, status.Code, status.Description, status.Timestamp, package, now);
        db.Statuses.Add(row);
        await db.SaveAcceptedAsync(resilience, ct);
        dispatcher.Wake();
        return VdxpAnswer.Ok([new("DocId", row.StatusId.ToString())]);
    }

    /// <summary><c>getReceivedEdocList</c>: documents (or status packages) received and not yet said <c>done</c> or <c>fail</c> to, oldest first.</summary>
    public async Task<IResult> ReceivedListAsync(HttpRequest request, CancellationToken ct)
    {
        var (call, refusal) = await VdxpCall.AuthenticateAsync(request, db, logger, ct);
        if (call is null)
        {
            return VdxpAnswer.Fail(ReasonCode.Unauthorized, refusal, NoData);
        }

        var items = (call.Get("messagetype")?.ToLowerInvariant() ?? Edoc) == Status
            ? (await PendingStatuses().OrderBy(s => s.CreatedAt).Take(ListLimit).ToListAsync(ct))
                .Select(s => Received(s.StatusId, Status, s.CreatedAt, s.TakenAt, s.ReporterCode, s.TakenState))
            : (await PendingDocuments().OrderBy(i => i.ReceivedAt).Take(ListLimit)
                    .Select(i => new { i.EnvelopeId, i.ReceivedAt, i.TakenAt, i.SenderCode, i.TakenState }).ToListAsync(ct))
                .Select(i => Received(i.EnvelopeId, Edoc, i.ReceivedAt, i.TakenAt, i.SenderCode, i.TakenState));
        return VdxpAnswer.Ok([new("data", items.ToList())]);
    }

    private Dictionary<string, object?> Received(Guid id, string messageType, DateTimeOffset created, DateTimeOffset? updated, string from, string? state) => new()
    {
        ["docId"] = id.ToString(),
        ["serviceType"] = ServiceType,
        ["messageType"] = messageType,
        ["created_time"] = Time(created),
        ["updated_time"] = Time(updated ?? created),
        ["from"] = from,
        ["to"] = Gateway.AgencyCode,
        ["status"] = state ?? "initial",
        ["status_desc"] = state == TakenStates.Processing ? "Đang tiếp nhận" : "Chưa tiếp nhận",
    };

    /// <summary><c>countReceiveEdoc</c>, <c>countReceiveStatus</c>: how many items the list would give.</summary>
    public async Task<IResult> CountAsync(HttpRequest request, string messageType, CancellationToken ct)
    {
        var (call, refusal) = await VdxpCall.AuthenticateAsync(request, db, logger, ct);
        if (call is null)
        {
            return VdxpAnswer.Fail(ReasonCode.Unauthorized, refusal, [new("count", 0)]);
        }

        var count = messageType == Status ? await PendingStatuses().CountAsync(ct) : await PendingDocuments().CountAsync(ct);
        return VdxpAnswer.Ok([new("count", count)]);
    }

    private IQueryable<InboxRow> PendingDocuments() =>
        db.Inbox.AsNoTracking().Where(i => i.TakenState == null || i.TakenState == TakenStates.Processing);

    private IQueryable<StatusRow> PendingStatuses() =>
        db.Statuses.AsNoTracking().Where(s => s.Direction == StatusDirections.Received && (s.TakenState == null || s.TakenState == TakenStates.Processing));

    /// <summary>
    /// <c>getEdoc</c>: the exact bytes the sender signed, base64 in <c>data</c>, streamed (a stored package is never
    /// loaded whole). Fetching is not the handover: <c>updateStatus done</c> is. The SDK's <c>filePath</c> header is a
    /// path on the client's own disk and is ignored.
    /// </summary>
    public async Task<IResult> GetEdocAsync(HttpRequest request, CancellationToken ct)
    {
        var (call, refusal) = await VdxpCall.AuthenticateAsync(request, db, logger, ct);
        if (call is null)
        {
            return VdxpAnswer.Fail(ReasonCode.Unauthorized, refusal, [new("data", string.Empty)]);
        }

        var (package, notFound) = await OpenReceivedAsync(call, ct);
        if (package is null)
        {
            return VdxpAnswer.Fail(ReasonCode.NotFound, notFound, [new("data", string.Empty)]);
        }

        return Results.Stream(async response =>
        {
            await using (package)
            {
                await response.WriteAsync(Encoding.UTF8.GetBytes(VdxpAnswer.OkPrefixForStringMember("data")), CancellationToken.None);
                await using (var base64 = new CryptoStream(response, new ToBase64Transform(), CryptoStreamMode.Write, leaveOpen: true))
                {
                    await package.CopyToAsync(base64, CancellationToken.None);
                }

                await response.WriteAsync("\"}"u8.ToArray(), CancellationToken.None);
            }
        }, "application/json; charset=utf-8");
    }

    /// <summary><c>downloadEdoc</c> (GET): the package itself, not wrapped in JSON.</summary>
    public async Task<IResult> DownloadEdocAsync(HttpRequest request, CancellationToken ct)
    {
        var (call, refusal) = await VdxpCall.AuthenticateAsync(request, db, logger, ct);
        if (call is null)
        {
            return VdxpAnswer.Fail(ReasonCode.Unauthorized, refusal);
        }

        var (package, notFound) = await OpenReceivedAsync(call, ct);
        return package is null ? VdxpAnswer.Fail(ReasonCode.NotFound, notFound) : Results.Stream(package, "application/xml", $"{call.Get("docId")}.edxml");
    }

    /// <summary>The package of a received document or status package named by the signed <c>docId</c>.</summary>
    private async Task<(Stream? Package, string NotFound)> OpenReceivedAsync(VdxpCall call, CancellationToken ct)
    {
        if (!Guid.TryParse(call.Get("docId"), out var id))
        {
            return (null, $"XroadVnpt-docId '{Untrusted.Quote(call.Get("docId"))}' is not a DocId this gateway gave (getReceivedEdocList lists them).");
        }

        var document = await db.Inbox.AsNoTracking().Where(i => i.EnvelopeId == id)
            .Select(i => new { i.Package, i.PackageChunks }).FirstOrDefaultAsync(ct);
        if (document is not null)
        {
            return (document.PackageChunks is { } chunks ? store.OpenRead(id, chunks) : new MemoryStream(document.Package, writable: false), string.Empty);
        }

        var status = await db.Statuses.AsNoTracking().Where(s => s.StatusId == id && s.Direction == StatusDirections.Received)
            .Select(s => s.Package).FirstOrDefaultAsync(ct);
        return status is null
            ? (null, $"This agency received nothing with DocId {id}.")
            : (new MemoryStream(status, writable: false), string.Empty);
    }

    /// <summary>
    /// <c>updateStatus</c>: what the document system did with a received item. <c>processing</c> keeps it listed;
    /// <c>done</c> takes it off the list and, for a document, is the handover (ContentHandover evidence at the hub,
    /// once); <c>fail</c> takes it off the list and, for a document, is reported to the hub as ContentHandoverFailure
    /// evidence. A <c>done</c> after a <c>fail</c> is taken (the system managed after all); nothing goes back from <c>done</c>.
    /// </summary>
    public async Task<IResult> UpdateStatusAsync(HttpRequest request, CancellationToken ct)
    {
        var (call, refusal) = await VdxpCall.AuthenticateAsync(request, db, logger, ct);
        if (call is null)
        {
            return VdxpAnswer.Fail(ReasonCode.Unauthorized, refusal);
        }

        var state = call.Get("status")?.ToLowerInvariant();
        if (state is null || !TakenStates.All.Contains(state))
        {
            return VdxpAnswer.Fail(ReasonCode.InvalidRequest, $"XroadVnpt-status must be one of {string.Join(", ", TakenStates.All)}; it is '{Untrusted.Quote(call.Get("status"))}'.");
        }

        if (!Guid.TryParse(call.Get("docId"), out var id))
        {
            return VdxpAnswer.Fail(ReasonCode.NotFound, $"XroadVnpt-docId '{Untrusted.Quote(call.Get("docId"))}' is not a DocId this gateway gave.");
        }

        var now = clock.GetUtcNow();
        // Each update moves only forward: processing from nothing; fail from nothing or processing; done from anything but done.
        var fromNothing = true;
        string[] fromStates = state switch
        {
            TakenStates.Processing => [],
            TakenStates.Fail => [TakenStates.Processing],
            _ => [TakenStates.Processing, TakenStates.Fail],
        };
        var document = await db.Inbox.Where(i => i.EnvelopeId == id).Select(i => new { i.TakenState }).FirstOrDefaultAsync(ct);
        if (document is not null)
        {
            var movable = db.Inbox.Where(i => i.EnvelopeId == id && ((fromNothing && i.TakenState == null) || fromStates.Contains(i.TakenState)));
            var changed = state == TakenStates.Done
                ? await movable.ExecuteUpdateAsync(u => u
                    .SetProperty(i => i.TakenState, state)
                    .SetProperty(i => i.TakenAt, now)
                    .SetProperty(i => i.HandedOverAt, i => i.HandedOverAt ?? now), ct)
                : await movable.ExecuteUpdateAsync(u => u.SetProperty(i => i.TakenState, state).SetProperty(i => i.TakenAt, now), ct);
            if (changed > 0 && state != TakenStates.Processing)
            {
                dispatcher.Wake();
                logger.LogInformation("National-axis client {SystemId} said {State} to {EnvelopeId}", call.Client.SystemId, state, id);
            }

            return Answered(changed, document.TakenState, state);
        }

        var status = await db.Statuses.Where(s => s.StatusId == id && s.Direction == StatusDirections.Received).Select(s => new { s.TakenState }).FirstOrDefaultAsync(ct);
        if (status is null)
        {
            return VdxpAnswer.Fail(ReasonCode.NotFound, $"This agency received nothing with DocId {id}.");
        }

        var updated = await db.Statuses
            .Where(s => s.StatusId == id && ((fromNothing && s.TakenState == null) || fromStates.Contains(s.TakenState)))
            .ExecuteUpdateAsync(u => u.SetProperty(s => s.TakenState, state).SetProperty(s => s.TakenAt, now), ct);
        return Answered(updated, status.TakenState, state);
    }

    private static IResult Answered(int changed, string? before, string state) =>
        changed > 0 || before == state
            ? VdxpAnswer.Ok()
            : VdxpAnswer.Ok(description: $"Already '{before}'; '{state}' changes nothing.");

    /// <summary>
    /// <c>getSentEdocList</c>: each recipient's state for a document this agency sent (<c>docId</c>, the DocId
    /// <c>sendEdoc</c> answered), or for the latest sent documents when no <c>docId</c> is given; with
    /// <c>messagetype</c> <c>status</c>, the status packages this agency sent about that document (or that status).
    /// </summary>
    public async Task<IResult> SentListAsync(HttpRequest request, CancellationToken ct)
    {
        var (call, refusal) = await VdxpCall.AuthenticateAsync(request, db, logger, ct);
        if (call is null)
        {
            return VdxpAnswer.Fail(ReasonCode.Unauthorized, refusal, NoData);
        }

        Guid? id = null;
        if (call.Get("docId") is { Length: > 0 } docId)
        {
            if (!Guid.TryParse(docId, out var parsed))
            {
                return VdxpAnswer.Fail(ReasonCode.NotFound, $"XroadVnpt-docId '{Untrusted.Quote(docId)}' is not a DocId this gateway gave.", NoData);
            }

            id = parsed;
        }

        if ((call.Get("messagetype")?.ToLowerInvariant() ?? Edoc) == Status)
        {
            var statuses = await db.Statuses.AsNoTracking()
                .Where(s => s.Direction == StatusDirections.Sent && (id == null || s.StatusId == id || s.EnvelopeId == id))
                .OrderByDescending(s => s.CreatedAt).Take(ListLimit).ToListAsync(ct);
            return VdxpAnswer.Ok([new("data", statuses.Select(SentStatus).ToList())]);
        }

        var documents = await db.Outbox.AsNoTracking().Include(o => o.Receipts)
            .Where(o => id == null || o.EnvelopeId == id)
            .OrderByDescending(o => o.CreatedAt).Take(id is null ? 100 : 1).ToListAsync(ct);
        if (id is not null && documents.Count == 0)
        {
            return VdxpAnswer.Fail(ReasonCode.NotFound, $"This agency sent no document with DocId {id}.", NoData);
        }

        var envelopeIds = documents.Select(d => d.EnvelopeId).ToList();
        var expired = (await db.OutboxExpiries.AsNoTracking().Where(x => envelopeIds.Contains(x.EnvelopeId)).ToListAsync(ct))
            .ToLookup(x => x.EnvelopeId, x => x.RecipientCode);
        var handovers = (await db.OutboxHandovers.AsNoTracking().Where(h => envelopeIds.Contains(h.EnvelopeId)).ToListAsync(ct))
            .ToDictionary(h => (h.EnvelopeId, h.RecipientCode));
        var data = documents.SelectMany(d =>
        {
            var (state, recipients) = GatewayApi.States(d.State, d.Reason, d.Recipients, d.Receipts, expired[d.EnvelopeId].ToList());
            return recipients.Select(r => SentDocument(d, state, r, handovers.GetValueOrDefault((d.EnvelopeId, r.Code))));
        }).ToList();
        return VdxpAnswer.Ok([new("data", data)]);
    }

    /// <summary>
    /// One recipient's state: <c>done</c> or <c>fail</c> once the hub recorded what its document system did (handover),
    /// else <c>delivered</c> (its signed receipt is in), <c>pending</c>, <c>rejected</c> or <c>expired</c>.
    /// </summary>
    private Dictionary<string, object?> SentDocument(OutboxRow d, string state, RecipientState recipient, OutboxHandoverRow? handover)
    {
        var receiveStatus = handover is null ? recipient.State : handover.Failure is null ? TakenStates.Done : TakenStates.Fail;
        return new()
        {
            ["serviceType"] = ServiceType,
            // The recipient's gateway keeps the envelope under the same id: it is the DocId its document system sees.
            ["receiverDocId"] = d.EnvelopeId.ToString(),
            ["toCode"] = recipient.Code,
            ["receiveStatus"] = receiveStatus,
            ["receiveStatusDesc"] = receiveStatus switch
            {
                TakenStates.Done => "Đơn vị nhận đã tiếp nhận vào hệ thống",
                TakenStates.Fail => $"Đơn vị nhận không tiếp nhận được: {handover!.Failure}",
                "delivered" => "Đã đến đơn vị nhận (biên nhận đã ký)",
                "rejected" => "Bị từ chối",
                "expired" => "Quá hạn chưa nhận",
                _ => "Đang chuyển",
            },
            ["title"] = d.Subject,
            ["notation"] = NotationOf(d.DocumentId),
            ["receivedTime"] = recipient.ReceivedAt is { } at ? Time(at) : string.Empty,
            ["sentTime"] = Time(d.CreatedAt),
            ["sendStatus"] = state,
            ["sendStatusDesc"] = d.Reason is { } reason && reason != ReasonCode.Ok.ToCode() ? $"{reason}: {d.Detail}" : state,
            ["senderDocId"] = d.EnvelopeId.ToString(),
            ["fromCode"] = Gateway.AgencyCode,
        };
    }

    private Dictionary<string, object?> SentStatus(StatusRow s) => new()
    {
        ["serviceType"] = ServiceType,
        ["receiverDocId"] = s.StatusId.ToString(),
        ["toCode"] = s.RecipientCode,
        ["receiveStatus"] = s.State,
        ["receiveStatusDesc"] = s.Reason is null ? s.State : $"{s.Reason}: {s.Detail}",
        ["title"] = $"{s.StatusCode:00} {s.Description}".Trim(),
        ["notation"] = string.Empty,
        ["receivedTime"] = string.Empty,
        ["sentTime"] = Time(s.CreatedAt),
        ["sendStatus"] = s.State,
        ["sendStatusDesc"] = s.Reason ?? s.State,
        ["senderDocId"] = s.EnvelopeId.ToString(),
        ["fromCode"] = Gateway.AgencyCode,
    };

    /// <summary>
    /// <c>getAgenciesList</c>, <c>getAgenciesListQD20</c>, <c>getSynchronizeUnit</c>: the hub's directory as this gateway's
    /// copy holds it (docs/directory.md, "Gateways' copy of the directory"). <c>id</c> and <c>pid</c> are the agency's and
    /// its parent's codes (the directory has no other ids); <c>oldCode</c> lists, comma-separated, the agency's other
    /// codes and the codes of the agencies merged into it, so a document system can map what it holds under an old code.
    /// <c>getAgenciesListQD20</c> keeps the agencies of the code level (Quyết định 20/2020/QĐ-TTg) its <c>level</c> header
    /// names; <c>getSynchronizeUnit</c> adds retired agencies (<c>deleted</c>), the version and the hub's agency.
    /// </summary>
    public async Task<IResult> AgenciesAsync(HttpRequest request, AgencyList list, CancellationToken ct)
    {
        var (call, refusal) = await VdxpCall.AuthenticateAsync(request, db, logger, ct);
        if (call is null)
        {
            return VdxpAnswer.Fail(ReasonCode.Unauthorized, refusal, NoData);
        }

        int? level = null;
        if (list == AgencyList.ByLevel && call.Get("level") is { Length: > 0 } levelText)
        {
            if (!int.TryParse(levelText, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed) || parsed is < 1 or > 4)
            {
                return VdxpAnswer.Fail(ReasonCode.InvalidRequest, $"XroadVnpt-level is 1 to 4 (the code levels of Quyết định 20/2020/QĐ-TTg); it is '{Untrusted.Quote(levelText)}'.", NoData);
            }

            level = parsed;
        }

        if (await directory.CurrentAsync(ct) is not { } current)
        {
            return VdxpAnswer.Fail(ReasonCode.NotReady, "This gateway has not received the hub's directory yet; ask again in a minute.", NoData);
        }

        var now = clock.GetUtcNow();
        var oldCodes = current.Agencies
            .SelectMany(a => (a.Aliases ?? []).Select(alias => (Of: a.Code, Old: alias))
                .Concat(a.Successor is { } successor ? [(Of: successor, Old: a.Code)] : []))
            .ToLookup(x => x.Of, x => x.Old);
        var agencies = current.Agencies
            .Where(a => list == AgencyList.Synchronize || a.IsActiveAt(now))
            .Where(a => level is null || CodeLevel(a.Code) == level)
            .OrderBy(a => a.Code, StringComparer.Ordinal);
        var data = agencies.Select(a =>
        {
            var item = new Dictionary<string, object?>
            {
                ["id"] = a.Code,
                ["pid"] = a.Parent ?? string.Empty,
                ["code"] = a.Code,
                ["name"] = a.Name,
                ["mail"] = string.Empty,
                ["oldCode"] = string.Join(",", oldCodes[a.Code].Distinct().Order(StringComparer.Ordinal)),
            };
            if (list == AgencyList.Synchronize)
            {
                item["version"] = current.Version;
                item["centerCode"] = current.ServingHub(a.Code) ?? current.Agencies.Where(x => x.Parent is null).Select(x => x.Code).FirstOrDefault() ?? string.Empty;
                item["deleted"] = !a.IsActiveAt(now);
                item["modifyDate"] = a.ValidTo is { } to && to <= now ? Time(to) : a.ValidFrom is { } from ? Time(from) : string.Empty;
                item["isAgency"] = true;
            }

            return item;
        }).ToList();
        return VdxpAnswer.Ok([new("data", data)]);
    }

    /// <summary>
    /// The level of a four-group code (Quyết định 20/2020/QĐ-TTg): 1 for <c>000.00.00.H29</c> (a province or ministry),
    /// 2 for <c>000.00.NN.H29</c>, 3 for <c>000.NN.NN.H29</c>, 4 for <c>NNN.NN.NN.H29</c>.
    /// </summary>
    private static int CodeLevel(string code) =>
        !AgencyCode.TryParse(code, out var parsed, out _) ? 0
        : parsed.Level4 != "000" ? 4
        : parsed.Level3 != "00" ? 3
        : parsed.Level2 != "00" ? 2
        : 1;

    /// <summary>
    /// <c>registerAgency</c>, <c>deleteAgency</c>: the directory is the hub's (versioned, with certificates bound to each
    /// agency), so a document system cannot change it; it is told so, and how to ask.
    /// </summary>
    public async Task<IResult> DirectoryChangeAsync(HttpRequest request, string operation, CancellationToken ct)
    {
        var (call, refusal) = await VdxpCall.AuthenticateAsync(request, db, logger, ct);
        if (call is null)
        {
            return VdxpAnswer.Fail(ReasonCode.Unauthorized, refusal);
        }

        logger.LogInformation("National-axis client {SystemId} asked to {Operation}; refused, the directory is the hub's", call.Client.SystemId, operation);
        return VdxpAnswer.Fail(ReasonCode.Forbidden,
            $"{operation} changes nothing here: the directory is the province hub's. Ask the hub's operator to add, rename, merge or remove an agency " +
            "(exchange directory import, merge or reparent); every gateway then sees the new version.");
    }

    /// <summary>The SDK's <c>to</c> header: a JSON array of agency codes in a string; empty when absent.</summary>
    private static List<string>? ReadTo(VdxpCall call)
    {
        if (call.Get("to") is not { Length: > 0 } text)
        {
            return [];
        }

        try
        {
            return JsonSerializer.Deserialize<List<string>>(text)?.Where(t => !string.IsNullOrWhiteSpace(t)).Select(t => t.Trim()).ToList();
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string NotationOf(string documentId) => documentId.Split(',') is [_, _, var code, ..] ? code : string.Empty;

    private static string List(IEnumerable<string> codes) =>
        codes.Any() ? string.Join(", ", codes.Order(StringComparer.Ordinal).Take(10).Select(c => $"'{Untrusted.Quote(c)}'")) : "nobody";

    /// <summary>Times as ISO 8601 in Vietnam's time, with the offset written.</summary>
    private static string Time(DateTimeOffset at) => at.ToOffset(VietnamOffset).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);

    /// <summary>
    /// The SDK's own spelling of a digest: each byte in hex without its leading zero (it formats bytes one by one with
    /// Java's <c>Integer.toHexString</c>), so <c>06 74 f1</c> is sent as <c>674f1</c>. Seen from SDKVXP 2.0.1 against a
    /// gateway; a digest with no byte under 0x10 reads the same either way.
    /// </summary>
    private static string SdkHex(string hex) =>
        string.Concat(Convert.FromHexString(hex).Select(b => b.ToString("x", CultureInfo.InvariantCulture)));

    /// <summary>A body's length and SHA-256, and when it ends with CR LF, the SHA-256 of what comes before them.</summary>
    private sealed record BodyDigests(long Length, string Sha256, string? Sha256WithoutLineEnd);

    /// <summary>Hashes the body once, holding its last two bytes back so that the digest without them is known too.</summary>
    private static async Task<BodyDigests> HashAsync(Stream body, CancellationToken ct)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[81920 + 2];
        var held = 0;
        long length = 0;
        int read;
        while ((read = await body.ReadAsync(buffer.AsMemory(held, buffer.Length - held), ct)) > 0)
        {
            length += read;
            var available = held + read;
            var hashed = Math.Max(0, available - 2);
            sha.AppendData(buffer, 0, hashed);
            held = available - hashed;
            buffer.AsSpan(hashed, held).CopyTo(buffer);
        }

        var withoutLineEnd = held == 2 && buffer[0] == '\r' && buffer[1] == '\n' ? Convert.ToHexStringLower(sha.GetCurrentHash()) : null;
        sha.AppendData(buffer, 0, held);
        return new BodyDigests(length, Convert.ToHexStringLower(sha.GetHashAndReset()), withoutLineEnd);
    }

    private static async Task CopyAsync(Stream from, Stream to, long count, CancellationToken ct)
    {
        var buffer = new byte[81920];
        for (long left = count; left > 0;)
        {
            var read = await from.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, left)), ct);
            if (read == 0)
            {
                throw new EndOfStreamException("The body ended before the package's bytes were read again.");
            }

            await to.WriteAsync(buffer.AsMemory(0, read), ct);
            left -= read;
        }
    }

    private static async Task<byte[]> ReadAllAsync(Stream body, long length, CancellationToken ct)
    {
        var bytes = new byte[length];
        await body.ReadExactlyAsync(bytes, ct);
        return bytes;
    }
}
