using Microsoft.EntityFrameworkCore;

namespace Exchange.Persistence;

/// <summary>
/// How every hub and gateway DbContext reaches PostgreSQL. The schema is hand-written SQL in snake_case (schemas/sql);
/// EFCore.NamingConventions maps each table and column to it (<c>PackageSha256</c> → <c>package_sha256</c>), so
/// configurations only say what differs. The convention has to be set here, on the options, not in the contexts'
/// OnConfiguring: the hosts pool their contexts, and a pooled context may not change its options.
/// </summary>
public static class DatabaseOptions
{
    public static DbContextOptionsBuilder UseExchangePostgres(this DbContextOptionsBuilder builder, string connectionString) =>
        builder.UseNpgsql(connectionString).UseSnakeCaseNamingConvention();

    public static DbContextOptionsBuilder<TContext> UseExchangePostgres<TContext>(this DbContextOptionsBuilder<TContext> builder, string connectionString)
        where TContext : DbContext =>
        builder.UseNpgsql(connectionString).UseSnakeCaseNamingConvention();
}
