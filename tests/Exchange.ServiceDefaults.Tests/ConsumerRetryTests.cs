using System.Net.Sockets;
using System.Text;
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

    // Regression: a lone surrogate (half of a pair cut by a clip) reached PostgreSQL, was refused as "invalid byte
    // sequence for encoding UTF8", retried eight times as a fault and parked as a dead letter.
    [Test]
    public void Does_not_retry_text_that_cannot_be_encoded()
    {
        // 1. A genuine fault is still retried.
        Assert.That(ConsumerRetry.IsPermanent(new DbUpdateException("save failed", new TimeoutException())), Is.False);

        // 2. What PostgreSQL says of such text, and what the client throws before sending it (UTF-8 strict, as Npgsql encodes).
        var refused = Postgres(PostgresErrorCodes.CharacterNotInRepertoire);
        var unencodable = Assert.Throws<EncoderFallbackException>(() => new UTF8Encoding(false, throwOnInvalidBytes: true).GetBytes("\uD83D"))!;
        var undecodable = Assert.Throws<DecoderFallbackException>(() => new UTF8Encoding(false, throwOnInvalidBytes: true).GetString([0xC3]))!;

        // 3. Each is permanent, bare or wrapped as EF Core and Npgsql wrap them.
        Assert.Multiple(() =>
        {
            Assert.That(refused.SqlState, Is.EqualTo("22021"));
            Assert.That(ConsumerRetry.IsPermanent(new DbUpdateException("save failed", refused)), Is.True, "22021");
            Assert.That(ConsumerRetry.IsPermanent(unencodable), Is.True, "encoder");
            Assert.That(ConsumerRetry.IsPermanent(new DbUpdateException("save failed", new InvalidCastException("write failed", unencodable))), Is.True, "encoder, wrapped");
            Assert.That(ConsumerRetry.IsPermanent(new NpgsqlException("read failed", undecodable)), Is.True, "decoder, wrapped");
        });
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
