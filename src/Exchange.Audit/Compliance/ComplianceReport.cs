using Exchange.Core;

namespace Exchange.Audit.Compliance;

/// <summary>One recipient's delivery of a document: when the hub forwarded it, when the recipient's signed receipt
/// says it was stored, and when (by the recipient's signed status) it first reported status 03.</summary>
/// <param name="DueAt">The hub's deadline for the delivery (by priority); null for deliveries stored before deadlines existed.</param>
public sealed record DeliveryFact(string RecipientCode, DateTimeOffset ForwardedAt, DateTimeOffset? DeliveredAt, DateTimeOffset? FirstRegisteredAt, DateTimeOffset? DueAt = null);

/// <summary>One document the hub accepted from a sender (one envelope).</summary>
public sealed record SentDocument(
    Guid EnvelopeId, string SenderCode, DateTimeOffset SubmittedAt, IReadOnlyList<SignerFact> Signers, IReadOnlyList<DeliveryFact> Deliveries);

/// <summary>An agency as the report shows it (from the newest directory).</summary>
public sealed record ReportAgency(string Code, string Name, Tier Tier);

/// <summary>Median and 95th percentile of a set of durations, in seconds; null when the set is empty.</summary>
public sealed record DurationStats(int Count, double? MedianSeconds, double? P95Seconds)
{
    public static DurationStats Of(List<double> seconds)
    {
        ArgumentNullException.ThrowIfNull(seconds);
        if (seconds.Count == 0)
        {
            return new DurationStats(0, null, null);
        }

        var sorted = seconds.Order().ToArray();
        return new DurationStats(sorted.Length, Percentiles.Median(sorted), Percentiles.NearestRank(sorted, 95));
    }
}

public static class Percentiles
{
    /// <summary>The middle value; for an even count, the mean of the two middle values. <paramref name="sorted"/> ascending.</summary>
    public static double Median(IReadOnlyList<double> sorted)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        ArgumentOutOfRangeException.ThrowIfZero(sorted.Count);
        var n = sorted.Count;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[(n / 2) - 1] + sorted[n / 2]) / 2;
    }

    /// <summary>The nearest-rank percentile: the value at rank ⌈p/100 · n⌉ (1-based) of the ascending list.</summary>
    public static double NearestRank(IReadOnlyList<double> sorted, int percent)
    {
        ArgumentNullException.ThrowIfNull(sorted);
        ArgumentOutOfRangeException.ThrowIfZero(sorted.Count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(percent);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(percent, 100);
        var rank = (int)Math.Ceiling(percent * sorted.Count / 100.0);
        return sorted[Math.Clamp(rank, 1, sorted.Count) - 1];
    }
}

/// <summary>
/// The national targets for the share of documents sent with digital signatures (the Government Office's:
/// 70% at province level, 60% at district level, 30% at commune level). Departments count with their province;
/// central agencies have no target here.
/// </summary>
public static class ComplianceTargets
{
    public static double? For(Tier tier) => tier switch
    {
        Tier.Province => 0.70,
        Tier.District => 0.60,
        Tier.Commune => 0.30,
        _ => null,
    };
}

public static class ComplianceScopes
{
    public const string Agency = "agency";
    public const string Tier = "tier";
    public const string All = "all";
}

/// <summary>One line of the report: an agency, a tier, or everything.</summary>
/// <param name="Paper">Documents sent on paper that month, as reported; for a tier or all, the sum over the agencies that reported; null when none did.</param>
/// <param name="ElectronicShare">sent ÷ (sent + paper), over the agencies that reported paper; null when none did.</param>
public sealed record ComplianceLine(
    string Scope,
    string Code,
    string Name,
    Tier? Tier,
    int Sent,
    int Signed,
    double? SignedShare,
    double? Target,
    bool? MeetsTarget,
    int? Paper,
    double? ElectronicShare,
    int Deliveries,
    int Delivered,
    DurationStats ToDelivery,
    DurationStats ToStatus03,
    int OverdueDeliveries,
    int OverdueDocuments,
    int UndeliveredPastDue);

