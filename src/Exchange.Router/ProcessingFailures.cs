using System.Text.Json;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Persistence.Hub;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Broker;
using Exchange.ServiceDefaults.Messaging;
using MassTransit;
using MassTransit.Middleware;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Exchange.Router;

/// <summary>
/// What the hub does with a message it gives up on (retries spent, or a fault <see cref="ConsumerRetry.IsPermanent"/>):
/// MassTransit moves it to the endpoint's <c>_error</c> queue, then <see cref="ProcessingFailureFilter"/> records
/// <see cref="EvidenceKind.ProcessingFailed"/> evidence and, for a submission, tells the sender's gateway that its
/// document is held (<see cref="EnvelopeHeld"/>). docs/operations.md, "Dead letters".
/// </summary>
public static class ProcessingFailures
{
    /// <summary>The hub endpoint's error pipe: MassTransit's own two filters (fault, move to _error), then the evidence.</summary>
    public static void Configure(IReceiveEndpointConfigurator endpoint, IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        // Configuring the error pipe replaces MassTransit's default one, so its two filters are named here.
        endpoint.ConfigureError(x =>
        {
            x.UseFilter(new GenerateFaultFilter());
            x.UseFilter(new ErrorTransportFilter());
            x.UseFilter(new ProcessingFailureFilter(services));
        });
    }

    /// <summary>The facts of a failed message that its evidence and the sender's notice need.</summary>
    internal sealed record FailedMessage(string Type, Guid EnvelopeId, string? Recipient, string? PackageSha256, string? SenderCode);

    /// <summary>
    /// Reads the failed message from its body, MassTransit's JSON envelope
    /// (<c>{"messageType": ["urn:message:Exchange.Contracts:SubmitEnvelope"], "message": {"envelopeId": …}}</c>): the
    /// error pipe carries the received bytes, not the deserialized message. A message that names its envelope but
    /// does not read as its contract (it may be what failed) is still recorded, by the envelope id it claims; only a
    /// submission that reads in full has its sender told. Null when it names no envelope.
    /// </summary>
    internal static FailedMessage? Describe(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 64 });
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("message", out var message) || message.ValueKind != JsonValueKind.Object
                || !message.TryGetProperty("envelopeId", out var id) || id.ValueKind != JsonValueKind.String || !id.TryGetGuid(out var envelopeId))
            {
                return null;
            }

            var type = root.TryGetProperty("messageType", out var types) && types.ValueKind == JsonValueKind.Array && types.GetArrayLength() > 0
                && types[0].ValueKind == JsonValueKind.String && types[0].GetString() is { } urn
                ? urn[(urn.LastIndexOf(':') + 1)..]
                : "unknown";
            FailedMessage? typed = null;
            try
            {
                typed = FromContract(type, message);
            }
            catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or FormatException)
            {
            }

            var recipient = message.TryGetProperty("recipientCode", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
            return typed ?? new FailedMessage(Truncate(type, 100), envelopeId, recipient, null, null);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The message as its contract, read as MassTransit writes it (camelCase, byte arrays in base64).</summary>
    private static FailedMessage? FromContract(string type, JsonElement message)
    {
        switch (type)
        {
            case nameof(SubmitEnvelope):
                var submit = message.Deserialize<SubmitEnvelope>(Contract);
                return submit is null ? null : new(type, submit.EnvelopeId, null, submit.Package is { } p ? Digests.Sha256Hex(p) : null, submit.SenderCode);
            case nameof(SubmitDeliveryReceipt):
                var receipt = message.Deserialize<SubmitDeliveryReceipt>(Contract);
                return receipt is null ? null : new(type, receipt.EnvelopeId, receipt.RecipientCode, null, null);
            case nameof(ReportDeliveryFailure):
                var failure = message.Deserialize<ReportDeliveryFailure>(Contract);
                return failure is null ? null : new(type, failure.EnvelopeId, failure.RecipientCode, null, null);
            case nameof(SubmitStatus):
                var status = message.Deserialize<SubmitStatus>(Contract);
                return status is null ? null : new(type, status.EnvelopeId, status.RecipientCode, status.Package is { } q ? Digests.Sha256Hex(q) : null, null);
            case nameof(ReportHandover):
                var handover = message.Deserialize<ReportHandover>(Contract);
                return handover is null ? null : new(type, handover.EnvelopeId, handover.RecipientCode, null, null);
            default:
                return null;
        }
    }

    private static readonly JsonSerializerOptions Contract = new(JsonSerializerDefaults.Web);

    /// <summary>The fault in a line: PostgreSQL's SQLSTATE and message when the database refused, else the exception's type and message.</summary>
    internal static string Summary(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is PostgresException postgres)
            {
                return Truncate($"PostgreSQL {postgres.SqlState}: {postgres.MessageText}", 300);
            }
        }

        return Truncate($"{exception.GetType().Name}: {exception.Message}", 300);
    }

    /// <summary>Clipped in whole code points: half a surrogate pair is not UTF-8, and PostgreSQL would refuse the evidence row.</summary>
    internal static string Truncate(string text, int length) => Untrusted.Truncate(text, length);
}

