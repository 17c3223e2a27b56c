using System.Text;
using Exchange.Cli;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.Gateway;
using Exchange.ServiceDefaults;
using Exchange.Signing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Exchange.IntegrationTests;

/// <summary>
/// Issue #16, item 7: a gateway believes only the directory the hub signed, and checks each delivery's signer and
/// addressing against it (docs/directory.md, "Signed snapshots"). The attacks are put straight onto the ward's queue, as a
/// compromised hub or broker account could.
/// </summary>
[TestFixture]
public sealed class SignedDirectoryTests : ProvinceFixture
{
    private const string Ministry = SampleDirectory.HomeAffairs;
    private const string Finance = SampleDirectory.Finance;
    private const string Ward = SampleDirectory.HangBuomWard;

    private readonly LogCapture _logs = new();

    protected override IReadOnlyCollection<string> GatewayAgencies => [Ministry, Ward];

    protected override DeploymentSettings Configure(DeploymentSettings settings) => settings with
    {
        ConfigureHost = builder => builder.Logging.AddProvider(_logs),
    };

    private async Task<AgencyDirectory> WardDirectoryAsync()
    {
        var directory = Province.Gateways[Ward].App.Services.GetRequiredService<GatewayDirectory>();
        AgencyDirectory? copy = null;
        await Eventually(async () => (copy = await directory.CurrentAsync(CancellationToken.None))?.Version == Province.Directory.Version,
            "the ward's gateway to hold the hub's directory");
        return copy!;
    }

    [Test]
    public async Task A_directory_not_signed_by_the_hubs_sealing_certificate_is_refused()
    {
        // 1. It works: the ward holds the hub's version, stored with the hub's signature over exactly those bytes.
        var held = await WardDirectoryAsync();
        await using (var db = Province.CreateGatewayDb(Ward))
        {
            var row = await db.DirectorySnapshots.AsNoTracking().SingleAsync();
            Assert.That(row.SignerSha256, Is.EqualTo(DirectorySeal.CertificateSha256(Province.Pki.HubSealCertificatePath)));
            using var hub = Province.Pki.HubSigner();
            Assert.That(DirectorySeal.Check(new SignatureVerifier(Province.Pki.CreateTrustStore()), [hub.CertificateSha256], row.Version,
                Encoding.UTF8.GetBytes(row.Content), row.Signature, out _), Is.Null, "the stored signature verifies over the stored bytes");
        }

        // 2. The attacks, each as a version far ahead of the hub's: a directory in which Finance's certificate is bound to
        // the ministry, signed by Finance's organisation certificate (which chains to the same CA as the hub's); the hub's
        // own signature of the current version replayed under a newer number; no signature at all.
        var forgedDocument = held.Document with
        {
            Agencies = held.Document.Agencies.Select(a => a.Code == Ministry
                ? a with { Certificates = [.. a.Certificates, Digests.Sha256Hex(Province.Pki.AgencyCertificate(Finance).RawData)] }
                : a).ToList(),
        };
        var forged = Encoding.UTF8.GetBytes(forgedDocument.ToJson());
        var current = Encoding.UTF8.GetBytes(held.Document.ToJson());
        using var finance = Province.Pki.AgencySigner(Finance);
        using var seal = Province.Pki.HubSigner();
        var attacks = new[]
        {
            new DirectorySnapshot(held.Version + 100, DateTimeOffset.UtcNow, forged, DirectorySeal.Sign(finance, held.Version + 100, forged)),
            new DirectorySnapshot(held.Version + 200, DateTimeOffset.UtcNow, current, DirectorySeal.Sign(seal, held.Version, current)),
            new DirectorySnapshot(held.Version + 300, DateTimeOffset.UtcNow, forged, []),
        };
        await SendToQueueAsync(Province.Names.AgencyQueue(Ward), attacks);

        // 3. Each is refused with why, and the ward keeps the hub's version.
        foreach (var attack in attacks)
        {
            await Eventually(() => Task.FromResult(_logs.Lines.Any(l => l.Contains($"Refused directory version {attack.Version} from the hub", StringComparison.Ordinal))),
                $"the ward to refuse version {attack.Version}");
        }

        Assert.That(_logs.Lines.Any(l => l.Contains($"Refused directory version {held.Version + 100}", StringComparison.Ordinal) && l.Contains("not by the hub's sealing certificate", StringComparison.Ordinal)));
        Assert.That(_logs.Lines.Any(l => l.Contains($"Refused directory version {held.Version + 200}", StringComparison.Ordinal) && l.Contains("does not verify", StringComparison.Ordinal)));
        Assert.That(_logs.Lines.Any(l => l.Contains($"Refused directory version {held.Version + 300}", StringComparison.Ordinal) && l.Contains("not signed", StringComparison.Ordinal)));
        Assert.That((await WardDirectoryAsync()).Version, Is.EqualTo(held.Version));
    }

