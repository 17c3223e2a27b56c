using MassTransit;

namespace Exchange.ServiceDefaults.Messaging;

public static class ConsumerRetry
{
    /// <summary>
    /// Faults (database or broker unavailable, timeouts) are retried with backoff; business outcomes never
    /// throw, so they are not retried. Sends are held until the consumer finishes, so a retried attempt does
    /// not send twice. A message that still fails lands in the endpoint's _error queue. Applied per
    /// consumer because each host's consumers share its one endpoint.
    /// </summary>
    public static void Apply<T>(IConsumerConfigurator<T> consumer, IRegistrationContext context)
        where T : class
    {
        consumer.UseMessageRetry(r => r.Exponential(8, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(400)));
        consumer.UseInMemoryOutbox(context);
    }
}

/// <summary>The definition every Exchange consumer uses: <see cref="ConsumerRetry"/>.</summary>
public class RetryingConsumerDefinition<T> : ConsumerDefinition<T>
    where T : class, IConsumer
{
    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<T> consumerConfigurator, IRegistrationContext context) =>
        ConsumerRetry.Apply(consumerConfigurator, context);
}
