using System.Diagnostics;
using Exchange.ServiceDefaults;
using MassTransit;

namespace Exchange.Cli.Bench;

/// <summary>
/// What the bus alone can do on this machine: MassTransit over the same RabbitMQ moving messages of the document's size
/// one hop (send, durable queue, consume), with nothing else. The path's throughput is read against it.
/// </summary>
internal static class BusCeiling
{
    public sealed record Payload(Guid Id, byte[] Data);

    private sealed class Counter
    {
        private int _remaining;
        private TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Expect(int count)
        {
            _done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            Volatile.Write(ref _remaining, count);
            return _done.Task;
        }

        public void Signal()
        {
            if (Interlocked.Decrement(ref _remaining) == 0)
            {
                _done.TrySetResult();
            }
        }
    }

    private sealed class Sink(Counter counter) : IConsumer<Payload>
    {
        public Task Consume(ConsumeContext<Payload> context)
        {
            counter.Signal();
            return Task.CompletedTask;
        }
    }

    /// <summary>Messages per second over <paramref name="count"/> messages of <paramref name="size"/> bytes, after a warm-up.</summary>
    public static async Task<double> MeasureAsync(ServerSettings servers, string queue, int count, int size, int concurrency, CancellationToken ct)
    {
        var counter = new Counter();
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(servers);
            cfg.ReceiveEndpoint(queue, e =>
            {
                // The hub's endpoint settings (RouterOptions), so the ceiling is the same bus configured the same way.
                e.PrefetchCount = 32;
                e.ConcurrentMessageLimit = 16;
                e.ConfigureConsumeTopology = false;
                e.Consumer(() => new Sink(counter));
            });
        });
        await bus.StartAsync(ct);
        try
        {
            var endpoint = await bus.GetSendEndpoint(new Uri($"queue:{queue}"));
            var data = new byte[size];
            Random.Shared.NextBytes(data);
            await SendAsync(endpoint, Math.Min(count, 500), data, concurrency, counter, ct);
            var clock = Stopwatch.StartNew();
            await SendAsync(endpoint, count, data, concurrency, counter, ct);
            return count / clock.Elapsed.TotalSeconds;
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }

    private static async Task SendAsync(ISendEndpoint endpoint, int count, byte[] data, int concurrency, Counter counter, CancellationToken ct)
    {
        var received = counter.Expect(count);
        using var gate = new SemaphoreSlim(concurrency);
        var sends = Enumerable.Range(0, count).Select(async _ =>
        {
            await gate.WaitAsync(ct);
            try
            {
                await endpoint.Send(new Payload(Guid.NewGuid(), data), ct);
            }
            finally
            {
                gate.Release();
            }
        }).ToList();
        await Task.WhenAll(sends);
        await received.WaitAsync(TimeSpan.FromMinutes(5), ct);
    }
}