    [Test]
    public async Task A_delivery_signed_by_a_certificate_the_directory_binds_to_another_agency_is_refused_at_the_gateway()
    {
        var directory = await WardDirectoryAsync();

        // 1. It works: a delivery put straight onto the ward's queue, signed by the ministry, is stored.
        var genuine = TestPackages.Letter(Ministry, Ward);
        using var ministry = Province.Pki.AgencySigner(Ministry);
        var delivered = Delivery(genuine, ministry.SignDetached(genuine), directory.Version);
        await SendToQueueAsync(Province.Names.AgencyQueue(Ward), delivered);
        await Eventually(async () => await InboxCountAsync(delivered.EnvelopeId) == 1, "the genuine delivery to be stored");

        // 2. The attack: a package in the ministry's name signed by Finance's organisation certificate, valid and trusted
        // but bound to Finance, forwarded as the ministry's (what a hub that skipped the binding check would do).
        var forged = TestPackages.Letter(Ministry, Ward);
        using var finance = Province.Pki.AgencySigner(Finance);
        var attack = Delivery(forged, finance.SignDetached(forged), directory.Version);
        await SendToQueueAsync(Province.Names.AgencyQueue(Ward), attack);

        // 3. Refused as signer-not-bound, and not stored.
        await Eventually(() => Task.FromResult(_logs.Lines.Any(l => l.Contains($"Refused delivery {attack.EnvelopeId}: {ReasonCode.SignerNotBound.ToCode()}", StringComparison.Ordinal))),
            "the ward to refuse the forged delivery");
        Assert.That(await InboxCountAsync(attack.EnvelopeId), Is.Zero);
    }

    [Test]
    public async Task A_delivery_whose_resolved_address_the_directory_does_not_resolve_to_this_agency_is_refused()
    {
        var directory = await WardDirectoryAsync();

        // 1. It works: a group address the directory expands to the ward (every commune under the ward's parent).
        var parent = directory.Find(Ward)!.Parent!;
        var group = $"children:{parent}";
        Assume.That(RecipientGroup.TryParse(group, out var parsed, out _) && parsed.Expand(directory, DateTimeOffset.UtcNow).Any(a => a.Code == Ward),
            "the sample directory's ward has a parent whose children include it");
        using var ministry = Province.Pki.AgencySigner(Ministry);
        var toGroup = TestPackages.Letter(Ministry, group);
        var genuine = Delivery(toGroup, ministry.SignDetached(toGroup), directory.Version, resolvedFrom: group);
        await SendToQueueAsync(Province.Names.AgencyQueue(Ward), genuine);
        await Eventually(async () => await InboxCountAsync(genuine.EnvelopeId) == 1, "the delivery to the group to be stored");

        // 2. The attack: a genuine package addressed to Finance, delivered to the ward as if the hub had resolved Finance's
        // code to it (the gateway used to take the hub's word for it).
        var toFinance = TestPackages.Letter(Ministry, Finance);
        var attack = Delivery(toFinance, ministry.SignDetached(toFinance), directory.Version, resolvedFrom: Finance);
        await SendToQueueAsync(Province.Names.AgencyQueue(Ward), attack);

        // 3. Refused as recipient-mismatch, and not stored.
        await Eventually(() => Task.FromResult(_logs.Lines.Any(l => l.Contains($"Refused delivery {attack.EnvelopeId}: {ReasonCode.RecipientMismatch.ToCode()}", StringComparison.Ordinal))),
            "the ward to refuse the misaddressed delivery");
        Assert.That(await InboxCountAsync(attack.EnvelopeId), Is.Zero);
    }

    private static DeliverEnvelope Delivery(byte[] package, byte[] signature, long directoryVersion, string? resolvedFrom = null) =>
        new(Guid.CreateVersion7(), Ministry, Ward, package, signature, directoryVersion, [], resolvedFrom);

    private async Task<int> InboxCountAsync(Guid envelopeId)
    {
        await using var db = Province.CreateGatewayDb(Ward);
        return await db.Inbox.CountAsync(i => i.EnvelopeId == envelopeId);
    }


}
