using System.Reflection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Exchange.Persistence;

/// <summary>
/// Applies the ordered SQL files of one schema (schemas/sql/&lt;schema&gt;/NNNN_name.sql) that a database
/// has not seen yet, each in its own transaction, under a PostgreSQL advisory lock so that several
/// instances starting together apply each file once. Creates the database first when it is missing.
/// </summary>
public static class MigrationRunner
{
    public static async Task ApplyAsync(
        string connectionString, string schema, ILogger? logger = null, CancellationToken cancellationToken = default)
    {
        await EnsureDatabaseAsync(connectionString, cancellationToken);

        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, "select pg_advisory_lock(hashtext(@schema))", cancellationToken, ("schema", schema));
        try
        {
            await ExecuteAsync(connection, null, $"""
                create schema if not exists {schema};
                create table if not exists {schema}.schema_migrations (
                    id text primary key, applied_at timestamptz not null default now())
                """, cancellationToken);

            var applied = new HashSet<string>(StringComparer.Ordinal);
            await using (var command = new NpgsqlCommand($"select id from {schema}.schema_migrations", connection))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    applied.Add(reader.GetString(0));
                }
            }

            foreach (var (id, sql) in Scripts(schema).Where(s => !applied.Contains(s.Id)))
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await ExecuteAsync(connection, transaction, sql, cancellationToken);
                await ExecuteAsync(connection, transaction, $"insert into {schema}.schema_migrations (id) values (@id)", cancellationToken, ("id", id));
                await transaction.CommitAsync(cancellationToken);
                logger?.LogInformation("Applied migration {Schema}/{Migration}", schema, id);
            }
        }
        finally
        {
            await ExecuteAsync(connection, null, "select pg_advisory_unlock(hashtext(@schema))", CancellationToken.None, ("schema", schema));
        }
    }

    /// <summary>The embedded scripts of a schema, in file-name order.</summary>
    public static IReadOnlyList<(string Id, string Sql)> Scripts(string schema)
    {
        var assembly = typeof(MigrationRunner).Assembly;
        var prefix = $"migrations/{schema}/";
        return assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(prefix, StringComparison.Ordinal))
            .Order(StringComparer.Ordinal)
            .Select(n => (Path.GetFileNameWithoutExtension(n[prefix.Length..]), Read(assembly, n)))
            .ToList();
    }

    private static string Read(Assembly assembly, string name)
    {
        using var stream = assembly.GetManifestResourceStream(name)!;
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }

    private static async Task EnsureDatabaseAsync(string connectionString, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var database = builder.Database ?? throw new ArgumentException("The connection string names no database.", nameof(connectionString));
        builder.Database = "postgres";
        builder.Pooling = false;
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var exists = new NpgsqlCommand("select 1 from pg_database where datname = @name", connection);
        exists.Parameters.AddWithValue("name", database);
        if (await exists.ExecuteScalarAsync(cancellationToken) is not null)
        {
            return;
        }

        try
        {
            await using var create = new NpgsqlCommand($"create database \"{database.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.UniqueViolation)
        {
            // Another instance created it between our check and our create.
        }
    }

    private static async Task ExecuteAsync(
        NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, CancellationToken cancellationToken,
        params (string Name, object Value)[] parameters)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        await command.ExecuteNonQueryAsync(cancellationToken);
    }
}
