using System.Net.Http.Json;
using Exchange.Cli;
using Exchange.Contracts;
using Exchange.Gateway;
using Exchange.Signing;
using MassTransit;
using Npgsql;

namespace Exchange.IntegrationTests;

/// <summary>
/// The sample province running in this process on the real servers, under a name prefix of its own, with a
/// dev PKI in a temporary folder. State from earlier runs is removed before the run, not after, so a failed
/// run leaves its databases to inspect.
/// </summary>
public abstract class ProvinceFixture
{
    private const string RunPrefix = "it";

    protected LocalDeployment Province { get; private set; } = null!;

    protected string PkiFolder { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartProvince()
    {
        await DropEarlierRunsAsync();
        PkiFolder = Path.Combine(Path.GetTempPath(), $"exchange-it-pki-{Guid.NewGuid():N}");
        var prefix = $"{RunPrefix}{Guid.NewGuid().ToString("N")[..6]}-";
        Province = await LocalDeployment.StartAsync(new DeploymentSettings(Servers.Settings, PkiFolder, SampleDirectory.Load(), prefix));
    }

    [OneTimeTearDown]
    public async Task StopProvince()
    {
        if (Province is not null)
        {
            await Province.DisposeAsync();
        }
    }

    protected GatewayClient Client(string agencyCode) => new(Province.Gateways[agencyCode].Http);

    protected static async Task Eventually(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"Timed out waiting for {what}.");
    }

    protected async Task<DocumentState> WaitForOutcomeAsync(string sender, Guid envelopeId)
    {
        DocumentState? state = null;
        await Eventually(async () =>
        {
            state = await Client(sender).GetDocumentAsync(envelopeId);
            return state?.State is "delivered" or "rejected";
        }, $"envelope {envelopeId} to be delivered or rejected");
        return state!;
    }

    /// <summary>A bus client that bypasses every gateway, as a hostile or broken one would.</summary>
    protected async Task SendToHubAsync(params SubmitEnvelope[] messages)
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(Servers.Settings.AmqpUri, h =>
        {
            h.Username(Servers.Settings.AmqpUser);
            h.Password(Servers.Settings.AmqpPassword);
        }));
        await bus.StartAsync();
        try
        {
            var hub = await bus.GetSendEndpoint(new Uri($"queue:{Province.Names.HubQueue}"));
            await Task.WhenAll(messages.Select(m => hub.Send(m)));
        }
        finally
        {
            await bus.StopAsync();
        }
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
            await using var drop = new NpgsqlCommand($"drop database if exists \"{name}\" with (force)", connection);
            await drop.ExecuteNonQueryAsync();
        }

        await DeleteStaleQueuesAsync();
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
            queues = await http.GetFromJsonAsync<List<QueueInfo>>($"api/queues/{vhost}?columns=name");
        }
        catch (HttpRequestException)
        {
            return; // No management API on servers the user runs: stale queues only cost a little space.
        }

        foreach (var queue in queues ?? [])
        {
            if (System.Text.RegularExpressions.Regex.IsMatch(queue.Name, $"^{RunPrefix}[0-9a-f]{{6}}-"))
            {
                await http.DeleteAsync($"api/queues/{vhost}/{Uri.EscapeDataString(queue.Name)}");
                await http.DeleteAsync($"api/exchanges/{vhost}/{Uri.EscapeDataString(queue.Name)}");
            }
        }
    }

    private sealed record QueueInfo(string Name);
}
