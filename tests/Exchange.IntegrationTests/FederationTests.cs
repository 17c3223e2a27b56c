using System.Text.Json;
using Exchange.Cli;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Gateway;
using Exchange.Persistence.Hub;
using MassTransit;
using Microsoft.EntityFrameworkCore;

namespace Exchange.IntegrationTests;

/// <summary>
/// Hubs per tier on the real broker: a province hub and a hub for each district, each with its own database and
/// virtual host, linked by shovels. Documents go down, up and across; groups are expanded, merged agencies' old codes
/// resolved, and every hop verifies, traces and records evidence.
/// </summary>
[TestFixture]
public sealed class FederationTests : ProvinceFixture
{
    private const string City = SampleDirectory.Province;
    private const string Department = SampleDirectory.HomeAffairs;
    private const string BaDinh = SampleDirectory.BaDinhDistrict;
    private const string HoanKiem = SampleDirectory.HoanKiemDistrict;
    private const string PhucXa = SampleDirectory.PhucXaWard;
    private const string TrucBach = "000.02.21.H29";
    private const string HangBac = SampleDirectory.HangBacWard;
    private const string HangBuom = SampleDirectory.HangBuomWard;
    private const string HangDao = SampleDirectory.HangDaoWard;

    protected override DirectoryDocument StartingDirectory => SampleDirectory.Federated();

    // Hàng Đào's gateway starts late: a document reaches it after it is merged away, as one in flight would.
    protected override IReadOnlyCollection<string>? GatewayAgencies =>
        SampleDirectory.Federated().Agencies.Select(a => a.Code).Where(c => c != HangDao).ToList();

    // One rule beyond the default, to see the policy applied by a running hub.
    protected override IReadOnlyDictionary<string, string?>? HostSettings => new Dictionary<string, string?>
    {
        ["Router:Routing:Deny:0"] = "District->Department",
        // Packages over 64 KiB travel as chunks, so that one test sends a stored package across the shovels.
        ["Gateway:InlinePackageBytes"] = "65536",
    };

    private static DocumentMetadata Letter(params string[] to) =>
        new(to, $"Văn bản liên thông {Guid.NewGuid():N}", CodeNotation: "LT-TEST", PromulgationPlace: "Hà Nội");

    private static (string, string, byte[])[] File() =>
        [("van-ban.txt", "text/plain; charset=utf-8", System.Text.Encoding.UTF8.GetBytes("Nội dung văn bản"))];

    private async Task<InboxItem> DeliveredAsync(string sender, string recipient, Guid envelopeId)
    {
        var state = await WaitForOutcomeAsync(sender, envelopeId);
        Assert.That(state.State, Is.EqualTo("delivered"), $"{state.Reason} {state.Detail}");
        Assert.That(state.Recipients.Select(r => r.Code), Does.Contain(recipient));
        return (await Client(recipient).GetInboxItemAsync(envelopeId))!;
    }

    private static List<string> Hubs(InboxItem item) =>
        item.Trace.EnumerateArray().Select(e => e.GetProperty("Hub").GetString()!).SkipLast(1).ToList();

    private async Task<List<EvidenceRow>> EvidenceAsync(string? hub, Guid envelopeId)
    {
        await using var db = hub is null ? Province.CreateHubDb() : Province.CreateHubDbOf(hub);
        return await db.Evidence.AsNoTracking().Where(e => e.EnvelopeId == envelopeId).OrderBy(e => e.Seq).ToListAsync();
    }

    [Test]
    public async Task A_letter_to_a_ward_goes_down_through_its_district_hub_with_evidence_at_each()
    {
        var answer = await Client(Department).SendDocumentAsync(Letter(PhucXa), File());

        var item = await DeliveredAsync(Department, PhucXa, answer.EnvelopeId);

        Assert.That(Hubs(item), Is.EqualTo(new[] { City, BaDinh }));
        Assert.That((await EvidenceAsync(null, answer.EnvelopeId)).Select(e => e.Kind),
            Is.EqualTo(new[] { nameof(EvidenceKind.SubmissionAcceptance), nameof(EvidenceKind.ContentConsignment) }));
        Assert.That((await EvidenceAsync(BaDinh, answer.EnvelopeId)).Select(e => e.Kind),
            Is.EqualTo(new[] { nameof(EvidenceKind.RelayAcceptance), nameof(EvidenceKind.ContentConsignment) }));
        Assert.That(await EvidenceAsync(HoanKiem, answer.EnvelopeId), Is.Empty, "the other district's hub never saw it");

        // The gateway hands the hops over as edXML TraceHeaderList, beside the signed package.
        var trace = await Province.Gateways[PhucXa].Http.GetStringAsync($"api/inbox/{answer.EnvelopeId}/trace");
        Assert.That(trace, Does.Contain("TraceHeaderList").And.Contain($">{City}<").And.Contain($">{BaDinh}<").And.Contain($">{PhucXa}<"));
    }

