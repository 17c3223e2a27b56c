using System.Net.Http.Json;
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
    /// <summary>Databases and queues of test runs start with this, then six hex digits of the fixture's own.</summary>
    public const string RunPrefix = "it";

    /// <summary>PostgreSQL logins a fixture makes for itself are named <see cref="RunPrefix"/>, six hex digits and this.</summary>
    public const string LoginSuffix = "_login";

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

        // State of earlier runs is removed before this run, not after it, so a failed run leaves its databases to inspect.
        await DropEarlierRunsAsync();
    }

    private static async Task DropEarlierRunsAsync()
    {
        await using var connection = new NpgsqlConnection(Servers.Settings.PostgresMaintenanceConnectionString());
        await connection.OpenAsync();
        var stale = new List<string>();
        await using (var list = new NpgsqlCommand($"select datname from pg_database where datname ~ '^{RunPrefix}[0-9a-f]{{6}}_exchange_'", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                stale.Add(reader.GetString(0));
            }
        }

        foreach (var name in stale)
        {
            try
            {
                await using var drop = new NpgsqlCommand($"drop database if exists \"{name}\"", connection);
                await drop.ExecuteNonQueryAsync();
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ObjectInUse)
            {
                // Another test run is using it right now.
            }
        }

        await DropStaleLoginsAsync(connection);
        await DeleteStaleQueuesAsync();
    }

    /// <summary>Logins of earlier runs whose databases are gone and that no session uses.</summary>
    private static async Task DropStaleLoginsAsync(NpgsqlConnection connection)
    {
        var stale = new List<string>();
        await using (var list = new NpgsqlCommand(
            $"select rolname from pg_roles r where rolname ~ '^{RunPrefix}[0-9a-f]{{6}}{LoginSuffix}$' "
            + "and not exists (select 1 from pg_stat_activity a where a.usename = r.rolname)", connection))
        await using (var reader = await list.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                stale.Add(reader.GetString(0));
            }
        }

        foreach (var name in stale)
        {
            try
            {
                await using var drop = new NpgsqlCommand($"drop role if exists \"{name}\"", connection);
                await drop.ExecuteNonQueryAsync();
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DependentObjectsStillExist or PostgresErrorCodes.InsufficientPrivilege)
            {
                // It still owns a database a run in progress is using, or this user may not drop logins.
            }
        }
    }

    private static async Task DeleteStaleQueuesAsync()
    {
        var s = Servers.Settings;
        using var http = new HttpClient { BaseAddress = new Uri($"http://{s.AmqpHost}:{s.AmqpManagementPort}/") };
        http.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{s.AmqpUser}:{s.AmqpPassword}")));
        var vhost = Uri.EscapeDataString(s.AmqpVirtualHost);
        List<QueueInfo>? queues;
        try
        {
            queues = await http.GetFromJsonAsync<List<QueueInfo>>($"api/queues/{vhost}?columns=name,consumers");
        }
        catch (HttpRequestException)
        {
            return; // No management API on servers the user runs: stale queues only cost a little space.
        }

        // A run with a queue that has consumers is in progress (another checkout's tests on the same servers): all its
        // queues stay, its _error queues too, which never have consumers but may hold what its tests are looking at.
        var run = new System.Text.RegularExpressions.Regex($"^{RunPrefix}[0-9a-f]{{6}}-");
        var running = (queues ?? []).Where(q => q.Consumers > 0 && run.IsMatch(q.Name)).Select(q => run.Match(q.Name).Value).ToHashSet();

        // Hubs below the top one (federation tests) run on virtual hosts of their own; one without connections is left over.
        foreach (var host in await http.GetFromJsonAsync<List<Named>>("api/vhosts?columns=name") ?? [])
        {
            if (run.IsMatch(host.Name)
                && (await http.GetFromJsonAsync<List<Named>>($"api/vhosts/{Uri.EscapeDataString(host.Name)}/connections"))?.Count == 0)
            {
                await http.DeleteAsync($"api/vhosts/{Uri.EscapeDataString(host.Name)}");
            }
        }

        foreach (var queue in queues ?? [])
        {
            if (run.Match(queue.Name) is { Success: true } stale && !running.Contains(stale.Value))
            {
                await http.DeleteAsync($"api/queues/{vhost}/{Uri.EscapeDataString(queue.Name)}");
                await http.DeleteAsync($"api/exchanges/{vhost}/{Uri.EscapeDataString(queue.Name)}");
            }
        }
    }

    private sealed record QueueInfo(string Name, int Consumers);

    private sealed record Named(string Name);
}