/// <summary>
/// The last filter of the hub's error pipe: it runs once MassTransit has moved the message to <c>_error</c>, so
/// evidence is written only for a message that is there. Best effort and never throws: when the database is what
/// fails, the evidence cannot be written, and the error queue entry (with MassTransit's MT-Fault-* headers) is
/// then the only record. The notice to the sender goes through the broker, which just took the message, so it
/// is sent even then.
/// </summary>
internal sealed class ProcessingFailureFilter(IServiceProvider services) : IFilter<ExceptionReceiveContext>
{
    /// <summary>Bounds the database and broker calls made while the endpoint waits (the connect timeout is 10 s).</summary>
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(15);

    public void Probe(ProbeContext context) => context.CreateFilterScope("processingFailed");

    public async Task Send(ExceptionReceiveContext context, IPipe<ExceptionReceiveContext> next)
    {
        try
        {
            await RecordAsync(context);
        }
#pragma warning disable CA1031 // Throwing here would put the message back in the queue it already left.
        catch (Exception e)
#pragma warning restore CA1031
        {
            services.GetRequiredService<ILogger<ProcessingFailureFilter>>().LogError(e, "Could not record the failure of message {MessageId}", context.GetMessageId());
        }

        await next.Send(context);
    }

    private async Task RecordAsync(ExceptionReceiveContext context)
    {
        var logger = services.GetRequiredService<ILogger<ProcessingFailureFilter>>();
        var names = services.GetRequiredService<ExchangeNames>();
        var options = services.GetRequiredService<IOptions<RouterOptions>>().Value;
        var clock = services.GetRequiredService<TimeProvider>();
        var errorQueue = names.HubQueue + BrokerNames.ErrorSuffix;
        var messageId = context.GetMessageId()?.ToString() ?? "(no id)";
        var fault = ProcessingFailures.Summary(context.Exception);
        var failed = ProcessingFailures.Describe(context.Body.GetBytes());
        ExchangeTelemetry.RecordDeadLettered(errorQueue);
        logger.LogWarning("Gave up on {Type} message {MessageId} for envelope {EnvelopeId}: {Fault}; moved to {ErrorQueue}",
            failed?.Type ?? "unreadable", messageId, failed?.EnvelopeId, fault, errorQueue);
        if (failed is null)
        {
            // No envelope to attach evidence to (the chain's records are per envelope): the error queue entry is the record.
            return;
        }

        using var budget = new CancellationTokenSource(Budget);
        var now = clock.GetUtcNow();
        await using (var scope = services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
            db.AddEvidence(
                EvidenceKind.ProcessingFailed, failed.EnvelopeId, failed.Recipient is { } r ? ProcessingFailures.Truncate(r, 64) : null, ReasonCode.ProcessingFailed,
                $"{failed.Type} message {messageId} could not be processed ({fault}) and was moved to {errorQueue}. Not a decision about the document: "
                + "the hub's operator may re-send it (exchange dlq resend) or discard it (exchange dlq discard).",
                failed.PackageSha256, options.HubName, now);
            try
            {
                await db.SaveChangesAsync(budget.Token);
            }
#pragma warning disable CA1031 // Whatever the database says, the message is in the error queue: that entry stands as the record.
            catch (Exception e)
#pragma warning restore CA1031
            {
                logger.LogError("Could not record ProcessingFailed evidence for envelope {EnvelopeId} ({Error}); the entry in {ErrorQueue} is the record",
                    failed.EnvelopeId, ProcessingFailures.Summary(e), errorQueue);
            }
        }

        if (failed.SenderCode is { } claimed)
        {
            await NotifySenderAsync(context, failed, claimed, messageId, now, budget.Token);
        }
    }

    /// <summary>
    /// Tells the sender's gateway its document is held. Only an agency the directory knows has a queue someone reads
    /// (as for rejections); with the database down, the directory loaded last answers that.
    /// </summary>
    private async Task NotifySenderAsync(ExceptionReceiveContext context, ProcessingFailures.FailedMessage failed, string claimed, string messageId, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var directory = services.GetRequiredService<DirectoryCache>();
        AgencyDirectory? current;
        try
        {
            current = await directory.CurrentAsync(cancellationToken);
        }
#pragma warning disable CA1031 // The database is likely what failed; the last loaded directory still knows the agencies.
        catch (Exception)
#pragma warning restore CA1031
        {
            current = directory.LastLoaded;
        }

        if (!AgencyCode.TryParse(claimed, out var sender, out _) || current?.Find(sender.Value) is null)
        {
            return;
        }

        var names = services.GetRequiredService<ExchangeNames>();
        await context.SendEndpointProvider.SendToQueueAsync(names.AgencyQueue(sender.Value), new EnvelopeHeld(
            failed.EnvelopeId, sender.Value, ReasonCode.ProcessingFailed.ToCode(),
            $"The hub could not process this submission (message {messageId}) and holds it in its error queue. Not final: its operator may "
            + "re-send it, after which it is processed as usual, or discard it.",
            now), cancellationToken);
    }
}
