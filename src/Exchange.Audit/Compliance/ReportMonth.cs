using System.Globalization;

namespace Exchange.Audit.Compliance;

/// <summary>
/// A calendar month in Vietnam time (UTC+7, no daylight saving): the unit of the compliance report. A document
/// belongs to the month in which the hub received it, read on a Vietnamese clock, so 23:30 UTC on 31 October
/// is already 1 November.
/// </summary>
public readonly record struct ReportMonth(int Year, int Month) : IComparable<ReportMonth>
{
    public static readonly TimeSpan VietnamOffset = TimeSpan.FromHours(7);

    public DateTimeOffset Start => new(Year, Month, 1, 0, 0, 0, VietnamOffset);

    public DateTimeOffset End => Start.AddMonths(1);

    public DateOnly FirstDay => new(Year, Month, 1);

    public static ReportMonth Containing(DateTimeOffset time)
    {
        var local = time.ToOffset(VietnamOffset);
        return new ReportMonth(local.Year, local.Month);
    }

    /// <summary>Parses <c>yyyy-MM</c>, e.g. <c>2026-11</c>.</summary>
    public static bool TryParse(string? text, out ReportMonth month)
    {
        month = default;
        if (text is null || !DateTime.TryParseExact(text.Trim(), "yyyy-MM", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed)
            || parsed.Year < 2000)
        {
            return false;
        }

        month = new ReportMonth(parsed.Year, parsed.Month);
        return true;
    }

    public static ReportMonth FromFirstDay(DateOnly day) => new(day.Year, day.Month);

    public ReportMonth Previous() => Month == 1 ? new(Year - 1, 12) : new(Year, Month - 1);

    public int CompareTo(ReportMonth other) => (Year * 12 + Month).CompareTo(other.Year * 12 + other.Month);

    public static bool operator <(ReportMonth a, ReportMonth b) => a.CompareTo(b) < 0;

    public static bool operator >(ReportMonth a, ReportMonth b) => a.CompareTo(b) > 0;

    public static bool operator <=(ReportMonth a, ReportMonth b) => a.CompareTo(b) <= 0;

    public static bool operator >=(ReportMonth a, ReportMonth b) => a.CompareTo(b) >= 0;

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Year:D4}-{Month:D2}");
}
