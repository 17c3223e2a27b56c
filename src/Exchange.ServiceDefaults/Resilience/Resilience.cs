using System.Net;
using System.Net.Sockets;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Npgsql;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Exchange.ServiceDefaults;

/// <summary>How one pipeline retries; bound from configuration section <c>Resilience:Database</c> or <c>Resilience:Http</c>.</summary>
public sealed record RetryPolicySettings
{
    /// <summary>Retries after the first attempt fails.</summary>
    public int MaxRetryAttempts { get; set; }

    /// <summary>The first retry's delay; each later one doubles it, with jitter.</summary>
    public TimeSpan BaseDelay { get; set; }

    /// <summary>No retry waits longer than this (nor longer than a server's Retry-After, when this is shorter).</summary>
    public TimeSpan MaxDelay { get; set; }

    /// <summary>One attempt is abandoned, and retried, after this long.</summary>
    public TimeSpan AttemptTimeout { get; set; }

    /// <summary>PostgreSQL: 5 retries from 200 ms (about 6 s in all, enough for a restart or fail-over), 30 s per attempt.</summary>
    public static RetryPolicySettings DatabaseDefaults => new()
    {
        MaxRetryAttempts = 5,
        BaseDelay = TimeSpan.FromMilliseconds(200),
        MaxDelay = TimeSpan.FromSeconds(5),
        AttemptTimeout = TimeSpan.FromSeconds(30),
    };

    /// <summary>HTTP (CRL and OCSP fetches, callbacks): 3 retries from 500 ms, 10 s per attempt.</summary>
    public static RetryPolicySettings HttpDefaults => new()
    {
        MaxRetryAttempts = 3,
        BaseDelay = TimeSpan.FromMilliseconds(500),
        MaxDelay = TimeSpan.FromSeconds(15),
        AttemptTimeout = TimeSpan.FromSeconds(10),
    };
}

/// <summary>Configuration section <c>Resilience</c>.</summary>
public sealed class ResilienceOptions
{
    public const string SectionName = "Resilience";

    public RetryPolicySettings Database { get; set; } = RetryPolicySettings.DatabaseDefaults;

    public RetryPolicySettings Http { get; set; } = RetryPolicySettings.HttpDefaults;
}

/// <summary>
/// The project's Polly pipelines. Retries are for faults (a server restarting, a dropped connection,
/// a serialization failure), never for business outcomes, and they are safe because every consumer
/// and every write is idempotent on its envelope or receipt id (docs/architecture.md, "Exactly once in effect"): an
/// attempt that committed but lost its answer is recognised as a duplicate when it runs again.
/// </summary>
public static class Resilience
{
    public const string DatabaseName = "exchange-database";
    public const string HttpName = "exchange-http";

    /// <summary>
    /// Retry with exponential backoff and jitter on transient database faults (see
    /// <see cref="IsTransientDatabaseFailure"/>), each attempt bounded by a timeout. The callback must
    /// honour its cancellation token for the timeout to cut it short.
    /// </summary>
    public static ResiliencePipeline CreateDatabasePipeline(ILogger logger, RetryPolicySettings? settings = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(logger);
        settings ??= RetryPolicySettings.DatabaseDefaults;
        var builder = new ResiliencePipelineBuilder { Name = DatabaseName, TimeProvider = timeProvider ?? TimeProvider.System };
        return builder
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && IsTransientDatabaseFailure(e)),
                MaxRetryAttempts = settings.MaxRetryAttempts,
                Delay = settings.BaseDelay,
                MaxDelay = settings.MaxDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                OnRetry = args =>
                {
                    LogRetry(logger, DatabaseName, args.AttemptNumber + 1, settings.MaxRetryAttempts, args.RetryDelay, Describe(args.Outcome.Exception));
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(settings.AttemptTimeout)
            .Build();
    }

