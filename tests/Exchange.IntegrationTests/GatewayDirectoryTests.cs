using Exchange.Cli;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Gateway;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Broker;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Exchange.IntegrationTests;

/// <summary>Gateways' copy of the hub's directory (docs/directory.md, "Gateways' copy of the directory").</summary>
[TestFixture]
public sealed class GatewayDirectoryTests : ProvinceFixture
{
    private const string Ministry = SampleDirectory.HomeAffairs;
    private const string Ward = SampleDirectory.HangBuomWard;

    private readonly LogCapture _logs = new();

    protected override IReadOnlyCollection<string> GatewayAgencies => [Ministry, Ward];

    protected override DeploymentSettings Configure(DeploymentSettings settings) => settings with
    {
        ConfigureHost = builder => builder.Logging.AddProvider(_logs),
    };

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

    [Test]
    public async Task Refuses_a_request_for_the_directory_that_names_another_agency_than_its_broker_user()
    {
        // The ministry's own broker user, publishing the way its gateway does, asks in the ward's name.
        var ministry = Province.BrokerUsers.Single(u => u.AgencyCode == Ministry);
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(Servers.Settings with { AmqpUser = ministry.User, AmqpPassword = ministry.Password! }));
        await bus.StartAsync();
        try
        {
            var toHub = await bus.GetSendEndpoint(new Uri($"exchange:{BrokerNames.OutboundExchange(Province.Names.AgencyQueue(Ministry))}"));
            await toHub.Send(new RequestDirectory(Ward, null));
        }
        finally
        {
            await bus.StopAsync();
        }

        await Eventually(() => Task.FromResult(_logs.Lines.Any(l => l.Contains("Refused a request for the directory", StringComparison.Ordinal)
            && l.Contains(ReasonCode.SenderMismatch.ToCode(), StringComparison.Ordinal) && l.Contains(Ward, StringComparison.Ordinal))),
            "the hub to refuse the request");
        Assert.That(_logs.Lines.Where(l => l.Contains("Sent directory version", StringComparison.Ordinal) && l.Contains($" to {Ward}", StringComparison.Ordinal)).Count(),
            Is.LessThanOrEqualTo(1), "the ward's gateway is answered for its own requests only (at most its start-up one)");
    }
}
