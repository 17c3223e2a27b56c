using Exchange.Core;
using Exchange.Persistence.Hub;
using Exchange.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Audit;

public sealed record EvidenceView(
    long Seq, Guid EvidenceId, string Kind, Guid EnvelopeId, string? RecipientCode, string Reason, string Detail,
    string? PackageSha256, string Issuer, DateTimeOffset IssuedAt);

public sealed record DeliveryView(string RecipientCode, string State, DateTimeOffset ForwardedAt, DateTimeOffset? DeliveredAt, Guid? ReceiptId);

public sealed record EnvelopeHistory(
    Guid EnvelopeId, string SenderCode, string? DocumentId, string? Subject, string State, string Reason, string Detail,
    string PackageSha256, string? SignerCertificateSha256, long? DirectoryVersion, DateTimeOffset ReceivedAt,
    IReadOnlyList<DeliveryView> Deliveries, IReadOnlyList<EvidenceView> Evidence);

/// <summary>Read-only queries over the hub's evidence, for auditors.</summary>
public static class AuditApi
{
    public static IEndpointRouteBuilder MapAuditApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api");
        api.MapGet("/envelopes/{envelopeId:guid}", GetHistory);
        api.MapGet("/evidence", Search);
        return app;
    }

    private static async Task<IResult> GetHistory(Guid envelopeId, HubDbContext db, CancellationToken ct)
    {
        var e = await db.Envelopes.AsNoTracking().Include(x => x.Deliveries).FirstOrDefaultAsync(x => x.EnvelopeId == envelopeId, ct);
        if (e is null)
        {
            return Results.NotFound();
        }

        var evidence = await db.Evidence.AsNoTracking().Where(x => x.EnvelopeId == envelopeId).OrderBy(x => x.Seq).ToListAsync(ct);
        return Results.Ok(new EnvelopeHistory(
            e.EnvelopeId, e.SenderCode, e.DocumentId, e.Subject, e.State, e.Reason, e.Detail, e.PackageSha256, e.SignerCertificateSha256,
            e.DirectoryVersion, e.ReceivedAt,
            e.Deliveries.Select(d => new DeliveryView(d.RecipientCode, d.State, d.ForwardedAt, d.DeliveredAt, d.ReceiptId)).ToList(),
            evidence.Select(View).ToList()));
    }

    /// <summary>Evidence by agency (as sender or recipient), kind, reason and period, newest first.</summary>
    private static async Task<IResult> Search(
        HubDbContext db, string? agency, string? kind, string? reason, DateTimeOffset? from, DateTimeOffset? to, int? limit, CancellationToken ct)
    {
        var query = db.Evidence.AsNoTracking();
        if (agency is not null)
        {
            if (!AgencyCode.TryParse(agency, out var code, out var error))
            {
                return Results.Problem(statusCode: 400, title: ReasonCode.InvalidAgencyCode.ToCode(), detail: error,
                    extensions: new Dictionary<string, object?> { ["reason"] = ReasonCode.InvalidAgencyCode.ToCode() });
            }

            var sent = db.Envelopes.Where(e => e.SenderCode == code.Value).Select(e => e.EnvelopeId);
            query = query.Where(e => e.RecipientCode == code.Value || sent.Contains(e.EnvelopeId));
        }

        query = kind is null ? query : query.Where(e => e.Kind == kind);
        query = reason is null ? query : query.Where(e => e.Reason == reason);
        query = from is null ? query : query.Where(e => e.IssuedAt >= from);
        query = to is null ? query : query.Where(e => e.IssuedAt < to);
        var rows = await query.OrderByDescending(e => e.Seq).Take(Math.Clamp(limit ?? 100, 1, 1000)).ToListAsync(ct);
        return Results.Ok(rows.Select(View));
    }

    private static EvidenceView View(EvidenceRow e) =>
        new(e.Seq, e.EvidenceId, e.Kind, e.EnvelopeId, e.RecipientCode, e.Reason, e.Detail, e.PackageSha256, e.Issuer, e.IssuedAt);
}

/// <summary>Builds the auditors' web host over the hub's database (read-only use).</summary>
public static class AuditHost
{
    public static WebApplication Build(string[] args, IDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.AddServiceDefaults("exchange-audit");
        var servers = ServerSettings.FromConfiguration(builder.Configuration);
        var names = new ExchangeNames(builder.Configuration["Exchange:Prefix"] ?? string.Empty);
        var connectionString = servers.PostgresConnectionString(builder.Configuration["Audit:Database"] ?? names.HubDatabase);
        builder.Services.AddDbContext<HubDbContext>(o => o.UseNpgsql(connectionString).UseQueryTrackingBehavior(QueryTrackingBehavior.NoTracking));
        builder.Services.AddHealthChecks().AddPostgresCheck("postgres", _ => connectionString);
        var app = builder.Build();
        app.MapDefaultEndpoints();
        app.MapAuditApi();
        return app;
    }
}
