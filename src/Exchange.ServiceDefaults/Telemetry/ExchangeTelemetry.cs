using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Exchange.ServiceDefaults;

/// <summary>
/// The project's own ActivitySource and Meter, and the instruments every host records to. A host
/// that wants a source of its own names it "Exchange.Something": <see cref="ServiceDefaultsExtensions.AddServiceDefaults"/>
/// listens to "Exchange" and "Exchange.*".
/// </summary>
public static class ExchangeTelemetry
{
    public const string SourceName = "Exchange";

    /// <summary>Matches the sources and meters of hosts that name theirs "Exchange.Router" and so on.</summary>
    public const string SourceWildcard = "Exchange.*";

    /// <summary>The tag that says why an envelope was rejected: one of the stable reason codes.</summary>
    public const string ReasonTag = "reason";

    static readonly string? Version = typeof(ExchangeTelemetry).Assembly.GetName().Version?.ToString();

    public static readonly ActivitySource Source = new(SourceName, Version);

    public static readonly Meter Meter = new(SourceName, Version);

    /// <summary><c>exchange.envelopes.accepted</c>: envelopes whose signature and sender checked out.</summary>
    public static readonly Counter<long> EnvelopesAccepted = Meter.CreateCounter<long>(
        "exchange.envelopes.accepted", "{envelope}", "Envelopes accepted after their signature and sender were verified.");

    /// <summary><c>exchange.envelopes.rejected</c>, tagged <see cref="ReasonTag"/> with the reason code.</summary>
    public static readonly Counter<long> EnvelopesRejected = Meter.CreateCounter<long>(
        "exchange.envelopes.rejected", "{envelope}", "Envelopes rejected, by reason code.");

    /// <summary>The tag that names the refused message's type, e.g. <c>SubmitDeliveryReceipt</c>.</summary>
    public const string MessageTag = "message";

    /// <summary>The name of <see cref="MessagesRefused"/> (a constant, so a listener can match it without initialising this class).</summary>
    public const string MessagesRefusedName = "exchange.messages.refused";

    /// <summary>
    /// <c>exchange.messages.refused</c>: receipts, statuses and reports the hub refused, tagged <see cref="MessageTag"/>
    /// and <see cref="ReasonTag"/>. Hostile or broken senders show here first; unsigned reports that are refused leave
    /// no evidence, only this count and a warning in the log.
    /// </summary>
    public static readonly Counter<long> MessagesRefused = Meter.CreateCounter<long>(
        MessagesRefusedName, "{message}", "Receipts, statuses and reports refused by the hub, by message type and reason code.");

    /// <summary><c>exchange.deliveries.confirmed</c>: deliveries for which a signed receipt came back.</summary>
    public static readonly Counter<long> DeliveriesConfirmed = Meter.CreateCounter<long>(
        "exchange.deliveries.confirmed", "{delivery}", "Deliveries confirmed by a signed delivery receipt.");

    /// <summary>
    /// <c>exchange.delivery.duration</c> in milliseconds, from submission to receipt. The buckets
    /// reach a day: a commune office that is offline over a weekend is normal, not an outlier.
    /// </summary>
    public static readonly Histogram<double> DeliveryDuration = Meter.CreateHistogram(
        "exchange.delivery.duration",
        unit: "ms",
        description: "Time from a document's submission to the recipient's signed receipt.",
        tags: null,
        advice: new InstrumentAdvice<double>
        {
            HistogramBucketBoundaries =
            [
                10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000,
                300_000, 900_000, 3_600_000, 14_400_000, 86_400_000,
            ],
        });

    public static void RecordEnvelopeAccepted() => EnvelopesAccepted.Add(1);

    /// <param name="reason">The stable string form of the reason code (a closed set, so the tag stays low-cardinality).</param>
    public static void RecordEnvelopeRejected(string reason)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        EnvelopesRejected.Add(1, new KeyValuePair<string, object?>(ReasonTag, reason));
    }

    public static void RecordMessageRefused(string message, string reason) =>
        MessagesRefused.Add(1, new KeyValuePair<string, object?>(MessageTag, message), new KeyValuePair<string, object?>(ReasonTag, reason));

    /// <param name="submitToReceipt">From the sender's submission to the recipient's signed receipt.</param>
    public static void RecordDeliveryConfirmed(TimeSpan submitToReceipt)
    {
        DeliveriesConfirmed.Add(1);
        DeliveryDuration.Record(Math.Max(0, submitToReceipt.TotalMilliseconds));
    }
}
