using Exchange.Core;
using Exchange.Router;
using Exchange.ServiceDefaults.Broker;

namespace Exchange.IntegrationTests;

/// <summary>
/// The hub's decision on who may speak for an agency (issue #16, item 3), from the facts the broker gives: the
/// validated AMQP <c>user_id</c> and the exchange a message was published to. The attacks themselves are tried on
/// the real broker by <see cref="BrokerIsolationTests"/> and the hostile corpus; this is the table in between.
/// </summary>
[TestFixture]
public sealed class BusOriginTests
{
    private const string A = "000.00.01.H29";
    private const string B = "000.01.21.H29";
    private const string Operator = "exchange";

    private static readonly ExchangeNames Names = new("p-");
    private static readonly string UserA = Names.AgencyQueue(A);
    private static readonly string UserB = Names.AgencyQueue(B);

    private static BusOrigin PerAgency => new(Names, perAgencyUsers: true, [Names.HubQueue, Operator]);

    private static BusOrigin Shared => new(Names, perAgencyUsers: false, [Operator]);

    [Test]
    public void An_agency_login_speaks_for_its_own_agency_whichever_exchange_it_was_published_to()
    {
        // 1. Through its .to-hub, or an exchange of its own it bound or alternated there: its own claims pass.
        foreach (var exchange in new[] { BrokerNames.OutboundExchange(UserA), UserA + BrokerNames.SkippedSuffix, UserA + BrokerNames.ErrorSuffix })
        {
            Assert.That(PerAgency.Agrees(UserA, exchange, relayed: false, A, OriginProof.LoginOnly, out _), Is.True, exchange);
        }

        // 2. The attack: the same login names another agency. 3. Refused, in both modes, signed or not.
        foreach (var origin in new[] { PerAgency, Shared })
        {
            foreach (var proof in new[] { OriginProof.Signed, OriginProof.LoginOnly })
            {
                Assert.That(origin.Agrees(UserA, UserA + BrokerNames.SkippedSuffix, relayed: false, B, proof, out var detail), Is.False);
                Assert.That(detail, Does.Contain(UserA));
            }
        }
    }

    [Test]
    public void A_message_published_to_an_agencys_exchange_without_that_agencys_login_is_refused()
    {
        // 1. Without user_id through an agency's own name (an agency that does not stamp, or the hub's delivery it
        //    bound back towards the hub), or with the hub's or an operator's: refused, even for its own agency and signed.
        foreach (var user in new string?[] { null, Names.HubQueue, Operator })
        {
            foreach (var exchange in new[] { UserA, UserA + BrokerNames.SkippedSuffix, BrokerNames.OutboundExchange(UserA) })
            {
                Assert.That(PerAgency.Agrees(user, exchange, relayed: false, A, OriginProof.Signed, out var detail), Is.False, $"{user} {exchange}");
                Assert.That(detail, Does.Contain(exchange));
            }
        }
    }

    [Test]
    public void Unsigned_reports_need_a_known_login_and_signed_messages_are_judged_on_their_signature()
    {
        var hubExchange = Names.HubQueue;

        // 1. The hub's and the operators' own logins (exchange dlq resend stamps it) speak for anyone.
        Assert.That(PerAgency.Agrees(Names.HubQueue, hubExchange, relayed: false, B, OriginProof.LoginOnly, out _), Is.True);
        Assert.That(PerAgency.Agrees(Operator, string.Empty, relayed: false, B, OriginProof.LoginOnly, out _), Is.True);

        // 2. No user_id, or a login nobody provisioned for this hub (another deployment's agency, another administrator):
        //    3. an unsigned report is refused; a signed message is left to its signature; a relayed one is a hub's.
        foreach (var user in new string?[] { null, string.Empty, "q-agency-000-00-01-h29", "someone" })
        {
            Assert.That(PerAgency.Agrees(user, hubExchange, relayed: false, B, OriginProof.LoginOnly, out var detail), Is.False, user);
            Assert.That(detail, Is.Not.Empty);
            Assert.That(PerAgency.Agrees(user, hubExchange, relayed: false, B, OriginProof.Signed, out _), Is.True, user);
            Assert.That(PerAgency.Agrees(user, string.Empty, relayed: true, B, OriginProof.LoginOnly, out _), Is.True, user);
        }
    }

    [Test]
    public void With_one_shared_login_only_the_agency_rule_and_the_outbound_exchange_count()
    {
        Assert.That(Shared.Agrees(null, Names.HubQueue, relayed: false, B, OriginProof.LoginOnly, out _), Is.True);
        Assert.That(Shared.Agrees(Operator, BrokerNames.OutboundExchange(UserB), relayed: false, B, OriginProof.LoginOnly, out _), Is.True);
        Assert.That(Shared.Agrees(Operator, BrokerNames.OutboundExchange(UserA), relayed: false, B, OriginProof.LoginOnly, out _), Is.False);
    }
}
