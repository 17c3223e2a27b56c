using System.Text.Json;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.ServiceDefaults;
using Exchange.Signing;
using MassTransit;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;

namespace Exchange.Cli.Bench;

/// <summary>
/// Stands in for many recipient gateways in the fan-out bench. Each of a thousand wards runs its own gateway on its own
/// machine; here one process does their part for all of them: it consumes every ward's queue, verifies each delivery's
/// signature as a gateway does, and answers with a receipt signed by a certificate the directory registers to every
/// farm ward. What is measured is the hub (and the sender's gateway), which is where a fan-out concentrates.
/// It does not store the packages: a real gateway's database insert happens on the ward's own machine.
/// </summary>
internal sealed class RecipientFarm : IAsyncDisposable
{
    private readonly IConnection _connection;
    private readonly IChannel _channel;
    private readonly IBusControl _bus;
    private readonly ISendEndpoint _hub;
    private readonly CmsSigner _signer;
    private readonly SignatureVerifier _verifier;
    private int _refused;

    private RecipientFarm(IConnection connection, IChannel channel, IBusControl bus, ISendEndpoint hub, CmsSigner signer, SignatureVerifier verifier)
    {
        (_connection, _channel, _bus, _hub, _signer, _verifier) = (connection, channel, bus, hub, signer, verifier);
    }

    /// <summary>Deliveries whose signature did not verify; they get no receipt.</summary>
    public int Refused => _refused;

    public static async Task<RecipientFarm> StartAsync(
        ServerSettings servers, ExchangeNames names, IReadOnlyList<string> wards, CmsSigner signer, SignatureVerifier verifier, CancellationToken ct)
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(servers));
        await bus.StartAsync(ct);
        var hub = await bus.GetSendEndpoint(new Uri($"queue:{names.HubQueue}"));

        var factory = servers.ConnectionFactory("exchange bench recipient farm");
        factory.ConsumerDispatchConcurrency = 16; // many gateways answer at once
        var connection = await factory.CreateConnectionAsync(ct);
        var channel = await connection.CreateChannelAsync(cancellationToken: ct);
        await channel.BasicQosAsync(0, 256, false, ct);
        var farm = new RecipientFarm(connection, channel, bus, hub, signer, verifier);
        var consumer = new AsyncEventingBasicConsumer(channel);
        consumer.ReceivedAsync += (_, delivery) => farm.AnswerAsync(delivery);
        foreach (var ward in wards)
        {
            // The shape MassTransit declares when the hub sends to queue:NAME, so neither side's declaration conflicts.
            var queue = names.AgencyQueue(ward);
            await channel.ExchangeDeclareAsync(queue, ExchangeType.Fanout, durable: true, autoDelete: false, cancellationToken: ct);
            await channel.QueueDeclareAsync(queue, durable: true, exclusive: false, autoDelete: false, cancellationToken: ct);
            await channel.QueueBindAsync(queue, queue, string.Empty, cancellationToken: ct);
            await channel.BasicConsumeAsync(queue, autoAck: false, consumer, ct);
        }

        return farm;
    }

    private async Task AnswerAsync(BasicDeliverEventArgs delivery)
    {
        // MassTransit's JSON envelope: the message sits under "message", in camelCase.
        using var json = JsonDocument.Parse(delivery.Body);
        var message = json.RootElement.GetProperty("message").Deserialize<DeliverEnvelope>(JsonSerializerOptions.Web)!;
        if (_verifier.Verify(message.Package, message.Signature).Valid)
        {
            var receipt = new DeliveryReceipt(Guid.CreateVersion7(), message.EnvelopeId, message.SenderCode, message.RecipientCode,
                Digests.Sha256Hex(message.Package), DateTimeOffset.UtcNow);
            var bytes = receipt.ToBytes();
            await _hub.Send(new SubmitDeliveryReceipt(message.EnvelopeId, message.RecipientCode, receipt.ReceiptId, bytes, _signer.SignDetached(bytes)));
        }
        else
        {
            Interlocked.Increment(ref _refused);
        }

        await _channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
    }

    public async ValueTask DisposeAsync()
    {
        await _channel.CloseAsync();
        await _connection.CloseAsync();
        await _bus.StopAsync();
    }
}
