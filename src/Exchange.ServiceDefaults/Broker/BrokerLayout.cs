using System.Text.RegularExpressions;

namespace Exchange.ServiceDefaults.Broker;

/// <summary>
/// A RabbitMQ user's permissions on one virtual host: three regular expressions matched against queue and
/// exchange names alike (https://www.rabbitmq.com/docs/access-control#authorisation). <c>configure</c> covers
/// declaring and deleting, <c>write</c> publishing and being the destination of a binding, <c>read</c>
/// consuming, purging and being the source of a binding.
/// </summary>
public sealed record BrokerPermissions(string Configure, string Write, string Read);

/// <summary>
/// One agency on the broker. Its user is named after its queue, and everything it may touch shares that
/// stem: the queue and the exchange of the same name (what the hub sends to), MassTransit's <c>_error</c>
/// and <c>_skipped</c> queues for that endpoint, and <see cref="OutboundExchange"/>, the only way it has to
/// reach the hub.
/// </summary>
public sealed record BrokerAgency(string Code, string Queue)
{
    /// <summary>The broker user the agency's gateway logs in as.</summary>
    public string User => Queue;

    /// <summary>The exchange the agency's gateway sends to; the provisioner binds it to the hub's exchange.</summary>
    public string OutboundExchange => BrokerNames.OutboundExchange(Queue);

    public BrokerPermissions Permissions => BrokerNames.AgencyPermissions(Queue);
}

/// <summary>
/// What the provisioner sets up on one virtual host: the hub's queue, and one queue per agency that the hub
/// serves. <paramref name="agencyQueueStem"/> is what every agency queue name starts with (the prefix and
/// <c>agency-</c>): the hub's user may send to any name of that shape, so adding an agency to the directory
/// does not need the hub's user changed.
/// </summary>
public sealed class BrokerLayout
{
    static readonly Regex QueueTail = new("^[a-z0-9-]+$", RegexOptions.CultureInvariant);

    public BrokerLayout(string hubQueue, string agencyQueueStem, IEnumerable<BrokerAgency> agencies)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(hubQueue);
        ArgumentException.ThrowIfNullOrWhiteSpace(agencyQueueStem);
        ArgumentNullException.ThrowIfNull(agencies);
        HubQueue = hubQueue;
        AgencyQueueStem = agencyQueueStem;
        Agencies = agencies.ToList();
        foreach (var agency in Agencies)
        {
            // The hub's permissions cover agency queues by pattern; a queue outside it would be unreachable.
            if (!agency.Queue.StartsWith(agencyQueueStem, StringComparison.Ordinal) || !QueueTail.IsMatch(agency.Queue[agencyQueueStem.Length..]))
            {
                throw new ArgumentException($"Agency {agency.Code}'s queue '{agency.Queue}' is not '{agencyQueueStem}' followed by lowercase letters, digits and dashes.", nameof(agencies));
            }
        }

        var duplicate = Agencies.GroupBy(a => a.Queue, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new ArgumentException($"Agencies {string.Join(", ", duplicate.Select(a => a.Code))} share the queue '{duplicate.Key}'.", nameof(agencies));
        }
    }

    public string HubQueue { get; }

    public string AgencyQueueStem { get; }

    public IReadOnlyList<BrokerAgency> Agencies { get; }

    /// <summary>The broker user the hub logs in as.</summary>
    public string HubUser => HubQueue;

    public BrokerPermissions HubPermissions => BrokerNames.HubPermissions(HubQueue, AgencyQueueStem);

    /// <summary>Every user name this layout provisions would match: the hub's, and any agency's under the stem.</summary>
    public bool IsManagedUserName(string user) =>
        user == HubUser || (user.StartsWith(AgencyQueueStem, StringComparison.Ordinal) && QueueTail.IsMatch(user[AgencyQueueStem.Length..]));

    public BrokerAgency? Find(string agencyCode) => Agencies.FirstOrDefault(a => string.Equals(a.Code, agencyCode, StringComparison.OrdinalIgnoreCase));
}

