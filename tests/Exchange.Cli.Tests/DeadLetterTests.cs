using System.Text;
using Exchange.Cli.DeadLetters;
using Exchange.Core;
using Exchange.ServiceDefaults;
using RabbitMQ.Client;

namespace Exchange.Cli.Tests;

/// <summary>
/// Reading what MassTransit leaves in an error queue. The canned headers and body are those of a SubmitEnvelope the
/// hub gave up on in an integration run (a trigger refused its row), as `exchange dlq show` printed them, with the
/// stack trace and the package shortened; header values are UTF-8 bytes, as RabbitMQ.Client hands AMQP long strings over.
/// </summary>
public sealed class DeadLetterTests
{
    private const string Queue = "itae6f59-exchange-hub_error";
    private const string MessageId = "e44c0000-c4e3-f2d9-a2dc-08df49871949";
    private static readonly byte[] Package = Encoding.UTF8.GetBytes("<?xml version=\"1.0\" encoding=\"UTF-8\"?><edXML/>");

    private static Dictionary<string, object?> FaultHeaders() => new()
    {
        ["MT-Activity-Id"] = Bytes("00-a52bf7e254c39cfd239cb6aaac8d76f4-5129df9915980e7c-00"),
        ["MT-Fault-ConsumerType"] = Bytes("Exchange.Router.SubmitEnvelopeConsumer"),
        ["MT-Fault-ExceptionType"] = Bytes("Npgsql.PostgresException"),
        ["MT-Fault-InputAddress"] = Bytes("rabbitmq://127.0.0.1:55672/exchange/itae6f59-exchange-hub"),
        ["MT-Fault-Message"] = Bytes("P0001: refused by a test trigger"),
        ["MT-Fault-MessageType"] = Bytes("Exchange.Contracts.SubmitEnvelope"),
        ["MT-Fault-StackTrace"] = Bytes("   at Npgsql.Internal.NpgsqlConnector.ReadMessageLong(Boolean async)"),
        ["MT-Fault-Timestamp"] = Bytes("2026-11-23T17:27:50.3685387Z"),
        ["MT-Host-MachineName"] = Bytes("vm"),
        ["MT-Host-ProcessId"] = Bytes("19684"),
        ["MT-Reason"] = Bytes("fault"),
        ["x-dotnet-pub-seq-no"] = 6UL,
    };

