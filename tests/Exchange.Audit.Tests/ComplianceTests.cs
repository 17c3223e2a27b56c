using Exchange.Audit.Compliance;
using Exchange.Core;

namespace Exchange.Audit.Tests;

/// <summary>The compliance report as a pure function over rows (docs/audit.md, "Compliance").</summary>
public sealed class ComplianceTests
{
    private static readonly ReportMonth November = new(2026, 11);
    private static readonly DateTimeOffset Submitted = new(2026, 11, 10, 9, 0, 0, ReportMonth.VietnamOffset);
    private static readonly DateTimeOffset AsOf = new(2026, 12, 5, 0, 0, 0, ReportMonth.VietnamOffset);

    private static readonly SignerFact Organisation = new(Valid: true, BoundToSender: true, BoundToAnyAgency: true);
    private static readonly SignerFact Personal = new(Valid: true, BoundToSender: false, BoundToAnyAgency: false);
    private static readonly SignerFact OtherAgency = new(Valid: true, BoundToSender: false, BoundToAnyAgency: true);
    private static readonly SignerFact InvalidPersonal = new(Valid: false, BoundToSender: false, BoundToAnyAgency: false);

    private static readonly ReportAgency Province = new("000.00.00.H29", "UBND Thành phố Hà Nội", Tier.Province);
    private static readonly ReportAgency Department = new("000.00.01.H29", "Sở Nội vụ", Tier.Province);
    private static readonly ReportAgency District = new("000.00.21.H29", "UBND Quận Ba Đình", Tier.District);
    private static readonly ReportAgency Commune = new("000.01.21.H29", "UBND Phường Phúc Xá", Tier.Commune);

    private static SentDocument Document(string sender, params SignerFact[] signers) =>
        new(Guid.NewGuid(), sender, Submitted, signers, []);

    private static SentDocument Delivered(string sender, TimeSpan toDelivery, TimeSpan? toRegistered = null, TimeSpan? forwardedAfter = null) =>
        new(Guid.NewGuid(), sender, Submitted, [Organisation],
        [
            new DeliveryFact(Commune.Code, Submitted + (forwardedAfter ?? TimeSpan.FromSeconds(1)), Submitted + toDelivery,
                toRegistered is { } r ? Submitted + r : null),
        ]);

    private static ComplianceReport Report(IEnumerable<SentDocument> documents, IReadOnlyDictionary<string, int>? paper = null) =>
        ComplianceCalculator.Compute(November, [Province, Department, District, Commune], paper ?? new Dictionary<string, int>(), documents, AsOf, TimeSpan.FromHours(24));

    private static ComplianceLine Agency(ComplianceReport report, ReportAgency agency) => report.Agencies.Single(a => a.Code == agency.Code);

    private static ComplianceLine TierLine(ComplianceReport report, Tier tier) => report.Tiers.Single(t => t.Tier == tier);

    // ---- Nghị định 30/2020: the personal signature and the organisation's -------------------------------------

    [Test]
    public void Organisation_signature_alone_is_only_a_transport_signature()
    {
        Assert.That(SignatureRule.CarriesRequiredSignatures([Organisation]), Is.False);
    }

    [Test]
    public void Organisation_and_personal_signatures_carry_the_required_signatures()
    {
        Assert.That(SignatureRule.CarriesRequiredSignatures([Organisation, Personal]), Is.True);
        Assert.That(SignatureRule.CarriesRequiredSignatures([Personal, Organisation, OtherAgency]), Is.True);
    }

    [Test]
    public void Personal_signature_without_the_organisations_is_not_enough()
    {
        Assert.That(SignatureRule.CarriesRequiredSignatures([Personal]), Is.False);
        Assert.That(SignatureRule.CarriesRequiredSignatures([Personal, OtherAgency]), Is.False);
    }

    [Test]
    public void A_second_organisation_certificate_is_not_a_personal_signature()
    {
        Assert.That(SignatureRule.CarriesRequiredSignatures([Organisation, Organisation]), Is.False);
        Assert.That(SignatureRule.CarriesRequiredSignatures([Organisation, OtherAgency]), Is.False, "bound to another agency: an organisation's certificate, not a person's");
    }

    [Test]
    public void An_invalid_personal_signature_does_not_count()
    {
        Assert.That(SignatureRule.CarriesRequiredSignatures([Organisation, InvalidPersonal]), Is.False);
        Assert.That(SignatureRule.CarriesRequiredSignatures([new SignerFact(false, true, true), Personal]), Is.False, "an invalid organisation signature");
    }

