using System.Text.Json;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.Persistence;
using Exchange.Persistence.Hub;
using Exchange.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.Extensions.Options;

namespace Exchange.Router;

/// <summary>
/// Where a hub sends what it routes. Without federation every delivery goes to the recipient's gateway queue. With hubs
/// federated by tier (the directory lists them), a recipient served by another hub is handed to the next hub on the way
/// there (down into the subtree that holds it, else up), and whatever answers the sender travels back the way the
/// envelope came: to the sender's gateway at the hub that accepted it, to the relaying hub elsewhere.
/// </summary>
public sealed class Forwarding(ExchangeNames names, PackageStore store, IBus directBus, IOptions<RouterOptions> options)
{
    /// <summary>This hub's code in a federation, or null when one hub serves everyone.</summary>
    public string? ThisHub(AgencyDirectory directory) =>
        directory.Hubs.Count == 0 ? null : options.Value.HubCode ?? directory.TopHub;

    /// <summary>The hub to hand a recipient's delivery to, or null to deliver to its gateway from here.</summary>
    public string? NextHop(AgencyDirectory directory, string recipientCode)
    {
        var here = ThisHub(directory);
        var serving = directory.ServingHub(recipientCode);
        if (here is null || serving is null || serving == here)
        {
            return null;
        }

        // Down when the serving hub lies below this one (the hub just under this one on its lineage), else up.
        return directory.Lineage(serving).Select(a => a.Code).FirstOrDefault(code => directory.Hubs.Contains(code) && directory.ParentHub(code) == here)
            ?? directory.ParentHub(here);
    }

    /// <summary>This hub's trace entry appended to the hops an envelope made before it.</summary>
    public string TraceWith(IEnumerable<TraceEntry> before, DateTimeOffset at, string action) =>
        JsonSerializer.Serialize(before.Append(new TraceEntry(options.Value.HubName, at, action)).ToList(), JsonSerializerOptions.Web);

    public IReadOnlyList<TraceEntry> Trace(EnvelopeRow envelope) =>
        JsonSerializer.Deserialize<List<TraceEntry>>(envelope.Trace, JsonSerializerOptions.Web) is { Count: > 0 } trace
            ? trace
            : [new TraceEntry(options.Value.HubName, envelope.ReceivedAt, "accepted")]; // stored before traces were kept

    /// <summary>The envelope's package: its inline bytes, or the chunks this hub stored.</summary>
    private PackageBody Package(EnvelopeRow envelope) => PackageBody.Of(envelope.Package, store, envelope.EnvelopeId, envelope.Stored());

    /// <summary>
    /// Sends the deliveries on: the exact bytes received, and the trace beside them. A stored package's chunks go ahead
    /// of each message that names it, to each queue, since every recipient's gateway keeps its own copy.
    /// </summary>
    public async Task SendAsync(ISendEndpointProvider bus, EnvelopeRow envelope, IEnumerable<DeliveryRow> deliveries, CancellationToken cancellationToken)
    {
        var trace = Trace(envelope);
        var stored = envelope.Stored();
        foreach (var hop in deliveries.GroupBy(d => d.NextHop))
        {
            if (hop.Key is null)
            {
                foreach (var delivery in hop)
                {
                    var queue = names.AgencyQueue(delivery.RecipientCode);
                    await SendChunksAsync(queue, envelope, stored, cancellationToken);
                    await bus.SendToQueueAsync(queue, new DeliverEnvelope(
                        envelope.EnvelopeId, envelope.SenderCode, delivery.RecipientCode, envelope.Package, envelope.Signature,
                        envelope.DirectoryVersion ?? 0, trace, delivery.ResolvedFrom, stored), cancellationToken);
                }

                continue;
            }

            var relayQueue = names.RelayQueue(hop.Key);
            await SendChunksAsync(relayQueue, envelope, stored, cancellationToken);
            await bus.SendToQueueAsync(relayQueue, new RelayEnvelope(
                envelope.EnvelopeId, envelope.SenderCode, EdxmlAddresses(envelope), envelope.Package, envelope.Signature, envelope.SubmittedAt,
                options.Value.HubCode ?? options.Value.HubName, hop.Select(d => new RoutedRecipient(d.RecipientCode, d.ResolvedFrom)).ToList(), trace, stored),
                cancellationToken);
        }
    }

    /// <summary>Chunks go straight to the broker, ahead of the message a consumer's outbox holds back until it ends.</summary>
    private async Task SendChunksAsync(string queue, EnvelopeRow envelope, StoredPackage? stored, CancellationToken cancellationToken)
    {
        if (stored is not null)
        {
            var endpoint = await directBus.GetSendEndpoint(QueueSends.QueueAddress(queue));
            await endpoint.SendChunksAsync(store, envelope.EnvelopeId, stored, envelope.SenderCode, cancellationToken);
        }
    }

    /// <summary>
    /// Sends an answer about the envelope toward its sender: to the sender's gateway when this hub accepted the envelope,
    /// else to the hub that relayed it here, which passes it on the same way.
    /// </summary>
    public Task TowardSenderAsync<TSender, TRelay>(ISendEndpointProvider bus, EnvelopeRow envelope, TSender forSender, TRelay forRelay, CancellationToken cancellationToken)
        where TSender : class
        where TRelay : class =>
        TowardSenderAsync(bus, envelope.SenderCode, envelope.RelayedBy, forSender, forRelay, cancellationToken);

    /// <inheritdoc cref="TowardSenderAsync{TSender, TRelay}(ISendEndpointProvider, EnvelopeRow, TSender, TRelay, CancellationToken)"/>
    public Task TowardSenderAsync<TSender, TRelay>(ISendEndpointProvider bus, string senderCode, string? relayedBy, TSender forSender, TRelay forRelay, CancellationToken cancellationToken)
        where TSender : class
        where TRelay : class =>
        relayedBy is { } hub
            ? bus.SendToQueueAsync(names.RelayQueue(hub), forRelay, cancellationToken)
            : bus.SendToQueueAsync(names.AgencyQueue(senderCode), forSender, cancellationToken);

    /// <summary>The package's header (attachments skipped), read from the inline bytes or streamed from the store.</summary>
    public EdxmlHeader Header(EnvelopeRow envelope) =>
        Package(envelope).Read(bytes => EdxmlReader.ReadHeader(bytes, options.Value.ToEdxmlLimits()), stream => EdxmlReader.ReadHeader(stream, options.Value.ToEdxmlLimits()));

    private List<string> EdxmlAddresses(EnvelopeRow envelope) =>
        Header(envelope).To.Select(t => RecipientAddress.NormaliseOrKeep(t.OrganId)).Distinct().ToList();
}
