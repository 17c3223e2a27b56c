using System.Text;
using MassTransit;
using Npgsql;

namespace Exchange.ServiceDefaults.Messaging;

public static class ConsumerRetry
{
    /// <summary>
    /// Faults (database or broker unavailable, timeouts) are retried with backoff; business outcomes never
    /// throw, so they are not retried. A fault that fails the same way on every attempt (<see cref="IsPermanent"/>)
    /// is not retried. Sends are held until the consumer finishes, so a retried attempt does not send twice. A
    /// message that still fails lands in the endpoint's _error queue (docs/operations.md, "Dead letters"). Applied
    /// per consumer because each host's consumers share its one endpoint.
    /// </summary>
    public static void Apply<T>(IConsumerConfigurator<T> consumer, IRegistrationContext context)
        where T : class
    {
        consumer.UseMessageRetry(r =>
        {
            r.Exponential(8, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(400));
            r.Ignore<Exception>(IsPermanent);
        });
        consumer.UseInMemoryOutbox(context, o => o.ConcurrentMessageDelivery = true);
    }

    /// <summary>
    /// Whether retrying cannot help: PostgreSQL refused the statement itself rather than failed to run it. By
    /// SQLSTATE class (https://www.postgresql.org/docs/current/errcodes-appendix.html): 22 data exception,
    /// 23 integrity constraint violation (except 23505 unique violation, which consumers read as "already done"
    /// and a retry answers as a duplicate), 42 syntax error or access rule violation (a schema that does not
    /// match the code), P0 PL/pgSQL error (a trigger refusing the row). Text that cannot be encoded is permanent
    /// too, wherever it is found: PostgreSQL's 22021 "invalid byte sequence for encoding" (in class 22), and the
    /// <see cref="EncoderFallbackException"/> or <see cref="DecoderFallbackException"/> the client throws before
    /// sending a string with a lone surrogate (UTF-8 has no form for one): the same text fails the same way on every
    /// attempt, and retrying only delays the dead letter. Everything else, connection failures, timeouts,
    /// serialization failures and deadlocks included, is retried.
    /// </summary>
    public static bool IsPermanent(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is EncoderFallbackException or DecoderFallbackException)
            {
                return true;
            }

            if (e is PostgresException postgres)
            {
                var state = postgres.SqlState;
                return state.StartsWith("22", StringComparison.Ordinal)
                    || (state.StartsWith("23", StringComparison.Ordinal) && state != PostgresErrorCodes.UniqueViolation)
                    || state.StartsWith("42", StringComparison.Ordinal)
                    || state.StartsWith("P0", StringComparison.Ordinal);
            }
        }

        return false;
    }
}

/// <summary>The definition every Exchange consumer uses: <see cref="ConsumerRetry"/>.</summary>
public class RetryingConsumerDefinition<T> : ConsumerDefinition<T>
    where T : class, IConsumer
{
    protected override void ConfigureConsumer(
        IReceiveEndpointConfigurator endpointConfigurator, IConsumerConfigurator<T> consumerConfigurator, IRegistrationContext context) =>
        ConsumerRetry.Apply(consumerConfigurator, context);
}
