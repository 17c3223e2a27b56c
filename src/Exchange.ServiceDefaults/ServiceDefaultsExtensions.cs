using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Exchange.ServiceDefaults;

/// <summary>What every Exchange host (router, gateway, audit) adds: telemetry, health checks, resilience.</summary>
public static class ServiceDefaultsExtensions
{
    public const string HealthPathPrefix = "/health";
    public const string LivenessPath = "/health/live";
    public const string ReadinessPath = "/health/ready";
    public const string MetricsPath = "/metrics";

    /// <summary>
    /// Adds, for the host named <paramref name="serviceName"/>:
    /// <list type="bullet">
    /// <item>OpenTelemetry traces, metrics and logs, exported over OTLP only when
    /// <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or <c>OpenTelemetry:Otlp:Endpoint</c> is set (otherwise only the
    /// trace context is propagated), and metrics always served for Prometheus by <see cref="MapDefaultEndpoints"/>;</item>
    /// <item>the health check service, to which hosts add <see cref="HealthChecksBuilderExtensions.AddPostgresCheck"/>
    /// (MassTransit adds its own bus check, tagged "ready");</item>
    /// <item>a <see cref="ResiliencePipelines"/> singleton, configured from the <c>Resilience</c> section.</item>
    /// </list>
    /// </summary>
    /// <exception cref="InvalidOperationException">The OTLP endpoint or protocol is set to something unusable.</exception>
    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(serviceName);

        builder.AddExchangeTelemetry(serviceName, OtlpSettings.Resolve(builder.Configuration));

        builder.Services.AddHealthChecks();

        builder.Services.AddOptions<ResilienceOptions>().BindConfiguration(ResilienceOptions.SectionName);
        builder.Services.TryAddSingleton<ResiliencePipelines>();

        return builder;
    }

    /// <summary>
    /// Maps <c>/health/live</c> (answers 200 while the process serves requests; runs no check) and
    /// <c>/health/ready</c> (runs every check tagged "ready": PostgreSQL, the bus). Both answer JSON
    /// with each check's status and duration; an unhealthy result answers 503. Both are open to callers
    /// without credentials (load balancers and orchestrators probe them), also on hosts whose other
    /// endpoints require an API key: they say nothing about documents. Also maps <c>/metrics</c> (Prometheus text
    /// format), open for the same reason.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);

        app.MapHealthChecks(LivenessPath, new HealthCheckOptions
        {
            Predicate = _ => false,
            ResponseWriter = HealthResponseWriter.WriteAsync,
        }).AllowAnonymous();
        app.MapHealthChecks(ReadinessPath, new HealthCheckOptions
        {
            Predicate = check => check.Tags.Contains(HealthChecksBuilderExtensions.ReadyTag),
            ResponseWriter = HealthResponseWriter.WriteAsync,
            ResultStatusCodes =
            {
                [HealthStatus.Healthy] = StatusCodes.Status200OK,
                [HealthStatus.Degraded] = StatusCodes.Status200OK,
                [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
            },
        }).AllowAnonymous();

        // Open like the probes: a scraper is not a document system and holds no API key. What it reads are counts
        // tagged by closed sets (reason codes, tiers, queue names), never a document, an agency's traffic on its own
        // or a credential; restrict who reaches the port at the network, as for /health (docs/observability.md).
        app.MapPrometheusScrapingEndpoint(MetricsPath).AllowAnonymous();
        return app;
    }
}
