using Exchange.Gateway.Access;
using Exchange.Persistence.Gateway;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace Exchange.Gateway;

public sealed record OutboxCounts(int Queued, int Submitted, int Accepted, int AwaitingReceipts, int Rejected);

public sealed record OperationsRecipient(string Code, string State);

/// <summary>A sent document as an operator sees it: ids, states and reason codes, no subject, number or content.</summary>
public sealed record OperationsDocument(
    Guid EnvelopeId, string State, string? Reason, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<OperationsRecipient> Recipients);

public sealed record OperationsOutbox(
    string Agency, OutboxCounts Counts, DateTimeOffset? OldestQueuedAt, int StatusesQueued, int HandoversUnreported,
    IReadOnlyList<OperationsDocument> Documents);

/// <summary>
/// What the people who run a gateway need to see whether it is working: how many documents wait at each step,
/// the oldest one still queued, and the states of the latest ones. Open to the operator role (and to the
/// agency's and auditors' keys); it shows no subject, document number, package or signature.
/// </summary>
public static class OperationsApi
{
    public const int MaxLimit = 1000;

    private static readonly string[] States = [OutboxStates.Queued, OutboxStates.Submitted, OutboxStates.Accepted, OutboxStates.Rejected];

    public static IEndpointRouteBuilder MapOperationsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/operations/outbox", GetOutbox).RequireAuthorization(GatewayPolicies.Operations);
        return app;
    }

    /// <summary><c>?state=queued|submitted|accepted|rejected</c> (default: all), <c>?limit=</c> (100, at most 1000), newest change first.</summary>
    private static async Task<IResult> GetOutbox(string? state, int? limit, GatewayDbContext db, IOptions<GatewayOptions> options, CancellationToken ct)
    {
        if (state is not null && !States.Contains(state, StringComparer.Ordinal))
        {
            return Problems.Refuse(Core.ReasonCode.InvalidRequest, $"'state' is one of {string.Join(", ", States)}.", StatusCodes.Status400BadRequest);
        }

        var byState = await db.Outbox.AsNoTracking().GroupBy(o => o.State).Select(g => new { g.Key, Count = g.Count() }).ToListAsync(ct);
        int Count(string s) => byState.FirstOrDefault(x => x.Key == s)?.Count ?? 0;
        var awaiting = await db.Outbox.AsNoTracking().CountAsync(o => o.State == OutboxStates.Accepted && o.Receipts.Count < o.Recipients.Length, ct);
        var oldestQueued = await db.Outbox.AsNoTracking().Where(o => o.State == OutboxStates.Queued)
            .OrderBy(o => o.CreatedAt).Select(o => (DateTimeOffset?)o.CreatedAt).FirstOrDefaultAsync(ct);
        var statusesQueued = await db.Statuses.AsNoTracking().CountAsync(s => s.State == StatusStates.Queued, ct);
        var handovers = await db.Inbox.AsNoTracking().CountAsync(i => i.HandedOverAt != null && !i.HandoverReported, ct);

        var query = db.Outbox.AsNoTracking();
        if (state is not null)
        {
            query = query.Where(o => o.State == state);
        }

        // Only the columns an operator sees: subject, number, package and signature stay in the database.
        var rows = await query.OrderByDescending(o => o.UpdatedAt).Take(Math.Clamp(limit ?? 100, 1, MaxLimit))
            .Select(o => new { o.EnvelopeId, o.State, o.Reason, o.Recipients, o.CreatedAt, o.UpdatedAt, o.Receipts })
            .ToListAsync(ct);
        var ids = rows.Select(r => r.EnvelopeId).ToList();
        var expired = (await db.OutboxExpiries.AsNoTracking().Where(x => ids.Contains(x.EnvelopeId)).Select(x => new { x.EnvelopeId, x.RecipientCode }).ToListAsync(ct))
            .ToLookup(x => x.EnvelopeId, x => x.RecipientCode);
        var documents = rows.Select(row =>
        {
            var (documentState, recipients) = GatewayApi.States(row.State, row.Reason, row.Recipients, row.Receipts, expired[row.EnvelopeId].ToList());
            return new OperationsDocument(row.EnvelopeId, documentState, row.Reason, row.CreatedAt, row.UpdatedAt,
                recipients.Select(r => new OperationsRecipient(r.Code, r.State)).ToList());
        }).ToList();

        return Results.Ok(new OperationsOutbox(
            options.Value.AgencyCode,
            new OutboxCounts(Count(OutboxStates.Queued), Count(OutboxStates.Submitted), Count(OutboxStates.Accepted), awaiting, Count(OutboxStates.Rejected)),
            oldestQueued, statusesQueued, handovers, documents));
    }
}
