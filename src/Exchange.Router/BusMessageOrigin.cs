using Exchange.ServiceDefaults.Messaging;
using MassTransit;

namespace Exchange.Router;

/// <summary>
/// The hub's answer to "may this message speak for that agency" for the consumers it shares with gateways (package
/// chunks): the same rule as every other message the hub takes, <see cref="BusOrigin"/>.
/// </summary>
internal sealed class BusMessageOrigin(BusOrigin origin) : IMessageOrigin
{
    public bool Agrees(ConsumeContext context, string? claimedAgency, out string detail) =>
        // Signed: a chunk's bytes are checked against the SHA-256 the signed submission announces, so like a signed
        // message it needs an agency's login to match the agency it names, and is otherwise judged on that check.
        origin.Agrees(context, claimedAgency, OriginProof.Signed, out detail);
}