public sealed record ComplianceReport(
    ReportMonth Month,
    DateTimeOffset AsOf,
    TimeSpan DeliveryDue,
    IReadOnlyList<ComplianceLine> Tiers,
    IReadOnlyList<ComplianceLine> Agencies,
    ComplianceLine? All)
{
    /// <summary>The report as one agency may see it: its own line only (tiers and totals aggregate other agencies).</summary>
    public ComplianceReport OnlyAgency(string code) =>
        this with { Tiers = [], All = null, Agencies = Agencies.Where(a => a.Code == code).ToList() };
}

/// <summary>
/// Computes the compliance report from plain rows, one document at a time (so a month of documents streams
/// through it; only the durations are kept, for the percentiles). No I/O: the definitions in docs/audit.md are
/// this class.
/// </summary>
public sealed class ComplianceCalculator
{
    private static readonly Tier[] ReportedTiers = [Tier.Province, Tier.District, Tier.Commune, Tier.Central];

    private readonly ReportMonth _month;
    private readonly DateTimeOffset _asOf;
    private readonly TimeSpan _due;
    private readonly IReadOnlyDictionary<string, int> _paper;
    private readonly Dictionary<string, ReportAgency> _agencies;
    private readonly Dictionary<string, Tally> _tallies = new(StringComparer.Ordinal);

    /// <param name="agencies">Every agency to report on (with no documents they show 0 sent); senders missing from it are reported with no tier.</param>
    /// <param name="paper">The paper count each agency reported for the month (its newest report).</param>
    /// <param name="asOf">When the report is made: a delivery still open at this time past its due time is overdue.</param>
    /// <param name="deliveryDue">How long after forwarding a delivery is due when the hub stored no deadline for it (24 h by default).</param>
    public ComplianceCalculator(
        ReportMonth month, IEnumerable<ReportAgency> agencies, IReadOnlyDictionary<string, int> paper, DateTimeOffset asOf, TimeSpan deliveryDue)
    {
        ArgumentNullException.ThrowIfNull(agencies);
        ArgumentNullException.ThrowIfNull(paper);
        _month = month;
        _asOf = asOf;
        _due = deliveryDue;
        _paper = paper;
        _agencies = agencies.ToDictionary(a => a.Code, StringComparer.Ordinal);
        foreach (var code in _agencies.Keys.Concat(paper.Keys))
        {
            TallyOf(code);
        }
    }

    public static ComplianceReport Compute(
        ReportMonth month, IEnumerable<ReportAgency> agencies, IReadOnlyDictionary<string, int> paper, IEnumerable<SentDocument> documents,
        DateTimeOffset asOf, TimeSpan deliveryDue)
    {
        ArgumentNullException.ThrowIfNull(documents);
        var calculator = new ComplianceCalculator(month, agencies, paper, asOf, deliveryDue);
        foreach (var document in documents)
        {
            calculator.Add(document);
        }

        return calculator.Build();
    }

    public void Add(SentDocument document)
    {
        ArgumentNullException.ThrowIfNull(document);
        var tally = TallyOf(document.SenderCode);
        tally.Sent++;
        if (SignatureRule.CarriesRequiredSignatures(document.Signers.ToList()))
        {
            tally.Signed++;
        }

        var overdueDocument = false;
        foreach (var delivery in document.Deliveries)
        {
            tally.Deliveries++;
            var dueAt = delivery.DueAt ?? delivery.ForwardedAt + _due;
            if (delivery.DeliveredAt is { } delivered)
            {
                tally.Delivered++;
                tally.ToDelivery.Add(Seconds(delivered - document.SubmittedAt));
                if (delivered > dueAt)
                {
                    tally.OverdueDeliveries++;
                    overdueDocument = true;
                }
            }
            else if (_asOf > dueAt)
            {
                tally.OverdueDeliveries++;
                tally.UndeliveredPastDue++;
                overdueDocument = true;
            }

            if (delivery.FirstRegisteredAt is { } registered)
            {
                tally.ToStatus03.Add(Seconds(registered - document.SubmittedAt));
            }
        }

        if (overdueDocument)
        {
            tally.OverdueDocuments++;
        }
    }