    [Test]
    public void Classifies_every_kind_of_signer()
    {
        Assert.Multiple(() =>
        {
            Assert.That(SignatureRule.Classify(Organisation), Is.EqualTo(SignerKind.Organisation));
            Assert.That(SignatureRule.Classify(Personal), Is.EqualTo(SignerKind.Personal));
            Assert.That(SignatureRule.Classify(OtherAgency), Is.EqualTo(SignerKind.OtherAgency));
            Assert.That(SignatureRule.Classify(InvalidPersonal), Is.EqualTo(SignerKind.Invalid));
        });
    }

    // ---- Targets ---------------------------------------------------------------------------------------------

    [Test]
    public void National_targets_are_70_60_30_and_departments_count_as_province()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ComplianceTargets.For(Tier.Province), Is.EqualTo(0.70));
            Assert.That(ComplianceTargets.For(Tier.District), Is.EqualTo(0.60));
            Assert.That(ComplianceTargets.For(Tier.Commune), Is.EqualTo(0.30));
            Assert.That(ComplianceTargets.For(Tier.Central), Is.Null);
            Assert.That(new Agency("000.00.01.H29", "Sở Nội vụ", AgencyKind.Department, "000.00.00.H29", []).Tier, Is.EqualTo(Tier.Province));
        });
    }

    [Test]
    public void Exactly_reaching_the_target_meets_it()
    {
        var documents = Enumerable.Range(0, 10).Select(i => i < 7 ? Document(Department.Code, Organisation, Personal) : Document(Department.Code, Organisation));

        var line = Agency(Report(documents), Department);

        Assert.Multiple(() =>
        {
            Assert.That(line.Sent, Is.EqualTo(10));
            Assert.That(line.Signed, Is.EqualTo(7));
            Assert.That(line.SignedShare, Is.EqualTo(0.7).Within(1e-12));
            Assert.That(line.Target, Is.EqualTo(0.70));
            Assert.That(line.MeetsTarget, Is.True);
        });
    }

    [Test]
    public void Each_tier_is_held_to_its_own_target()
    {
        // Province tier: 6 of 10 (60%, below 70%). District: 6 of 10 (meets 60%). Commune: 3 of 10 (meets 30%).
        var documents = new List<SentDocument>();
        foreach (var (agency, signed) in new[] { (Department, 6), (District, 6), (Commune, 3) })
        {
            documents.AddRange(Enumerable.Range(0, 10).Select(i => i < signed ? Document(agency.Code, Organisation, Personal) : Document(agency.Code, Organisation)));
        }

        var report = Report(documents);

        Assert.Multiple(() =>
        {
            Assert.That(TierLine(report, Tier.Province).MeetsTarget, Is.False);
            Assert.That(TierLine(report, Tier.District).MeetsTarget, Is.True);
            Assert.That(TierLine(report, Tier.Commune).MeetsTarget, Is.True);
            Assert.That(Agency(report, Province).Sent, Is.Zero, "an agency that sent nothing is still listed");
            Assert.That(Agency(report, Province).SignedShare, Is.Null);
            Assert.That(Agency(report, Province).MeetsTarget, Is.Null);
            Assert.That(report.All!.Sent, Is.EqualTo(30));
            Assert.That(report.All.Signed, Is.EqualTo(15));
            Assert.That(report.All.Target, Is.Null);
        });
    }

    [Test]
    public void Tier_share_pools_documents_rather_than_averaging_agencies()
    {
        // Province (UBND) 1 of 1 signed, department 0 of 9: the tier is 10%, not the mean of 100% and 0%.
        var documents = new[] { Document(Province.Code, Organisation, Personal) }
            .Concat(Enumerable.Range(0, 9).Select(_ => Document(Department.Code, Organisation)));

        Assert.That(TierLine(Report(documents), Tier.Province).SignedShare, Is.EqualTo(0.1).Within(1e-12));
    }

    [Test]
    public void A_sender_missing_from_the_directory_is_reported_without_a_tier()
    {
        var report = Report([Document("000.00.99.H29", Organisation, Personal)]);

        var line = Agency(report, new ReportAgency("000.00.99.H29", "?", Tier.Province));
        Assert.Multiple(() =>
        {
            Assert.That(line.Tier, Is.Null);
            Assert.That(line.Target, Is.Null);
            Assert.That(report.Tiers.Sum(t => t.Sent), Is.Zero);
            Assert.That(report.All!.Sent, Is.EqualTo(1));
        });
    }

    // ---- Paper ------------------------------------------------------------------------------------------------

    [Test]
    public void Electronic_share_is_sent_over_sent_plus_paper_where_paper_was_reported()
    {
        var documents = Enumerable.Range(0, 30).Select(_ => Document(Department.Code, Organisation))
            .Concat(Enumerable.Range(0, 5).Select(_ => Document(Province.Code, Organisation)));

        var report = Report(documents, new Dictionary<string, int> { [Department.Code] = 10 });

        Assert.Multiple(() =>
        {
            Assert.That(Agency(report, Department).Paper, Is.EqualTo(10));
            Assert.That(Agency(report, Department).ElectronicShare, Is.EqualTo(0.75).Within(1e-12));
            Assert.That(Agency(report, Province).Paper, Is.Null, "no report: no electronic share");
            Assert.That(Agency(report, Province).ElectronicShare, Is.Null);
            // The tier counts only the agencies that reported: 30 / (30 + 10), not 35 / 45.
            Assert.That(TierLine(report, Tier.Province).Paper, Is.EqualTo(10));
            Assert.That(TierLine(report, Tier.Province).ElectronicShare, Is.EqualTo(0.75).Within(1e-12));
            Assert.That(TierLine(report, Tier.District).ElectronicShare, Is.Null);
        });
    }

    [Test]
    public void An_agency_that_sent_only_on_paper_has_an_electronic_share_of_zero()
    {
        var report = Report([], new Dictionary<string, int> { [Commune.Code] = 12 });

        Assert.That(Agency(report, Commune).ElectronicShare, Is.Zero);
    }

    // ---- Times and deadlines ----------------------------------------------------------------------------------

    [Test]
    public void Median_averages_the_two_middle_values_and_p95_is_the_nearest_rank()
    {
        var twenty = Enumerable.Range(1, 20).Select(i => (double)i).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(Percentiles.Median(twenty), Is.EqualTo(10.5));
            Assert.That(Percentiles.NearestRank(twenty, 95), Is.EqualTo(19));
            Assert.That(Percentiles.Median([1, 2, 100]), Is.EqualTo(2));
            Assert.That(Percentiles.NearestRank([1, 2, 100], 95), Is.EqualTo(100));
            Assert.That(Percentiles.NearestRank([7], 95), Is.EqualTo(7));
            Assert.That(DurationStats.Of([]), Is.EqualTo(new DurationStats(0, null, null)));
        });
    }

    [Test]
    public void Times_run_from_submission_to_the_receipt_and_to_the_first_status_03()
    {
        var documents = new[]
        {
            Delivered(Department.Code, TimeSpan.FromSeconds(10), toRegistered: TimeSpan.FromMinutes(30)),
            Delivered(Department.Code, TimeSpan.FromSeconds(20), toRegistered: TimeSpan.FromMinutes(90)),
            Delivered(Department.Code, TimeSpan.FromSeconds(60)),
        };

        var line = Agency(Report(documents), Department);

        Assert.Multiple(() =>
        {
            Assert.That(line.ToDelivery, Is.EqualTo(new DurationStats(3, 20, 60)));
            Assert.That(line.ToStatus03, Is.EqualTo(new DurationStats(2, 3600, 5400)));
            Assert.That(line.Delivered, Is.EqualTo(3));
        });
    }

    [Test]
    public void A_receipt_dated_before_submission_counts_as_zero_seconds()
    {
        var line = Agency(Report([Delivered(Department.Code, TimeSpan.FromSeconds(-3))]), Department);

        Assert.That(line.ToDelivery.MedianSeconds, Is.Zero);
    }

    [Test]
    public void A_delivery_is_overdue_when_not_delivered_24_hours_after_forwarding()
    {
        var onTime = Delivered(Department.Code, TimeSpan.FromHours(23));
        var late = Delivered(Department.Code, TimeSpan.FromHours(30));
        var open = new SentDocument(Guid.NewGuid(), Department.Code, Submitted, [Organisation],
            [new DeliveryFact(Commune.Code, Submitted, null, null), new DeliveryFact(District.Code, Submitted, Submitted.AddMinutes(1), null)]);
        var openNotYetDue = new SentDocument(Guid.NewGuid(), Department.Code, AsOf.AddHours(-2), [Organisation],
            [new DeliveryFact(Commune.Code, AsOf.AddHours(-2), null, null)]);

        var line = Agency(Report([onTime, late, open, openNotYetDue]), Department);

        Assert.Multiple(() =>
        {
            Assert.That(line.OverdueDeliveries, Is.EqualTo(2), "the late one and the open one");
            Assert.That(line.OverdueDocuments, Is.EqualTo(2));
            Assert.That(line.UndeliveredPastDue, Is.EqualTo(1));
            Assert.That(line.Deliveries, Is.EqualTo(5));
            Assert.That(line.Delivered, Is.EqualTo(3));
        });
    }

    // ---- Months, scope, CSV ------------------------------------------------------------------------------------

    [Test]
    public void Months_are_counted_on_a_Vietnamese_clock()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ReportMonth.Containing(new DateTimeOffset(2026, 10, 31, 17, 30, 0, TimeSpan.Zero)), Is.EqualTo(November));
            Assert.That(ReportMonth.Containing(new DateTimeOffset(2026, 10, 31, 16, 59, 59, TimeSpan.Zero)), Is.EqualTo(new ReportMonth(2026, 10)));
            Assert.That(November.Start, Is.EqualTo(new DateTimeOffset(2026, 10, 31, 17, 0, 0, TimeSpan.Zero)));
            Assert.That(new ReportMonth(2026, 12).End, Is.EqualTo(new DateTimeOffset(2026, 12, 31, 17, 0, 0, TimeSpan.Zero)));
            Assert.That(ReportMonth.TryParse("2026-11", out var parsed) && parsed == November, Is.True);
            Assert.That(ReportMonth.TryParse("2026-13", out _), Is.False);
            Assert.That(ReportMonth.TryParse("11/2026", out _), Is.False);
            Assert.That(new ReportMonth(2027, 1).Previous(), Is.EqualTo(new ReportMonth(2026, 12)));
        });
    }

    [Test]
    public void An_agency_sees_only_its_own_line()
    {
        var report = Report([Document(Department.Code, Organisation), Document(District.Code, Organisation)]).OnlyAgency(Department.Code);

        Assert.Multiple(() =>
        {
            Assert.That(report.Agencies.Select(a => a.Code), Is.EqualTo(new[] { Department.Code }));
            Assert.That(report.Tiers, Is.Empty);
            Assert.That(report.All, Is.Null);
        });
    }

    [Test]
    public void Csv_has_a_header_row_and_one_row_per_line()
    {
        var report = Report([Document(Department.Code, Organisation, Personal)], new Dictionary<string, int> { [Department.Code] = 1 });

        var lines = ComplianceCsv.Write(report).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);

        Assert.Multiple(() =>
        {
            Assert.That(lines[0], Is.EqualTo(string.Join(',', ComplianceCsv.Columns)));
            Assert.That(lines[0], Does.StartWith("month,scope,code,name,tier,sent,signed,signed_share,target,meets_target,paper,electronic_share"));
            Assert.That(lines, Has.Length.EqualTo(1 + report.Tiers.Count + 1 + report.Agencies.Count));
            Assert.That(lines, Has.Some.EqualTo("2026-11,agency,000.00.01.H29,Sở Nội vụ,province,1,1,1.0000,0.7000,yes,1,0.5000,0,0,,,0,,,0,0,0"));
            Assert.That(lines.Skip(1).Select(l => l.Split(',').Length), Has.All.EqualTo(ComplianceCsv.Columns.Length));
        });
    }

    [Test]
    public void Csv_quotes_commas_and_defuses_formulas()
    {
        Assert.Multiple(() =>
        {
            Assert.That(ComplianceCsv.Field("UBND xã A, huyện B"), Is.EqualTo("\"UBND xã A, huyện B\""));
            Assert.That(ComplianceCsv.Field("say \"hi\""), Is.EqualTo("\"say \"\"hi\"\"\""));
            Assert.That(ComplianceCsv.Field("=HYPERLINK(\"x\")"), Is.EqualTo("\"'=HYPERLINK(\"\"x\"\")\""));
            Assert.That(ComplianceCsv.Field(null), Is.Empty);
        });
    }
}
