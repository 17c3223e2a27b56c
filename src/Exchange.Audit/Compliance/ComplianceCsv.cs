using System.Globalization;
using System.Text;

namespace Exchange.Audit.Compliance;

/// <summary>
/// The compliance report as CSV (RFC 4180: comma-separated, CRLF line ends, fields quoted when they hold a comma,
/// quote or line break). Shares are fractions with four decimals (0.7500), durations whole seconds, empty when
/// there is nothing to measure. Text that a spreadsheet would run as a formula (starting with = + - @) is
/// prefixed with an apostrophe.
/// </summary>
public static class ComplianceCsv
{
    public static readonly string[] Columns =
    [
        "month", "scope", "code", "name", "tier", "sent", "signed", "signed_share", "target", "meets_target",
        "paper", "electronic_share", "deliveries", "delivered", "delivery_median_s", "delivery_p95_s",
        "status03", "status03_median_s", "status03_p95_s", "overdue_deliveries", "overdue_documents", "undelivered_past_due",
    ];

    public static string Write(ComplianceReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var csv = new StringBuilder();
        csv.Append(string.Join(',', Columns)).Append("\r\n");
        var lines = report.Tiers.Concat(report.All is null ? [] : [report.All]).Concat(report.Agencies);
        foreach (var line in lines)
        {
            string?[] fields =
            [
                report.Month.ToString(), line.Scope, line.Code, line.Name,
                line.Tier is { } tier ? ComplianceCalculator.TierName(tier) : null,
                Int(line.Sent), Int(line.Signed), Share(line.SignedShare), Share(line.Target),
                line.MeetsTarget is { } meets ? (meets ? "yes" : "no") : null,
                line.Paper is { } paper ? Int(paper) : null, Share(line.ElectronicShare),
                Int(line.Deliveries), Int(line.Delivered), Seconds(line.ToDelivery.MedianSeconds), Seconds(line.ToDelivery.P95Seconds),
                Int(line.ToStatus03.Count), Seconds(line.ToStatus03.MedianSeconds), Seconds(line.ToStatus03.P95Seconds),
                Int(line.OverdueDeliveries), Int(line.OverdueDocuments), Int(line.UndeliveredPastDue),
            ];
            csv.Append(string.Join(',', fields.Select(Field))).Append("\r\n");
        }

        return csv.ToString();
    }

    public static string Field(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return string.Empty;
        }

        if (value[0] is '=' or '+' or '-' or '@' or '\t' or '\r')
        {
            value = "'" + value;
        }

        return value.IndexOfAny([',', '"', '\r', '\n']) >= 0 ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : value;
    }

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string? Share(double? value) => value?.ToString("0.0000", CultureInfo.InvariantCulture);

    private static string? Seconds(double? value) => value is { } s ? Math.Round(s, MidpointRounding.AwayFromZero).ToString("0", CultureInfo.InvariantCulture) : null;
}
