using System.Text;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Persistence.Hub;
using Exchange.Router.Evidence;
using Exchange.Signing;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Exchange.Router;

/// <summary>
/// The newest directory version, reloaded when a newer one is imported. Each envelope is routed under
/// one immutable version, which its evidence records.
/// </summary>
public sealed class DirectoryCache(IServiceScopeFactory scopes, HubSeal seal, IOptions<RouterOptions> options, TimeProvider clock)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    // One field, so that a reader never sees one version's directory with another's snapshot.
    private Loaded? _loaded;
    private DateTimeOffset _checkedAt = DateTimeOffset.MinValue;

    /// <summary>The version loaded last, however old: for when the database cannot be asked (it is failing).</summary>
    public AgencyDirectory? LastLoaded => _loaded?.Directory;

    public async Task<AgencyDirectory> CurrentAsync(CancellationToken cancellationToken) => (await LoadAsync(cancellationToken)).Directory;

    /// <summary>
    /// The newest version as gateways get it (docs/directory.md, "Gateways' copy of the directory"): the document as the
    /// hub stores it, when it was imported, and the hub's seal over both (<see cref="DirectorySeal"/>). Made once per version.
    /// </summary>
    public async Task<DirectorySnapshot> SnapshotAsync(CancellationToken cancellationToken) => (await LoadAsync(cancellationToken)).Snapshot;

    private async Task<Loaded> LoadAsync(CancellationToken cancellationToken)
    {
        if (_loaded is { } fresh && clock.GetUtcNow() - _checkedAt < options.Value.DirectoryRefresh)
        {
            return fresh;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_loaded is { } again && clock.GetUtcNow() - _checkedAt < options.Value.DirectoryRefresh)
            {
                return again;
            }

            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
            var latest = await db.DirectoryVersions.MaxAsync(v => (long?)v.Version, cancellationToken)
                ?? throw new InvalidOperationException(
                    "The hub has no directory: import one with `exchange directory import FILE` before routing.");
            if (_loaded?.Directory.Version != latest)
            {
                var row = await db.DirectoryVersions.AsNoTracking().SingleAsync(v => v.Version == latest, cancellationToken);
                var content = Encoding.UTF8.GetBytes(row.Content);
                var signature = seal.Signer is { } signer ? DirectorySeal.Sign(signer, row.Version, content) : [];
                _loaded = new Loaded(
                    new AgencyDirectory(row.Version, DirectoryDocument.Parse(row.Content)),
                    new DirectorySnapshot(row.Version, row.ImportedAt, content, signature));
            }

            _checkedAt = clock.GetUtcNow();
            return _loaded;
        }
        finally
        {
            _gate.Release();
        }
    }

    private sealed record Loaded(AgencyDirectory Directory, DirectorySnapshot Snapshot);
}
