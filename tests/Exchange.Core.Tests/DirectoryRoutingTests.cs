using Exchange.Core;

namespace Exchange.Core.Tests;

/// <summary>Resolution of addresses, reorganisations, groups, the routing policy and the hubs of a federation.</summary>
public sealed class DirectoryRoutingTests
{
    private const string Province = "000.00.00.H29";
    private const string Department = "000.00.01.H29";
    private const string BaDinh = "000.00.21.H29";
    private const string HoanKiem = "000.00.22.H29";
    private const string PhucXa = "000.01.21.H29";
    private const string TrucBach = "000.02.21.H29";
    private const string HangBac = "000.01.22.H29";
    private const string Ministry = "000.00.00.G01";

    private static readonly DateTimeOffset Now = new(2026, 11, 23, 9, 0, 0, TimeSpan.FromHours(7));

    private static DirectoryDocument Sample(IReadOnlyList<string>? hubs = null) => new(
    [
        new Agency(Province, "UBND Thành phố Hà Nội", AgencyKind.Province, null, []),
        new Agency(Department, "Sở Nội vụ", AgencyKind.Department, Province, []),
        new Agency(BaDinh, "UBND Quận Ba Đình", AgencyKind.District, Province, []),
        new Agency(HoanKiem, "UBND Quận Hoàn Kiếm", AgencyKind.District, Province, []),
        new Agency(PhucXa, "UBND Phường Phúc Xá", AgencyKind.Commune, BaDinh, [], Aliases: ["000.11.21.H29"]),
        new Agency(TrucBach, "UBND Phường Trúc Bạch", AgencyKind.Commune, BaDinh, []),
        new Agency(HangBac, "UBND Phường Hàng Bạc", AgencyKind.Commune, HoanKiem, []),
        new Agency(Ministry, "Bộ Nội vụ", AgencyKind.Central, null, []),
    ], hubs);

    [Test]
    public void The_sample_directory_is_sound()
    {
        Assert.That(Sample().Problems(), Is.Empty);
        Assert.That(Sample([Province, BaDinh, HoanKiem]).Problems(), Is.Empty);
    }

    [Test]
    public void Resolves_an_own_code_without_a_note_and_an_alias_with_one()
    {
        var directory = new AgencyDirectory(1, Sample());

        var (own, _, _) = directory.Resolve(PhucXa, Now);
        var (alias, _, _) = directory.Resolve("000.11.21.H29", Now);

        Assert.That((own!.Agency.Code, own.ResolvedFrom), Is.EqualTo((PhucXa, (string?)null)));
        Assert.That((alias!.Agency.Code, alias.ResolvedFrom), Is.EqualTo((PhucXa, "000.11.21.H29")));
    }

    [Test]
    public void Refuses_unknown_codes()
    {
        var (agency, reason, detail) = new AgencyDirectory(4, Sample()).Resolve("000.09.21.H29", Now);

        Assert.That(agency, Is.Null);
        Assert.That(reason, Is.EqualTo(ReasonCode.UnknownRecipient));
        Assert.That(detail, Does.Contain("directory version 4"));
    }

    [Test]
    public void A_merged_agency_routes_to_its_successor_from_the_merge_on_and_to_itself_before()
    {
        var merged = DirectoryChanges.Merge(Sample(), TrucBach, PhucXa, Now);
        var directory = new AgencyDirectory(2, merged);

        var (before, _, _) = directory.Resolve(TrucBach, Now.AddMinutes(-1));
        var (after, _, _) = directory.Resolve(TrucBach, Now);

        Assert.That((before!.Agency.Code, before.ResolvedFrom), Is.EqualTo((TrucBach, (string?)null)));
        Assert.That((after!.Agency.Code, after.ResolvedFrom), Is.EqualTo((PhucXa, TrucBach)));
        Assert.That(directory.Find(TrucBach)!.IsActiveAt(Now), Is.False, "the retired agency stays in the directory, inactive");
    }

    [Test]
    public void Follows_a_chain_of_merges()
    {
        var twice = DirectoryChanges.Merge(DirectoryChanges.Merge(Sample(), TrucBach, PhucXa, Now), PhucXa, BaDinh, Now.AddDays(1));

        var (agency, _, _) = new AgencyDirectory(3, twice).Resolve(TrucBach, Now.AddDays(2));

        Assert.That((agency!.Agency.Code, agency.ResolvedFrom), Is.EqualTo((BaDinh, TrucBach)));
    }

    [Test]
    public void An_abolished_agency_without_successor_is_inactive_and_a_future_one_not_yet_active()
    {
        var document = Sample() with
        {
            Agencies = Sample().Agencies.Select(a => a.Code switch
            {
                HangBac => a with { ValidTo = Now.AddDays(-1) },
                TrucBach => a with { ValidFrom = Now.AddDays(1) },
                _ => a,
            }).ToList(),
        };
        var directory = new AgencyDirectory(1, document);

        Assert.That(directory.Resolve(HangBac, Now).Reason, Is.EqualTo(ReasonCode.AgencyInactive));
        Assert.That(directory.Resolve(TrucBach, Now).Reason, Is.EqualTo(ReasonCode.AgencyInactive));
        Assert.That(directory.Resolve(TrucBach, Now.AddDays(2)).Reason, Is.EqualTo(ReasonCode.Ok));
    }