    public ComplianceReport Build()
    {
        var agencyLines = _tallies.Values
            .Select(t => Line(ComplianceScopes.Agency, t.Code, AgencyOf(t.Code)?.Name ?? "(not in the directory)", AgencyOf(t.Code)?.Tier, [t]))
            .OrderBy(l => l.Tier is null ? 99 : Array.IndexOf(ReportedTiers, l.Tier.Value))
            .ThenBy(l => l.Code, StringComparer.Ordinal)
            .ToList();
        var tierLines = ReportedTiers
            .Select(tier => (tier, tallies: _tallies.Values.Where(t => AgencyOf(t.Code)?.Tier == tier).ToList()))
            .Where(x => x.tallies.Count > 0 || x.tier != Tier.Central)
            .Select(x => Line(ComplianceScopes.Tier, TierName(x.tier), TierTitle(x.tier), x.tier, x.tallies))
            .ToList();
        var all = Line(ComplianceScopes.All, "all", "Toàn bộ / All agencies", null, _tallies.Values.ToList());
        return new ComplianceReport(_month, _asOf, _due, tierLines, agencyLines, all);
    }

    public static string TierName(Tier tier) => tier.Name();

    public static string TierTitle(Tier tier) => tier switch
    {
        Tier.Province => "Cấp tỉnh / Province (incl. departments)",
        Tier.District => "Cấp huyện / District",
        Tier.Commune => "Cấp xã / Commune",
        _ => "Trung ương / Central",
    };

    private ReportAgency? AgencyOf(string code) => _agencies.GetValueOrDefault(code);

    private ComplianceLine Line(string scope, string code, string name, Tier? tier, IReadOnlyList<Tally> tallies)
    {
        var sent = tallies.Sum(t => t.Sent);
        var signed = tallies.Sum(t => t.Signed);
        double? share = sent == 0 ? null : (double)signed / sent;
        var target = scope == ComplianceScopes.All || tier is null ? null : ComplianceTargets.For(tier.Value);
        bool? meets = share is null || target is null ? null : share >= target;

        var reporting = tallies.Where(t => _paper.ContainsKey(t.Code)).ToList();
        int? paper = reporting.Count == 0 ? null : reporting.Sum(t => _paper[t.Code]);
        var sentByReporting = reporting.Sum(t => t.Sent);
        double? electronic = paper is null || sentByReporting + paper == 0 ? null : (double)sentByReporting / (sentByReporting + paper.Value);

        return new ComplianceLine(
            scope, code, name, tier, sent, signed, share, target, meets, paper, electronic,
            tallies.Sum(t => t.Deliveries), tallies.Sum(t => t.Delivered),
            DurationStats.Of(tallies.SelectMany(t => t.ToDelivery).ToList()),
            DurationStats.Of(tallies.SelectMany(t => t.ToStatus03).ToList()),
            tallies.Sum(t => t.OverdueDeliveries), tallies.Sum(t => t.OverdueDocuments), tallies.Sum(t => t.UndeliveredPastDue));
    }

    /// <summary>Clocks of different machines disagree a little: a negative duration counts as zero.</summary>
    private static double Seconds(TimeSpan span) => Math.Max(0, span.TotalSeconds);

    private Tally TallyOf(string code)
    {
        if (!_tallies.TryGetValue(code, out var tally))
        {
            tally = new Tally(code);
            _tallies[code] = tally;
        }

        return tally;
    }

    private sealed class Tally(string code)
    {
        public string Code { get; } = code;
        public int Sent { get; set; }
        public int Signed { get; set; }
        public int Deliveries { get; set; }
        public int Delivered { get; set; }
        public int OverdueDeliveries { get; set; }
        public int OverdueDocuments { get; set; }
        public int UndeliveredPastDue { get; set; }
        public List<double> ToDelivery { get; } = [];
        public List<double> ToStatus03 { get; } = [];
    }
}
