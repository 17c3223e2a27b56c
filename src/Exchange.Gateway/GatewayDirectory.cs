using Exchange.Core;
using Exchange.Persistence.Gateway;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.Gateway;

/// <summary>
/// This gateway's copy of the hub's directory (docs/directory.md, "Gateways' copy of the directory"): the newest version
/// the hub sent (<see cref="DirectorySnapshotConsumer"/>), as its document systems read it through the national axis's
/// protocol (getAgenciesList, getAgenciesListQD20, getSynchronizeUnit), and as <see cref="DeliverEnvelopeConsumer"/>
/// checks each delivery's signer and addressing against it. A gateway routes nothing by it; the hub does.
/// </summary>
public sealed class GatewayDirectory(IServiceScopeFactory scopes, TimeProvider clock)
{
    /// <summary>How long a loaded version is used before the database is asked whether a newer one was stored.</summary>
    private static readonly TimeSpan Recheck = TimeSpan.FromSeconds(1);

    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly SemaphoreSlim _wanted = new(0, 1);

    // One field, so that a reader never sees one check's time with another's directory.
    private Loaded _loaded = new(null, DateTimeOffset.MinValue);

    /// <summary>
    /// The newest version stored, parsed once and kept in memory until a newer one is stored; null until the hub's first
    /// snapshot has arrived.
    /// </summary>
    public async Task<AgencyDirectory?> CurrentAsync(CancellationToken cancellationToken)
    {
        if (_loaded is { Directory: { } fresh } loaded && clock.GetUtcNow() - loaded.CheckedAt < Recheck)
        {
            return fresh;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_loaded is { Directory: { } again } loadedAgain && clock.GetUtcNow() - loadedAgain.CheckedAt < Recheck)
            {
                return again;
            }

            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<GatewayDbContext>();
            var latest = await LatestVersionAsync(db, cancellationToken);
            var directory = _loaded.Directory;
            if (latest is null)
            {
                directory = null;
            }
            else if (directory?.Version != latest)
            {
                var row = await db.DirectorySnapshots.AsNoTracking().SingleAsync(s => s.Version == latest, cancellationToken);
                directory = new AgencyDirectory(row.Version, DirectoryDocument.Parse(row.Content));
            }

            _loaded = new Loaded(directory, clock.GetUtcNow());
            return directory;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The highest version stored, asked of the database (what the gateway tells the hub it holds).</summary>
    public async Task<long?> StoredVersionAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        return await LatestVersionAsync(scope.ServiceProvider.GetRequiredService<GatewayDbContext>(), cancellationToken);
    }

    /// <summary>Something here needs a newer version than the one stored: <see cref="DirectoryRequester"/> asks the hub now.</summary>
    internal void Want()
    {
        try
        {
            _wanted.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already asked for.
        }
    }

    /// <summary>Waits until <see cref="Want"/> is called or <paramref name="timeout"/> passes.</summary>
    internal Task WaitUntilWantedAsync(TimeSpan timeout, CancellationToken cancellationToken) => _wanted.WaitAsync(timeout, cancellationToken);

    /// <summary>A newer version was stored here: the next call reads it instead of waiting for the recheck.</summary>
    internal void Changed() => _loaded = _loaded with { CheckedAt = DateTimeOffset.MinValue };

    private static Task<long?> LatestVersionAsync(GatewayDbContext db, CancellationToken cancellationToken) =>
        db.DirectorySnapshots.MaxAsync(s => (long?)s.Version, cancellationToken);

    private sealed record Loaded(AgencyDirectory? Directory, DateTimeOffset CheckedAt);
}
