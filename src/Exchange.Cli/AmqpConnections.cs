using Exchange.ServiceDefaults;
using RabbitMQ.Client;

namespace Exchange.Cli;

/// <summary>Plain AMQP connections for the CLI's tools that work below MassTransit (dead letters, the bench's recipient farm).</summary>
internal static class AmqpConnections
{
    public static ConnectionFactory Factory(ServerSettings servers, string clientName) => new()
    {
        HostName = servers.AmqpHost,
        Port = servers.AmqpPort,
        UserName = servers.AmqpUser,
        Password = servers.AmqpPassword,
        VirtualHost = servers.AmqpVirtualHost,
        ClientProvidedName = clientName,
        RequestedConnectionTimeout = TimeSpan.FromSeconds(10),
    };
}
