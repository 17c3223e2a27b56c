using System.Net;
using System.Text.Json;
using Exchange.ServiceDefaults;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Exchange.ServiceDefaults.Tests;

public sealed class HealthEndpointTests
{
    static async Task<(HttpStatusCode Status, JsonElement Body)> Get(WebApplication app, string path)
    {
        using var client = new HttpClient { BaseAddress = app.BaseAddress() };
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/json"));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        return (response.StatusCode, body);
    }

    static JsonElement Check(JsonElement body, string name) =>
        body.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    [Test]
    public async Task Ready_answers_503_when_postgresql_is_not_listening()
    {
        var connectionString = (ServerSettings.Defaults with { PostgresPort = TestHosts.ClosedPort(), PostgresPassword = "pg-secret" })
            .PostgresConnectionString("exchange_hub");
        var builder = TestHosts.WebBuilder();
        builder.AddServiceDefaults("exchange-tests");
        builder.Services.AddHealthChecks().AddPostgresCheck("postgres", _ => connectionString);
        await using var app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync();

        var (status, body) = await Get(app, "/health/ready");

        Assert.That(status, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
        Assert.That(body.GetProperty("status").GetString(), Is.EqualTo("Unhealthy"));
        var postgres = Check(body, "postgres");
        Assert.That(postgres.GetProperty("status").GetString(), Is.EqualTo("Unhealthy"));
        Assert.That(postgres.GetProperty("durationMs").GetDouble(), Is.GreaterThanOrEqualTo(0));
        Assert.That(postgres.GetProperty("description").GetString(), Does.StartWith("PostgreSQL unreachable"));
        Assert.That(postgres.GetProperty("tags").EnumerateArray().Select(t => t.GetString()), Does.Contain("ready"));
        Assert.That(body.GetRawText(), Does.Not.Contain("pg-secret"));

        await app.StopAsync();
    }

    [Test]
    public async Task Live_answers_200_while_the_process_runs_whatever_the_checks_say()
    {
        var builder = TestHosts.WebBuilder();
        builder.AddServiceDefaults("exchange-tests");
        builder.Services.AddHealthChecks().AddCheck("broken", () => HealthCheckResult.Unhealthy("down"), ["ready"]);
        await using var app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync();

        var (status, body) = await Get(app, "/health/live");

        Assert.That(status, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(body.GetProperty("status").GetString(), Is.EqualTo("Healthy"));
        Assert.That(body.GetProperty("checks").GetArrayLength(), Is.Zero);

        await app.StopAsync();
    }

    [Test]
    public async Task Ready_answers_200_listing_only_the_checks_tagged_ready()
    {
        var builder = TestHosts.WebBuilder();
        builder.AddServiceDefaults("exchange-tests");
        builder.Services.AddHealthChecks()
            .AddCheck("bus", () => HealthCheckResult.Healthy(), ["ready", "masstransit"])
            .AddCheck("slow-disk", () => HealthCheckResult.Degraded("90% full"), ["ready"])
            .AddCheck("not-for-readiness", () => HealthCheckResult.Unhealthy());
        await using var app = builder.Build();
        app.MapDefaultEndpoints();
        await app.StartAsync();

        var (status, body) = await Get(app, "/health/ready");

        Assert.That(status, Is.EqualTo(HttpStatusCode.OK), "degraded still takes work");
        Assert.That(body.GetProperty("status").GetString(), Is.EqualTo("Degraded"));
        Assert.That(body.GetProperty("checks").EnumerateArray().Select(c => c.GetProperty("name").GetString()),
            Is.EqualTo(new[] { "bus", "slow-disk" }));
        Assert.That(Check(body, "slow-disk").GetProperty("description").GetString(), Is.EqualTo("90% full"));

        await app.StopAsync();
    }

    [Test]
    public async Task Postgres_check_answers_with_its_registrations_failure_status_instead_of_throwing()
    {
        var check = new PostgresHealthCheck("Host=127.0.0.1;Port=" + TestHosts.ClosedPort() + ";Timeout=2");
        var registration = new HealthCheckRegistration("postgres", check, HealthStatus.Degraded, ["ready"]);

        var result = await check.CheckHealthAsync(new HealthCheckContext { Registration = registration });

        Assert.That(result.Status, Is.EqualTo(HealthStatus.Degraded));
        Assert.That(result.Description, Does.StartWith("PostgreSQL unreachable"));
        Assert.That(result.Exception, Is.Not.Null);
    }
}
