using System.Diagnostics;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Exchange.ServiceDefaults;

/// <summary>What to trace and measure, and where to send it; fixed when the host is built.</summary>
internal sealed record TelemetrySetup(string ServiceName, string ServiceInstanceId, string EnvironmentName, OtlpSettings? Otlp)
{
    /// <summary>
    /// ActivitySources traced. Npgsql (since 8.0) and .NET's HttpClient (since 9.0) emit spans with
    /// semantic-convention tags themselves, so no instrumentation package is needed; ASP.NET Core
    /// emits a bare server span that <see cref="RequestActivityEnricher"/> fills in.
    /// </summary>
    public static readonly string[] TraceSources =
    [
        ExchangeTelemetry.SourceName, ExchangeTelemetry.SourceWildcard,
        "MassTransit", "Microsoft.AspNetCore", "System.Net.Http", "Npgsql",
    ];

    /// <summary>
    /// Sources whose spans carry a document's trace context from host to host (HTTP in, bus out, bus
    /// in, HTTP out). With no collector only these get an Activity, so that W3C trace context still
    /// flows and log lines in every host share the document's trace id. Npgsql is left out: its spans
    /// propagate nothing and there is one per command.
    /// </summary>
    public static readonly string[] PropagationSources =
    [
        ExchangeTelemetry.SourceName, ExchangeTelemetry.SourceWildcard,
        "MassTransit", "Microsoft.AspNetCore", "System.Net.Http",
    ];

    public static readonly string[] Meters =
    [
        ExchangeTelemetry.SourceName, ExchangeTelemetry.SourceWildcard,
        "MassTransit", "Npgsql",
        "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel",
        "System.Net.Http", "System.Runtime",
    ];

    public const string TracesSamplerVariable = "OTEL_TRACES_SAMPLER";

    public ResourceBuilder CreateResource() => ResourceBuilder.CreateDefault()
        .AddService(ServiceName, serviceNamespace: "exchange", serviceInstanceId: ServiceInstanceId, autoGenerateServiceInstanceId: false)
        .AddAttributes(
        [
            new("deployment.environment.name", EnvironmentName),
            new("host.name", Environment.MachineName),
        ]);
}

/// <summary>
/// Owns the tracer and meter providers for the life of the host, since OpenTelemetry.Extensions.Hosting
/// is not available here. Built in <see cref="StartingAsync"/>, before any hosted service starts (so the
/// bus's first spans are seen), and disposed, which flushes what is buffered, in <see cref="StoppedAsync"/>,
/// after every hosted service has stopped.
/// </summary>
internal sealed class TelemetryHostedService(TelemetrySetup setup, ILogger<TelemetryHostedService> logger) : IHostedLifecycleService, IDisposable
{
    readonly Lock gate = new();

    public TracerProvider? TracerProvider { get; private set; }

    public MeterProvider? MeterProvider { get; private set; }

    /// <summary>The listener used instead of a tracer provider when no collector is configured.</summary>
    public ActivityListener? PropagationListener { get; private set; }

    public Task StartingAsync(CancellationToken cancellationToken)
    {
        lock (gate)
        {
            if (TracerProvider is not null || PropagationListener is not null)
                return Task.CompletedTask;

            if (setup.Otlp is { } otlp)
            {
                TracerProvider = BuildTracerProvider(otlp);
                MeterProvider = BuildMeterProvider(otlp);
                logger.LogInformation(
                    "Exporting traces, metrics and logs of {ServiceName} over OTLP ({Protocol}) to {Endpoint}",
                    setup.ServiceName, otlp.Protocol, otlp.Endpoint.GetLeftPart(UriPartial.Authority));
            }
            else
            {
                PropagationListener = PropagationOnly.CreateListener(TelemetrySetup.PropagationSources);
                ActivitySource.AddActivityListener(PropagationListener);
                logger.LogDebug("No OTLP endpoint configured: trace context is propagated, nothing is exported");
            }
        }

        return Task.CompletedTask;
    }

    TracerProvider BuildTracerProvider(OtlpSettings otlp)
    {
        var builder = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(setup.CreateResource())
            .AddSource(TelemetrySetup.TraceSources);

        // Every hop of a document is recorded whatever the caller decided, so that a gateway that
        // exports nothing (and so marks its spans unsampled) does not blank out the hub's spans.
        // An operator who needs sampling sets OTEL_TRACES_SAMPLER, which the SDK then reads.
        if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(TelemetrySetup.TracesSamplerVariable)))
            builder.SetSampler(new AlwaysOnSampler());

        return builder
            .AddOtlpExporter(o => otlp.Apply(o, "traces"))
            .Build();
    }

    MeterProvider BuildMeterProvider(OtlpSettings otlp) => Sdk.CreateMeterProviderBuilder()
        .SetResourceBuilder(setup.CreateResource())
        .AddMeter(TelemetrySetup.Meters)
        .AddOtlpExporter(o => otlp.Apply(o, "metrics"))
        .Build();

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken)
    {
        Dispose();
        return Task.CompletedTask;
    }

    public void Dispose()
    {
        lock (gate)
        {
            // Disposing a provider shuts it down, which exports what the batch processor still holds.
            TracerProvider?.Dispose();
            MeterProvider?.Dispose();
            PropagationListener?.Dispose();
            TracerProvider = null;
            MeterProvider = null;
            PropagationListener = null;
        }
    }
}

/// <summary>
/// An ActivityListener that asks for the least that keeps W3C trace context flowing: an Activity
/// with ids and no data. When the caller's context says "sampled", the Activity keeps that flag
/// (and so records data nobody reads) so that the decision reaches the next hop intact.
/// </summary>
internal static class PropagationOnly
{
    public static ActivityListener CreateListener(IEnumerable<string> sourceNames)
    {
        var matches = Matcher(sourceNames);
        return new ActivityListener
        {
            ShouldListenTo = source => matches(source.Name),
            Sample = static (ref ActivityCreationOptions<ActivityContext> options) =>
                options.Parent != default && options.Parent.TraceFlags.HasFlag(ActivityTraceFlags.Recorded)
                    ? ActivitySamplingResult.AllDataAndRecorded
                    : ActivitySamplingResult.PropagationData,
        };
    }

    /// <summary>Name matching as OpenTelemetry's AddSource does it: exact, or with '*' as a wildcard, case-insensitive.</summary>
    internal static Func<string, bool> Matcher(IEnumerable<string> patterns)
    {
        var regex = new Regex(
            "^(?:" + string.Join('|', patterns.Select(p => Regex.Escape(p).Replace("\\*", ".*", StringComparison.Ordinal))) + ")$",
            RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Compiled);
        return regex.IsMatch;
    }
}
