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

    /// <summary>
    /// The tag that names a tier (province, district, commune, central, or unknown): the sender's for what is sent or
    /// refused, the recipient's for what is delivered, pending or late. Tiers, not agencies: a closed set.
    /// </summary>
    public const string TierTag = "tier";

    /// <summary>The tag that names a queue (an endpoint's <c>_error</c> queue for dead letters).</summary>
    public const string QueueTag = "queue";

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

    /// <summary><c>exchange.deadlines.missed</c>, tagged <see cref="TierTag"/> (the recipient's): deliveries found past their
    /// deadline with no receipt, each time the hub finds one (forwarded again, or given up as expired).</summary>
    public static readonly Counter<long> DeadlinesMissed = Meter.CreateCounter<long>(
        "exchange.deadlines.missed", "{delivery}", "Deliveries found past their deadline without a receipt, by the recipient's tier.");

    /// <summary><c>exchange.messages.dead_lettered</c>, tagged <see cref="QueueTag"/>: messages the hub gave up on and moved
    /// to an error queue. How many wait there now is the broker's own gauge (docs/observability.md).</summary>
    public static readonly Counter<long> MessagesDeadLettered = Meter.CreateCounter<long>(
        "exchange.messages.dead_lettered", "{message}", "Messages moved to an error queue after their retries, by queue.");

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

    /// <param name="tier">The sender's tier; no tag when null.</param>
    public static void RecordEnvelopeAccepted(string? tier = null)
    {
        if (tier is null)
            EnvelopesAccepted.Add(1);
        else
            EnvelopesAccepted.Add(1, new KeyValuePair<string, object?>(TierTag, tier));
    }

    /// <param name="reason">The stable string form of the reason code (a closed set, so the tag stays low-cardinality).</param>
    /// <param name="tier">The sender's tier; no tag when null.</param>
    public static void RecordEnvelopeRejected(string reason, string? tier = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        if (tier is null)
            EnvelopesRejected.Add(1, new KeyValuePair<string, object?>(ReasonTag, reason));
        else
            EnvelopesRejected.Add(1, new KeyValuePair<string, object?>(ReasonTag, reason), new KeyValuePair<string, object?>(TierTag, tier));
    }

    public static void RecordDeadlineMissed(string tier) => DeadlinesMissed.Add(1, new KeyValuePair<string, object?>(TierTag, tier));

    public static void RecordDeadLettered(string queue) => MessagesDeadLettered.Add(1, new KeyValuePair<string, object?>(QueueTag, queue));

    public static void RecordMessageRefused(string message, string reason) =>
        MessagesRefused.Add(1, new KeyValuePair<string, object?>(MessageTag, message), new KeyValuePair<string, object?>(ReasonTag, reason));

    /// <param name="submitToReceipt">From the sender's submission to the recipient's signed receipt.</param>
    /// <param name="tier">The recipient's tier; no tag when null.</param>
    public static void RecordDeliveryConfirmed(TimeSpan submitToReceipt, string? tier = null)
    {
        var milliseconds = Math.Max(0, submitToReceipt.TotalMilliseconds);
        if (tier is null)
        {
            DeliveriesConfirmed.Add(1);
            DeliveryDuration.Record(milliseconds);
            return;
        }

        var tag = new KeyValuePair<string, object?>(TierTag, tier);
        DeliveriesConfirmed.Add(1, tag);
        DeliveryDuration.Record(milliseconds, tag);
    }
}
