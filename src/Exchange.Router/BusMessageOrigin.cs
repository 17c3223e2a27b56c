using Exchange.Core;
using Exchange.ServiceDefaults.Messaging;
using MassTransit;

namespace Exchange.Router;

/// <summary>
/// The hub's answer to "may this message speak for that agency" for the consumers it shares with gateways (package
/// chunks): the same rule as every other message the hub takes, <see cref="BusOrigin"/>.
/// </summary>
internal sealed class BusMessageOrigin(ExchangeNames names) : IMessageOrigin
{
    public bool Agrees(ConsumeContext context, string? claimedAgency, out string detail) =>
        BusOrigin.Agrees(context, names, claimedAgency, out detail);
}
