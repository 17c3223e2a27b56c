using MassTransit;

namespace Exchange.ServiceDefaults.Broker;

/// <summary>
/// Where a gateway sends what is meant for its hub (submissions, receipts, failure reports, statuses).
/// </summary>
/// <remarks>
/// Logging in as its agency's own user, a gateway may not declare the hub's queue or exchange (declaring
/// needs configure permission, which would also let it delete them), so it sends to its outbound exchange,
/// which <see cref="BrokerProvisioner"/> declared and bound to the hub's exchange. Logging in as the shared
/// administrator it sends to <c>queue:{hub queue}</c>, as before, which declares the hub's queue if missing.
/// </remarks>
public sealed record GatewayHubAddress(Uri Address)
{
    public static GatewayHubAddress For(string hubQueue, string agencyQueue, bool ownBrokerUser)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(hubQueue);
        ArgumentException.ThrowIfNullOrWhiteSpace(agencyQueue);
        return new GatewayHubAddress(ownBrokerUser
            ? new Uri($"exchange:{BrokerNames.OutboundExchange(agencyQueue)}")
            : Messaging.QueueSends.QueueAddress(hubQueue));
    }
}

public static class GatewayHubAddressExtensions
{
    /// <summary>Sends <paramref name="message"/> to the hub at <paramref name="hub"/>, with publisher confirms.</summary>
    public static async Task SendToHubAsync<T>(this ISendEndpointProvider sender, GatewayHubAddress hub, T message, CancellationToken cancellationToken)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(sender);
        ArgumentNullException.ThrowIfNull(hub);
        var endpoint = await sender.GetSendEndpoint(hub.Address);
        await endpoint.Send(message, cancellationToken);
    }
}
