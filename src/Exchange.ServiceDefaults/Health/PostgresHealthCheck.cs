using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Exchange.ServiceDefaults;

/// <summary>
/// Opens a connection and runs <c>select 1</c>: the server is up, accepts these credentials, and
/// the database exists. The result's description names the failure's type and SQLSTATE only; the
/// exception itself, which may name hosts, goes to the log, not to the HTTP response.
/// </summary>
public sealed class PostgresHealthCheck(string connectionString) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(cancellationToken);
            await using var command = new NpgsqlCommand("select 1", connection);
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        // A cancelled token is the check's own timeout: the health check service reports that itself.
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var what = exception is PostgresException postgres
                ? $"PostgreSQL refused: SQLSTATE {postgres.SqlState}"
                : $"PostgreSQL unreachable: {exception.GetType().Name}";
            return new HealthCheckResult(context.Registration.FailureStatus, what, exception);
        }
    }
}
