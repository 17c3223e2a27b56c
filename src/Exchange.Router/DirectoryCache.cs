using Exchange.Core;
using Exchange.Persistence.Hub;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Exchange.Router;

/// <summary>
/// The newest directory version, reloaded when a newer one is imported. Each envelope is routed under
/// one immutable version, which its evidence records.
/// </summary>
public sealed class DirectoryCache(IServiceScopeFactory scopes, IOptions<RouterOptions> options, TimeProvider clock)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private AgencyDirectory? _current;
    private DateTimeOffset _checkedAt = DateTimeOffset.MinValue;

    /// <summary>The version loaded last, however old: for when the database cannot be asked (it is failing).</summary>
    public AgencyDirectory? LastLoaded => _current;

    public async Task<AgencyDirectory> CurrentAsync(CancellationToken cancellationToken)
    {
        if (_current is { } fresh && clock.GetUtcNow() - _checkedAt < options.Value.DirectoryRefresh)
        {
            return fresh;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_current is { } again && clock.GetUtcNow() - _checkedAt < options.Value.DirectoryRefresh)
            {
                return again;
            }

            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
            var latest = await db.DirectoryVersions.MaxAsync(v => (long?)v.Version, cancellationToken)
                ?? throw new InvalidOperationException(
                    "The hub has no directory: import one with `exchange directory import FILE` before routing.");
            if (_current?.Version != latest)
            {
                var row = await db.DirectoryVersions.AsNoTracking().SingleAsync(v => v.Version == latest, cancellationToken);
                _current = new AgencyDirectory(row.Version, DirectoryDocument.Parse(row.Content));
            }

            _checkedAt = clock.GetUtcNow();
            return _current;
        }
        finally
        {
            _gate.Release();
        }
    }
}
