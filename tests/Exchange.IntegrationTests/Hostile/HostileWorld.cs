using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Exchange.Cli;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.Gateway;
using Exchange.Persistence.Gateway;
using Exchange.Persistence.Hub;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Broker;
using Exchange.Signing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using RabbitMQ.Client;

namespace Exchange.IntegrationTests.Hostile;

/// <summary>
/// The parties, signers, prepared messages and ways in that the hostile corpus uses, over one running province.
/// Everything a case needs that is not itself hostile (an envelope already delivered, a delivery still waiting for
/// its receipt, a status already accepted) is made once by <see cref="PrepareAsync"/>, before any case runs, so a
/// case's own effect on the system can be measured on its own.
/// </summary>
public sealed class HostileWorld : IAsyncDisposable
{
    /// <summary>Sở Nội vụ: the sender of most cases.</summary>
    public const string Sender = SampleDirectory.HomeAffairs;

    /// <summary>UBND Phường Phúc Xá: the recipient of most cases.</summary>
    public const string Recipient = SampleDirectory.PhucXaWard;

    /// <summary>UBND Phường Hàng Buồm: an agency that is party to nothing the cases send.</summary>
    public const string Stranger = SampleDirectory.HangBuomWard;

    public const string Finance = SampleDirectory.Finance;

    /// <summary>UBND Phường Trúc Bạch: in the directory, but its gateway does not run, so deliveries to it wait for a receipt.</summary>
    public const string Silent = "000.02.21.H29";

    /// <summary>Sở Thông tin và Truyền thông: its organisation certificate is revoked before the corpus runs.</summary>
    public const string Revoked = "000.00.03.H29";

    /// <summary>Well-formed codes that no directory entry has: nothing may ever be created for them.</summary>
    public static readonly string[] MadeUp = ["000.09.99.H29", "000.99.99.Z99"];

    private readonly LocalDeployment _province;
    private readonly ConcurrentQueue<(string Message, string Reason)> _refusals = new();
    private readonly MeterListener _meters = new();
    private readonly Dictionary<string, IBusControl> _buses = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _busGate = new(1, 1);

