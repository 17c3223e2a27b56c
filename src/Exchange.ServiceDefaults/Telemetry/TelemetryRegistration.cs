using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;
using OpenTelemetry;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Exchange.ServiceDefaults;

/// <summary>
/// Registers OpenTelemetry through its hosting package: the tracer and meter providers are built before any hosted
/// service starts (so the bus's first spans are seen) and disposed, which flushes what is buffered, when the host's
/// service provider is disposed.
/// </summary>
internal static class TelemetryRegistration
{
    /// <summary>ActivitySources of the project and of MassTransit; ASP.NET Core, HttpClient and Npgsql come from their instrumentation.</summary>
    public static readonly string[] Sources = [ExchangeTelemetry.SourceName, ExchangeTelemetry.SourceWildcard, "MassTransit"];

    /// <summary>Meters of the project and of MassTransit; ASP.NET Core, HttpClient, the runtime and Npgsql come from their instrumentation.</summary>
    public static readonly string[] Meters = [ExchangeTelemetry.SourceName, ExchangeTelemetry.SourceWildcard, "MassTransit"];

    public const string TracesSamplerVariable = "OTEL_TRACES_SAMPLER";

    public static void AddExchangeTelemetry(this IHostApplicationBuilder builder, string serviceName, OtlpSettings? otlp)
    {
        var telemetry = builder.Services.AddOpenTelemetry()
            .ConfigureResource(resource => resource
                .AddService(serviceName, serviceNamespace: "exchange", autoGenerateServiceInstanceId: true)
                .AddAttributes(
                [
                    new("deployment.environment.name", builder.Environment.EnvironmentName),
                    new("host.name", Environment.MachineName),
                ]))
            .WithTracing(tracing =>
            {
                tracing
                    .AddSource(Sources)
                    .AddAspNetCoreInstrumentation(o => o.Filter = context => !IsProbeOrScrape(context.Request.Path))
                    .AddHttpClientInstrumentation();

                if (otlp is null)
                {
                    // Nothing is exported: spans carry ids and no data, only so that W3C trace context flows from hop
                    // to hop and log lines in every host share the document's trace id.
                    tracing.SetSampler(new PropagationOnlySampler());
                    return;
                }

                // One client span per SQL command: worth it only when someone reads them.
                tracing.AddNpgsql();

                // Every hop of a document is recorded whatever the caller decided, so that a gateway that exports
                // nothing (and so marks its spans unsampled) does not blank out the hub's spans. An operator who
                // needs sampling sets OTEL_TRACES_SAMPLER, which the SDK then reads.
                if (string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(TracesSamplerVariable)))
                    tracing.SetSampler(new AlwaysOnSampler());
                tracing.AddOtlpExporter(o => otlp.Apply(o, "traces"));
            })
            .WithMetrics(metrics =>
            {
                metrics
                    .AddMeter(Meters)
                    .AddAspNetCoreInstrumentation()
                    .AddHttpClientInstrumentation()
                    .AddRuntimeInstrumentation()
                    .AddNpgsqlInstrumentation()
                    // Served at /metrics by MapDefaultEndpoints, for Prometheus to scrape.
                    .AddPrometheusExporter();
                if (otlp is not null)
                    metrics.AddOtlpExporter(o => otlp.Apply(o, "metrics"));
            });

        if (otlp is not null)
        {
            // Log records carry the trace and span ids of the Activity current when they are written.
            telemetry.WithLogging(
                logging => logging.AddOtlpExporter(o => otlp.Apply(o, "logs")),
                options =>
                {
                    options.IncludeScopes = true;
                    options.IncludeFormattedMessage = true;
                });
        }
    }

    /// <summary>Health probes and metric scrapes arrive every few seconds and would bury the documents' spans.</summary>
    static bool IsProbeOrScrape(PathString path) =>
        path.StartsWithSegments(ServiceDefaultsExtensions.HealthPathPrefix, StringComparison.OrdinalIgnoreCase)
        || path.StartsWithSegments(ServiceDefaultsExtensions.MetricsPath, StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// The sampler used when nothing is exported: a span with ids and no data, so that trace context still flows. The
/// SDK creates no span at all for a dropped child of an in-process span, and MassTransit sends trace context only
/// from its own span, so such a child is kept (with data nobody reads, and unsampled). When the caller's context says
/// "sampled", the span keeps that flag so that the decision reaches the next hop intact.
/// </summary>
internal sealed class PropagationOnlySampler : Sampler
{
    public override SamplingResult ShouldSample(in SamplingParameters samplingParameters)
    {
        var parent = samplingParameters.ParentContext;
        if (parent.TraceFlags.HasFlag(ActivityTraceFlags.Recorded))
            return new SamplingResult(SamplingDecision.RecordAndSample);
        var inProcessChild = parent.TraceId != default && !parent.IsRemote;
        return new SamplingResult(inProcessChild ? SamplingDecision.RecordOnly : SamplingDecision.Drop);
    }
}
