using System.Globalization;
using System.Text;
using System.Text.Json;
using Exchange.Core;
using Exchange.ServiceDefaults.Broker;
using RabbitMQ.Client;

namespace Exchange.Cli.DeadLetters;

/// <summary>
/// One message in an <c>_error</c> queue, read from what MassTransit leaves there: the original body (a MassTransit
/// JSON envelope, <c>{"messageId", "messageType": ["urn:message:…"], "message": {…}}</c>), the original AMQP
/// properties, and the fault headers it adds when it moves a message (<c>MT-Reason</c>, <c>MT-Fault-ExceptionType</c>,
/// <c>MT-Fault-Message</c>, <c>MT-Fault-Timestamp</c>, <c>MT-Fault-InputAddress</c>, <c>MT-Fault-ConsumerType</c>,
/// <c>MT-Fault-RetryCount</c>, …). Every field but the queue, the id and the body's digest may be missing: an error
/// queue can hold anything that was published to it.
/// </summary>
public sealed record DeadLetter
{
    public const string ReasonHeader = "MT-Reason";
    public const string FaultHeaderPrefix = "MT-Fault-";
    public const string HostHeaderPrefix = "MT-Host-";
    public const string ExceptionTypeHeader = "MT-Fault-ExceptionType";
    public const string ExceptionMessageHeader = "MT-Fault-Message";
    public const string TimestampHeader = "MT-Fault-Timestamp";
    public const string InputAddressHeader = "MT-Fault-InputAddress";
    public const string ConsumerTypeHeader = "MT-Fault-ConsumerType";
    public const string MessageTypeHeader = "MT-Fault-MessageType";
    public const string RetryCountHeader = "MT-Fault-RetryCount";

    /// <summary>How often `exchange dlq resend` has re-sent this message (absent: never).</summary>
    public const string ResendsHeader = "Exchange-Dlq-Resends";

    /// <summary>When the message first failed, carried across re-sends (MassTransit's fault headers are those of the last failure).</summary>
    public const string FirstFailedAtHeader = "Exchange-Dlq-First-Failed-At";

    /// <summary>Prefix of the ids given to messages that carry none (neither the AMQP message-id nor a messageId in the body).</summary>
    public const string DigestIdPrefix = "sha256:";

    /// <summary>The error queue it is in.</summary>
    public required string Queue { get; init; }

    /// <summary>The queue it failed in: the error queue's name without <c>_error</c>.</summary>
    public required string SourceQueue { get; init; }

    /// <summary>
    /// How the commands name it: the AMQP message-id (MassTransit sets its MessageId there), else the body's
    /// <c>messageId</c>, else <c>sha256:</c> and the first 32 hex digits of the body's SHA-256.
    /// </summary>
    public required string Id { get; init; }

    /// <summary>The contract's short name (<c>SubmitEnvelope</c>), from the body's messageType or MT-Fault-MessageType.</summary>
    public string? MessageType { get; init; }

    public Guid? EnvelopeId { get; init; }

    public string? SenderCode { get; init; }

    public string? RecipientCode { get; init; }

    /// <summary>SHA-256 of the package the message carries (SubmitEnvelope, DeliverEnvelope, statuses), when it carries one.</summary>
    public string? PackageSha256 { get; init; }

    /// <summary>MT-Reason: <c>fault</c> for a message moved after an exception.</summary>
    public string? Reason { get; init; }

    public string? ExceptionType { get; init; }

    public string? ExceptionMessage { get; init; }

    /// <summary>MT-Fault-Timestamp: when it failed (the last time, if it was re-sent and failed again).</summary>
    public DateTimeOffset? FailedAt { get; init; }

    /// <summary>When it failed the first time: <see cref="FirstFailedAtHeader"/> when re-sent before, else <see cref="FailedAt"/>.</summary>
    public DateTimeOffset? FirstFailedAt { get; init; }

    public string? InputAddress { get; init; }

    /// <summary>The queue named by MT-Fault-InputAddress (its last path segment).</summary>
    public string? InputQueue { get; init; }

    public string? ConsumerType { get; init; }

    /// <summary>MT-Fault-RetryCount: how often it was retried; MassTransit writes it only for a message it retried.</summary>
    public int? RetryCount { get; init; }

    public int Resends { get; init; }

    /// <summary>Lowercase hex SHA-256 of the exact body bytes: what an operator action's evidence names.</summary>
    public required string BodySha256 { get; init; }

    public long BodyBytes { get; init; }

