using MassTransit;

namespace Exchange.ServiceDefaults.Messaging;

public static class QueueSends
{
    /// <summary>
    /// How long a send made outside a consumer may wait for the broker's publisher confirm. After a broker restart a
    /// confirm can be lost and the send then waits for ever (rabbitmq-dotnet-client issue #1930): a chaos run saw one
    /// gateway's outbox stop that way, its documents queued until the gateway was restarted.
    /// </summary>
    public static readonly TimeSpan ConfirmTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Off once a bus is set up for quorum queues (<see cref="ServerSettings.AmqpQuorum"/>, by
    /// <see cref="RabbitMqHostExtensions.Host(IRabbitMqBusFactoryConfigurator, ServerSettings)"/>): a sender would declare the
    /// queue without its type and fail with PRECONDITION_FAILED (MassTransit's send address has no setting for the type), so
    /// it declares only the queue's exchange, and the queue is declared by its consumer and by broker provisioning.
    /// </summary>
    public static bool SendersDeclareQueues { get; internal set; } = true;

    /// <summary>The one address every send to a queue by name goes to (see <see cref="SendersDeclareQueues"/>).</summary>
    public static Uri QueueAddress(string queue) => new(SendersDeclareQueues ? $"queue:{queue}" : $"queue:{queue}?bind=false");

    /// <summary>Sends to a queue by name (Exchange's queue names are protocol; see ExchangeNames), with publisher confirms.</summary>
    public static async Task SendToQueueAsync<T>(this ISendEndpointProvider sender, string queue, T message, CancellationToken cancellationToken)
        where T : class
    {
        var endpoint = await sender.GetSendEndpoint(QueueAddress(queue));
        await endpoint.Send(message, cancellationToken);
    }

    /// <summary>
    /// Sends straight to the broker (not through a consumer's outbox) and fails with a <see cref="TimeoutException"/>
    /// when the broker has not confirmed within <see cref="ConfirmTimeout"/>, so the caller retries instead of waiting
    /// for ever. Safe because every receiver is idempotent by message id.
    /// </summary>
    public static Task SendConfirmedAsync<T>(this ISendEndpoint endpoint, T message, CancellationToken cancellationToken)
        where T : class =>
        WithinAsync(token => endpoint.Send(message, token), ConfirmTimeout, cancellationToken);

    /// <summary>Runs <paramref name="send"/> with a token cancelled after <paramref name="limit"/>; a send cut off that way is a <see cref="TimeoutException"/>.</summary>
    public static async Task WithinAsync(Func<CancellationToken, Task> send, TimeSpan limit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(send);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        try
        {
            await send(timeout.Token);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The broker did not confirm the send within {limit.TotalSeconds:0.###} s.", e);
        }
    }
}
