using Exchange.Core;

namespace Exchange.Core.Tests;

/// <summary>The hub's answer to a gateway's request for the directory.</summary>
public sealed class DirectoryRequestTests
{
    private static readonly DirectoryDocument Single = new(
    [
        new Agency("000.00.00.H29", "UBND Thành phố Hà Nội", AgencyKind.Province, null, []),
        new Agency("000.00.21.H29", "UBND Quận Ba Đình", AgencyKind.District, "000.00.00.H29", []),
        new Agency("000.01.21.H29", "UBND Phường Phúc Xá", AgencyKind.Commune, "000.00.21.H29", []),
        new Agency("000.02.21.H29", "UBND Phường Trúc Bạch", AgencyKind.Commune, "000.00.21.H29", [],
            ValidTo: new DateTimeOffset(2025, 7, 1, 0, 0, 0, TimeSpan.FromHours(7)), Successor: "000.01.21.H29"),
    ]);

    private static readonly AgencyDirectory Version5 = new(5, Single);

    [Test]
    public void Answers_a_gateway_that_holds_no_version()
    {
        var decision = DirectoryRequests.Decide(Version5, "000.01.21.H29", null, null);

        Assert.That(decision.Answer, Is.EqualTo(DirectoryAnswer.Snapshot));
        Assert.That(decision.Requester, Is.EqualTo("000.01.21.H29"));
    }

    [TestCase(4L, DirectoryAnswer.Snapshot)]
    [TestCase(5L, DirectoryAnswer.UpToDate)]
    [TestCase(6L, DirectoryAnswer.UpToDate)]
    public void Answers_only_with_a_version_newer_than_the_gateway_holds(long known, DirectoryAnswer expected) =>
        Assert.That(DirectoryRequests.Decide(Version5, "000.01.21.H29", known, null).Answer, Is.EqualTo(expected));

    [Test]
    public void Answers_the_normal_form_of_an_older_three_group_code() =>
        Assert.That(DirectoryRequests.Decide(Version5, "01.21.H29", null, null).Requester, Is.EqualTo("000.01.21.H29"));

    [Test]
    public void Still_answers_an_agency_merged_away()
    {
        // Its gateway runs until its last documents are done, and its document system still asks who is who.
        Assert.That(DirectoryRequests.Decide(Version5, "000.02.21.H29", null, null).Answer, Is.EqualTo(DirectoryAnswer.Snapshot));
    }

    [TestCase("vxp.saas.03", ReasonCode.InvalidAgencyCode)]
    [TestCase(null, ReasonCode.InvalidAgencyCode)]
    [TestCase("000.09.21.H29", ReasonCode.UnknownSender)]
    public void Refuses_a_requester_that_is_no_agency_of_the_directory(string? requester, ReasonCode reason)
    {
        var decision = DirectoryRequests.Decide(Version5, requester, null, null);

        Assert.That(decision.Answer, Is.EqualTo(DirectoryAnswer.Refused));
        Assert.That(decision.Reason, Is.EqualTo(reason));
    }

    [Test]
    public void Refuses_an_agency_another_hub_of_the_federation_serves()
    {
        var federated = new AgencyDirectory(5, Single with { Hubs = ["000.00.00.H29", "000.00.21.H29"] });

        Assert.That(DirectoryRequests.Decide(federated, "000.01.21.H29", null, "000.00.00.H29").Answer, Is.EqualTo(DirectoryAnswer.Refused), "a ward asks the province hub");
        Assert.That(DirectoryRequests.Decide(federated, "000.01.21.H29", null, "000.00.21.H29").Answer, Is.EqualTo(DirectoryAnswer.Snapshot), "and its own district hub");
    }
}
