using System.Diagnostics.Metrics;
using Exchange.Audit.Queries;
using Exchange.ServiceDefaults;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Exchange.Audit.Compliance;

/// <summary>
/// The month so far of the compliance report (docs/audit.md) as gauges of the "Exchange.Compliance" meter, per tier:
/// documents sent, the share signed, and the national target (70/60/30 %) beside it, so that a dashboard draws the
/// line the share must stay above. The report reads a month of documents, so one reading serves a few minutes.
/// </summary>
public sealed class ComplianceMetrics(AuditStore store, AuditSettings settings, TimeProvider clock, ILogger<ComplianceMetrics> logger)
    : IHostedService, IDisposable
{
    public const string MeterName = "Exchange.Compliance";

    public static readonly TimeSpan ReadingMaxAge = TimeSpan.FromMinutes(2);

    private Meter? _meter;
    private CachedReading<ComplianceReport>? _report;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _report = new CachedReading<ComplianceReport>(ReadAsync, ReadingMaxAge, TimeSpan.FromSeconds(5), clock, logger);
        _meter = new Meter(MeterName);
        _meter.CreateObservableGauge("exchange.compliance.sent", () => PerTier(l => l.Sent), "{document}",
            "Documents the hub accepted this month (Vietnam time), by the sender's tier.");
        _meter.CreateObservableGauge("exchange.compliance.signed_share", () => PerTier(l => l.SignedShare), "1",
            "Share of this month's documents sent with a valid organisation signature, by the sender's tier (0 to 1).");
        _meter.CreateObservableGauge("exchange.compliance.target", () => PerTier(l => l.Target), "1",
            "The national target for the signed share (province 0.7, district 0.6, commune 0.3).");
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _meter?.Dispose();
        _meter = null;
    }

    private IEnumerable<Measurement<double>> PerTier(Func<ComplianceLine, double?> value)
    {
        if (_report?.Current() is not { } report)
            yield break;
        foreach (var line in report.Tiers)
        {
            if (line.Tier is { } tier && value(line) is { } measured)
                yield return new Measurement<double>(measured, new KeyValuePair<string, object?>(ExchangeTelemetry.TierTag, ComplianceCalculator.TierName(tier)));
        }
    }

    private Task<ComplianceReport> ReadAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        return store.ComplianceAsync(ReportMonth.Containing(now), scopeAgency: null, now, settings.DeliveryDue, cancellationToken);
    }
}
