using System.Net;
using System.Net.Sockets;
using Exchange.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Polly;

namespace Exchange.ServiceDefaults.Tests;

public sealed class ResilienceTests
{
    // The shape of the defaults with delays short enough for a unit test.
    static readonly RetryPolicySettings Fast = new()
    {
        MaxRetryAttempts = 5,
        BaseDelay = TimeSpan.FromMilliseconds(1),
        MaxDelay = TimeSpan.FromMilliseconds(20),
        AttemptTimeout = TimeSpan.FromSeconds(10),
    };

    static NpgsqlException ConnectionRefused() =>
        new("Failed to connect to 127.0.0.1:55432", new SocketException((int)SocketError.ConnectionRefused));

    static PostgresException Postgres(string sqlState) =>
        new("server said no; password=hunter2", "ERROR", "ERROR", sqlState);

    [Test]
    public async Task Database_pipeline_retries_a_transient_failure_until_it_succeeds()
    {
        var logger = new RecordingLogger();
        var pipeline = Resilience.CreateDatabasePipeline(logger, Fast);
        var attempts = 0;

        var result = await pipeline.ExecuteAsync(_ =>
        {
            attempts++;
            if (attempts < 3)
                throw ConnectionRefused();
            return ValueTask.FromResult(42);
        });

        Assert.That(result, Is.EqualTo(42));
        Assert.That(attempts, Is.EqualTo(3));
        Assert.That(logger.Entries, Has.Count.EqualTo(2));
        Assert.That(logger.Entries.Select(e => e.Level), Is.All.EqualTo(LogLevel.Warning));
        Assert.That(logger.Entries[0].Message, Does.Contain("retry 1 of 5").And.Contain("NpgsqlException").And.Contain("ConnectionRefused"));
        Assert.That(logger.Entries[1].Message, Does.Contain("retry 2 of 5"));
    }

    [Test]
    public void Database_pipeline_gives_up_at_once_on_a_non_transient_failure()
    {
        var logger = new RecordingLogger();
        var pipeline = Resilience.CreateDatabasePipeline(logger, Fast);
        var attempts = 0;

        var error = Assert.ThrowsAsync<PostgresException>(async () => await pipeline.ExecuteAsync(_ =>
        {
            attempts++;
            throw Postgres(PostgresErrorCodes.UniqueViolation);
        }));

        Assert.That(error.SqlState, Is.EqualTo(PostgresErrorCodes.UniqueViolation));
        Assert.That(attempts, Is.EqualTo(1));
        Assert.That(logger.Entries, Is.Empty);
    }

    [Test]
    public void Database_pipeline_stops_after_its_last_retry_and_rethrows_the_last_failure()
    {
        var pipeline = Resilience.CreateDatabasePipeline(new RecordingLogger(), Fast);
        var attempts = 0;

        Assert.ThrowsAsync<NpgsqlException>(async () => await pipeline.ExecuteAsync(_ =>
        {
            attempts++;
            throw ConnectionRefused();
        }));

        Assert.That(attempts, Is.EqualTo(1 + Fast.MaxRetryAttempts));
    }

    [Test]
    public async Task Database_pipeline_abandons_a_hung_attempt_after_its_timeout_and_retries()
    {
        var settings = new RetryPolicySettings
        {
            MaxRetryAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(1), MaxDelay = TimeSpan.FromMilliseconds(5),
            AttemptTimeout = TimeSpan.FromMilliseconds(100),
        };
        var pipeline = Resilience.CreateDatabasePipeline(new RecordingLogger(), settings);
        var attempts = 0;

        var result = await pipeline.ExecuteAsync(async token =>
        {
            if (++attempts == 1)
                await Task.Delay(Timeout.Infinite, token);
            return "done";
        });

        Assert.That(result, Is.EqualTo("done"));
        Assert.That(attempts, Is.EqualTo(2));
    }

    [Test]
    public void Retry_log_names_the_failure_type_and_sqlstate_but_never_its_message()
    {
        var logger = new RecordingLogger();
        var pipeline = Resilience.CreateDatabasePipeline(logger, Fast with { MaxRetryAttempts = 1 });

        Assert.ThrowsAsync<PostgresException>(async () => await pipeline.ExecuteAsync(_ => throw Postgres(PostgresErrorCodes.SerializationFailure)));

        Assert.That(logger.Entries, Has.Count.EqualTo(1));
        var (_, message, exception) = logger.Entries[0];
        Assert.That(message, Does.Contain("PostgresException SQLSTATE 40001"));
        Assert.That(message, Does.Not.Contain("hunter2"));
        Assert.That(exception, Is.Null, "the exception (and so its message) is not attached to the log entry");
    }

