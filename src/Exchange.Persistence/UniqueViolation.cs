using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Exchange.Persistence;

public static class UniqueViolation
{
    /// <summary>
    /// A unique violation on an id is how a duplicate is recognised (at-least-once bus, exactly-once effect):
    /// the caller treats it as "already done".
    /// </summary>
    public static bool IsUniqueViolation(this Exception exception) =>
        exception is DbUpdateException { InnerException: PostgresException { SqlState: PostgresErrorCodes.UniqueViolation } }
        or PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };
}