    [Test]
    public async Task A_package_stored_in_chunks_goes_up_and_across_every_hub_storing_and_checking_it()
    {
        var attachment = new byte[300 * 1024];
        new Random(7).NextBytes(attachment);
        var answer = await Client(PhucXa).SendDocumentAsync(Letter(HangBac), [("ho-so.bin", "application/octet-stream", attachment)]);

        var item = await DeliveredAsync(PhucXa, HangBac, answer.EnvelopeId);

        Assert.That(Hubs(item), Is.EqualTo(new[] { BaDinh, City, HoanKiem }));
        foreach (var hub in new[] { BaDinh, City, HoanKiem })
        {
            await using var db = Province.CreateHubDbOf(hub);
            var envelope = await db.Envelopes.AsNoTracking().SingleAsync(e => e.EnvelopeId == answer.EnvelopeId);
            Assert.That((envelope.State, envelope.Package.Length, envelope.PackageChunks > 1), Is.EqualTo((EnvelopeStates.Accepted, 0, true)), hub);
        }

        // The ward downloads the exact bytes its sender's gateway built and signed.
        var package = await Province.Gateways[HangBac].Http.GetByteArrayAsync(new Uri($"/api/inbox/{answer.EnvelopeId}/package", UriKind.Relative));
        await using var sender = Province.CreateGatewayDb(PhucXa);
        var sent = await sender.Outbox.AsNoTracking().Where(o => o.EnvelopeId == answer.EnvelopeId).Select(o => o.PackageSha256).SingleAsync();
        Assert.That(Digests.Sha256Hex(package), Is.EqualTo(sent));
    }

    [Test]
    public async Task A_report_from_a_ward_goes_up_to_a_department_and_one_to_another_district_goes_up_and_across()
    {
        var up = await Client(PhucXa).SendDocumentAsync(Letter(Department), File());
        var across = await Client(PhucXa).SendDocumentAsync(Letter(HangBac), File());

        Assert.That(Hubs(await DeliveredAsync(PhucXa, Department, up.EnvelopeId)), Is.EqualTo(new[] { BaDinh, City }));
        Assert.That(Hubs(await DeliveredAsync(PhucXa, HangBac, across.EnvelopeId)), Is.EqualTo(new[] { BaDinh, City, HoanKiem }));
        Assert.That((await EvidenceAsync(City, across.EnvelopeId)).Select(e => e.Kind).First(), Is.EqualTo(nameof(EvidenceKind.RelayAcceptance)));
        Assert.That((await EvidenceAsync(BaDinh, across.EnvelopeId)).Select(e => e.Kind).First(), Is.EqualTo(nameof(EvidenceKind.SubmissionAcceptance)));
    }

    [Test]
    public async Task A_directive_to_a_group_reaches_every_member_and_the_expansion_is_evidence()
    {
        var answer = await Client(City).SendDocumentAsync(Letter($"communes:{BaDinh}"), File());

        var state = await WaitForOutcomeAsync(City, answer.EnvelopeId);

        Assert.That(state.State, Is.EqualTo("delivered"), $"{state.Reason} {state.Detail}");
        Assert.That(state.Recipients.Select(r => r.Code), Is.EquivalentTo(new[] { PhucXa, TrucBach }));
        var resolution = (await EvidenceAsync(null, answer.EnvelopeId)).Single(e => e.Kind == nameof(EvidenceKind.RecipientResolution));
        Assert.That(resolution.Detail, Does.Contain($"communes:{BaDinh}").And.Contain(PhucXa).And.Contain(TrucBach));
        foreach (var ward in new[] { PhucXa, TrucBach })
        {
            Assert.That(Hubs((await Client(ward).GetInboxItemAsync(answer.EnvelopeId))!), Is.EqualTo(new[] { City, BaDinh }));
        }
    }

