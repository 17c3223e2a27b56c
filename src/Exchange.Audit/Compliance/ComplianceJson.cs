namespace Exchange.Audit.Compliance;

/// <summary>The JSON form of the report (GET /api/compliance and `exchange compliance report --json`).</summary>
public static class ComplianceJson
{
    public static object From(ComplianceReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        return new
        {
            month = report.Month.ToString(),
            periodStart = report.Month.Start,
            periodEnd = report.Month.End,
            asOf = report.AsOf,
            deliveryDueHours = report.DeliveryDue.TotalHours,
            tiers = report.Tiers.Select(Line),
            all = report.All is null ? null : Line(report.All),
            agencies = report.Agencies.Select(Line),
        };
    }

    private static object Line(ComplianceLine l) => new
    {
        scope = l.Scope,
        code = l.Code,
        name = l.Name,
        tier = l.Tier is { } tier ? ComplianceCalculator.TierName(tier) : null,
        sent = l.Sent,
        signed = l.Signed,
        signedShare = l.SignedShare,
        target = l.Target,
        meetsTarget = l.MeetsTarget,
        paper = l.Paper,
        electronicShare = l.ElectronicShare,
        deliveries = l.Deliveries,
        delivered = l.Delivered,
        toDelivery = Stats(l.ToDelivery),
        toStatus03 = Stats(l.ToStatus03),
        overdueDeliveries = l.OverdueDeliveries,
        overdueDocuments = l.OverdueDocuments,
        undeliveredPastDue = l.UndeliveredPastDue,
    };

    private static object Stats(DurationStats s) => new { count = s.Count, medianSeconds = s.MedianSeconds, p95Seconds = s.P95Seconds };
}
