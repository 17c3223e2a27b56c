using System.Text.RegularExpressions;
using Exchange.ServiceDefaults.Broker;

namespace Exchange.ServiceDefaults.Tests;

/// <summary>
/// The permission patterns, matched here with .NET's engine; RabbitMQ matches them with Erlang's (PCRE), which
/// reads these constructs (anchors, non-capturing groups, escapes, one character class) the same way. The
/// integration tests (BrokerIsolationTests) check them on the real broker.
/// </summary>
public sealed class BrokerPermissionsTests
{
    private const string Stem = "p1-agency-";
    private const string Hub = "p1-exchange-hub";
    private const string A = "p1-agency-000-01-21-h29";
    private const string B = "p1-agency-000-01-22-h29";

    private static bool Matches(string pattern, string name) => Regex.IsMatch(name, pattern, RegexOptions.CultureInvariant);

    [TestCase(A)]
    [TestCase(A + "_error")]
    [TestCase(A + "_skipped")]
    [TestCase(A + ".to-hub")]
    public void Agency_may_declare_and_write_its_own_names(string name)
    {
        var permissions = BrokerNames.AgencyPermissions(A);

        Assert.That(Matches(permissions.Configure, name), Is.True);
        Assert.That(Matches(permissions.Write, name), Is.True);
    }

    [TestCase(B)]
    [TestCase(B + "_error")]
    [TestCase(B + ".to-hub")]
    [TestCase(A + "x")]
    [TestCase("p1-agency-000-01-21-h2")]
    [TestCase("x" + A)]
    [TestCase(A + "_error.to-hub")]
    [TestCase(Hub)]
    [TestCase(Hub + "_error")]
    [TestCase("Exchange.Contracts:DeliverEnvelope")]
    [TestCase("MassTransit:Fault")]
    [TestCase("amq.default")]
    [TestCase("")]
    public void Agency_has_no_right_on_names_not_its_own(string name)
    {
        var permissions = BrokerNames.AgencyPermissions(A);

        Assert.That(Matches(permissions.Configure, name), Is.False);
        Assert.That(Matches(permissions.Write, name), Is.False);
        Assert.That(Matches(permissions.Read, name), Is.False);
    }

    [Test]
    public void Agency_reads_its_queue_and_its_companions_but_not_its_outbound_exchange()
    {
        var read = BrokerNames.AgencyPermissions(A).Read;

        Assert.That(Matches(read, A), Is.True);
        Assert.That(Matches(read, A + "_error"), Is.True);
        Assert.That(Matches(read, A + "_skipped"), Is.True);
        // Read on the outbound exchange would let the agency bind it elsewhere, and it never consumes from it.
        Assert.That(Matches(read, A + ".to-hub"), Is.False);
    }

    [TestCase(Hub, true)]
    [TestCase(Hub + "_error", true)]
    [TestCase(Hub + "_skipped", true)]
    [TestCase(A, true)]
    [TestCase(B, true)]
    [TestCase(A + ".to-hub", false)]
    [TestCase(A + "_error", false)]
    [TestCase("p2-agency-000-01-21-h29", false)]
    [TestCase("agency-000-01-21-h29", false)]
    [TestCase("p1-exchange-hub-2", false)]
    [TestCase("Exchange.Contracts:SubmitEnvelope", false)]
    public void Hub_reaches_its_own_queue_and_every_agency_queue_of_its_prefix(string name, bool allowed)
    {
        var permissions = BrokerNames.HubPermissions(Hub, Stem);

        Assert.That(Matches(permissions.Configure, name), Is.EqualTo(allowed));
        Assert.That(Matches(permissions.Write, name), Is.EqualTo(allowed));
        Assert.That(Matches(permissions.Read, name), Is.EqualTo(allowed));
    }

    [Test]
    public void Regex_characters_in_a_prefix_are_taken_literally()
    {
        var permissions = BrokerNames.AgencyPermissions("a.b-agency-000-01-21-h29");

        Assert.That(Matches(permissions.Configure, "a.b-agency-000-01-21-h29"), Is.True);
        Assert.That(Matches(permissions.Configure, "aXb-agency-000-01-21-h29"), Is.False);
    }

    [Test]
    public void Layout_refuses_an_agency_queue_the_hub_pattern_would_not_cover()
    {
        Assert.That(
            () => new BrokerLayout(Hub, Stem, [new BrokerAgency("000.01.21.H29", "p1-other-000-01-21-h29")]),
            Throws.ArgumentException.With.Message.Contains("p1-other-000-01-21-h29"));
        Assert.That(
            () => new BrokerLayout(Hub, Stem, [new BrokerAgency("000.01.21.H29", A + ".x")]),
            Throws.ArgumentException);
    }

    [Test]
    public void Layout_refuses_two_agencies_on_one_queue()
    {
        Assert.That(
            () => new BrokerLayout(Hub, Stem, [new BrokerAgency("000.01.21.H29", A), new BrokerAgency("00.21.H29", A)]),
            Throws.ArgumentException.With.Message.Contains("share the queue"));
    }

    [Test]
    public void A_user_result_never_prints_its_password()
    {
        var result = new BrokerUserResult(A, "000.01.21.H29", BrokerUserChange.Created, BrokerNames.AgencyPermissions(A), "s3cret-password-value");

        Assert.That(result.ToString(), Does.Not.Contain("s3cret"));
    }
}