    [Test]
    public void Merging_moves_the_children_under_the_successor()
    {
        // 2025: the district tier is abolished; Ba Đình's wards come under Hoàn Kiếm's successor, here Hoàn Kiếm itself.
        var merged = new AgencyDirectory(2, DirectoryChanges.Merge(Sample(), BaDinh, HoanKiem, Now));

        Assert.That(merged.ChildrenOf(HoanKiem).Select(a => a.Code), Is.EqualTo(new[] { PhucXa, HangBac, TrucBach }));
        Assert.That(merged.ChildrenOf(BaDinh), Is.Empty);
    }

    [Test]
    public void Refuses_merges_and_moves_that_would_make_a_cycle_or_name_nobody()
    {
        Assert.Throws<ArgumentException>(() => DirectoryChanges.Merge(Sample(), BaDinh, PhucXa, Now), "into its own child");
        Assert.Throws<ArgumentException>(() => DirectoryChanges.Merge(Sample(), BaDinh, "000.09.09.H29", Now), "unknown successor");
        Assert.Throws<ArgumentException>(() => DirectoryChanges.Reparent(Sample(), BaDinh, TrucBach), "below itself");
        Assert.Throws<ArgumentException>(() => DirectoryChanges.Merge(DirectoryChanges.Merge(Sample(), TrucBach, PhucXa, Now), TrucBach, PhucXa, Now), "merged twice");
    }

    [Test]
    public void Reparenting_moves_the_whole_subtree()
    {
        // Communes directly under the province once the district tier is gone.
        var moved = new AgencyDirectory(2, DirectoryChanges.Reparent(Sample(), PhucXa, Province));

        Assert.That(moved.Find(PhucXa)!.Parent, Is.EqualTo(Province));
        Assert.That(moved.IsWithin(PhucXa, BaDinh), Is.False);
        Assert.That(moved.IsWithin(PhucXa, Province), Is.True);
    }

    [Test]
    public void Names_each_problem_of_an_unsound_directory()
    {
        var broken = new DirectoryDocument(
        [
            new Agency(Province, "A", AgencyKind.Province, BaDinh, []),
            new Agency(BaDinh, "B", AgencyKind.District, Province, [], Aliases: [Province]),
            new Agency("00.21.H29", "C", AgencyKind.District, "000.00.99.H29", [], Successor: BaDinh),
            new Agency(HangBac, "D", AgencyKind.Commune, BaDinh, [], ValidFrom: Now, ValidTo: Now.AddDays(-1)),
        ], [Department]);

        var problems = broken.Problems();

        Assert.Multiple(() =>
        {
            Assert.That(problems, Has.Some.Contains("invalid-agency-code").And.Contains("00.21.H29"));
            Assert.That(problems, Has.Some.Contains($"Alias '{Province}'"));
            Assert.That(problems, Has.Some.Contains("000.00.99.H29"));
            Assert.That(problems, Has.Some.Contains("no validTo"));
            Assert.That(problems, Has.Some.Contains("not after its validFrom"));
            Assert.That(problems, Has.Some.Contains("form a cycle"));
            Assert.That(problems, Has.Some.Contains($"Hub '{Department}'"));
        });
    }

