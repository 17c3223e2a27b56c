using System.Diagnostics;
using System.Diagnostics.Metrics;
using Exchange.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Exporter;

namespace Exchange.ServiceDefaults.Tests;

// ActivityListeners and meter listeners are process-wide: these tests must not overlap others.
[NonParallelizable]
public sealed class TelemetryTests
{
    static HostApplicationBuilder HostBuilder(IDictionary<string, string?>? configuration = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "" });
        if (configuration is not null)
            builder.Configuration.AddInMemoryCollection(configuration);
        return builder;
    }

    // Later pairs override earlier ones with the same key, as later configuration sources do.
    static IConfiguration Configuration(params (string Key, string? Value)[] values)
    {
        var pairs = new Dictionary<string, string?>();
        foreach (var (key, value) in values)
            pairs[key] = value;
        return new ConfigurationBuilder().AddInMemoryCollection(pairs).Build();
    }

    [Test]
    public void Finds_no_collector_when_no_endpoint_is_configured()
    {
        Assert.That(OtlpSettings.Resolve(Configuration(("OTEL_EXPORTER_OTLP_ENDPOINT", ""))), Is.Null);
    }

    [Test]
    public void The_configuration_key_wins_over_the_environment_variable()
    {
        var otlp = OtlpSettings.Resolve(Configuration(
            ("OpenTelemetry:Otlp:Endpoint", "http://collector.example:4317"),
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://other.example:4317")));

        Assert.That(otlp!.Endpoint, Is.EqualTo(new Uri("http://collector.example:4317")));
        Assert.That(otlp.Protocol, Is.EqualTo(OtlpExportProtocol.Grpc));
        Assert.That(otlp.SignalEndpoint("traces"), Is.EqualTo(otlp.Endpoint), "gRPC has no per-signal path");
    }

    [TestCase("http://collector.example:4318", "http://collector.example:4318/v1/traces")]
    [TestCase("http://collector.example:4318/", "http://collector.example:4318/v1/traces")]
    [TestCase("https://gw.example/otlp", "https://gw.example/otlp/v1/traces")]
    public void Http_protobuf_appends_the_signal_path_to_the_base_endpoint(string endpoint, string traces)
    {
        var otlp = OtlpSettings.Resolve(Configuration(("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint), ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")));

        Assert.That(otlp!.SignalEndpoint("traces"), Is.EqualTo(new Uri(traces)));
    }

    [TestCase("OpenTelemetry:Otlp:Endpoint", "collector:4317")]
    [TestCase("OpenTelemetry:Otlp:Endpoint", "ftp://collector.example")]
    [TestCase("OpenTelemetry:Otlp:Protocol", "http/json")]
    public void Refuses_an_unusable_setting_and_names_it(string key, string value)
    {
        var configuration = Configuration(("OpenTelemetry:Otlp:Endpoint", "http://collector.example:4317"), (key, value));

        var error = Assert.Throws<InvalidOperationException>(() => OtlpSettings.Resolve(configuration));

        Assert.That(error.Message, Does.Contain(key));
    }

    [Test]
    public async Task Without_a_collector_nothing_is_exported_yet_trace_context_still_propagates()
    {
        var builder = HostBuilder();
        builder.AddServiceDefaults("exchange-tests");
        var host = builder.Build();
        await host.StartAsync();

        using var massTransit = new ActivitySource("MassTransit");
        using (var submit = ExchangeTelemetry.Source.StartActivity("submit"))
        {
            Assert.That(submit, Is.Not.Null, "an Activity exists, so its context can be propagated");
            Assert.That(submit!.IsAllDataRequested, Is.False, "but it records nothing");
            Assert.That(submit.Recorded, Is.False);

            using var send = massTransit.StartActivity("exchange send", ActivityKind.Producer);
            Assert.That(send?.TraceId, Is.EqualTo(submit.TraceId), "the bus's span joins the document's trace");
        }

        // A caller that sampled keeps its decision through this host.
        var sampledParent = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded, isRemote: true);
        using (var consume = massTransit.StartActivity("exchange process", ActivityKind.Consumer, sampledParent))
        {
            Assert.That(consume?.Recorded, Is.True);
            Assert.That(consume?.TraceId, Is.EqualTo(sampledParent.TraceId));
        }

        using var npgsql = new ActivitySource("Npgsql");
        Assert.That(npgsql.HasListeners(), Is.False, "one span per SQL command is not worth it when nothing exports");

        await host.StopAsync();
        host.Dispose();
        Assert.That(ExchangeTelemetry.Source.HasListeners(), Is.False, "the tracer provider goes with the host");
    }

    [Test]
    public async Task Exports_spans_metrics_and_logs_to_the_configured_collector_and_flushes_at_stop()
    {
        await using var collector = new OtlpCollector();
        var builder = HostBuilder(new Dictionary<string, string?>
        {
            ["OpenTelemetry:Otlp:Endpoint"] = collector.Endpoint.ToString(),
            ["OpenTelemetry:Otlp:Protocol"] = "http/protobuf",
        });
        builder.AddServiceDefaults("exchange-otlp-test");
        using (var host = builder.Build())
        {
            await host.StartAsync();

            using var routerSource = new ActivitySource("Exchange.Router");
            using (var span = routerSource.StartActivity("route-envelope"))
            {
                Assert.That(span?.Recorded, Is.True);
                ExchangeTelemetry.RecordEnvelopeRejected("SIGNATURE_INVALID");
                host.Services.GetRequiredService<ILogger<TelemetryTests>>().LogInformation("Rejected envelope {EnvelopeId}", "env-0001");
            }

            await host.StopAsync();
        }

        Assert.That(collector.Received("/v1/traces"), Does.Contain("route-envelope").And.Contain("exchange-otlp-test"));
        Assert.That(collector.Received("/v1/metrics"), Does.Contain("exchange.envelopes.rejected").And.Contain("SIGNATURE_INVALID"));
        Assert.That(collector.Received("/v1/logs"), Does.Contain("env-0001"));
        Assert.That(collector.Requests.Select(r => r.ContentType), Is.All.EqualTo("application/x-protobuf"));
    }

    [Test]
    public async Task Exports_named_request_spans_but_not_health_probes()
    {
        await using var collector = new OtlpCollector();
        var builder = TestHosts.WebBuilder(new Dictionary<string, string?>
        {
            ["OpenTelemetry:Otlp:Endpoint"] = collector.Endpoint.ToString(),
            ["OpenTelemetry:Otlp:Protocol"] = "http/protobuf",
        });
        builder.AddServiceDefaults("exchange-otlp-web-test");
        await using (var app = builder.Build())
        {
            app.MapGet("/documents/{id}", (string id) => Results.Ok(id));
            app.MapDefaultEndpoints();
            await app.StartAsync();
            using (var client = new HttpClient { BaseAddress = app.BaseAddress() })
            {
                (await client.GetAsync(new Uri("/health/ready", UriKind.Relative))).Dispose();
                (await client.GetAsync(new Uri("/documents/42", UriKind.Relative))).Dispose();
            }

            await app.StopAsync();
        }

        var traces = collector.Received("/v1/traces");
        Assert.That(traces, Does.Contain("GET /documents/{id}"));
        // An unenriched server span keeps ASP.NET Core's operation name; the probe's must not be there.
        Assert.That(traces, Does.Not.Contain("Microsoft.AspNetCore.Hosting.HttpRequestIn"));
    }

    [Test]
    public async Task Names_request_spans_by_route_with_http_tags_and_drops_health_probes()
    {
        var stopped = new List<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = s => s.Name == "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a => { lock (stopped) stopped.Add(a); },
        };
        ActivitySource.AddActivityListener(listener);

        var builder = TestHosts.WebBuilder();
        builder.AddServiceDefaults("exchange-tests");
        await using var app = builder.Build();
        app.MapGet("/documents/{id}", (string id) => Results.Ok(id));
        app.MapDefaultEndpoints();
        await app.StartAsync();
        using (var client = new HttpClient { BaseAddress = app.BaseAddress() })
        {
            (await client.GetAsync(new Uri("/documents/000.00.00.H01-2025-1?secret=x", UriKind.Relative))).Dispose();
            (await client.GetAsync(new Uri("/health/live", UriKind.Relative))).Dispose();
        }

        await app.StopAsync();

        Activity document, probe;
        lock (stopped)
        {
            document = stopped.Single(a => (a.GetTagItem("url.path") as string)?.StartsWith("/documents/", StringComparison.Ordinal) == true);
            probe = stopped.Single(a => a != document);
        }

        Assert.Multiple(() =>
        {
            Assert.That(document.DisplayName, Is.EqualTo("GET /documents/{id}"));
            Assert.That(document.GetTagItem("http.route"), Is.EqualTo("/documents/{id}"));
            Assert.That(document.GetTagItem("http.request.method"), Is.EqualTo("GET"));
            Assert.That(document.GetTagItem("http.response.status_code"), Is.EqualTo(200));
            Assert.That(document.GetTagItem("url.path"), Is.EqualTo("/documents/000.00.00.H01-2025-1"), "no query string");
            Assert.That(probe.Recorded, Is.False, "health probes are not exported");
        });
    }

    [Test]
    public async Task Serves_the_project_s_and_the_runtime_s_metrics_at_metrics_without_a_key()
    {
        var builder = TestHosts.WebBuilder();
        builder.AddServiceDefaults("exchange-tests");
        await using var app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync();
        ExchangeTelemetry.RecordEnvelopeRejected("SIGNATURE_INVALID");

        using var client = new HttpClient { BaseAddress = app.BaseAddress() };
        using var response = await client.GetAsync(new Uri("/metrics", UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();

        Assert.That(response.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.OK));
        Assert.That(text, Does.Contain("exchange_envelopes_rejected_total{").And.Contain("reason=\"SIGNATURE_INVALID\""));
        Assert.That(text, Does.Contain("dotnet_gc_collections_total").Or.Contain("process_runtime_dotnet"), "the runtime's own metrics");
        await app.StopAsync();
    }

    [Test]
    public void Records_rejections_by_reason_and_delivery_time_in_milliseconds()
    {
        var measured = new List<(string Instrument, double Value, object? Reason)>();
        using var meters = new MeterListener();
        meters.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter == ExchangeTelemetry.Meter)
                l.EnableMeasurementEvents(instrument);
        };
        meters.SetMeasurementEventCallback<long>((i, value, tags, _) => measured.Add((i.Name, value, Reason(tags))));
        meters.SetMeasurementEventCallback<double>((i, value, tags, _) => measured.Add((i.Name, value, Reason(tags))));
        meters.Start();

        ExchangeTelemetry.RecordEnvelopeAccepted();
        ExchangeTelemetry.RecordEnvelopeRejected("SENDER_NOT_BOUND");
        ExchangeTelemetry.RecordDeliveryConfirmed(TimeSpan.FromSeconds(2.5));

        Assert.That(measured, Is.EquivalentTo(new (string, double, object?)[]
        {
            ("exchange.envelopes.accepted", 1, null),
            ("exchange.envelopes.rejected", 1, "SENDER_NOT_BOUND"),
            ("exchange.deliveries.confirmed", 1, null),
            ("exchange.delivery.duration", 2500, null),
        }));
        Assert.That(ExchangeTelemetry.DeliveryDuration.Unit, Is.EqualTo("ms"));

        static object? Reason(ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            foreach (var tag in tags)
            {
                if (tag.Key == ExchangeTelemetry.ReasonTag)
                    return tag.Value;
            }

            return null;
        }
    }
}
