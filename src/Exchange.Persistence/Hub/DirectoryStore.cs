using Exchange.Core;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Persistence.Hub;

/// <summary>Versioned storage of the directory: every import that changes it makes a new version.</summary>
public static class DirectoryStore
{
    /// <summary>Stores the document as a new version unless it equals the newest one; returns the version in force.</summary>
    public static async Task<(long Version, bool Changed)> ImportAsync(
        HubDbContext db, DirectoryDocument document, TimeProvider clock, CancellationToken cancellationToken = default)
    {
        var json = document.ToJson();
        var sha = Digests.Sha256Hex(System.Text.Encoding.UTF8.GetBytes(json));
        var latest = await db.DirectoryVersions.AsNoTracking().OrderByDescending(v => v.Version).FirstOrDefaultAsync(cancellationToken);
        if (latest?.SourceSha256 == sha)
        {
            return (latest.Version, false);
        }

        var version = (latest?.Version ?? 0) + 1;
        db.DirectoryVersions.Add(new DirectoryVersionRow { Version = version, ImportedAt = clock.GetUtcNow(), SourceSha256 = sha, Content = json });
        await db.SaveChangesAsync(cancellationToken);
        return (version, true);
    }

    public static async Task<AgencyDirectory?> LatestAsync(HubDbContext db, CancellationToken cancellationToken = default)
    {
        var latest = await db.DirectoryVersions.AsNoTracking().OrderByDescending(v => v.Version).FirstOrDefaultAsync(cancellationToken);
        return latest is null ? null : new AgencyDirectory(latest.Version, DirectoryDocument.Parse(latest.Content));
    }
}
