using MassTransit;

namespace Exchange.ServiceDefaults;

public static class RabbitMqHostExtensions
{
    /// <summary>
    /// Points a MassTransit RabbitMQ bus at the broker in <paramref name="settings"/>. A gateway that
    /// logs in as its agency's own broker user passes <c>settings with { AmqpUser = ..., AmqpPassword = ... }</c>.
    /// </summary>
    public static void Host(this IRabbitMqBusFactoryConfigurator configurator, ServerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        ArgumentNullException.ThrowIfNull(settings);
        configurator.Host(settings.AmqpUri, h =>
        {
            h.Username(settings.AmqpUser);
            h.Password(settings.AmqpPassword);
        });
    }
}
