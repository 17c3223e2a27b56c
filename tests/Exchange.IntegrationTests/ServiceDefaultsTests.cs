using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Exchange.Cli;
using Exchange.Gateway;

namespace Exchange.IntegrationTests;

/// <summary>Telemetry and health, as an operator sees them on the real path.</summary>
[TestFixture]
public sealed class ServiceDefaultsTests : ProvinceFixture
{
    [Test]
    public async Task One_trace_spans_the_sender_gateway_the_hub_and_the_recipient_gateway()
    {
        var activities = new ConcurrentBag<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "MassTransit" or "Exchange" or "Microsoft.AspNetCore" or "Npgsql",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Add,
        };
        ActivitySource.AddActivityListener(listener);
        using var caller = new ActivitySource("Exchange.Tests");
        using var callerListener = new ActivityListener
        {
            ShouldListenTo = s => s == caller,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
        };
        ActivitySource.AddActivityListener(callerListener);

        SubmissionAnswer answer;
        ActivityTraceId traceId;
        using (var root = caller.StartActivity("document system submits"))
        {
            traceId = root!.TraceId;
            answer = await Client(SampleDirectory.HomeAffairs).SendDocumentAsync(
                new DocumentMetadata([SampleDirectory.PhucXaWard], "Công văn có vết theo dõi", CodeNotation: "TRACE"),
                [("a.txt", "text/plain", "x"u8.ToArray())]);
        }

        Assert.That((await WaitForOutcomeAsync(SampleDirectory.HomeAffairs, answer.EnvelopeId)).State, Is.EqualTo("delivered"));
        await Task.Delay(500); // the sender's last consume activity stops just after its state is written

        var consumers = activities.Where(a => a.TraceId == traceId)
            .SelectMany(a => a.TagObjects.Select(t => t.Value?.ToString() ?? string.Empty))
            .ToList();
        Assert.Multiple(() =>
        {
            Assert.That(consumers, Has.Some.Contains("SubmitEnvelopeConsumer"), "the hub's consume of the submission");
            Assert.That(consumers, Has.Some.Contains("DeliverEnvelopeConsumer"), "the recipient gateway's consume of the delivery");
            Assert.That(consumers, Has.Some.Contains("SubmitDeliveryReceiptConsumer"), "the hub's consume of the receipt");
            Assert.That(consumers, Has.Some.Contains("DeliveryConfirmedConsumer"), "the sender gateway's consume of the confirmation");
            Assert.That(activities.Where(a => a.TraceId == traceId).Select(a => a.Source.Name).Distinct(),
                Is.SupersetOf(new[] { "Microsoft.AspNetCore", "MassTransit", "Npgsql" }), "HTTP, the bus and the database in the document's one trace");
        });
    }

    [Test]
    public async Task Ready_endpoints_check_postgresql_and_the_bus()
    {
        using var http = new HttpClient();
        foreach (var url in new[] { Province.Router!.Urls.First(), Province.Gateways[SampleDirectory.PhucXaWard].App.Urls.First() })
        {
            using var ready = await http.GetAsync(new Uri($"{url}/health/ready"));
            var body = await ready.Content.ReadAsStringAsync();

            Assert.That(ready.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
            Assert.That(body, Does.Contain("postgres").And.Contain("masstransit").IgnoreCase, body);
        }
    }
}
