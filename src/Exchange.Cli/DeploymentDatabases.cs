using Exchange.Core;
using Exchange.ServiceDefaults;
using Npgsql;

namespace Exchange.Cli;

/// <summary>The databases of a named local deployment (the chaos run's, a bench's), removed so a run starts from empty ones.</summary>
public static class DeploymentDatabases
{
    /// <summary>
    /// Drops every database whose name begins with <paramref name="names"/>' <see cref="ExchangeNames.DatabasePrefix"/>.
    /// Refused without a prefix: that would be the databases of the deployment itself.
    /// </summary>
    public static async Task DropAsync(ServerSettings servers, ExchangeNames names, CancellationToken ct)
    {
        if (names.Prefix.Length == 0)
        {
            throw new ArgumentException("Only a deployment with a name prefix (a bench's, the chaos run's) has its databases dropped.", nameof(names));
        }

        await using var connection = new NpgsqlConnection(servers.PostgresMaintenanceConnectionString());
        await connection.OpenAsync(ct);
        var databases = new List<string>();
        await using (var list = new NpgsqlCommand("select datname from pg_database where starts_with(datname, @prefix)", connection))
        {
            list.Parameters.AddWithValue("prefix", names.DatabasePrefix);
            await using var reader = await list.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                databases.Add(reader.GetString(0));
            }
        }

        foreach (var database in databases)
        {
            // FORCE (PostgreSQL 13+): hosts of an earlier run that were left running lose their connections.
            await using var drop = new NpgsqlCommand($"drop database if exists \"{database}\" with (force)", connection);
            await drop.ExecuteNonQueryAsync(ct);
        }
    }
}