    /// <summary>
    /// Retry with exponential backoff and jitter on <see cref="HttpRequestException"/>, an attempt's
    /// timeout, and the answers 408, 429 and 5xx, honouring the server's Retry-After (up to
    /// <see cref="RetryPolicySettings.MaxDelay"/>). Retry only requests that are safe to repeat
    /// (GET, or a POST the server de-duplicates by id).
    /// </summary>
    public static ResiliencePipeline<HttpResponseMessage> CreateHttpPipeline(ILogger logger, RetryPolicySettings? settings = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(logger);
        settings ??= RetryPolicySettings.HttpDefaults;
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage> { Name = HttpName, TimeProvider = timeProvider ?? TimeProvider.System };
        return builder
            .AddRetry(new RetryStrategyOptions<HttpResponseMessage>
            {
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is HttpRequestException or TimeoutRejectedException
                    || (args.Outcome.Result is { } response && IsTransientHttpStatus(response.StatusCode))),
                MaxRetryAttempts = settings.MaxRetryAttempts,
                Delay = settings.BaseDelay,
                MaxDelay = settings.MaxDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result, settings.MaxDelay, builder.TimeProvider)),
                OnRetry = args =>
                {
                    var what = args.Outcome.Result is { } response
                        ? $"HTTP {(int)response.StatusCode}"
                        : Describe(args.Outcome.Exception);
                    LogRetry(logger, HttpName, args.AttemptNumber + 1, settings.MaxRetryAttempts, args.RetryDelay, what);
                    return ValueTask.CompletedTask;
                },
            })
            .AddTimeout(settings.AttemptTimeout)
            .Build();
    }

    /// <summary>
    /// True for faults worth retrying: Npgsql's own judgement (<see cref="NpgsqlException.IsTransient"/>:
    /// I/O and socket errors, and SQLSTATEs such as 40001 serialization failure, 40P01 deadlock,
    /// 53300 too many connections, 57P01 admin shutdown), timeouts, and EF Core's
    /// <see cref="DbUpdateException"/> when what it wraps is one of those. A unique violation, a
    /// constraint or a syntax error is not transient: retrying cannot change its answer.
    /// </summary>
    public static bool IsTransientDatabaseFailure(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PostgresException postgres:
                    return postgres.IsTransient;
                case NpgsqlException npgsql:
                    return npgsql.IsTransient;
                case TimeoutException or TimeoutRejectedException:
                    return true;
                case DbUpdateException or InvalidOperationException:
                    continue; // EF Core wraps the provider's exception; look at what it wraps.
                default:
                    return false;
            }
        }

        return false;
    }

    /// <summary>408 Request Timeout, 429 Too Many Requests, and every 5xx.</summary>
    public static bool IsTransientHttpStatus(HttpStatusCode status) =>
        status is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests || (int)status >= 500;

    static TimeSpan? RetryAfter(HttpResponseMessage? response, TimeSpan maxDelay, TimeProvider time)
    {
        if (response?.Headers.RetryAfter is not { } retryAfter)
            return null; // Polly's own exponential delay.
        var delay = retryAfter.Delta
                    ?? (retryAfter.Date is { } date ? date - time.GetUtcNow() : (TimeSpan?)null);
        if (delay is not { } d)
            return null;
        return d < TimeSpan.Zero ? TimeSpan.Zero : d > maxDelay ? maxDelay : d;
    }

    // The type and, for PostgreSQL, the SQLSTATE: enough to tell a restart from a deadlock, and
    // never a message, which can carry a host name, a parameter value or a URL with a token.
    static string Describe(Exception? exception) => exception switch
    {
        null => "no exception",
        PostgresException postgres => $"{postgres.GetType().Name} SQLSTATE {postgres.SqlState}",
        { InnerException: SocketException socket } => $"{exception.GetType().Name} ({socket.SocketErrorCode})",
        { InnerException: { } inner } when exception is DbUpdateException => $"{exception.GetType().Name} <- {Describe(inner)}",
        _ => exception.GetType().Name,
    };

    static void LogRetry(ILogger logger, string pipeline, int attempt, int maxAttempts, TimeSpan delay, string what) =>
        logger.LogWarning(
            "{Pipeline}: retry {Attempt} of {MaxRetries} in {DelayMs} ms after {Failure}",
            pipeline, attempt, maxAttempts, (long)delay.TotalMilliseconds, what);
}

/// <summary>
/// The pipelines as one singleton. Inject it and call <c>pipelines.Database.ExecuteAsync(async ct => ..., cancellationToken)</c>.
/// </summary>
/// <remarks>
/// Not Polly.Extensions' AddResiliencePipeline, nor Microsoft.Extensions.Resilience or Http.Resilience on top of it: a
/// pipeline registered there gets Polly's own telemetry, which logs and meters every resilience event besides the
/// retry line written here (a failure's type and SQLSTATE, never its message); and the HTTP pipeline also serves
/// callers without a service provider (the CLI's GatewayClient, BrokerProvisioner) and honours Retry-After with its own
/// cap. Building them here keeps one definition for both.
/// </remarks>
public sealed class ResiliencePipelines(ILoggerFactory loggerFactory, Microsoft.Extensions.Options.IOptions<ResilienceOptions> options)
{
    public ResiliencePipeline Database { get; } = Resilience.CreateDatabasePipeline(
        loggerFactory.CreateLogger(typeof(Resilience).FullName + ".Database"), options.Value.Database);

    public ResiliencePipeline<HttpResponseMessage> Http { get; } = Resilience.CreateHttpPipeline(
        loggerFactory.CreateLogger(typeof(Resilience).FullName + ".Http"), options.Value.Http);
}