    /// <summary>Every header as text, in name order.</summary>
    public required IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; }

    /// <summary>Reads one message of <paramref name="queue"/>; never throws on what the message holds.</summary>
    public static DeadLetter Parse(string queue, string? amqpMessageId, IDictionary<string, object?>? headers, ReadOnlySpan<byte> body)
    {
        ArgumentException.ThrowIfNullOrEmpty(queue);
        var texts = (headers ?? new Dictionary<string, object?>())
            .Select(h => new KeyValuePair<string, string>(h.Key, HeaderText(h.Value)))
            .OrderBy(h => h.Key, StringComparer.Ordinal)
            .ToList();
        string? Header(string name) => texts.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value is { Length: > 0 } v ? v : null;

        var facts = BodyFacts.Read(body);
        var bodySha256 = Digests.Sha256Hex(body);
        var id = !string.IsNullOrWhiteSpace(amqpMessageId) ? amqpMessageId.Trim()
            : facts.MessageId ?? DigestIdPrefix + bodySha256[..32];
        var failedAt = Timestamp(Header(TimestampHeader));
        var inputAddress = Header(InputAddressHeader);
        return new DeadLetter
        {
            Queue = queue,
            SourceQueue = SourceQueueOf(queue),
            Id = id,
            MessageType = facts.MessageType ?? ShortTypeName(Header(MessageTypeHeader)),
            EnvelopeId = facts.EnvelopeId,
            SenderCode = facts.SenderCode,
            RecipientCode = facts.RecipientCode,
            PackageSha256 = facts.PackageSha256,
            Reason = Header(ReasonHeader),
            ExceptionType = Header(ExceptionTypeHeader),
            ExceptionMessage = Header(ExceptionMessageHeader),
            FailedAt = failedAt,
            FirstFailedAt = Timestamp(Header(FirstFailedAtHeader)) ?? failedAt,
            InputAddress = inputAddress,
            InputQueue = QueueOfAddress(inputAddress),
            ConsumerType = Header(ConsumerTypeHeader),
            RetryCount = int.TryParse(Header(RetryCountHeader), NumberStyles.Integer, CultureInfo.InvariantCulture, out var retries) ? retries : null,
            Resends = int.TryParse(Header(ResendsHeader), NumberStyles.Integer, CultureInfo.InvariantCulture, out var resends) && resends > 0 ? resends : 0,
            BodySha256 = bodySha256,
            BodyBytes = body.Length,
            Headers = texts,
        };
    }

    /// <summary><c>exchange-hub_error</c> → <c>exchange-hub</c>; a name without the suffix is its own source.</summary>
    public static string SourceQueueOf(string errorQueue) =>
        errorQueue.EndsWith(BrokerNames.ErrorSuffix, StringComparison.Ordinal) ? errorQueue[..^BrokerNames.ErrorSuffix.Length] : errorQueue;

    /// <summary>
    /// The queue a MassTransit address names: its last path segment, unescaped, without a query
    /// (<c>rabbitmq://host:5672/vhost/exchange-hub?bind=true</c> → <c>exchange-hub</c>).
    /// </summary>
    public static string? QueueOfAddress(string? address)
    {
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri))
        {
            return null;
        }

        var segment = uri.AbsolutePath.TrimEnd('/');
        segment = segment[(segment.LastIndexOf('/') + 1)..];
        return segment.Length == 0 ? null : Uri.UnescapeDataString(segment);
    }

    /// <summary>
    /// Header values as RabbitMQ.Client hands them over: AMQP long strings arrive as UTF-8 bytes, numbers as
    /// integers, timestamps as <see cref="AmqpTimestamp"/>, arrays as lists, tables as dictionaries.
    /// </summary>
    public static string HeaderText(object? value) => value switch
    {
        null => string.Empty,
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        string text => text,
        AmqpTimestamp timestamp => DateTimeOffset.FromUnixTimeSeconds(timestamp.UnixTime).ToString("O", CultureInfo.InvariantCulture),
        IDictionary<string, object?> table => "{" + string.Join(", ", table.Select(kv => $"{kv.Key}: {HeaderText(kv.Value)}")) + "}",
        System.Collections.IEnumerable list => "[" + string.Join(", ", list.Cast<object?>().Select(HeaderText)) + "]",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    private static DateTimeOffset? Timestamp(string? text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at) ? at : null;

    /// <summary><c>Exchange.Contracts.SubmitEnvelope</c> or <c>urn:message:Exchange.Contracts:SubmitEnvelope</c> → <c>SubmitEnvelope</c>.</summary>
    public static string? ShortTypeName(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return null;
        }

        var cut = name.LastIndexOfAny([':', '.', '+']);
        return name[(cut + 1)..];
    }

    /// <summary>What the body says about itself, when it is a MassTransit JSON envelope.</summary>
    private sealed record BodyFacts(string? MessageId, string? MessageType, Guid? EnvelopeId, string? SenderCode, string? RecipientCode, string? PackageSha256)
    {
        private static readonly BodyFacts None = new(null, null, null, null, null, null);

        public static BodyFacts Read(ReadOnlySpan<byte> body)
        {
            try
            {
                var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
                using var document = JsonDocument.ParseValue(ref reader);
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    return None;
                }

                var message = root.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.Object ? m : default;
                var type = root.TryGetProperty("messageType", out var types) && types.ValueKind == JsonValueKind.Array && types.GetArrayLength() > 0
                    ? ShortTypeName(Text(types[0]))
                    : null;
                string? package = null;
                if (message.ValueKind == JsonValueKind.Object && message.TryGetProperty("package", out var p) && p.ValueKind == JsonValueKind.String && p.TryGetBytesFromBase64(out var bytes))
                {
                    package = Digests.Sha256Hex(bytes);
                }

                return new BodyFacts(
                    Text(root, "messageId"),
                    type,
                    Text(message, "envelopeId") is { } id && Guid.TryParse(id, out var envelopeId) ? envelopeId : null,
                    Text(message, "senderCode"),
                    Text(message, "recipientCode"),
                    package);
            }
            catch (JsonException)
            {
                return None;
            }
        }

        private static string? Text(JsonElement element, string name) =>
            element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) ? Text(value) : null;

        private static string? Text(JsonElement value) => value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } s ? s : null;
    }
}