    public HostileWorld(LocalDeployment province)
    {
        _province = province;
        // The hub's refusals of unsigned reports leave no evidence, only a count (exchange.messages.refused): listen to it.
        _meters.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ExchangeTelemetry.SourceName && instrument.Name == ExchangeTelemetry.MessagesRefusedName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
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

    public LocalDeployment Province => _province;

    public DevPki Pki => _province.Pki;

    /// <summary>Certificates no agency registers, or that no verifier should accept.</summary>
    public TestSigners Signers { get; private set; } = null!;

    /// <summary>E1: Sender to Recipient, sent on the bus by this fixture and delivered (its bytes are known).</summary>
    public SubmitEnvelope Delivered { get; private set; } = null!;

    /// <summary>E1's delivery receipt as the hub recorded it.</summary>
    public SubmitDeliveryReceipt DeliveredReceipt { get; private set; } = null!;

    /// <summary>S1: status 03 from Recipient about E1, accepted by the hub.</summary>
    public SubmitStatus AcceptedStatus { get; private set; } = null!;

    /// <summary>E2: Sender to Silent, accepted and forwarded, waiting for a receipt that never comes.</summary>
    public SubmitEnvelope Waiting { get; private set; } = null!;

    /// <summary>E3: Sender to Recipient through the Sender's gateway (so both gateways know it), delivered.</summary>
    public SubmissionAnswer ThroughGateway { get; private set; } = null!;

    public async Task PrepareAsync()
    {
        Signers = TestSigners.Create(Pki);

        // The hub reads its CRL file at start; a revocation published later reaches it when the file is read again.
        Pki.Revoke(Revoked);
        _province.Router!.Services.GetRequiredService<TrustStore>().Reload();

        ThroughGateway = await new GatewayClient(Http(Sender)).SendDocumentAsync(
            new DocumentMetadata([Recipient], "Công văn cho các phép thử trạng thái", CodeNotation: "HOSTILE"), [("a.txt", "text/plain", "nội dung"u8.ToArray())]);
        DocumentState? e3 = null;
        await Eventually(async () => (e3 = await new GatewayClient(Http(Sender)).GetDocumentAsync(ThroughGateway.EnvelopeId))?.State == "delivered",
            "E3 to be delivered", describe: () => JsonSerializer.Serialize(e3));

        var package = Package();
        Delivered = Envelope(package, Sign(package));
        await SendAsync(Delivered, asAgency: null);
        await Eventually(async () => await HubDeliveryStateAsync(Delivered.EnvelopeId, Recipient) == DeliveryStates.Delivered, "E1 to be delivered");
        await using (var hub = _province.CreateHubDb())
        {
            var delivery = await hub.Deliveries.AsNoTracking().SingleAsync(d => d.EnvelopeId == Delivered.EnvelopeId);
            DeliveredReceipt = new SubmitDeliveryReceipt(Delivered.EnvelopeId, Recipient, delivery.ReceiptId!.Value, delivery.Receipt!, delivery.ReceiptSignature!);
        }

        AcceptedStatus = Status(Recipient, Sender, StatusCode.Accepted, Delivered.EnvelopeId, DocumentIdOf(Delivered));
        await SendAsync(AcceptedStatus, asAgency: null);
        await Eventually(async () =>
        {
            await using var hub = _province.CreateHubDb();
            return await hub.Statuses.AnyAsync(s => s.StatusId == AcceptedStatus.StatusId && s.State == EnvelopeStates.Accepted);
        }, "S1 to be accepted");

        var waiting = Package(to: [Silent]);
        Waiting = Envelope(waiting, Sign(waiting), recipients: [Silent]);
        await SendAsync(Waiting, asAgency: null);
        await Eventually(async () => await HubDeliveryStateAsync(Waiting.EnvelopeId, Silent) == DeliveryStates.Forwarded, "E2 to be forwarded");
    }

    // ---- building inputs -------------------------------------------------------------------------------------

    /// <summary>A well-formed document package; <paramref name="subject"/> is a marker that mutations replace.</summary>
    public static byte[] Package(string from = Sender, IReadOnlyList<string>? to = null, string subject = "HOSTILE-SUBJECT", IReadOnlyList<EdxmlAttachment>? attachments = null)
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var number = Guid.NewGuid().ToString("N")[..10];
        return EdxmlWriter.Write(new EdxmlPackage(new EdxmlHeader
        {
            From = new EdxmlOrganisation(from),
            To = (to ?? [Recipient]).Select(code => new EdxmlOrganisation(code)).ToList(),
            DocumentId = EdxmlDocumentId.Format(from, today, $"{number}/HOSTILE"),
            CodeNumber = number,
            CodeNotation = "HOSTILE",
            Subject = subject,
            PromulgationDate = today,
        }, attachments ?? [new EdxmlAttachment("van-ban.txt", "text/plain", "Nội dung"u8.ToArray())]));
    }

    /// <summary>A package changed as text, for what the writer will not write (a DTD, broken base64, a control character).</summary>
    public static byte[] Edit(byte[] package, Func<string, string> change)
    {
        var before = Encoding.UTF8.GetString(package);
        var after = change(before);
        return after != before ? Encoding.UTF8.GetBytes(after) : throw new InvalidOperationException("The edit changed nothing.");
    }

    public static string ReplaceBase64(string xml, string content) =>
        Regex.Replace(xml, "(<edXML:ContentTransferEncoded[^>]*>)[^<]*", "${1}" + content);

    public byte[] Sign(byte[] content, string agency = Sender) => Pki.AgencySigner(agency).SignDetached(content);

    public static SubmitEnvelope Envelope(byte[] package, byte[] signature, string sender = Sender, IReadOnlyList<string>? recipients = null, Guid? id = null) =>
        new(id ?? Guid.CreateVersion7(), sender, recipients ?? [Recipient], package, signature, DateTimeOffset.UtcNow);