/// <summary>
/// Names and permission patterns derived from queue names. What each name is for, and why each permission is
/// needed, is in docs/broker.md.
/// </summary>
public static class BrokerNames
{
    /// <summary>MassTransit moves a message that still faults after its retries to <c>{queue}_error</c>.</summary>
    public const string ErrorSuffix = "_error";

    /// <summary>MassTransit moves a message no consumer of the endpoint accepts to <c>{queue}_skipped</c>.</summary>
    public const string SkippedSuffix = "_skipped";

    /// <summary>
    /// <c>{agency queue}.to-hub</c>: the exchange an agency's gateway sends to. A dot, because the hub's
    /// pattern (letters, digits and dashes after the stem) must not cover it.
    /// </summary>
    public const string OutboundSuffix = ".to-hub";

    public static string OutboundExchange(string agencyQueue) => agencyQueue + OutboundSuffix;

    /// <summary>An agency's user has no tags: no management API or UI, no administration; AMQP only.</summary>
    public static IReadOnlyList<string> AgencyTags { get; } = [];

    /// <summary>
    /// The hub's user has one tag, <c>impersonator</c>, and no management access. Gateways stamp their messages with
    /// their login (AMQP <c>user_id</c>), and MassTransit moves a message the hub cannot take to the hub's
    /// <c>_error</c> or <c>_skipped</c> queue by publishing it again with its properties unchanged; RabbitMQ refuses
    /// a publish whose <c>user_id</c> is not the publisher's own unless the publisher has this tag
    /// (https://www.rabbitmq.com/docs/validated-user-id). Without it, any agency could make a message the hub can
    /// never move out of its queue. The hub does not stamp what it sends itself, so it claims no one else's login.
    /// </summary>
    public static IReadOnlyList<string> HubTags { get; } = ["impersonator"];

    /// <summary>The same tags, in any order.</summary>
    public static bool SameTags(IEnumerable<string> actual, IEnumerable<string> wanted) =>
        actual.Order(StringComparer.Ordinal).SequenceEqual(wanted.Order(StringComparer.Ordinal), StringComparer.Ordinal);

    /// <summary>
    /// An agency configures (declares) its own queue and exchange, their <c>_error</c> and <c>_skipped</c>
    /// companions and its outbound exchange; writes to the same (a queue binding needs write on the queue,
    /// the outbound exchange is where it publishes); reads only its own queue and exchange and their
    /// companions (consuming, and binding its queue to its exchange). Nothing of another agency or of the
    /// hub matches.
    /// </summary>
    public static BrokerPermissions AgencyPermissions(string agencyQueue)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(agencyQueue);
        var own = Regex.Escape(agencyQueue);
        var declares = $"^{own}(?:{ErrorSuffix}|{SkippedSuffix}|{Regex.Escape(OutboundSuffix)})?$";
        return new BrokerPermissions(
            Configure: declares,
            Write: declares,
            Read: $"^{own}(?:{ErrorSuffix}|{SkippedSuffix})?$");
    }

    /// <summary>
    /// The hub configures, writes and reads its own queue (and its companions) and every agency queue and
    /// exchange. Read on agency names is there because MassTransit's <c>queue:NAME</c> send address binds
    /// the exchange NAME to the queue NAME, and a binding needs read on its source exchange; the hub is the
    /// party every agency already trusts with its documents. It has no right on an agency's outbound
    /// exchange, nor on its _error queue.
    /// </summary>
    public static BrokerPermissions HubPermissions(string hubQueue, string agencyQueueStem)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(hubQueue);
        ArgumentException.ThrowIfNullOrWhiteSpace(agencyQueueStem);
        // The hub's own names all start with its queue's: the queue, its relay queue from neighbouring hubs
        // ("-relay") and its relay queues toward them ("-relay-to-<hub>"), for federation by tier.
        var pattern = $"^(?:{Regex.Escape(hubQueue)}(?:-relay(?:-to-[a-z0-9-]+)?)?(?:{ErrorSuffix}|{SkippedSuffix})?|{Regex.Escape(agencyQueueStem)}[a-z0-9-]+)$";
        return new BrokerPermissions(Configure: pattern, Write: pattern, Read: pattern);
    }
}
