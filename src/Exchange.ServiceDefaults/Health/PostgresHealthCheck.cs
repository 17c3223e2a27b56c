using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Exchange.ServiceDefaults;

/// <summary>
/// Opens a connection and runs <c>select 1</c>: the server is up, accepts these credentials, and
/// the database exists. The result's description names the failure's type and SQLSTATE only; the
/// exception itself, which may name hosts, goes to the log, not to the HTTP response.
/// </summary>
/// <remarks>
/// Not AspNetCore.HealthChecks.NpgSql's check, which does the same <c>select 1</c> but makes the exception's message
/// the description: tried with version 9.0.0, an unknown host gave "Name or service not known" and a wrong password
/// 28P01 with the user's name, text this check keeps out of the response.
/// </remarks>
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
