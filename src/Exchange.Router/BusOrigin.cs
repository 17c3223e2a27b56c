using Exchange.Core;
using Exchange.ServiceDefaults.Broker;
using MassTransit;

namespace Exchange.Router;

/// <summary>
/// Which agency's broker user a message came from. With per-agency broker users (docs/broker.md) a gateway can
/// reach the hub only by publishing to its own <c>agency-CODE.to-hub</c> exchange, and RabbitMQ tells the consumer
/// which exchange a message was published to (AMQP 0-9-1 basic.deliver). So a message that came through an
/// agency's outbound exchange speaks for that agency only: a receipt, status or failure report that names another
/// agency is refused as <c>sender-mismatch</c>. This matters most for the unsigned reports (delivery failure,
/// handover), whose only authentication is the broker login. A message that came another way (a deployment with
/// one shared broker user, an operator's tool) carries no such fact and is judged on its signature alone.
/// </summary>
internal static class BusOrigin
{
    /// <summary>False when the message came through an agency's outbound exchange and <paramref name="claimed"/> is not that agency.</summary>
    public static bool Agrees(ConsumeContext context, ExchangeNames names, string? claimed, out string detail)
    {
        detail = string.Empty;
        if (!context.ReceiveContext.TryGetPayload<RabbitMqBasicConsumeContext>(out var delivery)
            || delivery.Exchange is not { } exchange
            || !exchange.EndsWith(BrokerNames.OutboundSuffix, StringComparison.Ordinal))
        {
            return true;
        }

        if (AgencyCode.TryParse(claimed, out var code, out _) && BrokerNames.OutboundExchange(names.AgencyQueue(code.Value)) == exchange)
        {
            return true;
        }

        detail = $"The message names agency '{Untrusted.Quote(claimed)}' but came through the broker exchange '{exchange}', which only that exchange's own agency may use.";
        return false;
    }
}