    [Test]
    public async Task A_district_may_not_address_another_districts_communes_nor_write_to_a_department_under_the_configured_rule()
    {
        var group = await Client(BaDinh).SendDocumentAsync(Letter($"communes:{HoanKiem}"), File());
        var denied = await Client(BaDinh).SendDocumentAsync(Letter(Department), File());

        var groupState = await WaitForOutcomeAsync(BaDinh, group.EnvelopeId);
        var deniedState = await WaitForOutcomeAsync(BaDinh, denied.EnvelopeId);

        Assert.That((groupState.State, groupState.Reason), Is.EqualTo(("rejected", ReasonCode.RouteNotAllowed.ToCode())));
        Assert.That((deniedState.State, deniedState.Reason), Is.EqualTo(("rejected", ReasonCode.RouteNotAllowed.ToCode())));
    }

    [Test]
    public async Task After_a_merge_the_old_code_reaches_the_successor_and_a_document_in_flight_still_completes()
    {
        // In flight: accepted for Hàng Đào while its gateway is down.
        var inFlight = await Client(Department).SendDocumentAsync(Letter(HangDao), File());
        await Eventually(async () => (await Client(Department).GetDocumentAsync(inFlight.EnvelopeId))?.State == "accepted", "the first document to be accepted");

        await Province.ImportDirectoryAsync(DirectoryChanges.Merge(Province.Directory.Document, HangDao, HangBuom, DateTimeOffset.UtcNow));
        await Task.Delay(TimeSpan.FromSeconds(1.5)); // the hubs look for a new directory version every second

        var afterMerge = await Client(Department).SendDocumentAsync(Letter(HangDao), File());
        var delivered = await DeliveredAsync(Department, HangBuom, afterMerge.EnvelopeId);
        Assert.That(Hubs(delivered), Is.EqualTo(new[] { City, HoanKiem }));
        await using (var hub = Province.CreateHubDb())
        {
            var delivery = await hub.Deliveries.SingleAsync(d => d.EnvelopeId == afterMerge.EnvelopeId);
            Assert.That((delivery.RecipientCode, delivery.ResolvedFrom), Is.EqualTo((HangBuom, HangDao)));
        }

        Assert.That((await EvidenceAsync(null, afterMerge.EnvelopeId)).Single(e => e.Kind == nameof(EvidenceKind.RecipientResolution)).Detail,
            Does.Contain($"'{HangDao}'").And.Contain(HangBuom));

        // The retired ward's gateway comes back for what was already on its way, and its receipt still counts.
        await Province.StartGatewayAsync(HangDao);
        Assert.That((await DeliveredAsync(Department, HangDao, inFlight.EnvelopeId)).EnvelopeId, Is.EqualTo(inFlight.EnvelopeId));
    }

    [Test]
    public async Task A_wards_status_travels_back_across_the_hubs_to_the_sender()
    {
        var answer = await Client(PhucXa).SendDocumentAsync(Letter(HangBac), File());
        await DeliveredAsync(PhucXa, HangBac, answer.EnvelopeId);

        await Client(HangBac).ReportStatusAsync(answer.EnvelopeId, new StatusReport(3, "Đã phân công xử lý"));

        await Eventually(async () => (await Client(PhucXa).GetDocumentAsync(answer.EnvelopeId))!.Statuses.Any(s => s.Direction == "received" && s.Code == "03"),
            "status 03 at the sender");
        await Eventually(async () => (await Client(HangBac).GetInboxItemAsync(answer.EnvelopeId))!.Statuses!.All(s => s.State == "accepted"),
            "the reporter's hub to acknowledge it");
        foreach (var hub in new[] { HoanKiem, City, BaDinh })
        {
            Assert.That((await EvidenceAsync(hub, answer.EnvelopeId)).Count(e => e.Kind == nameof(EvidenceKind.StatusReport)), Is.EqualTo(1), $"hub {hub}");
        }
    }

