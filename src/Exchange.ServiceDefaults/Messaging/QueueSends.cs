using MassTransit;

namespace Exchange.ServiceDefaults.Messaging;

public static class QueueSends
{
    /// <summary>Sends to a queue by name (Exchange's queue names are protocol; see ExchangeNames), with publisher confirms.</summary>
    public static async Task SendToQueueAsync<T>(this ISendEndpointProvider sender, string queue, T message, CancellationToken cancellationToken)
        where T : class
    {
        var endpoint = await sender.GetSendEndpoint(new Uri($"queue:{queue}"));
        await endpoint.Send(message, cancellationToken);
    }
}
