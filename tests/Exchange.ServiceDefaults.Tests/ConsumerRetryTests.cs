using System.Net.Sockets;
using Exchange.ServiceDefaults.Messaging;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Exchange.ServiceDefaults.Tests;

/// <summary>Which consumer faults are retried, and which go to the error queue at once (docs/operations.md, "Dead letters").</summary>
public sealed class ConsumerRetryTests
{
    static PostgresException Postgres(string sqlState) => new("refused", "ERROR", "ERROR", sqlState);

    [TestCase(PostgresErrorCodes.RaiseException, TestName = "A trigger's refusal (P0001)")]
    [TestCase(PostgresErrorCodes.CheckViolation, TestName = "A check constraint (23514)")]
    [TestCase(PostgresErrorCodes.NotNullViolation, TestName = "A NULL in a NOT NULL column (23502)")]
    [TestCase(PostgresErrorCodes.StringDataRightTruncation, TestName = "A value too long for its column (22001)")]
    [TestCase(PostgresErrorCodes.UndefinedTable, TestName = "A table the migrations did not create (42P01)")]
    [TestCase(PostgresErrorCodes.InsufficientPrivilege, TestName = "A right the database user lacks (42501)")]
    public void Does_not_retry_what_fails_the_same_way_every_time(string sqlState)
    {
        Assert.That(ConsumerRetry.IsPermanent(Postgres(sqlState)), Is.True);
        // EF Core wraps what PostgreSQL said when SaveChanges fails.
        Assert.That(ConsumerRetry.IsPermanent(new DbUpdateException("save failed", Postgres(sqlState))), Is.True);
    }

    [TestCase(PostgresErrorCodes.SerializationFailure)]
    [TestCase(PostgresErrorCodes.DeadlockDetected)]
    [TestCase(PostgresErrorCodes.QueryCanceled)]
    [TestCase(PostgresErrorCodes.AdminShutdown)]
    [TestCase(PostgresErrorCodes.TooManyConnections)]
    [TestCase(PostgresErrorCodes.CannotConnectNow)]
    [TestCase(PostgresErrorCodes.UniqueViolation)]
    public void Retries_database_faults_that_can_clear(string sqlState) =>
        Assert.That(ConsumerRetry.IsPermanent(new DbUpdateException("save failed", Postgres(sqlState))), Is.False);

    [Test]
    public void Retries_a_server_that_cannot_be_reached_and_a_timeout()
    {
        Assert.That(ConsumerRetry.IsPermanent(new NpgsqlException("Failed to connect", new SocketException((int)SocketError.ConnectionRefused))), Is.False);
        Assert.That(ConsumerRetry.IsPermanent(new TimeoutException()), Is.False);
        Assert.That(ConsumerRetry.IsPermanent(new InvalidOperationException("a bug")), Is.False);
    }
}
