using System.Net.Sockets;
using Exchange.ServiceDefaults;
using Npgsql;

namespace Exchange.IntegrationTests;

/// <summary>
/// Integration tests run against the real PostgreSQL and RabbitMQ that deploy/local/services.sh starts
/// (or the servers the EXCHANGE_* variables name). When they are missing, every test fails with the command
/// that starts them, instead of a wall of connection errors.
/// </summary>
[SetUpFixture]
public sealed class Servers
{
    public static ServerSettings Settings { get; } = ServerSettings.FromEnvironment();

    [OneTimeSetUp]
    public async Task Reachable()
    {
        try
        {
            await using var connection = new NpgsqlConnection(Settings.PostgresMaintenanceConnectionString());
            await connection.OpenAsync();
            using var amqp = new TcpClient();
            await amqp.ConnectAsync(Settings.AmqpHost, Settings.AmqpPort);
        }
        catch (Exception e) when (e is NpgsqlException or SocketException)
        {
            Assert.Fail($"PostgreSQL ({Settings.PostgresHost}:{Settings.PostgresPort}) or RabbitMQ ({Settings.AmqpHost}:{Settings.AmqpPort}) is not reachable: {e.Message}. "
                + "Start them with `deploy/local/services.sh up` (or set the EXCHANGE_* variables to servers you run).");
        }
    }
}
