using Microsoft.Extensions.Logging;

namespace Exchange.ServiceDefaults;

/// <summary>
/// A reading of state (from the database, usually) behind observable gauges: read at most once per
/// <c>maxAge</c> however many gauges and scrapers ask, by one caller at a time. A caller that finds it stale
/// starts one read and waits for it up to <c>wait</c>; past that, or when the read fails, it gets the last good
/// reading (or null before the first), so that a slow or unreachable database never holds a scrape for long.
/// </summary>
public sealed class CachedReading<T>(
    Func<CancellationToken, Task<T>> read, TimeSpan maxAge, TimeSpan wait, TimeProvider clock, ILogger logger)
    where T : class
{
    private readonly Lock _gate = new();
    private T? _value;
    private DateTimeOffset _readAt = DateTimeOffset.MinValue;
    private Task? _reading;

    public T? Current()
    {
        Task? reading;
        lock (_gate)
        {
            if (clock.GetUtcNow() - _readAt < maxAge)
                return _value;
            _reading ??= Task.Run(ReadAsync);
            reading = _reading;
        }

        reading.Wait(wait);
        lock (_gate)
            return _value;
    }

    private async Task ReadAsync()
    {
        try
        {
            using var budget = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var value = await read(budget.Token).ConfigureAwait(false);
            lock (_gate)
            {
                _value = value;
                _readAt = clock.GetUtcNow();
            }
        }
#pragma warning disable CA1031 // A failed reading must not fail the scrape: the gauges keep the last good values.
        catch (Exception e)
#pragma warning restore CA1031
        {
            logger.LogWarning("Could not read the state behind the gauges ({Error}); keeping the last reading", e.GetType().Name + ": " + e.Message);
            lock (_gate)
                _readAt = clock.GetUtcNow();
        }
        finally
        {
            lock (_gate)
                _reading = null;
        }
    }
}
