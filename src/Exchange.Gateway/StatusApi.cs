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

/// <summary>What a document system posts to report a status (edXML StatusCode, QCVN 102:2016).</summary>
public sealed record StatusReport(int Code, string? Description = null, string? StaffName = null, string? StaffDepartment = null, IReadOnlyList<string>? To = null);

public sealed record StatusView(
    Guid StatusId, string Direction, string ReporterCode, string RecipientCode, string Code, string? Description,
    DateTimeOffset StatusTime, string State, string? Reason);

public sealed record StatusAnswer(IReadOnlyList<Guid> StatusIds, string State);

/// <summary>
/// Statuses as the document system reports them. A recipient reports 01–06, 15 and 16 about a document in its
/// inbox, to the document's sender; a sender reports 13 (recall requested) about its own document, to its
/// recipients. Each becomes a signed edXML status package that travels through the hub like a document.
/// </summary>
public static class StatusApi
{
    private static readonly HashSet<StatusCode> RecipientCodes =
        [StatusCode.Arrived, StatusCode.Refused, StatusCode.Accepted, StatusCode.Assigned, StatusCode.InProgress, StatusCode.Done, StatusCode.RecallAgreed, StatusCode.RecallRefused];

    public static IEndpointRouteBuilder MapStatusApi(this IEndpointRouteBuilder app)
    {
        // Reporting a status is a write, in the agency's name: the document system's key only.
        app.MapPost("/api/inbox/{envelopeId:guid}/status", ReportAsRecipient).RequireAuthorization(GatewayPolicies.Submit);
        app.MapPost("/api/documents/{envelopeId:guid}/status", ReportAsSender).RequireAuthorization(GatewayPolicies.Submit);
        return app;
    }

    /// <summary>
    /// A status package this agency reports, signed (CMS, detached, over its exact bytes) and stored as <c>queued</c> for
    /// the dispatcher: the one place such a row is made, whichever API took the status.
    /// </summary>
    internal static StatusRow Outgoing(
        CmsSigner signer, string agencyCode, Guid envelopeId, string addressee, StatusCode code, string? description, DateTimeOffset statusTime, byte[] package, DateTimeOffset now) =>
        new()
        {
            StatusId = Guid.CreateVersion7(now),
            EnvelopeId = envelopeId,
            Direction = StatusDirections.Sent,
            ReporterCode = agencyCode,
            RecipientCode = addressee,
            StatusCode = (short)code,
            Description = description,
            StatusTime = statusTime.ToUniversalTime(),
            Package = package,
            Signature = signer.SignDetached(package),
            State = StatusStates.Queued,
            TraceParent = System.Diagnostics.Activity.Current?.Id,
            CreatedAt = now,
            UpdatedAt = now,
        };

    public static StatusView View(StatusRow s) =>
        new(s.StatusId, s.Direction, s.ReporterCode, s.RecipientCode, s.StatusCode.ToString("00", System.Globalization.CultureInfo.InvariantCulture),
            s.Description, s.StatusTime, s.State, s.Reason);

    private static async Task<IResult> ReportAsRecipient(
        Guid envelopeId, StatusReport report, GatewayDbContext db, CmsSigner signer, OutboxDispatcher dispatcher, ResiliencePipelines resilience,
        IOptions<GatewayOptions> options, TimeProvider clock, CancellationToken ct)
    {
        if (!Enum.IsDefined((StatusCode)report.Code) || !RecipientCodes.Contains((StatusCode)report.Code))
        {
            return Problems.Refuse(ReasonCode.PackageInvalid, "A recipient reports status 01, 02, 03, 04, 05, 06, 15 or 16.");
        }

        var document = await db.Inbox.AsNoTracking().Where(i => i.EnvelopeId == envelopeId)
            .Select(i => new { i.SenderCode, i.DocumentId }).FirstOrDefaultAsync(ct);
        if (document is null)
        {
            // Only a recipient reports 01-06, 15 and 16, about a document it received.
            return GatewayApi.NotInInbox(envelopeId);
        }

        return await QueueAsync(db, signer, dispatcher, resilience, options.Value, clock, envelopeId, [document.SenderCode], document.DocumentId, report, ct);
    }

    private static async Task<IResult> ReportAsSender(
        Guid envelopeId, StatusReport report, GatewayDbContext db, CmsSigner signer, OutboxDispatcher dispatcher, ResiliencePipelines resilience,
        IOptions<GatewayOptions> options, TimeProvider clock, CancellationToken ct)
    {
        if ((StatusCode)report.Code != StatusCode.RecallRequested)
        {
            return Problems.Refuse(ReasonCode.PackageInvalid, "A sender reports status 13 (recall requested) about its own document.");
        }

        var document = await db.Outbox.AsNoTracking().Where(o => o.EnvelopeId == envelopeId)
            .Select(o => new { o.Recipients, o.DocumentId }).FirstOrDefaultAsync(ct);
        if (document is null)
        {
            return GatewayApi.NotSent(envelopeId);
        }

        // One status package per addressee, however often the caller names one.
        var to = report.To is { Count: > 0 } ? report.To.Distinct(StringComparer.Ordinal).ToArray() : document.Recipients;
        var unknown = to.Except(document.Recipients).ToList();
        if (unknown.Count > 0)
        {
            return Problems.Refuse(ReasonCode.RecipientMismatch, $"Not recipients of this document: {string.Join(", ", unknown.Take(5).Select(u => $"'{Untrusted.Quote(u)}'"))}{(unknown.Count > 5 ? $" and {unknown.Count - 5} more" : string.Empty)}.");
        }

        return await QueueAsync(db, signer, dispatcher, resilience, options.Value, clock, envelopeId, to, document.DocumentId, report, ct);
    }

    /// <summary>One signed status package per addressee (a status package names one ResponseFor organisation).</summary>
    private static async Task<IResult> QueueAsync(
        GatewayDbContext db, CmsSigner signer, OutboxDispatcher dispatcher, ResiliencePipelines resilience, GatewayOptions gateway,
        TimeProvider clock, Guid envelopeId, IReadOnlyList<string> addressees, string documentId, StatusReport report,
        CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var rows = new List<StatusRow>();
        foreach (var addressee in addressees)
        {
            byte[] package;
            try
            {
                package = EdxmlStatusWriter.Write(new EdxmlStatus
                {
                    From = new EdxmlOrganisation(gateway.AgencyCode, gateway.AgencyName),
                    ResponseForOrganId = addressee,
                    ResponseForDocumentId = documentId,
                    Code = (StatusCode)report.Code,
                    Description = report.Description,
                    Timestamp = now,
                    Staff = report.StaffName is null && report.StaffDepartment is null ? null : new EdxmlStaffInfo(report.StaffDepartment, report.StaffName, null, null),
                }, gateway.ToEdxmlLimits());
            }
            catch (EdxmlException e)
            {
                return Problems.Refuse(e);
            }

            rows.Add(Outgoing(signer, gateway.AgencyCode, envelopeId, addressee, (StatusCode)report.Code, report.Description, now, package, now));
        }

        db.Statuses.AddRange(rows);
        await db.SaveAcceptedAsync(resilience, ct);
        dispatcher.Wake();
        return Results.Accepted($"/api/documents/{envelopeId}", new StatusAnswer(rows.Select(r => r.StatusId).ToList(), StatusStates.Queued));
    }
}
