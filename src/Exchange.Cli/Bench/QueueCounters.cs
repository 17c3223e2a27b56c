using System.Net.Http.Json;
using System.Text.Json.Serialization;
using Exchange.ServiceDefaults;

namespace Exchange.Cli.Bench;

/// <summary>
/// Messages RabbitMQ routed into a deployment's queues, from the management API: the bus hops a document costs. The
/// broker samples these counters (every 5 s by default), so a reading waits for the next sample.
/// </summary>
internal sealed class QueueCounters(ServerSettings servers) : IDisposable
{
    private static readonly TimeSpan StatisticsInterval = TimeSpan.FromSeconds(5.5);

    private readonly HttpClient _http = new()
    {
        BaseAddress = servers.ManagementApiUri(),
        DefaultRequestHeaders = { Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{servers.AmqpUser}:{servers.AmqpPassword}"))) },
    };

    public void Dispose() => _http.Dispose();

    /// <summary>Messages published into every queue whose name starts with one of <paramref name="prefixes"/>, once the counters caught up.</summary>
    public async Task<long> PublishedAsync(IReadOnlyList<string> prefixes, CancellationToken ct)
    {
        await Task.Delay(StatisticsInterval, ct);
        var queues = await _http.GetFromJsonAsync<List<Queue>>(
            $"api/queues/{Uri.EscapeDataString(servers.AmqpVirtualHost)}?columns=name,message_stats.publish", ct) ?? [];
        return queues.Where(q => prefixes.Any(p => q.Name.StartsWith(p, StringComparison.Ordinal)) && !q.Name.EndsWith("_error", StringComparison.Ordinal))
            .Sum(q => q.MessageStats?.Publish ?? 0);
    }

    private sealed record Queue(string Name, [property: JsonPropertyName("message_stats")] Stats? MessageStats);

    private sealed record Stats(long Publish);
}