    public SubmitStatus Status(string reporter, string to, StatusCode code, Guid envelopeId, string documentId, CmsSigner? signer = null, string? busReporter = null)
    {
        var package = EdxmlStatusWriter.Write(new EdxmlStatus
        {
            From = new EdxmlOrganisation(reporter),
            ResponseForOrganId = to,
            ResponseForDocumentId = documentId,
            Code = code,
            Timestamp = DateTimeOffset.UtcNow,
        });
        var signature = (signer ?? Pki.AgencySigner(reporter)).SignDetached(package);
        return new SubmitStatus(Guid.CreateVersion7(), envelopeId, busReporter ?? reporter, to, package, signature, DateTimeOffset.UtcNow);
    }

    public static string DocumentIdOf(SubmitEnvelope envelope) => EdxmlReader.ReadHeader(envelope.Package).DocumentId;

    /// <summary>A delivery receipt document as a recipient's gateway writes it, signed by <paramref name="signer"/>.</summary>
    public SubmitDeliveryReceipt Receipt(SubmitEnvelope envelope, string recipient, CmsSigner signer, Guid? receiptEnvelope = null, string? packageSha256 = null)
    {
        var receipt = new DeliveryReceipt(Guid.CreateVersion7(), receiptEnvelope ?? envelope.EnvelopeId, envelope.SenderCode, recipient,
            packageSha256 ?? Digests.Sha256Hex(envelope.Package), DateTimeOffset.UtcNow);
        var bytes = receipt.ToBytes();
        return new SubmitDeliveryReceipt(envelope.EnvelopeId, recipient, receipt.ReceiptId, bytes, signer.SignDetached(bytes));
    }

    // ---- the bus -----------------------------------------------------------------------------------------------

    /// <summary>Sends to the hub: as the broker administrator (null) to its queue, or as an agency through its outbound exchange.</summary>
    public async Task SendAsync<T>(T message, string? asAgency)
        where T : class
    {
        var bus = await BusAsync(asAgency);
        var address = asAgency is null
            ? new Uri($"queue:{_province.Names.HubQueue}")
            : new Uri($"exchange:{BrokerNames.OutboundExchange(_province.Names.AgencyQueue(asAgency))}");
        await (await bus.GetSendEndpoint(address)).Send(message);
    }

    /// <summary>Sends a submission and waits for the hub's verdict on it (SubmissionAcceptance or SubmissionRejection evidence).</summary>
    public async Task<Outcome> SubmitAsync(SubmitEnvelope envelope, string? asAgency = null)
    {
        var after = await LastEvidenceSeqAsync();
        await SendAsync(envelope, asAgency);
        return await EvidenceOutcomeAsync(envelope.EnvelopeId, after, nameof(EvidenceKind.SubmissionAcceptance), nameof(EvidenceKind.SubmissionRejection));
    }

    public async Task<Outcome> ReceiptAsync(SubmitDeliveryReceipt receipt, string? asAgency = null)
    {
        var after = await LastEvidenceSeqAsync();
        await SendAsync(receipt, asAgency);
        return await EvidenceOutcomeAsync(receipt.EnvelopeId, after, nameof(EvidenceKind.ContentConsignment), nameof(EvidenceKind.ContentConsignmentFailure));
    }

    public async Task<Outcome> StatusAsync(SubmitStatus status, string? asAgency = null)
    {
        var after = await LastEvidenceSeqAsync();
        await SendAsync(status, asAgency);
        return await EvidenceOutcomeAsync(status.EnvelopeId, after, nameof(EvidenceKind.StatusReport), nameof(EvidenceKind.StatusRejection));
    }

