using System.Security.Authentication;
using Exchange.ServiceDefaults.Tls;
using MassTransit;
using RabbitMQ.Client;

namespace Exchange.ServiceDefaults;

public static class RabbitMqHostExtensions
{
    /// <summary>
    /// Points a MassTransit RabbitMQ bus at the broker in <paramref name="settings"/>. A gateway that
    /// logs in as its agency's own broker user passes <c>settings with { AmqpUser = ..., AmqpPassword = ... }</c>.
    /// With <see cref="ServerSettings.AmqpTls"/> the connection is TLS 1.2 or 1.3 to the TLS port, and the broker's
    /// certificate must be valid for <see cref="ServerSettings.AmqpHost"/> and chain to the system's trust store or
    /// to the CA in <see cref="ServerSettings.AmqpCaFile"/>; the login is still the user and password, inside TLS.
    /// </summary>
    /// <exception cref="InvalidOperationException">TLS is on and the CA file cannot be read.</exception>
    public static void Host(this IRabbitMqBusFactoryConfigurator configurator, ServerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(configurator);
        ArgumentNullException.ThrowIfNull(settings);
        // Read once, at configuration: a missing CA file stops the host at start, not at the first reconnect.
        var trust = settings.AmqpTls && settings.AmqpCaFile is { } caFile ? PrivateCaTrust.FromPemFile(caFile) : null;
        if (settings.AmqpQuorum)
        {
            Messaging.QueueSends.SendersDeclareQueues = false;
        }

        configurator.Host(settings.AmqpUri, h =>
        {
            h.Username(settings.AmqpUser);
            h.Password(settings.AmqpPassword);
            if (settings.AmqpHosts.Count > 0)
            {
                // Every node of the cluster: the connection goes to one that answers, and to another when that one stops.
                h.UseCluster(c =>
                {
                    foreach (var node in settings.AmqpHosts)
                    {
                        c.Node(node);
                    }
                });
            }

            if (settings.AmqpTls)
            {
                h.UseSsl(ssl =>
                {
                    ssl.Protocol = SslProtocols.Tls12 | SslProtocols.Tls13;
                    ssl.ServerName = settings.AmqpHost;
                    if (trust is not null)
                    {
                        ssl.CertificateValidationCallback = (_, certificate, _, errors) => trust.Validate(certificate, errors);
                    }
                });
            }
        });
    }

    /// <summary>
    /// Makes a host's receive queue a quorum queue when <see cref="ServerSettings.AmqpQuorum"/> is on (replicated over the
    /// cluster's nodes, so that it outlives one of them); otherwise leaves it a classic durable queue.
    /// </summary>
    public static void QueueType(this IRabbitMqReceiveEndpointConfigurator endpoint, ServerSettings settings)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(settings);
        if (settings.AmqpQuorum)
        {
            endpoint.SetQuorumQueue();
        }
    }

    /// <summary>
    /// A plain RabbitMQ.Client connection to the same broker, as the same user and over TLS the same way, for what works
    /// below MassTransit: the endpoint watchdog, the dead-letter tools, the bench's recipient farm.
    /// </summary>
    public static ConnectionFactory ConnectionFactory(this ServerSettings settings, string clientName)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var trust = settings.AmqpTls && settings.AmqpCaFile is { } caFile ? PrivateCaTrust.FromPemFile(caFile) : null;
        return new ConnectionFactory
        {
            HostName = settings.AmqpHost,
            Port = settings.AmqpTls ? settings.AmqpTlsPort : settings.AmqpPort,
            UserName = settings.AmqpUser,
            Password = settings.AmqpPassword,
            VirtualHost = settings.AmqpVirtualHost,
            ClientProvidedName = clientName,
            RequestedConnectionTimeout = TimeSpan.FromSeconds(10),
            Ssl = new SslOption
            {
                Enabled = settings.AmqpTls,
                ServerName = settings.AmqpHost,
                Version = SslProtocols.Tls12 | SslProtocols.Tls13,
                CertificateValidationCallback = trust is null ? null : (_, certificate, _, errors) => trust.Validate(certificate, errors),
            },
        };
    }
}
