using System.Collections.Concurrent;
using Exchange.Core;
using Npgsql;

namespace Exchange.Audit.Queries;

/// <summary>
/// Directory versions read from hub.directory_versions. A version never changes once stored, so each is read
/// once and kept; only "which version is newest" is asked again.
/// </summary>
public sealed class DirectoryCache(NpgsqlDataSource database)
{
    private readonly ConcurrentDictionary<long, AgencyDirectory> _versions = new();

    /// <summary>Every certificate SHA-256 (lowercase) that a version binds to any agency.</summary>
    private readonly ConcurrentDictionary<long, HashSet<string>> _bound = new();

    public async Task<AgencyDirectory?> LatestAsync(CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("select max(version) from hub.directory_versions");
        return await command.ExecuteScalarAsync(cancellationToken) is long version ? await VersionAsync(version, cancellationToken) : null;
    }

    public async Task<AgencyDirectory?> VersionAsync(long version, CancellationToken cancellationToken)
    {
        if (_versions.TryGetValue(version, out var known))
        {
            return known;
        }

        await using var command = database.CreateCommand("select content::text from hub.directory_versions where version = @v");
        command.Parameters.AddWithValue("v", version);
        if (await command.ExecuteScalarAsync(cancellationToken) is not string json)
        {
            return null;
        }

        var directory = new AgencyDirectory(version, DirectoryDocument.Parse(json));
        _bound.TryAdd(version, directory.Agencies.SelectMany(a => a.Certificates).Select(c => c.ToLowerInvariant()).ToHashSet(StringComparer.Ordinal));
        return _versions.GetOrAdd(version, directory);
    }

    /// <summary>Whether <paramref name="version"/> (or, without one, the newest) binds the certificate to any agency.</summary>
    public async Task<bool> IsBoundToAnyAsync(long? version, string certificateSha256, CancellationToken cancellationToken)
    {
        var directory = version is { } v ? await VersionAsync(v, cancellationToken) : await LatestAsync(cancellationToken);
        return directory is not null && _bound.TryGetValue(directory.Version, out var bound) && bound.Contains(certificateSha256.ToLowerInvariant());
    }

    /// <summary>An agency's name in the newest directory that has it, for display.</summary>
    public static string? NameIn(AgencyDirectory? directory, string? code) => code is null ? null : directory?.Find(code)?.Name;
}
