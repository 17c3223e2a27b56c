using Exchange.Core;

namespace Exchange.Core.Tests;

public sealed class DirectoryTests
{
    private static readonly DirectoryDocument Sample = new(
    [
        new Agency("000.00.00.H29", "UBND Thành phố Hà Nội", AgencyKind.Province, null, []),
        new Agency("000.00.21.H29", "UBND Quận Ba Đình", AgencyKind.District, "000.00.00.H29", []),
        new Agency("000.02.21.H29", "UBND Phường Trúc Bạch", AgencyKind.Commune, "000.00.21.H29", ["ab12"]),
        new Agency("000.01.21.H29", "UBND Phường Phúc Xá", AgencyKind.Commune, "000.00.21.H29", []),
    ]);

    [Test]
    public void Round_trips_through_json_with_vietnamese_names()
    {
        var parsed = DirectoryDocument.Parse(Sample.ToJson());

        Assert.That(parsed.Agencies.Select(a => (a.Code, a.Name, a.Kind, a.Parent)), Is.EqualTo(Sample.Agencies.Select(a => (a.Code, a.Name, a.Kind, a.Parent))));
        Assert.That(Sample.ToJson(), Does.Contain("\"kind\": \"Commune\""));
    }

    [Test]
    public void Lists_children_in_code_order()
    {
        var directory = new AgencyDirectory(3, Sample);

        Assert.That(directory.ChildrenOf("000.00.21.H29").Select(a => a.Code), Is.EqualTo(new[] { "000.01.21.H29", "000.02.21.H29" }));
        Assert.That(directory.Version, Is.EqualTo(3));
    }

    [Test]
    public void Binds_only_registered_certificates_to_their_own_agency()
    {
        var directory = new AgencyDirectory(1, Sample);

        Assert.That(directory.IsBound("000.02.21.H29", "AB12"), Is.True, "hex digests compare case-insensitively");
        Assert.That(directory.IsBound("000.01.21.H29", "ab12"), Is.False, "another agency's certificate");
        Assert.That(directory.IsBound("000.09.21.H29", "ab12"), Is.False, "unknown agency");
    }

    [TestCase(AgencyKind.Province, Tier.Province)]
    [TestCase(AgencyKind.Department, Tier.Province)]
    [TestCase(AgencyKind.District, Tier.District)]
    [TestCase(AgencyKind.Commune, Tier.Commune)]
    [TestCase(AgencyKind.Central, Tier.Central)]
    public void Derives_tier_from_kind(AgencyKind kind, Tier tier) =>
        Assert.That(new Agency("000.00.00.H29", "x", kind, null, []).Tier, Is.EqualTo(tier));

    [Test]
    public void Names_queues_and_databases_per_agency_and_prefix()
    {
        var names = new ExchangeNames("it1a2b3c-");

        Assert.That(names.AgencyQueue("000.01.21.H29"), Is.EqualTo("it1a2b3c-agency-000-01-21-h29"));
        Assert.That(names.HubQueue, Is.EqualTo("it1a2b3c-exchange-hub"));
        Assert.That(names.GatewayDatabase("000.01.21.H29"), Is.EqualTo("it1a2b3c_exchange_gw_000_01_21_h29"));
        Assert.That(new ExchangeNames().HubDatabase, Is.EqualTo("exchange_hub"));
    }

    [Test]
    public void Receipt_bytes_parse_back_and_garbage_does_not()
    {
        var receipt = new DeliveryReceipt(Guid.NewGuid(), Guid.NewGuid(), "000.00.01.H29", "000.01.21.H29", new string('a', 64), DateTimeOffset.UnixEpoch);

        Assert.That(DeliveryReceipt.TryParse(receipt.ToBytes()), Is.EqualTo(receipt));
        Assert.That(DeliveryReceipt.TryParse("not json"u8), Is.Null);
    }
}