    private static byte[] Body(string? messageId = MessageId) => Encoding.UTF8.GetBytes($$"""
        {
          "messageId": {{(messageId is null ? "null" : $"\"{messageId}\"")}},
          "conversationId": "e44c0000-c4e3-f2d9-a415-08df49871949",
          "destinationAddress": "rabbitmq://127.0.0.1:55672/exchange/itae6f59-agency-000-00-01-h29.to-hub",
          "messageType": ["urn:message:Exchange.Contracts:SubmitEnvelope"],
          "message": {
            "envelopeId": "01a20973-234a-7b4c-952a-68a8db05dcfd",
            "senderCode": "000.00.01.H29",
            "recipientCodes": ["000.01.21.H29"],
            "package": "{{Convert.ToBase64String(Package)}}",
            "signature": "MIILHAYJKoZIhvcNAQcCoIILDTCCCwkCAQExDzANBglghkgBZQMEAgEFADAL",
            "submittedAt": "2026-11-23T17:27:50.346551+00:00"
          },
          "sentTime": "2026-11-23T17:27:50.3568604Z"
        }
        """);

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    [Test]
    public void Reads_the_fault_headers_and_the_envelope_MassTransit_leaves_in_an_error_queue()
    {
        var body = Body();

        var letter = DeadLetter.Parse(Queue, MessageId, FaultHeaders(), body);

        Assert.Multiple(() =>
        {
            Assert.That(letter.Id, Is.EqualTo(MessageId));
            Assert.That(letter.Queue, Is.EqualTo(Queue));
            Assert.That(letter.SourceQueue, Is.EqualTo("itae6f59-exchange-hub"));
            Assert.That(letter.MessageType, Is.EqualTo("SubmitEnvelope"));
            Assert.That(letter.EnvelopeId, Is.EqualTo(Guid.Parse("01a20973-234a-7b4c-952a-68a8db05dcfd")));
            Assert.That(letter.SenderCode, Is.EqualTo("000.00.01.H29"));
            Assert.That(letter.PackageSha256, Is.EqualTo(Digests.Sha256Hex(Package)));
            Assert.That(letter.Reason, Is.EqualTo("fault"));
            Assert.That(letter.ExceptionType, Is.EqualTo("Npgsql.PostgresException"));
            Assert.That(letter.ExceptionMessage, Is.EqualTo("P0001: refused by a test trigger"));
            Assert.That(letter.FailedAt, Is.EqualTo(new DateTimeOffset(2026, 11, 23, 17, 27, 50, TimeSpan.Zero).AddTicks(3685387)));
            Assert.That(letter.FirstFailedAt, Is.EqualTo(letter.FailedAt));
            Assert.That(letter.InputQueue, Is.EqualTo("itae6f59-exchange-hub"));
            Assert.That(letter.ConsumerType, Is.EqualTo("Exchange.Router.SubmitEnvelopeConsumer"));
            Assert.That(letter.RetryCount, Is.Null, "MassTransit writes MT-Fault-RetryCount only for a retried message");
            Assert.That(letter.Resends, Is.Zero);
            Assert.That(letter.BodySha256, Is.EqualTo(Digests.Sha256Hex(body)));
            Assert.That(letter.BodyBytes, Is.EqualTo(body.Length));
            Assert.That(letter.Headers.Select(h => h.Key), Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal));
            Assert.That(letter.Headers.Single(h => h.Key == "x-dotnet-pub-seq-no").Value, Is.EqualTo("6"));
        });
    }

    [Test]
    public void Names_a_message_by_its_body_messageId_when_the_AMQP_message_id_is_missing_and_by_its_digest_when_both_are()
    {
        Assert.That(DeadLetter.Parse(Queue, null, FaultHeaders(), Body()).Id, Is.EqualTo(MessageId));

        var anonymous = Body(messageId: null);
        Assert.That(DeadLetter.Parse(Queue, " ", FaultHeaders(), anonymous).Id, Is.EqualTo("sha256:" + Digests.Sha256Hex(anonymous)[..32]));

        var garbage = "\u0001not json at all"u8.ToArray();
        var letter = DeadLetter.Parse(Queue, null, null, garbage);
        Assert.Multiple(() =>
        {
            Assert.That(letter.Id, Is.EqualTo("sha256:" + Digests.Sha256Hex(garbage)[..32]));
            Assert.That(letter.MessageType, Is.Null);
            Assert.That(letter.EnvelopeId, Is.Null);
            Assert.That(letter.FailedAt, Is.Null);
            Assert.That(letter.Headers, Is.Empty);
        });
    }

    [Test]
    public void Takes_the_message_type_from_the_fault_header_when_the_body_has_none()
    {
        var letter = DeadLetter.Parse(Queue, MessageId, FaultHeaders(), "{\"message\":{\"envelopeId\":\"not a guid\"}}"u8);

        Assert.That(letter.MessageType, Is.EqualTo("SubmitEnvelope"));
        Assert.That(letter.EnvelopeId, Is.Null);
    }

    [Test]
    public void A_resent_message_carries_its_count_and_first_failure_and_sheds_the_old_fault()
    {
        var first = DeadLetter.Parse(Queue, MessageId, FaultHeaders(), Body());

        var resent = HeldMessage.ResendHeaders(FaultHeaders(), first);

        Assert.That(resent.Keys, Is.EquivalentTo(new[] { "MT-Activity-Id", DeadLetter.ResendsHeader, DeadLetter.FirstFailedAtHeader }));
        Assert.That(resent[DeadLetter.ResendsHeader], Is.EqualTo(1));

        // It fails again an hour later: MassTransit writes new fault headers beside the ones carried along.
        var again = new Dictionary<string, object?>(resent.ToDictionary(h => h.Key, h => (object?)Bytes(Convert.ToString(h.Value, System.Globalization.CultureInfo.InvariantCulture)!)))
        {
            ["MT-Fault-Timestamp"] = Bytes("2026-11-23T18:27:50Z"),
            ["MT-Reason"] = Bytes("fault"),
        };
        var second = DeadLetter.Parse(Queue, MessageId, again, Body());

        Assert.That(second.Resends, Is.EqualTo(1));
        Assert.That(second.FailedAt, Is.EqualTo(new DateTimeOffset(2026, 11, 23, 18, 27, 50, TimeSpan.Zero)));
        Assert.That(second.FirstFailedAt, Is.EqualTo(first.FailedAt));
        Assert.That(HeldMessage.ResendHeaders(again, second)[DeadLetter.ResendsHeader], Is.EqualTo(2));
    }

    [TestCase("rabbitmq://127.0.0.1:55672/exchange/exchange-hub", "exchange-hub")]
    [TestCase("rabbitmq://mq.internal/exchange/agency-000-01-21-h29?bind=true&durable=true", "agency-000-01-21-h29")]
    [TestCase("rabbitmq://mq.internal/agency%2Dx/", "agency-x")]
    [TestCase("not an address", null)]
    [TestCase(null, null)]
    public void Reads_the_queue_a_fault_input_address_names(string? address, string? queue) =>
        Assert.That(DeadLetter.QueueOfAddress(address), Is.EqualTo(queue));

    [Test]
    public void Reads_header_values_of_every_AMQP_type()
    {
        Assert.Multiple(() =>
        {
            Assert.That(DeadLetter.HeaderText(Bytes("Sở Nội vụ")), Is.EqualTo("Sở Nội vụ"));
            Assert.That(DeadLetter.HeaderText(new AmqpTimestamp(1_800_000_000)), Is.EqualTo("2027-01-15T08:00:00.0000000+00:00"));
            Assert.That(DeadLetter.HeaderText(42L), Is.EqualTo("42"));
            Assert.That(DeadLetter.HeaderText(1.5m), Is.EqualTo("1.5"));
            Assert.That(DeadLetter.HeaderText(new List<object?> { Bytes("a"), 2 }), Is.EqualTo("[a, 2]"));
            Assert.That(DeadLetter.HeaderText(new Dictionary<string, object?> { ["k"] = Bytes("v") }), Is.EqualTo("{k: v}"));
            Assert.That(DeadLetter.HeaderText(null), Is.Empty);
        });
    }

    [Test]
    public async Task Knows_the_error_queues_of_its_own_deployment_only()
    {
        await using var prefixed = new ErrorQueues(ServerSettings.Defaults, new ExchangeNames("itae6f59-"));
        await using var plain = new ErrorQueues(ServerSettings.Defaults, new ExchangeNames());

        Assert.Multiple(() =>
        {
            Assert.That(prefixed.IsErrorQueue("itae6f59-exchange-hub_error"), Is.True);
            Assert.That(prefixed.IsErrorQueue("itae6f59-agency-000-01-21-h29_error"), Is.True);
            Assert.That(prefixed.IsErrorQueue("itae6f59-exchange-hub"), Is.False, "the input queue");
            Assert.That(prefixed.IsErrorQueue("itae6f59-exchange-hub_skipped"), Is.False);
            Assert.That(prefixed.IsErrorQueue("itae6f59-agency-000-01-21-h29.to-hub"), Is.False);
            Assert.That(prefixed.IsErrorQueue("exchange-hub_error"), Is.False, "another deployment's");
            Assert.That(plain.IsErrorQueue("exchange-hub_error"), Is.True);
            Assert.That(plain.IsErrorQueue("itae6f59-exchange-hub_error"), Is.False, "a prefixed deployment's");
            Assert.That(plain.IsErrorQueue("agency-000-01-21-h29_error"), Is.True);
            Assert.That(plain.IsErrorQueue("orders_error"), Is.False, "not an Exchange endpoint");

            Assert.That(prefixed.Resolve("exchange-hub"), Is.EqualTo("itae6f59-exchange-hub_error"));
            Assert.That(prefixed.Resolve("agency-000-01-21-h29_error"), Is.EqualTo("itae6f59-agency-000-01-21-h29_error"));
            Assert.That(prefixed.Resolve("itae6f59-exchange-hub_error"), Is.EqualTo("itae6f59-exchange-hub_error"));
            Assert.That(prefixed.Resolve("orders"), Is.Null);
        });
    }
}