    [TestCase("communes:000.00.00.H29", new[] { PhucXa, TrucBach, HangBac })]
    [TestCase("children:000.00.21.H29", new[] { PhucXa, TrucBach })]
    [TestCase("districts:000.00.00.H29", new[] { BaDinh, HoanKiem })]
    [TestCase("departments:000.00.00.H29", new[] { Department })]
    [TestCase("DESCENDANTS:00.21.H29", new[] { PhucXa, TrucBach })]
    public void Expands_groups_to_active_agencies_in_code_order(string address, string[] expected)
    {
        Assert.That(RecipientGroup.TryParse(address, out var group, out var error), Is.True, error);

        Assert.That(group.Expand(new AgencyDirectory(1, Sample()), Now).Select(a => a.Code), Is.EquivalentTo(expected));
        Assert.That(group.Expand(new AgencyDirectory(1, Sample()), Now).Select(a => a.Code), Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal));
    }

    [Test]
    public void A_group_leaves_out_agencies_merged_away()
    {
        RecipientGroup.TryParse("communes:000.00.21.H29", out var group, out _);
        var merged = new AgencyDirectory(2, DirectoryChanges.Merge(Sample(), TrucBach, PhucXa, Now));

        Assert.That(group.Expand(merged, Now).Select(a => a.Code), Is.EqualTo(new[] { PhucXa }));
    }

    [TestCase("everyone:000.00.00.H29")]
    [TestCase("communes:H29")]
    [TestCase("1:000.00.00.H29")]
    [TestCase("communes:")]
    public void Refuses_group_addresses_it_cannot_read(string address)
    {
        Assert.That(RecipientGroup.LooksLikeGroup(address), Is.True);
        Assert.That(RecipientGroup.TryParse(address, out _, out var error), Is.False);
        Assert.That(error, Is.Not.Empty);
    }

    [Test]
    public void The_default_policy_lets_anyone_write_and_keeps_groups_to_those_who_direct()
    {
        var directory = new AgencyDirectory(1, Sample());
        var policy = new RoutingPolicy();
        RecipientGroup.TryParse("communes:000.00.22.H29", out var otherDistrict, out _);
        RecipientGroup.TryParse("communes:000.00.21.H29", out var ownDistrict, out _);

        Assert.Multiple(() =>
        {
            Assert.That(policy.Check(directory.Find(PhucXa)!, directory.Find(Ministry)!).Reason, Is.EqualTo(ReasonCode.Ok));
            Assert.That(policy.CheckGroup(directory.Find(Province)!, otherDistrict, directory).Reason, Is.EqualTo(ReasonCode.Ok));
            Assert.That(policy.CheckGroup(directory.Find(Department)!, otherDistrict, directory).Reason, Is.EqualTo(ReasonCode.Ok));
            Assert.That(policy.CheckGroup(directory.Find(BaDinh)!, ownDistrict, directory).Reason, Is.EqualTo(ReasonCode.Ok));
            Assert.That(policy.CheckGroup(directory.Find(BaDinh)!, otherDistrict, directory).Reason, Is.EqualTo(ReasonCode.RouteNotAllowed));
            Assert.That(policy.CheckGroup(directory.Find(PhucXa)!, ownDistrict, directory).Reason, Is.EqualTo(ReasonCode.RouteNotAllowed));
        });
    }

    [Test]
    public void A_configured_rule_refuses_its_pair_only()
    {
        var directory = new AgencyDirectory(1, Sample());
        var policy = new RoutingPolicy { Deny = ["Commune->Central", "*->Department"] };

        Assert.That(policy.Problems(), Is.Empty);
        Assert.That(policy.Check(directory.Find(PhucXa)!, directory.Find(Ministry)!).Reason, Is.EqualTo(ReasonCode.RouteNotAllowed));
        Assert.That(policy.Check(directory.Find(Province)!, directory.Find(Department)!).Reason, Is.EqualTo(ReasonCode.RouteNotAllowed));
        Assert.That(policy.Check(directory.Find(Province)!, directory.Find(Ministry)!).Reason, Is.EqualTo(ReasonCode.Ok));
        Assert.That(new RoutingPolicy { Deny = ["Commune=>Central", "Ward->*"] }.Problems(), Has.Count.EqualTo(2));
    }

    [Test]
    public void Each_agency_is_served_by_the_nearest_hub_above_it_and_others_by_the_top_hub()
    {
        var directory = new AgencyDirectory(1, Sample([Province, BaDinh, HoanKiem]));

        Assert.Multiple(() =>
        {
            Assert.That(directory.TopHub, Is.EqualTo(Province));
            Assert.That(directory.ServingHub(PhucXa), Is.EqualTo(BaDinh));
            Assert.That(directory.ServingHub(HangBac), Is.EqualTo(HoanKiem));
            Assert.That(directory.ServingHub(BaDinh), Is.EqualTo(BaDinh));
            Assert.That(directory.ServingHub(Department), Is.EqualTo(Province));
            Assert.That(directory.ServingHub(Ministry), Is.EqualTo(Province), "outside every hub's subtree");
            Assert.That(directory.ParentHub(BaDinh), Is.EqualTo(Province));
            Assert.That(directory.ParentHub(Province), Is.Null);
        });
        Assert.That(new AgencyDirectory(1, Sample()).ServingHub(PhucXa), Is.Null, "one hub, no federation");
    }

    [Test]
    public void Refuses_hubs_without_one_top()
    {
        Assert.That(Sample([BaDinh, HoanKiem]).Problems(), Has.Some.Contains("Exactly one hub"));
    }

    [Test]
    public void Round_trips_validity_successor_aliases_and_hubs_through_json()
    {
        var document = DirectoryChanges.Merge(Sample([Province, BaDinh]), TrucBach, PhucXa, Now);

        var parsed = DirectoryDocument.Parse(document.ToJson());

        Assert.That(parsed.ToJson(), Is.EqualTo(document.ToJson()));
        Assert.That(parsed.Agencies.Single(a => a.Code == TrucBach).Successor, Is.EqualTo(PhucXa));
        Assert.That(parsed.Hubs, Is.EqualTo(new[] { Province, BaDinh }));
        Assert.That(Sample().ToJson(), Does.Not.Contain("hubs").And.Not.Contain("validTo"), "unset fields stay out, so older directories keep their digest");
    }
}