    [TestCase(PostgresErrorCodes.SerializationFailure, true)]
    [TestCase(PostgresErrorCodes.DeadlockDetected, true)]
    [TestCase(PostgresErrorCodes.TooManyConnections, true)]
    [TestCase(PostgresErrorCodes.CannotConnectNow, true)]
    [TestCase(PostgresErrorCodes.AdminShutdown, true)]
    [TestCase(PostgresErrorCodes.LockNotAvailable, true)]
    [TestCase(PostgresErrorCodes.UniqueViolation, false)]
    [TestCase(PostgresErrorCodes.ForeignKeyViolation, false)]
    [TestCase(PostgresErrorCodes.SyntaxError, false)]
    [TestCase(PostgresErrorCodes.InvalidPassword, false)]
    public void Classifies_a_postgres_error_by_its_sqlstate(string sqlState, bool transient)
    {
        Assert.That(Resilience.IsTransientDatabaseFailure(Postgres(sqlState)), Is.EqualTo(transient));
    }

    [Test]
    public void Looks_through_ef_core_wrappers_to_the_provider_failure()
    {
        var transient = new DbUpdateException("An error occurred while saving the entity changes.", Postgres(PostgresErrorCodes.DeadlockDetected));
        var permanent = new DbUpdateException("An error occurred while saving the entity changes.", Postgres(PostgresErrorCodes.UniqueViolation));

        Assert.That(Resilience.IsTransientDatabaseFailure(transient), Is.True);
        Assert.That(Resilience.IsTransientDatabaseFailure(permanent), Is.False);
        Assert.That(Resilience.IsTransientDatabaseFailure(new DbUpdateException("no inner exception")), Is.False);
    }

    [Test]
    public void Counts_timeouts_and_broken_connections_as_transient_and_programming_errors_as_not()
    {
        Assert.That(Resilience.IsTransientDatabaseFailure(new TimeoutException()), Is.True);
        Assert.That(Resilience.IsTransientDatabaseFailure(ConnectionRefused()), Is.True);
        Assert.That(Resilience.IsTransientDatabaseFailure(new NpgsqlException("Exception while reading from stream", new IOException())), Is.True);
        Assert.That(Resilience.IsTransientDatabaseFailure(new ArgumentException("bad")), Is.False);
        Assert.That(Resilience.IsTransientDatabaseFailure(new InvalidOperationException("Connection is not open")), Is.False);
    }

    [Test]
    public async Task Http_pipeline_retries_server_errors_and_throttling_but_returns_a_client_error_as_it_is()
    {
        var pipeline = Resilience.CreateHttpPipeline(new RecordingLogger(), Fast);
        var answers = new Queue<HttpStatusCode>([HttpStatusCode.ServiceUnavailable, HttpStatusCode.TooManyRequests, HttpStatusCode.OK]);

        using var ok = await pipeline.ExecuteAsync(_ => ValueTask.FromResult(new HttpResponseMessage(answers.Dequeue())));

        Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(answers, Is.Empty);

        var notFoundCalls = 0;
        using var notFound = await pipeline.ExecuteAsync(_ =>
        {
            notFoundCalls++;
            return ValueTask.FromResult(new HttpResponseMessage(HttpStatusCode.NotFound));
        });

        Assert.That(notFound.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(notFoundCalls, Is.EqualTo(1));
    }

    [Test]
    public async Task Http_pipeline_retries_a_failed_request_and_logs_without_the_address()
    {
        var logger = new RecordingLogger();
        var pipeline = Resilience.CreateHttpPipeline(logger, Fast);
        var attempts = 0;

        using var response = await pipeline.ExecuteAsync(_ => ++attempts == 1
            ? throw new HttpRequestException("Connection refused (ocsp.example:80) ?token=abc")
            : ValueTask.FromResult(new HttpResponseMessage(HttpStatusCode.OK)));

        Assert.That(attempts, Is.EqualTo(2));
        Assert.That(logger.Entries.Single().Message, Does.Contain("HttpRequestException").And.Not.Contain("token=abc"));
    }

    [Test]
    public async Task Http_pipeline_waits_for_retry_after_but_no_longer_than_its_maximum_delay()
    {
        var logger = new RecordingLogger();
        var pipeline = Resilience.CreateHttpPipeline(logger, Fast);
        var attempts = 0;

        using var response = await pipeline.ExecuteAsync(_ =>
        {
            var answer = new HttpResponseMessage(++attempts == 1 ? HttpStatusCode.TooManyRequests : HttpStatusCode.OK);
            answer.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromHours(1));
            return ValueTask.FromResult(answer);
        });

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(logger.Entries.Single().Message, Does.Contain("in 20 ms").And.Contain("HTTP 429"));
    }

    [Test]
    public void Pipelines_registered_by_service_defaults_take_their_settings_from_configuration()
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { EnvironmentName = "Testing" });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Resilience:Database:MaxRetryAttempts"] = "2",
            ["Resilience:Database:BaseDelay"] = "00:00:00.001",
            ["Resilience:Database:MaxDelay"] = "00:00:00.005",
        });
        builder.AddServiceDefaults("exchange-tests");
        using var host = builder.Build();
        var pipelines = host.Services.GetRequiredService<ResiliencePipelines>();
        var attempts = 0;

        Assert.ThrowsAsync<NpgsqlException>(async () => await pipelines.Database.ExecuteAsync(_ =>
        {
            attempts++;
            throw ConnectionRefused();
        }));

        Assert.That(attempts, Is.EqualTo(3));
        Assert.That(host.Services.GetRequiredService<ResiliencePipelines>(), Is.SameAs(pipelines));
    }
}
