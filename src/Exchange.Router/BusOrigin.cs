using Exchange.Core;
using Exchange.ServiceDefaults.Broker;
using MassTransit;

namespace Exchange.Router;

/// <summary>How much a message's own content proves who sent it, which decides what its broker login must prove.</summary>
public enum OriginProof
{
    /// <summary>A signed package, receipt or status: the signature and the directory binding name the sender.</summary>
    Signed,

    /// <summary>A delivery failure, a handover, a directory request: nothing but the broker login says who sent it.</summary>
    LoginOnly,
}

/// <summary>
/// Which broker user a message came from, and whether that user may speak for the agency the message names: the
/// one place the hub decides this (docs/broker.md, "Who sent it"; docs/security.md).
/// </summary>
/// <remarks>
/// <para>
/// The fact used is the AMQP 0-9-1 basic property <c>user_id</c>. RabbitMQ validates it at every publish: a
/// message whose <c>user_id</c> is not the publishing connection's user is refused with 406 PRECONDITION_FAILED
/// (https://www.rabbitmq.com/docs/validated-user-id), and no route the broker takes afterwards (exchange-to-exchange
/// bindings, alternate exchanges, dead-lettering) changes a message's properties. A gateway stamps every message
/// it sends with its login (<see cref="BrokerUserStamp"/>). So a message whose <c>user_id</c> is an agency's user
/// was published by that agency's login, whichever way it reached the hub, and speaks for that agency only.
/// </para>
/// <para>
/// The exchange a message was published to (basic.deliver) is no such proof: an agency may bind an exchange it
/// owns to its outbound exchange, or declare one with its outbound exchange as alternate exchange, and its
/// message then arrives "through" another name. With per-agency users it is used only the other way round: a
/// message that was published to a name an agency owns (its queue's exchange, its <c>_error</c>/<c>_skipped</c>,
/// its <c>.to-hub</c>) and does not carry that agency's <c>user_id</c> is refused, whatever it claims. That covers
/// an agency's message sent without <c>user_id</c>, and a message of the hub's or an operator's own that an
/// agency bound back towards the hub (the hub writes to every agency's exchange).
/// </para>
/// <para>
/// With per-agency users (the hub logs in as its own user, <c>Router:AmqpUser</c>), a message that carries no
/// agency's <c>user_id</c> is accepted only as the hub's or an operator's: <see cref="OriginProof.Signed"/> ones
/// are judged on their signature as before; <see cref="OriginProof.LoginOnly"/> ones need a <c>user_id</c> of a
/// user the hub knows as its own or the operators' (<c>exchange dlq resend</c> stamps its login), and are refused
/// without one or from any other user. What neighbouring hubs relay arrives on the relay queue, which only the
/// shovels between the hubs' virtual hosts write to, and is judged as before. With one shared broker user (a
/// development deployment) only the agency rule applies.
/// </para>
/// </remarks>
public sealed class BusOrigin
{
    private readonly ExchangeNames _names;
    private readonly string _agencyStem;
    private readonly bool _perAgencyUsers;
    private readonly HashSet<string> _operators;

    /// <param name="perAgencyUsers">True when agencies log in as their own broker users (the hub logs in as its own).</param>
    /// <param name="operatorUsers">Broker users whose unsigned reports the hub accepts: its own, and the operators' login.</param>
    public BusOrigin(ExchangeNames names, bool perAgencyUsers, IEnumerable<string> operatorUsers)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(operatorUsers);
        _names = names;
        _agencyStem = names.AgencyQueue(string.Empty);
        _perAgencyUsers = perAgencyUsers;
        _operators = operatorUsers.Where(u => !string.IsNullOrEmpty(u) && !IsAgencyName(u)).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>
    /// False when the message's broker login may not speak for <paramref name="claimed"/>, with why in
    /// <paramref name="detail"/>; the caller refuses it as <c>sender-mismatch</c>.
    /// </summary>
    public bool Agrees(ConsumeContext context, string? claimed, OriginProof proof, out string detail)
    {
        ArgumentNullException.ThrowIfNull(context);
        detail = string.Empty;
        if (!context.ReceiveContext.TryGetPayload<RabbitMqBasicConsumeContext>(out var delivery))
        {
            // Not from RabbitMQ (an in-memory test harness): no broker fact to check.
            return true;
        }

        var user = delivery.Properties.IsUserIdPresent() ? delivery.Properties.UserId : null;
        return Agrees(user, delivery.Exchange ?? string.Empty, IsRelay(context), claimed, proof, out detail);
    }

    /// <summary>
    /// The same decision from the broker's facts: the message's <c>user_id</c> (null when absent), the exchange it was
    /// published to (basic.deliver), and whether it was consumed from the relay queue.
    /// </summary>
    public bool Agrees(string? user, string exchange, bool relayed, string? claimed, OriginProof proof, out string detail)
    {
        ArgumentNullException.ThrowIfNull(exchange);
        detail = string.Empty;
        user = string.IsNullOrEmpty(user) ? null : user;
        if (user is not null && IsAgencyName(user))
        {
            if (AgencyCode.TryParse(claimed, out var code, out _) && _names.AgencyQueue(code.Value) == user)
            {
                return true;
            }

            detail = $"The message names agency '{Untrusted.Quote(claimed)}' but was published by the broker user '{user}', which speaks only for its own agency.";
            return false;
        }

        if (!_perAgencyUsers)
        {
            return SharedUserAgrees(exchange, claimed, out detail);
        }

        if (IsAgencyName(exchange))
        {
            detail = user is null
                ? $"The message was published to the agency's exchange '{exchange}' without the broker user_id every agency's message must carry."
                : $"The message was published to the agency's exchange '{exchange}' by the broker user '{user}', not by that agency.";
            return false;
        }

        if (proof == OriginProof.Signed || relayed)
        {
            return true;
        }

        if (user is not null && _operators.Contains(user))
        {
            return true;
        }

        detail = user is null
            ? $"The message carries no broker user_id, and nothing else says who sent it; it cannot speak for agency '{Untrusted.Quote(claimed)}'."
            : $"The message was published by the broker user '{user}', which is neither an agency's nor one the hub knows; it cannot speak for agency '{Untrusted.Quote(claimed)}'.";
        return false;
    }

    /// <summary>
    /// One shared broker user: every gateway may publish anywhere, so only the outbound exchange (when a deployment
    /// still provisioned them) says anything. Kept as before for development deployments.
    /// </summary>
    private bool SharedUserAgrees(string exchange, string? claimed, out string detail)
    {
        detail = string.Empty;
        if (!exchange.EndsWith(BrokerNames.OutboundSuffix, StringComparison.Ordinal)
            || (AgencyCode.TryParse(claimed, out var code, out _) && BrokerNames.OutboundExchange(_names.AgencyQueue(code.Value)) == exchange))
        {
            return true;
        }

        detail = $"The message names agency '{Untrusted.Quote(claimed)}' but came through the broker exchange '{exchange}', which only that exchange's own agency may use.";
        return false;
    }

    /// <summary>A queue, exchange or user name of an agency's (the stem, then anything): only that agency's login may publish to it.</summary>
    private bool IsAgencyName(string name) => name.Length > _agencyStem.Length && name.StartsWith(_agencyStem, StringComparison.Ordinal);

    /// <summary>Consumed from the relay queue, which only the shovels between hubs write to (docs/broker.md, "Hubs per tier").</summary>
    private bool IsRelay(ConsumeContext context) =>
        context.ReceiveContext.InputAddress is { } input && input.AbsolutePath.TrimEnd('/').EndsWith("/" + _names.RelayInQueue, StringComparison.Ordinal);
}
