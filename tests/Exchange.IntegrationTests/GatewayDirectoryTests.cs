using Exchange.Cli;
using Exchange.Core;
using Exchange.Gateway;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Exchange.IntegrationTests;

/// <summary>Gateways' copy of the hub's directory (docs/directory.md, "Gateways' copy of the directory").</summary>
[TestFixture]
public sealed class GatewayDirectoryTests : ProvinceFixture
{
    private const string Ministry = SampleDirectory.HomeAffairs;
    private const string Ward = SampleDirectory.HangBuomWard;

    protected override IReadOnlyCollection<string> GatewayAgencies => [Ministry, Ward];

    private GatewayDirectory DirectoryOf(string agency) => Province.Gateways[agency].App.Services.GetRequiredService<GatewayDirectory>();

    private async Task<AgencyDirectory> WaitForVersionAsync(string agency, long version)
    {
        AgencyDirectory? copy = null;
        await Eventually(async () => (copy = await DirectoryOf(agency).CurrentAsync(CancellationToken.None))?.Version == version,
            $"the gateway of {agency} to hold directory version {version} (holds {copy?.Version.ToString() ?? "none"})");
        return copy!;
    }

    [Test]
    public async Task Gateways_get_the_hubs_directory_at_start_and_each_version_imported_later()
    {
        // 1. At start each gateway asks and gets the version the hub routes by.
        var started = Province.Directory;
        foreach (var agency in GatewayAgencies)
        {
            var copy = await WaitForVersionAsync(agency, started.Version);
            Assert.That(copy.Agencies.Select(a => a.Code), Is.EquivalentTo(started.Agencies.Select(a => a.Code)), agency);
        }

        // 2. A merge, as `exchange directory merge` makes it, becomes a new version in the hub's database. The gateways
        // ask only every five minutes (the default), so getting it within the wait below is the hub's push.
        var merged = await Province.ImportDirectoryAsync(
            DirectoryChanges.Merge(started.Document, SampleDirectory.HangBacWard, SampleDirectory.HangBuomWard, DateTimeOffset.UtcNow));
        Assert.That(merged.Version, Is.GreaterThan(started.Version));
        foreach (var agency in GatewayAgencies)
        {
            var copy = await WaitForVersionAsync(agency, merged.Version);
            Assert.That(copy.Find(SampleDirectory.HangBacWard)!.Successor, Is.EqualTo(SampleDirectory.HangBuomWard), agency);
        }

        // 3. Only the newest version is kept, with when the hub imported it and when the gateway stored it.
        await using var db = Province.CreateGatewayDb(Ward);
        var rows = await db.DirectorySnapshots.AsNoTracking().ToListAsync();
        Assert.That(rows.Select(r => r.Version), Is.EqualTo(new[] { merged.Version }));
        Assert.That(rows[0].ReceivedAt, Is.GreaterThanOrEqualTo(rows[0].CreatedAt));
    }
}
