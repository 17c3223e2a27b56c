using System.Diagnostics;
using System.Diagnostics.Metrics;
using Exchange.Core;

namespace Exchange.Signing;

/// <summary>
/// The "Exchange.Signing" meter: every CMS verification the process makes (hub and gateways alike), its verdict and
/// its time. Hosts export it with the other "Exchange.*" meters.
/// </summary>
public static class SignatureMetrics
{
    public const string MeterName = "Exchange.Signing";

    /// <summary>The tag holding the verdict: <c>ok</c> or the stable reason code of the refusal.</summary>
    public const string ResultTag = "result";

    static readonly Meter Meter = new(MeterName, typeof(SignatureMetrics).Assembly.GetName().Version?.ToString());

    /// <summary><c>exchange.signature.verifications</c>, tagged <see cref="ResultTag"/>.</summary>
    public static readonly Counter<long> Verifications = Meter.CreateCounter<long>(
        "exchange.signature.verifications", "{verification}", "CMS signature verifications, by verdict (ok or the reason code).");

    /// <summary>
    /// <c>exchange.signature.verification.duration</c> in seconds. A cached chain makes one verification well under a
    /// millisecond; a cold chain with a CRL to fetch takes seconds, hence buckets from 0.1 ms to 10 s.
    /// </summary>
    public static readonly Histogram<double> VerificationDuration = Meter.CreateHistogram(
        "exchange.signature.verification.duration",
        unit: "s",
        description: "Time to verify one CMS signature, content hashing included.",
        tags: null,
        advice: new InstrumentAdvice<double>
        {
            HistogramBucketBoundaries = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
        });

    /// <summary>Records <paramref name="result"/> and the time since <paramref name="startedTimestamp"/> (<see cref="Stopwatch.GetTimestamp"/>).</summary>
    public static VerificationResult Record(VerificationResult result, long startedTimestamp)
    {
        ArgumentNullException.ThrowIfNull(result);
        var tag = new KeyValuePair<string, object?>(ResultTag, result.Reason.ToCode());
        Verifications.Add(1, tag);
        VerificationDuration.Record(Stopwatch.GetElapsedTime(startedTimestamp).TotalSeconds, tag);
        return result;
    }
}
