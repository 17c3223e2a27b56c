using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Exchange.Audit.Access;
using Exchange.Audit.Compliance;
using Exchange.Audit.Queries;
using Exchange.Core;
using Exchange.Persistence.Evidence;
using Exchange.Signing.Evidence;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Exchange.Audit;

/// <summary>A paper-count report as an agency posts it.</summary>
public sealed record PaperCountRequest(string? Month, int? Count, string? Agency, string? Note);

/// <summary>
/// The auditors' HTTP API (schemas/openapi/audit.yaml, docs/audit.md). Read-only except for paper counts, which
/// only an agency key may post, for its own agency. Every answer that is not a success is an RFC 9457 problem
/// with a <c>reason</c> code.
/// </summary>
public static class AuditApi
{
    public const string CsvContentType = "text/csv; charset=utf-8";

    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireAuthorization();
        api.MapGet("/deliveries", SearchAsync);
        api.MapGet("/envelopes/{envelopeId:guid}", HistoryAsync);
        api.MapGet("/envelopes/{envelopeId:guid}/bundle", BundleAsync);
        api.MapGet("/evidence", EvidenceAsync);
        api.MapGet("/compliance", ComplianceAsync);
        api.MapGet("/compliance.csv", ComplianceCsvAsync);
        api.MapPost("/paper-counts", PaperCountAsync);
        return app;
    }

    internal static AuditCaller Caller(ClaimsPrincipal user) =>
        AuditCaller.From(user) ?? throw new InvalidOperationException("The endpoint requires an authenticated caller.");

    private static async Task<IResult> SearchAsync(HttpRequest request, ClaimsPrincipal user, AuditStore store, CancellationToken ct)
    {
        if (!DeliverySearch.TryParse(name => request.Query[name].FirstOrDefault(), out var search, out var error))
        {
            return AuditProblems.Invalid(error);
        }

        var page = await store.SearchAsync(search, Caller(user).Scope, ct);
        return Results.Ok(page);
    }

    private static async Task<IResult> HistoryAsync(
        Guid envelopeId, ClaimsPrincipal user, AuditStore store, AuditSettings settings, TimeProvider clock, CancellationToken ct)
    {
        var history = await store.HistoryAsync(envelopeId, Caller(user), settings.DeliveryDue, clock.GetUtcNow(), ct);
        return history is null ? AuditProblems.NotFound($"envelope {envelopeId}") : Results.Ok(history);
    }

    /// <summary>
    /// The evidence bundle of one envelope (docs/evidence.md), for auditors. An agency key is refused (403) even
    /// for its own documents: a bundle's chain links carry records of other agencies' envelopes up to the next
    /// signed checkpoint. For a document the agency may not see the answer is 404, as everywhere.
    /// </summary>
    private static async Task<IResult> BundleAsync(
        Guid envelopeId, ClaimsPrincipal user, AuditStore store, AuditSettings settings, NpgsqlDataSource database, TimeProvider clock,
        ILoggerFactory logs, CancellationToken ct)
    {
        var caller = Caller(user);
        var history = await store.HistoryAsync(envelopeId, caller, settings.DeliveryDue, clock.GetUtcNow(), ct);
        if (history is null)
        {
            return AuditProblems.NotFound($"envelope {envelopeId}");
        }

        if (!caller.IsAuditor)
        {
            return AuditProblems.Forbidden("Evidence bundles are for auditors: a bundle's chain links carry records of other agencies' envelopes. Ask an auditor for this document's bundle.");
        }

        BundleLoad load;
        await using (var connection = await database.OpenConnectionAsync(ct))
        {
            load = await EvidenceChainStore.LoadBundleAsync(connection, [envelopeId], ct);
        }

        if (!load.Ready)
        {
            return new RetryAfterResult(
                AuditProblems.Result(ReasonCode.NotReady, StatusCodes.Status503ServiceUnavailable,
                    $"The evidence is not ready for a bundle yet: {load.NotReady}. Records are sealed and checkpointed within seconds; try again."),
                seconds: 5);
        }

        var crls = new List<byte[]>();
        foreach (var file in settings.CrlFiles)
        {
            crls.Add(await File.ReadAllBytesAsync(file, ct));
        }

        // The zip is written to a temporary file (ZipArchive writes synchronously) that is deleted when the response is sent.
        var temporary = new FileStream(Path.Combine(Path.GetTempPath(), $"exchange-bundle-{Guid.NewGuid():N}.zip"), FileMode.CreateNew, FileAccess.ReadWrite,
            FileShare.None, 81920, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            var summary = EvidenceBundleWriter.Write(load.Source!, temporary, crls, clock.GetUtcNow());
            temporary.Position = 0;
            logs.CreateLogger("Exchange.Audit").LogInformation(
                "Evidence bundle of {EnvelopeId} for {Caller}: {Records} record(s), {Checkpoints} checkpoint(s)", envelopeId, caller.KeyName, summary.Records, summary.Checkpoints);
            return Results.Stream(temporary, "application/zip", $"evidence-{envelopeId:D}.zip");
        }
        catch
        {
            await temporary.DisposeAsync();
            throw;
        }
    }

    private static async Task<IResult> EvidenceAsync(
        ClaimsPrincipal user, AuditStore store, string? agency, string? kind, string? reason, string? from, string? to, string? limit, CancellationToken ct)
    {
        string? code = null;
        if (agency is not null)
        {
            if (!AgencyCode.TryParse(agency, out var parsed, out var error))
            {
                return AuditProblems.Result(ReasonCode.InvalidAgencyCode, StatusCodes.Status400BadRequest, error);
            }

            code = parsed.Value;
        }

        if (!DeliverySearch.TryTime(from, endOfDay: false, out var fromTime) || !DeliverySearch.TryTime(to, endOfDay: true, out var toTime))
        {
            return AuditProblems.Invalid("from, to: a date (2026-11-01) or an ISO 8601 date-time.");
        }

        var count = 100;
        if (limit is not null && (!int.TryParse(limit, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out count)
                                  || count < 1 || count > 1000))
        {
            return AuditProblems.Invalid("limit: a whole number from 1 to 1000.");
        }

        return Results.Ok(await store.EvidenceAsync(code, kind, reason, fromTime, toTime, count, Caller(user).Scope, ct));
    }

    private static async Task<IResult> ComplianceAsync(
        string? month, ClaimsPrincipal user, AuditStore store, AuditSettings settings, TimeProvider clock, CancellationToken ct)
    {
        if (!TryMonth(month, clock, out var reportMonth, out var problem))
        {
            return problem;
        }

        var report = await store.ComplianceAsync(reportMonth, Caller(user).Scope, clock.GetUtcNow(), settings.DeliveryDue, ct);
        return Results.Ok(ComplianceJson.From(report));
    }

    private static async Task<IResult> ComplianceCsvAsync(
        string? month, ClaimsPrincipal user, AuditStore store, AuditSettings settings, TimeProvider clock, CancellationToken ct)
    {
        if (!TryMonth(month, clock, out var reportMonth, out var problem))
        {
            return problem;
        }

        var report = await store.ComplianceAsync(reportMonth, Caller(user).Scope, clock.GetUtcNow(), settings.DeliveryDue, ct);

        // A byte order mark, so that a spreadsheet opened on a Vietnamese Windows reads the names as UTF-8.
        var bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes(ComplianceCsv.Write(report))).ToArray();
        return Results.File(bytes, CsvContentType, $"compliance-{reportMonth}.csv");
    }

    private static async Task<IResult> PaperCountAsync(
        HttpRequest request, ClaimsPrincipal user, AuditWriteDatabase database, TimeProvider clock, ILoggerFactory logs, CancellationToken ct)
    {
        var caller = Caller(user);
        if (caller.IsAuditor || caller.Agency is null)
        {
            return AuditProblems.Forbidden("Auditors have a read-only role: only an agency key reports its own agency's paper count.");
        }

        if (request.ContentLength > AuditSettings.MaxPaperCountBodyBytes)
        {
            return AuditProblems.Result(ReasonCode.TooLarge, StatusCodes.Status413PayloadTooLarge, $"The body is larger than {AuditSettings.MaxPaperCountBodyBytes} bytes.");
        }

        PaperCountRequest? body;
        try
        {
            var buffer = new MemoryStream();
            await request.Body.CopyToAsync(new LimitedStream(buffer, AuditSettings.MaxPaperCountBodyBytes), ct);
            body = JsonSerializer.Deserialize<PaperCountRequest>(buffer.ToArray(), JsonSerializerOptions.Web);
        }
        catch (JsonException e)
        {
            return AuditProblems.Invalid($"The body is not a JSON object like {{\"month\":\"2026-11\",\"count\":12}}: {e.Message}");
        }
        catch (InvalidDataException)
        {
            return AuditProblems.Result(ReasonCode.TooLarge, StatusCodes.Status413PayloadTooLarge, $"The body is larger than {AuditSettings.MaxPaperCountBodyBytes} bytes.");
        }

        if (body is null)
        {
            return AuditProblems.Invalid("The body is empty: send {\"month\":\"2026-11\",\"count\":12}.");
        }

        if (body.Agency is not null && (!AgencyCode.TryParse(body.Agency, out var named, out _) || named.Value != caller.Agency))
        {
            return AuditProblems.Forbidden($"This key reports for {caller.Agency} only.");
        }

        if (!ReportMonth.TryParse(body.Month, out var month))
        {
            return AuditProblems.Invalid("month: expected yyyy-MM, e.g. 2026-11.");
        }

        var now = clock.GetUtcNow();
        if (month > ReportMonth.Containing(now))
        {
            return AuditProblems.Invalid($"month: {month} has not begun yet.");
        }

        if (body.Count is not { } count || count < 0 || count > AuditSettings.MaxPaperCount)
        {
            return AuditProblems.Invalid($"count: a whole number from 0 to {AuditSettings.MaxPaperCount}.");
        }

        if (body.Note is { Length: > AuditSettings.MaxNoteLength })
        {
            return AuditProblems.Invalid($"note: at most {AuditSettings.MaxNoteLength} characters.");
        }

        var report = await AuditStore.AddPaperCountAsync(database.DataSource, caller.Agency, month, count, "agency-key", body.Note, now, ct);
        logs.CreateLogger("Exchange.Audit").LogInformation("Paper count {Count} for {Agency} in {Month} reported by {Key}", count, caller.Agency, month, caller.KeyName);
        return Results.Created($"/api/compliance?month={month}", report);
    }

    internal static bool TryMonth(string? text, TimeProvider clock, out ReportMonth month, out IResult problem)
    {
        problem = Results.Empty;
        if (string.IsNullOrWhiteSpace(text))
        {
            month = ReportMonth.Containing(clock.GetUtcNow());
            return true;
        }

        if (!ReportMonth.TryParse(text, out month))
        {
            problem = AuditProblems.Invalid("month: expected yyyy-MM, e.g. 2026-11.");
            return false;
        }

        return true;
    }

    /// <summary>Adds a Retry-After header to another result.</summary>
    private sealed class RetryAfterResult(IResult inner, int seconds) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return inner.ExecuteAsync(httpContext);
        }
    }

    /// <summary>A write-only stream that refuses more than a set number of bytes.</summary>
    private sealed class LimitedStream(Stream inner, long limit) : Stream
    {
        private long _written;

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => _written;
        public override long Position { get => _written; set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count)
        {
            _written += count;
            if (_written > limit)
            {
                throw new InvalidDataException("The body is too large.");
            }

            inner.Write(buffer, offset, count);
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            _written += buffer.Length;
            if (_written > limit)
            {
                throw new InvalidDataException("The body is too large.");
            }

            return inner.WriteAsync(buffer, cancellationToken);
        }
    }
}