    /// <summary>An unsigned report (delivery failure, handover): its refusal shows only in exchange.messages.refused.</summary>
    public async Task<Outcome> UnsignedReportAsync<T>(T report, string asAgency)
        where T : class
    {
        var seen = _refusals.Count;
        await SendAsync(report, asAgency);
        string? reason = null;
        await Eventually(() =>
        {
            reason = _refusals.Skip(seen).Where(r => r.Message == typeof(T).Name).Select(r => r.Reason).FirstOrDefault();
            return Task.FromResult(reason is not null);
        }, $"the hub to refuse the {typeof(T).Name}");
        return new Outcome(reason, null, $"exchange.messages.refused {{message={typeof(T).Name}, reason={reason}}}");
    }

    /// <summary>
    /// An agency's broker login goes around its way to the hub: on a plain channel as that agency it first sets up
    /// topology of its own (<paramref name="prepare"/>, which the broker's permissions allow), then sends
    /// <paramref name="report"/> to <paramref name="address"/> from a MassTransit bus logged in as the agency that does
    /// not stamp its login (AMQP user_id), as an attacker's would not; the report's refusal is awaited as in
    /// <see cref="UnsignedReportAsync{T}"/>, and <paramref name="undo"/> then removes the topology again.
    /// </summary>
    public async Task<Outcome> AroundReportAsync<T>(T report, string asAgency, Func<IChannel, Task> prepare, Uri address, Func<IChannel, Task> undo)
        where T : class
    {
        var s = Servers.Settings;
        var user = _province.BrokerUsers.Single(u => u.AgencyCode == asAgency);
        var factory = new ConnectionFactory { HostName = s.AmqpHost, Port = s.AmqpPort, VirtualHost = s.AmqpVirtualHost, UserName = user.User, Password = user.Password! };
        await using var connection = await factory.CreateConnectionAsync();
        await using (var channel = await connection.CreateChannelAsync())
        {
            await prepare(channel);
        }

        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(s with { AmqpUser = user.User, AmqpPassword = user.Password! }));
        await bus.StartAsync();
        try
        {
            var seen = _refusals.Count;
            await (await bus.GetSendEndpoint(address)).Send(report);
            string? reason = null;
            await Eventually(() =>
            {
                reason = _refusals.Skip(seen).Where(r => r.Message == typeof(T).Name).Select(r => r.Reason).FirstOrDefault();
                return Task.FromResult(reason is not null);
            }, $"the hub to refuse the {typeof(T).Name} sent around the agency's way to it");
            return new Outcome(reason, null, $"exchange.messages.refused {{message={typeof(T).Name}, reason={reason}}}");
        }
        finally
        {
            await bus.StopAsync();
            await using var channel = await connection.CreateChannelAsync();
            await undo(channel);
        }
    }

    /// <summary>
    /// Sends <paramref name="message"/> again and proves the hub handled it without recording anything: a marker sent
    /// right after it (a receipt for no delivery) must be refused first, then no new evidence may name the envelope.
    /// </summary>
    public async Task<Outcome> RepeatAsync(SubmitDeliveryReceipt message)
    {
        var after = await LastEvidenceSeqAsync();
        await SendAsync(message, asAgency: null);
        var marker = new SubmitDeliveryReceipt(Guid.CreateVersion7(), Recipient, Guid.CreateVersion7(), [], []);
        await SendAsync(marker, asAgency: null);
        await EvidenceOutcomeAsync(marker.EnvelopeId, after, nameof(EvidenceKind.ContentConsignmentFailure));
        await Task.Delay(500);
        await using var hub = _province.CreateHubDb();
        var recorded = await hub.Evidence.AsNoTracking().Where(e => e.Seq > after && e.EnvelopeId == message.EnvelopeId).Select(e => e.Reason).ToListAsync();
        return recorded.Count == 0
            ? new Outcome(ReasonCode.Ok.ToCode(), null, "answered as before; no evidence recorded")
            : new Outcome(recorded[0], null, $"recorded {recorded.Count} evidence record(s)");
    }

    /// <summary>Publishes bytes that are no MassTransit message at all to the hub's queue; true once they left it for a dead-letter queue.</summary>
    public async Task<Outcome> PublishGarbageAsync(byte[] body, string contentType)
    {
        var s = Servers.Settings;
        var dead = new[] { _province.Names.HubQueue + BrokerNames.ErrorSuffix, _province.Names.HubQueue + BrokerNames.SkippedSuffix };
        var before = await QueueDepthsAsync(dead);
        var factory = new ConnectionFactory { HostName = s.AmqpHost, Port = s.AmqpPort, VirtualHost = s.AmqpVirtualHost, UserName = s.AmqpUser, Password = s.AmqpPassword };
        await using (var connection = await factory.CreateConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true)))
        {
            await channel.BasicPublishAsync(string.Empty, _province.Names.HubQueue, mandatory: true,
                new BasicProperties { ContentType = contentType, Persistent = true, MessageId = Guid.NewGuid().ToString() }, body);
        }

        var moved = string.Empty;
        await Eventually(async () =>
        {
            var now = await QueueDepthsAsync(dead);
            moved = dead.FirstOrDefault(q => now[q] > before[q]) ?? string.Empty;
            return moved.Length > 0;
        }, "the garbage to reach a dead-letter queue");
        return new Outcome(null, null, $"moved to {moved}");
    }

    // ---- HTTP --------------------------------------------------------------------------------------------------

    /// <summary>The gateway's own client (it carries whatever credentials the deployment gives it).</summary>
    public HttpClient Http(string agency) => _province.Gateways[agency].Http;

    public Task<Outcome> PostAsync(string agency, string path, HttpContent content) =>
        SendHttpAsync(agency, new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = content });

    /// <summary>
    /// Sends a request and reads the answer: a problem's <c>reason</c>; for 202 Accepted, the hub's verdict as the
    /// sender's gateway shows it (<c>GET /api/documents/{id}</c>, rejected with a reason, or delivered).
    /// </summary>
    public async Task<Outcome> SendHttpAsync(string agency, HttpRequestMessage request)
    {
        using (request)
        using (var response = await Http(agency).SendAsync(request))
        {
            var body = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            if (response.StatusCode != System.Net.HttpStatusCode.Accepted)
            {
                return new Outcome(ReasonOf(body), status, body);
            }

            var answer = JsonSerializer.Deserialize<SubmissionAnswer>(body, JsonSerializerOptions.Web)!;
            DocumentState? state = null;
            await Eventually(async () =>
            {
                state = await new GatewayClient(Http(agency)).GetDocumentAsync(answer.EnvelopeId);
                return state?.State is "rejected" or "delivered";
            }, $"the hub's verdict on {answer.EnvelopeId}");
            return new Outcome(state!.State == "delivered" ? ReasonCode.Ok.ToCode() : state.Reason, status, $"{state.State}: {state.Detail}");
        }
    }

    /// <summary>
    /// Writes <paramref name="head"/> (request line and headers, without the gateway's default headers, which are
    /// added) and <paramref name="body"/> on a socket, and reads the answer until the server closes.
    /// </summary>
    public async Task<Outcome> RawHttpAsync(string agency, string head, byte[]? body = null)
    {
        var client = Http(agency);
        var address = client.BaseAddress!;
        var defaults = string.Concat(client.DefaultRequestHeaders.Select(h => $"{h.Key}: {string.Join(", ", h.Value)}\r\n"));
        using var socket = new TcpClient();
        await socket.ConnectAsync(address.Host, address.Port);
        var stream = socket.GetStream();
        var lines = head.Replace("{host}", address.Authority, StringComparison.Ordinal).TrimEnd('\r', '\n') + "\r\n" + defaults + "Connection: close\r\n\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(lines));
        if (body is not null)
        {
            await stream.WriteAsync(body);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var answer = new MemoryStream();
        try
        {
            await stream.CopyToAsync(answer, timeout.Token);
        }
        catch (IOException)
        {
            // The server may reset the connection after answering a request whose body it will not read.
        }

        var text = Encoding.UTF8.GetString(answer.ToArray());
        var status = Regex.Match(text, @"^HTTP/1\.1 (\d{3})") is { Success: true } m ? int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : (int?)null;
        return new Outcome(ReasonOf(text), status, text.Length > 2000 ? text[..2000] : text);
    }

    private static string? ReasonOf(string body) =>
        Regex.Match(body, "\"reason\"\\s*:\\s*\"([a-z-]+)\"") is { Success: true } m ? m.Groups[1].Value : null;

    // ---- what the system holds --------------------------------------------------------------------------------

    /// <summary>Counts that any acceptance or delivery would change.</summary>
    public sealed record Snapshot(int AcceptedEnvelopes, int Deliveries, int AcceptedStatuses, int InboxRows, int OutboxRows, int ReceivedStatuses);

    public async Task<Snapshot> SnapshotAsync()
    {
        await using var hub = _province.CreateHubDb();
        var accepted = await hub.Envelopes.CountAsync(e => e.State == EnvelopeStates.Accepted);
        var deliveries = await hub.Deliveries.CountAsync();
        var statuses = await hub.Statuses.CountAsync(s => s.State == EnvelopeStates.Accepted);
        int inbox = 0, outbox = 0, received = 0;
        foreach (var agency in _province.Gateways.Keys)
        {
            await using var db = _province.CreateGatewayDb(agency);
            inbox += await db.Inbox.CountAsync();
            outbox += await db.Outbox.CountAsync();
            received += await db.Statuses.CountAsync(s => s.Direction == StatusDirections.Received);
        }

        return new Snapshot(accepted, deliveries, statuses, inbox, outbox, received);
    }

    /// <summary>Every host of the province answers its liveness endpoint.</summary>
    public async Task<IReadOnlyList<string>> DeadHostsAsync()
    {
        var dead = new List<string>();
        using (var router = new HttpClient { BaseAddress = new Uri(_province.Router!.Urls.First()) })
        {
            if (!await LiveAsync(router))
            {
                dead.Add("hub");
            }
        }

        foreach (var (code, gateway) in _province.Gateways)
        {
            if (!await LiveAsync(gateway.Http))
            {
                dead.Add(code);
            }
        }

        return dead;
    }

    public async Task<string?> HubDeliveryStateAsync(Guid envelopeId, string recipient)
    {
        await using var hub = _province.CreateHubDb();
        return await hub.Deliveries.AsNoTracking().Where(d => d.EnvelopeId == envelopeId && d.RecipientCode == recipient).Select(d => d.State).FirstOrDefaultAsync();
    }

    public async Task<EnvelopeRow?> HubEnvelopeAsync(Guid envelopeId)
    {
        await using var hub = _province.CreateHubDb();
        return await hub.Envelopes.AsNoTracking().FirstOrDefaultAsync(e => e.EnvelopeId == envelopeId);
    }

    public async Task<List<EvidenceRow>> EvidenceAsync(Guid envelopeId)
    {
        await using var hub = _province.CreateHubDb();
        return await hub.Evidence.AsNoTracking().Where(e => e.EnvelopeId == envelopeId).OrderBy(e => e.Seq).ToListAsync();
    }

    /// <summary>True when the broker has a queue of that name (management API).</summary>
    public async Task<bool> QueueExistsAsync(string queue)
    {
        using var http = ManagementHttp();
        using var response = await http.GetAsync($"api/queues/{Uri.EscapeDataString(Servers.Settings.AmqpVirtualHost)}/{Uri.EscapeDataString(queue)}?columns=name");
        return response.IsSuccessStatusCode;
    }

    /// <summary>Queues and exchanges of this province's prefix, from the RabbitMQ management API.</summary>
    public async Task<(List<string> Queues, List<string> Exchanges)> BrokerNamesAsync()
    {
        using var http = ManagementHttp();
        var vhost = Uri.EscapeDataString(Servers.Settings.AmqpVirtualHost);
        var queues = await http.GetFromJsonAsync<List<NameOnly>>($"api/queues/{vhost}?columns=name") ?? [];
        var exchanges = await http.GetFromJsonAsync<List<NameOnly>>($"api/exchanges/{vhost}?columns=name") ?? [];
        var prefix = _province.Names.Prefix;
        return (queues.Select(q => q.Name).Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).ToList(),
            exchanges.Select(e => e.Name).Where(n => n.StartsWith(prefix, StringComparison.Ordinal)).ToList());
    }

    public static async Task Eventually(Func<Task<bool>> condition, string what, TimeSpan? timeout = null, Func<string>? describe = null)
    {
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(60));
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"Timed out waiting for {what}. {describe?.Invoke()}");
    }

    public async ValueTask DisposeAsync()
    {
        _meters.Dispose();
        foreach (var bus in _buses.Values)
        {
            await bus.StopAsync();
        }

        _buses.Clear();
        _busGate.Dispose();
    }

    private async Task<long> LastEvidenceSeqAsync()
    {
        await using var hub = _province.CreateHubDb();
        return await hub.Evidence.MaxAsync(e => (long?)e.Seq) ?? 0;
    }

    private async Task<Outcome> EvidenceOutcomeAsync(Guid envelopeId, long after, params string[] kinds)
    {
        EvidenceRow? row = null;
        await Eventually(async () =>
        {
            await using var hub = _province.CreateHubDb();
            row = await hub.Evidence.AsNoTracking()
                .Where(e => e.Seq > after && e.EnvelopeId == envelopeId && kinds.Contains(e.Kind))
                .OrderBy(e => e.Seq).FirstOrDefaultAsync();
            return row is not null;
        }, $"{string.Join(" or ", kinds)} evidence for {envelopeId}");
        return new Outcome(row!.Reason, null, $"{row.Kind}: {row.Detail}");
    }

    private async Task<IBusControl> BusAsync(string? agency)
    {
        var key = agency ?? string.Empty;
        await _busGate.WaitAsync();
        try
        {
            if (!_buses.TryGetValue(key, out var bus))
            {
                var servers = Servers.Settings;
                if (agency is not null)
                {
                    var user = _province.BrokerUsers.Single(u => u.AgencyCode == agency);
                    servers = servers with { AmqpUser = user.User, AmqpPassword = user.Password! };
                }

                // An agency's bus stamps its login on what it sends (AMQP user_id), as a gateway's does.
                bus = Bus.Factory.CreateUsingRabbitMq(cfg =>
                {
                    cfg.Host(servers);
                    if (agency is not null)
                    {
                        cfg.StampBrokerUser(servers.AmqpUser);
                    }
                });
                await bus.StartAsync();
                _buses[key] = bus;
            }

            return bus;
        }
        finally
        {
            _busGate.Release();
        }
    }

    private static async Task<bool> LiveAsync(HttpClient http)
    {
        try
        {
            using var response = await http.GetAsync(new Uri(ServiceDefaultsExtensions.LivenessPath, UriKind.Relative));
            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static async Task<Dictionary<string, long>> QueueDepthsAsync(IEnumerable<string> queues)
    {
        using var http = ManagementHttp();
        var vhost = Uri.EscapeDataString(Servers.Settings.AmqpVirtualHost);
        var depths = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var queue in queues)
        {
            using var response = await http.GetAsync($"api/queues/{vhost}/{Uri.EscapeDataString(queue)}?columns=messages,messages_ready,messages_unacknowledged");
            // A queue whose statistics the broker has not emitted yet answers without the column (even as an empty list).
            var stats = response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<JsonElement>() : default;
            depths[queue] = stats.ValueKind == JsonValueKind.Object && stats.TryGetProperty("messages", out var m) ? m.GetInt64() : 0;
        }

        return depths;
    }

    private static HttpClient ManagementHttp()
    {
        var s = Servers.Settings;
        var http = new HttpClient { BaseAddress = s.AmqpManagementUri };
        http.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{s.AmqpUser}:{s.AmqpPassword}")));
        return http;
    }

    private sealed record NameOnly(string Name);
}
