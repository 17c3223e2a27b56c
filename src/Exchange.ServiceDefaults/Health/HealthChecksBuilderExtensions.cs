using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Exchange.ServiceDefaults;

public static class HealthChecksBuilderExtensions
{
    /// <summary>The tag of checks that must pass before a host takes work; <c>/health/ready</c> runs these.</summary>
    public const string ReadyTag = "ready";

    /// <summary>How long a PostgreSQL check may take before it counts as failed.</summary>
    public static readonly TimeSpan DefaultPostgresCheckTimeout = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Adds a check that opens a connection with <paramref name="connectionString"/> and runs
    /// <c>select 1</c>, tagged <see cref="ReadyTag"/>. The connection string is asked for at each
    /// check, so it may come from options resolved after the host is built.
    /// </summary>
    public static IHealthChecksBuilder AddPostgresCheck(
        this IHealthChecksBuilder builder,
        string name,
        Func<IServiceProvider, string> connectionString,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(connectionString);
        return builder.Add(new HealthCheckRegistration(
            name,
            services => new PostgresHealthCheck(connectionString(services)),
            HealthStatus.Unhealthy,
            [ReadyTag, "postgresql"],
            timeout ?? DefaultPostgresCheckTimeout));
    }
}
