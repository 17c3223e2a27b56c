using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using System.Text.Json;
using Exchange.Cli;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.Persistence;
using Exchange.Persistence.Hub;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Broker;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using RabbitMQ.Client;

namespace Exchange.IntegrationTests;

/// <summary>
/// Issue #16, items 4 and 6 (docs/security.md, "A known envelope id re-sends nothing" and "Chunks belong to the sender
/// that announced them"), on the real servers with each agency's own broker login. No gateway runs: what the hub sends
/// stays in the agencies' queues, where each test reads exactly what went where.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class KnownIdAndChunkTests : ProvinceFixture
{
    private const string Sender = SampleDirectory.HomeAffairs;
    private const string Recipient = SampleDirectory.PhucXaWard;
    private const string Other = SampleDirectory.Finance;

    /// <summary>What the hub sends an agency about envelopes: deliveries, their chunks, and answers to a sender.</summary>
    private static readonly string[] EnvelopeTraffic = [nameof(DeliverEnvelope), nameof(PackageChunk), nameof(EnvelopeAccepted), nameof(EnvelopeRejected)];

    private readonly ConcurrentQueue<(string Message, string Reason)> _refusals = new();
    private readonly Dictionary<string, IBusControl> _buses = new(StringComparer.Ordinal);
    private MeterListener _meters = null!;

    protected override IReadOnlyCollection<string> GatewayAgencies => [];

    [OneTimeSetUp]
    public void ListenToRefusals()
    {
        // The hub runs in this process; refused chunks leave no evidence, only a count (exchange.messages.refused).
        _meters = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ExchangeTelemetry.SourceName && instrument.Name == ExchangeTelemetry.MessagesRefusedName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _meters.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            string? message = null, reason = null;
            foreach (var tag in tags)
            {
                message = tag.Key == ExchangeTelemetry.MessageTag ? tag.Value as string : message;
                reason = tag.Key == ExchangeTelemetry.ReasonTag ? tag.Value as string : reason;
            }

            _refusals.Enqueue((message ?? "?", reason ?? "?"));
        });
        _meters.Start();
    }

    [OneTimeTearDown]
    public async Task StopBuses()
    {
        _meters.Dispose();
        foreach (var bus in _buses.Values)
        {
            await bus.StopAsync();
        }
    }

    /// <summary>Each test reads its own traffic: whatever an earlier test left in the queues is taken off first.</summary>
    [SetUp]
    public async Task EmptyQueues()
    {
        foreach (var agency in new[] { Sender, Recipient, Other })
        {
            await TrafficAsync(agency);
        }
    }

    [Test]
    public async Task A_known_envelope_id_from_another_agency_re_sends_nothing_and_is_refused_with_evidence()
    {
        // 1. It works: Sở Nội vụ submits through its own way in; the hub forwards the package once and answers it.
        var envelope = Signed(Guid.CreateVersion7());
        await SendAsAgencyAsync(Sender, envelope);
        await Eventually(async () => await StateAsync(envelope.EnvelopeId) == EnvelopeStates.Accepted, "the submission to be accepted");
        Assert.That(await SettledTrafficAsync(Recipient), Is.EqualTo(new[] { nameof(DeliverEnvelope) }));
        Assert.That(await SettledTrafficAsync(Sender), Is.EqualTo(new[] { nameof(EnvelopeAccepted) }));

        // 2. The attack: Sở Tài chính, with its own broker login, repeats the envelope id while the delivery is pending:
        //    the very message in Sở Nội vụ's name, then in its own name without the package.
        await SendAsAgencyAsync(Other, envelope);
        await SendAsAgencyAsync(Other, envelope with { SenderCode = Other, Package = [], Signature = [] });

        // 3. Both are refused as duplicate-envelope-id with evidence, and nothing went anywhere: no delivery or chunk
        //    to the recipient, no answer to either agency.
        var refused = await DuplicateEvidenceAsync(envelope.EnvelopeId, 2);
        Assert.That(refused.Select(e => e.Detail), Has.Some.Contains($"was published by the broker user '{Province.Names.AgencyQueue(Other)}'"));
        Assert.That(refused.Select(e => e.Detail), Has.Some.Contains($"this submission names sender '{Other}'"));
        Assert.That(await SettledTrafficAsync(Recipient), Is.Empty, "the package is not re-sent to its recipient");
        Assert.That(await SettledTrafficAsync(Sender), Is.Empty, "the envelope's sender is told nothing");
        Assert.That(await SettledTrafficAsync(Other), Is.Empty, "nor is the agency that repeated the id");
        Assert.That(await StateAsync(envelope.EnvelopeId), Is.EqualTo(EnvelopeStates.Accepted), "the stored envelope is untouched");
    }

    [Test]
    public async Task A_genuine_repeat_of_an_envelope_answers_its_sender_and_forwards_nothing_again()
    {
        // 1. It works: the envelope is accepted and forwarded once.
        var envelope = Signed(Guid.CreateVersion7());
        await SendAsAgencyAsync(Sender, envelope);
        await Eventually(async () => await StateAsync(envelope.EnvelopeId) == EnvelopeStates.Accepted, "the submission to be accepted");
        Assert.That(await SettledTrafficAsync(Recipient), Is.EqualTo(new[] { nameof(DeliverEnvelope) }));
        Assert.That(await SettledTrafficAsync(Sender), Is.EqualTo(new[] { nameof(EnvelopeAccepted) }));
        var evidence = await EvidenceCountAsync(envelope.EnvelopeId);

        // 2. The same sender submits it twice more (a gateway that lost the answer): each repeat used to send the whole
        //    package to every pending recipient again, a cheap amplifier for a large package.
        await SendAsAgencyAsync(Sender, envelope);
        await SendAsAgencyAsync(Sender, envelope);

        // 3. Each repeat gets the first outcome, to its sender only; the recipient gets nothing more, nothing is recorded.
        List<string> answers = [];
        await Eventually(async () => (answers = [.. answers, .. await TrafficAsync(Sender)]).Count >= 2, "the repeats to be answered");
        Assert.That(answers, Is.EqualTo(new[] { nameof(EnvelopeAccepted), nameof(EnvelopeAccepted) }));
        Assert.That(await SettledTrafficAsync(Recipient), Is.Empty, "a repeat forwards nothing; the deadline chaser forwards a late delivery");
        Assert.That(await EvidenceCountAsync(envelope.EnvelopeId), Is.EqualTo(evidence));

        // The same sender with other content under that id is a duplicate: refused with evidence, nobody answered.
        var other = Signed(envelope.EnvelopeId);
        await SendAsAgencyAsync(Sender, other);
        var refused = await DuplicateEvidenceAsync(envelope.EnvelopeId, 1);
        Assert.That(refused.Single().Detail, Does.Contain(Digests.Sha256Hex(other.Package)));
        Assert.That(await SettledTrafficAsync(Sender), Is.Empty);
        Assert.That(await SettledTrafficAsync(Recipient), Is.Empty);
    }

    [Test]
    public async Task Chunks_for_another_agencys_package_or_past_its_count_are_not_stored_and_its_bundle_joins_only_the_announced_chunks()
    {
        // 1. It works: Sở Nội vụ sends its package in two chunks ahead of the envelope, which is accepted and forwarded.
        var id = Guid.CreateVersion7();
        var package = Package(new string('x', 4000));
        var half = package.Length / 2;
        await SendAsAgencyAsync(Sender, new PackageChunk(id, 0, 2, package[..half], Sender), new PackageChunk(id, 1, 2, package[half..], Sender));
        await SendAsAgencyAsync(Sender, new SubmitEnvelope(id, Sender, [Recipient], [], Province.Pki.AgencySigner(Sender).SignDetached(package),
            DateTimeOffset.UtcNow, new StoredPackage(package.Length, 2, Digests.Sha256Hex(package))));
        await Eventually(async () => await StateAsync(id) == EnvelopeStates.Accepted, "the chunked submission to be accepted");
        Assert.That(await SettledTrafficAsync(Recipient), Is.EqualTo(new[] { nameof(PackageChunk), nameof(PackageChunk), nameof(DeliverEnvelope) }));

        // 2. The attack: Sở Tài chính adds chunks to that package, in its own name and in Sở Nội vụ's; Sở Nội vụ's own
        //    login sends one past the announced count and one that announces another count; one names no sender.
        var junk = "<injected/>"u8.ToArray();
        var seen = _refusals.Count;
        await SendAsAgencyAsync(Other, new PackageChunk(id, 2, 3, junk, Other), new PackageChunk(id, 0, 2, junk, Other));
        await SendAsAgencyAsync(Other, new PackageChunk(id, 2, 3, junk, Sender));
        await SendAsAgencyAsync(Sender, new PackageChunk(id, 2, 2, junk, Sender), new PackageChunk(id, 3, 4, junk, Sender), new PackageChunk(id, 2, 3, junk));

        // 3. Each is refused for its reason and none is stored; the bundle carries the exact signed package.
        List<string> reasons = [];
        await Eventually(() => Task.FromResult((reasons = _refusals.Skip(seen).Where(r => r.Message == nameof(PackageChunk)).Select(r => r.Reason).ToList()).Count >= 6),
            "the hub to refuse the six chunks");
        Assert.That(reasons, Is.EquivalentTo(new[] { "duplicate-envelope-id", "duplicate-envelope-id", "sender-mismatch", "too-large", "package-incomplete", "invalid-agency-code" }));
        await using (var store = new PackageStore(Province.HubConnectionString, HubDbContext.Schema))
        {
            Assert.That(await store.CountChunksAsync(id, CancellationToken.None), Is.EqualTo(2));
        }

        // A chunk stored past the count before chunks were bound (by hand here) is never read: the bundle joins two.
        await using (var hub = Province.CreateHubDb())
        {
            await hub.Database.ExecuteSqlRawAsync("insert into hub.package_chunks (package_id, seq, bytes) values ({0}, 2, {1})", id, junk);
        }

        var (source, bundle) = await VerifyBundleOfflineAsync(id);
        Assert.That(source.Envelopes.Single().Package, Is.EqualTo(package));
        Assert.That(bundle.Valid, Is.True, string.Join("\n", bundle.Problems));
    }

    [Test]
    public async Task A_submission_made_of_chunks_another_agency_sent_is_refused_as_incomplete_and_leaves_them_alone()
    {
        // 1. Sở Tài chính stores two chunks under an id, in its own name.
        var id = Guid.CreateVersion7();
        var bytes = RandomNumberGenerator.GetBytes(1000);
        await SendAsAgencyAsync(Other, new PackageChunk(id, 0, 2, bytes[..500], Other), new PackageChunk(id, 1, 2, bytes[500..], Other));
        await using var store = new PackageStore(Province.HubConnectionString, HubDbContext.Schema);
        await Eventually(async () => await store.CountChunksAsync(id, CancellationToken.None) == 2, "the chunks to be stored");

        // 2. Sở Nội vụ submits an envelope under that id that announces exactly those bytes.
        await SendAsAgencyAsync(Sender, new SubmitEnvelope(id, Sender, [Recipient], [], [0x30, 0x00], DateTimeOffset.UtcNow,
            new StoredPackage(bytes.Length, 2, Digests.Sha256Hex(bytes))));

        // 3. They are not its package: refused as package-incomplete at once, and another agency's chunks are not deleted.
        await Eventually(async () => await StateAsync(id) is not null, "the submission to be recorded", TimeSpan.FromSeconds(20));
        await using var hub = Province.CreateHubDb();
        var envelope = await hub.Envelopes.AsNoTracking().SingleAsync(e => e.EnvelopeId == id);
        Assert.That(envelope.Reason, Is.EqualTo("package-incomplete"));
        Assert.That(envelope.Detail, Does.Contain($"sent for '{Other}'"));
        Assert.That(envelope.PackageChunks, Is.Null, "a package not checked to be the sender's is not kept as its package");
        Assert.That(await store.CountChunksAsync(id, CancellationToken.None), Is.EqualTo(2));
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    private static byte[] Package(string text = "x")
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var number = Guid.NewGuid().ToString("N")[..10];
        return EdxmlWriter.Write(new EdxmlPackage(new EdxmlHeader
        {
            From = new EdxmlOrganisation(Sender),
            To = [new EdxmlOrganisation(Recipient)],
            DocumentId = EdxmlDocumentId.Format(Sender, today, $"{number}/DUP"),
            CodeNumber = number,
            CodeNotation = "DUP",
            Subject = "Văn bản kiểm thử mã phong bì",
            PromulgationDate = today,
        }, [new EdxmlAttachment("a.txt", "text/plain", System.Text.Encoding.UTF8.GetBytes(text))]));
    }

    private SubmitEnvelope Signed(Guid id)
    {
        var package = Package();
        return new SubmitEnvelope(id, Sender, [Recipient], package, Province.Pki.AgencySigner(Sender).SignDetached(package), DateTimeOffset.UtcNow);
    }

    /// <summary>Sends as <paramref name="agency"/>: its own broker login (stamped as the message's user_id), through its own outbound exchange, as its gateway does.</summary>
    private async Task SendAsAgencyAsync<T>(string agency, params T[] messages)
        where T : class
    {
        if (!_buses.TryGetValue(agency, out var bus))
        {
            var user = Province.BrokerUsers.Single(u => u.AgencyCode == agency);
            bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
            {
                cfg.Host(Servers.Settings with { AmqpUser = user.User, AmqpPassword = user.Password! });
                cfg.StampBrokerUser(user.User);
            });
            await bus.StartAsync();
            _buses[agency] = bus;
        }

        var endpoint = await bus.GetSendEndpoint(new Uri($"exchange:{BrokerNames.OutboundExchange(Province.Names.AgencyQueue(agency))}"));
        foreach (var message in messages)
        {
            await endpoint.Send(message);
        }
    }

    private async Task<string?> StateAsync(Guid envelopeId)
    {
        await using var hub = Province.CreateHubDb();
        return await hub.Envelopes.AsNoTracking().Where(e => e.EnvelopeId == envelopeId).Select(e => e.State).SingleOrDefaultAsync();
    }

    private async Task<int> EvidenceCountAsync(Guid envelopeId)
    {
        await using var hub = Province.CreateHubDb();
        return await hub.Evidence.CountAsync(e => e.EnvelopeId == envelopeId);
    }

    private async Task<List<EvidenceRow>> DuplicateEvidenceAsync(Guid envelopeId, int count)
    {
        List<EvidenceRow> rows = [];
        await Eventually(async () =>
        {
            await using var hub = Province.CreateHubDb();
            rows = await hub.Evidence.AsNoTracking().Where(e => e.EnvelopeId == envelopeId && e.Reason == "duplicate-envelope-id").OrderBy(e => e.Seq).ToListAsync();
            return rows.Count >= count;
        }, $"{count} duplicate-envelope-id record(s)");
        Assert.That(rows.Select(r => r.Kind), Is.All.EqualTo(nameof(EvidenceKind.SubmissionRejection)));
        return rows;
    }

    /// <summary>The envelope traffic in an agency's queue once the hub has been quiet a moment (two seconds), taken off the queue.</summary>
    private async Task<List<string>> SettledTrafficAsync(string agency)
    {
        await Task.Delay(TimeSpan.FromSeconds(2));
        return await TrafficAsync(agency);
    }

    /// <summary>Takes every message off an agency's queue and names the envelope traffic among them, in order.</summary>
    private async Task<List<string>> TrafficAsync(string agency)
    {
        var s = Servers.Settings;
        var factory = new ConnectionFactory { HostName = s.AmqpHost, Port = s.AmqpPort, VirtualHost = s.AmqpVirtualHost, UserName = s.AmqpUser, Password = s.AmqpPassword };
        await using var connection = await factory.CreateConnectionAsync();
        await using var channel = await connection.CreateChannelAsync();
        var types = new List<string>();
        while (await channel.BasicGetAsync(Province.Names.AgencyQueue(agency), autoAck: true) is { } message)
        {
            using var body = JsonDocument.Parse(message.Body);
            var urn = body.RootElement.GetProperty("messageType")[0].GetString()!;
            var type = urn[(urn.LastIndexOf(':') + 1)..];
            if (EnvelopeTraffic.Contains(type))
            {
                types.Add(type);
            }
        }

        return types;
    }
}