    [Test]
    public async Task A_district_hub_verifies_a_relay_itself_and_refuses_a_tampered_one()
    {
        var genuine = await Client(Department).SendDocumentAsync(Letter(PhucXa), File());
        await DeliveredAsync(Department, PhucXa, genuine.EnvelopeId);
        await using var hub = Province.CreateHubDb();
        var envelope = await hub.Envelopes.AsNoTracking().SingleAsync(e => e.EnvelopeId == genuine.EnvelopeId);
        var tampered = (byte[])envelope.Package.Clone();
        tampered[tampered.Length / 2] ^= 0x01;
        var forged = new RelayEnvelope(Guid.NewGuid(), envelope.SenderCode, [PhucXa], tampered, envelope.Signature, envelope.SubmittedAt,
            City, [new RoutedRecipient(PhucXa, null)], [new TraceEntry(City, DateTimeOffset.UtcNow, "accepted")]);

        // Straight onto the district's relay queue, as a compromised broker account could.
        await SendAsync(Province.Names.HubVirtualHost(Servers.Settings.AmqpVirtualHost, BaDinh), Province.Names.RelayInQueue, forged);

        await Eventually(async () => (await EvidenceAsync(BaDinh, forged.EnvelopeId)).Count > 0, "the district hub's verdict");
        var verdict = (await EvidenceAsync(BaDinh, forged.EnvelopeId)).Single();
        Assert.That((verdict.Kind, verdict.Reason), Is.EqualTo((nameof(EvidenceKind.RelayRejection), ReasonCode.SignatureInvalid.ToCode())));
        Assert.That(await Client(PhucXa).GetInboxItemAsync(forged.EnvelopeId), Is.Null);
    }

    [Test]
    public async Task A_district_hub_takes_a_relays_recipients_from_the_signed_to_list_not_from_the_relay()
    {
        // 1. It works: a letter from the department to Phúc Xá goes down through Ba Đình's hub.
        var genuine = await Client(Department).SendDocumentAsync(Letter(PhucXa), File());
        await DeliveredAsync(Department, PhucXa, genuine.EnvelopeId);
        await using var hub = Province.CreateHubDb();
        var envelope = await hub.Envelopes.AsNoTracking().SingleAsync(e => e.EnvelopeId == genuine.EnvelopeId);

        // 2. The attack: the same signed package relayed again under a new id, for Trúc Bạch "resolved from" Phúc Xá, as
        // a compromised upper hub or broker account could: the relay message alone names the recipient.
        var misrouted = new RelayEnvelope(Guid.NewGuid(), envelope.SenderCode, [PhucXa], envelope.Package, envelope.Signature, envelope.SubmittedAt,
            City, [new RoutedRecipient(TrucBach, PhucXa)], [new TraceEntry(City, DateTimeOffset.UtcNow, "accepted")]);
        await SendAsync(Province.Names.HubVirtualHost(Servers.Settings.AmqpVirtualHost, BaDinh), Province.Names.RelayInQueue, misrouted);

        // 3. Ba Đình's hub resolves the signed To list itself, finds no Trúc Bạch in it, and refuses the relay.
        await Eventually(async () => (await EvidenceAsync(BaDinh, misrouted.EnvelopeId)).Count > 0, "the district hub's verdict");
        var verdict = (await EvidenceAsync(BaDinh, misrouted.EnvelopeId)).Single();
        Assert.That((verdict.Kind, verdict.Reason), Is.EqualTo((nameof(EvidenceKind.RelayRejection), ReasonCode.RecipientMismatch.ToCode())));
        Assert.That(await Client(TrucBach).GetInboxItemAsync(misrouted.EnvelopeId), Is.Null);
    }

    private static async Task SendAsync<T>(string virtualHost, string queue, T message)
        where T : class
    {
        var s = Servers.Settings;
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(new Uri($"rabbitmq://{s.AmqpHost}:{s.AmqpPort}/{Uri.EscapeDataString(virtualHost)}"), h =>
        {
            h.Username(s.AmqpUser);
            h.Password(s.AmqpPassword);
        }));
        await bus.StartAsync();
        try
        {
            await (await bus.GetSendEndpoint(new Uri($"queue:{queue}"))).Send(message);
        }
        finally
        {
            await bus.StopAsync();
        }
    }
}
