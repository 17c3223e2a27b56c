using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Exchange.Core;
using Exchange.Gateway.Access;
using Exchange.Gateway.Vdxp;
using Exchange.Persistence;
using Exchange.Persistence.Gateway;
using Exchange.ServiceDefaults;
using Microsoft.EntityFrameworkCore;
using Spectre.Console;

namespace Exchange.Cli.Commands;

/// <summary>
/// `exchange gateway key create|list|revoke`: the API keys of an agency's gateway, kept (as SHA-256 hashes) in
/// that gateway's own database, <c>{EXCHANGE_PREFIX}exchange_gw_{code}</c> on the EXCHANGE_PG_* server, or the
/// database named by <c>--database</c> (what the gateway's <c>Gateway:Database</c> names). The key itself is
/// printed once, by create, and stored nowhere.
/// </summary>
public static class GatewayCommand
{
    private static readonly JsonSerializerOptions Json = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    public static Command Create()
    {
        // Each command gets its own option objects (a symbol has one parent).
        static Option<string> Agency() => new("--agency") { Description = "The gateway's agency code, e.g. 000.00.01.H29.", Required = true };
        static Option<string?> Database() => new("--database") { Description = "The gateway's database, when it is not the default ({EXCHANGE_PREFIX}exchange_gw_<code>)." };

        var agency = Agency();
        var database = Database();
        var role = new Option<string>("--role") { Description = "agency (the document system: submits and reads), auditor (reads only) or operator (delivery states only).", Required = true };
        role.AcceptOnlyFromAmong([.. ApiClientRoles.All]);
        var name = new Option<string>("--name") { Description = "Who holds the key (unique among the keys in force), e.g. \"Phần mềm QLVB\".", Required = true };
        var createJson = new Option<bool>("--json") { Description = "Print one JSON object, the key included." };
        var create = new Command("create", "Make an API key for a gateway: prints the key once; the gateway's database keeps only its SHA-256.")
        {
            agency, database, role, name, createJson,
        };
        create.SetAction((p, ct) => CreateAsync(p.GetValue(agency)!, p.GetValue(database), p.GetValue(role)!, p.GetValue(name)!, p.GetValue(createJson), ct));

        var listAgency = Agency();
        var listDatabase = Database();
        var listJson = new Option<bool>("--json") { Description = "Print a JSON array." };
        var list = new Command("list", "List a gateway's API keys (names, roles, dates; never keys or hashes).") { listAgency, listDatabase, listJson };
        list.SetAction((p, ct) => ListAsync(p.GetValue(listAgency)!, p.GetValue(listDatabase), p.GetValue(listJson), ct));

        var revokeAgency = Agency();
        var revokeDatabase = Database();
        var id = new Option<Guid?>("--id") { Description = "The key's id (from list)." };
        var revokeName = new Option<string?>("--name") { Description = "The key's name." };
        var revoke = new Command("revoke", "Revoke a key: the gateway refuses it from its next request on.") { revokeAgency, revokeDatabase, id, revokeName };
        revoke.SetAction((p, ct) => RevokeAsync(p.GetValue(revokeAgency)!, p.GetValue(revokeDatabase), p.GetValue(id), p.GetValue(revokeName), ct));

        return new Command("gateway", "An agency gateway's HTTP API keys and the clients of its national-axis protocol.")
        {
            new Command("key", "API keys of a gateway's HTTP API (X-Api-Key header).") { create, list, revoke },
            VdxpClientCommand(Agency, Database),
            CheckpointCommand(Agency, Database),
        };
    }

    /// <summary>
    /// `gateway checkpoint export --agency CODE [--out FILE]`: the newest signed checkpoint of the hub's evidence chain
    /// this gateway was shown, as an anchor file for `exchange audit verify-log --anchor` (issue #16 item 12,
    /// docs/evidence.md, "Anchors"). Exit 0 written, 1 none kept yet, 2 usage or I/O error.
    /// </summary>
    private static Command CheckpointCommand(Func<Option<string>> agencyOption, Func<Option<string?>> databaseOption)
    {
        var agency = agencyOption();
        var database = databaseOption();
        var output = new Option<FileInfo?>("--out") { Description = "Write the anchor to this file (default: standard output)." };
        var export = new Command("export", "Print the newest hub checkpoint this gateway keeps, as an anchor for `exchange audit verify-log --anchor`.") { agency, database, output };
        export.SetAction((p, ct) => ExportCheckpointAsync(p.GetValue(agency)!, p.GetValue(database), p.GetValue(output), ct));
        return new Command("checkpoint", "The newest signed checkpoint of the hub's evidence chain a gateway keeps outside the hub.") { export };
    }

    private static Task<int> ExportCheckpointAsync(string agencyText, string? database, FileInfo? output, CancellationToken ct)
    {
        if (!AgencyCode.TryParse(agencyText, out var agency, out var error))
        {
            return Task.FromResult(Usage($"--agency: {error}"));
        }

        return WithDatabaseAsync(agency.Value, database, async (db, name) =>
        {
            var anchor = await Exchange.Gateway.HubCheckpoints.NewestAsync(db, agency.Value, ct);
            if (anchor is null)
            {
                Console.Error.WriteLine($"The gateway's database {name} keeps no hub checkpoint yet: the hub shows its newest with each accepted submission.");
                return ExitCodes.Refused;
            }

            if (output is null)
            {
                Console.WriteLine(anchor.ToJson());
            }
            else
            {
                await File.WriteAllTextAsync(output.FullName, anchor.ToJson() + "\n", ct);
                Console.Error.WriteLine($"Wrote checkpoint {anchor.Checkpoint.Checkpoint.ChainIndex} ({Exchange.Core.EvidenceChain.FormatTime(anchor.Checkpoint.Checkpoint.SealedAt)}) to {output.FullName}");
            }

            return ExitCodes.Ok;
        }, ct);
    }

    /// <summary>`gateway vdxp-client create|list|revoke`: the system ids and secrets of the national axis's protocol (docs/national-axis.md).</summary>
    private static Command VdxpClientCommand(Func<Option<string>> agencyOption, Func<Option<string?>> databaseOption)
    {
        var agency = agencyOption();
        var database = databaseOption();
        var name = new Option<string>("--name") { Description = "The document system (unique among the clients in force), e.g. \"QLVB Sở Nội vụ\".", Required = true };
        var systemId = new Option<string?>("--system-id") { Description = "Keep the system id the document system already has (from another axis); default: a new one." };
        var secretFromStdin = new Option<bool>("--secret-stdin") { Description = "Read the secret it already has from standard input (one line); default: a new one." };
        var json = new Option<bool>("--json") { Description = "Print one JSON object: system_id and secret." };
        var create = new Command("create", "Make a client: prints its system_id and secret once.") { agency, database, name, systemId, secretFromStdin, json };
        create.SetAction((p, ct) => CreateVdxpClientAsync(
            p.GetValue(agency)!, p.GetValue(database), p.GetValue(name)!, p.GetValue(systemId), p.GetValue(secretFromStdin), p.GetValue(json), ct));

        var listAgency = agencyOption();
        var listDatabase = databaseOption();
        var listJson = new Option<bool>("--json") { Description = "Print a JSON array." };
        var list = new Command("list", "List the clients (system ids, names, dates; never secrets).") { listAgency, listDatabase, listJson };
        list.SetAction((p, ct) => ListVdxpClientsAsync(p.GetValue(listAgency)!, p.GetValue(listDatabase), p.GetValue(listJson), ct));

        var revokeAgency = agencyOption();
        var revokeDatabase = databaseOption();
        var revokeSystemId = new Option<string?>("--system-id") { Description = "The client's system id." };
        var revokeName = new Option<string?>("--name") { Description = "The client's name." };
        var revoke = new Command("revoke", "Revoke a client: its next request gets FAIL.") { revokeAgency, revokeDatabase, revokeSystemId, revokeName };
        revoke.SetAction((p, ct) => RevokeVdxpClientAsync(p.GetValue(revokeAgency)!, p.GetValue(revokeDatabase), p.GetValue(revokeSystemId), p.GetValue(revokeName), ct));

        return new Command("vdxp-client", "Clients of the national axis's protocol at a gateway (/vdxp/: system id and HMAC secret).") { create, list, revoke };
    }

    private static async Task<int> CreateVdxpClientAsync(string agencyText, string? database, string name, string? systemId, bool secretFromStdin, bool json, CancellationToken ct)
    {
        if (!AgencyCode.TryParse(agencyText, out var agency, out var error))
        {
            return Usage($"--agency: {error}");
        }

        var secret = secretFromStdin ? (await Console.In.ReadLineAsync(ct))?.Trim() : null;
        if (secretFromStdin && string.IsNullOrEmpty(secret))
        {
            return Usage("--secret-stdin: standard input gave no secret.");
        }

        return await WithDatabaseAsync(agency.Value, database, async (db, databaseName) =>
        {
            CreatedVdxpClient created;
            try
            {
                created = await VdxpClients.CreateAsync(db, agency.Value, name, TimeProvider.System, systemId: systemId?.Trim(), secret: secret, cancellationToken: ct);
            }
            catch (Exception e) when (e is VdxpClientNameTakenException or ArgumentException)
            {
                return Usage(e.Message);
            }

            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, string>
                {
                    ["system_id"] = created.SystemId,
                    ["secret"] = created.Secret,
                }, Json));
            }
            else
            {
                Console.WriteLine($"system_id: {created.SystemId}");
                Console.WriteLine($"secret (shown once; configure it in the document system): {created.Secret}");
                Console.WriteLine($"name '{created.Client.Name}', agency {created.Client.AgencyCode}, database {databaseName}; endpoint: http://<gateway>/vdxp");
            }

            return ExitCodes.Ok;
        }, ct);
    }

    private static Task<int> ListVdxpClientsAsync(string agencyText, string? database, bool json, CancellationToken ct)
    {
        if (!AgencyCode.TryParse(agencyText, out var agency, out var error))
        {
            return Task.FromResult(Usage($"--agency: {error}"));
        }

        return WithDatabaseAsync(agency.Value, database, async (db, _) =>
        {
            var clients = await VdxpClients.ListAsync(db, ct);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(clients.Select(c => new
                {
                    system_id = c.SystemId,
                    name = c.Name,
                    agency = c.AgencyCode,
                    created_at = c.CreatedAt,
                    revoked_at = c.RevokedAt,
                }), Json));
                return ExitCodes.Ok;
            }

            var table = new Table().AddColumns("System id", "Name", "Agency", "Created", "Revoked");
            foreach (var c in clients)
            {
                table.AddRow(Markup.Escape(c.SystemId), Markup.Escape(c.Name), c.AgencyCode,
                    c.CreatedAt.ToString("u", CultureInfo.InvariantCulture), c.RevokedAt?.ToString("u", CultureInfo.InvariantCulture) ?? "-");
            }

            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        }, ct);
    }

    private static Task<int> RevokeVdxpClientAsync(string agencyText, string? database, string? systemId, string? name, CancellationToken ct)
    {
        if (!AgencyCode.TryParse(agencyText, out var agency, out var error))
        {
            return Task.FromResult(Usage($"--agency: {error}"));
        }

        if (string.IsNullOrWhiteSpace(systemId) == string.IsNullOrWhiteSpace(name))
        {
            return Task.FromResult(Usage("Name the client to revoke with --system-id or --name (one of them)."));
        }

        return WithDatabaseAsync(agency.Value, database, async (db, _) =>
        {
            var revoked = await VdxpClients.RevokeAsync(db, string.IsNullOrWhiteSpace(systemId) ? null : systemId, string.IsNullOrWhiteSpace(name) ? null : name, TimeProvider.System, ct);
            if (revoked == 0)
            {
                Console.Error.WriteLine("No client in force has that system id or name (exchange gateway vdxp-client list shows them).");
                return ExitCodes.Refused;
            }

            Console.WriteLine($"Revoked the client {(string.IsNullOrWhiteSpace(systemId) ? $"'{name!.Trim()}'" : systemId.Trim())}; its next request gets FAIL.");
            return ExitCodes.Ok;
        }, ct);
    }

    private static async Task<int> CreateAsync(string agencyText, string? database, string role, string name, bool json, CancellationToken ct)
    {
        if (!AgencyCode.TryParse(agencyText, out var agency, out var error))
        {
            return Usage($"--agency: {error}");
        }

        if (string.IsNullOrWhiteSpace(name) || name.Trim().Length > GatewayKeys.MaxNameLength || name.Any(char.IsControl))
        {
            return Usage($"--name: 1 to {GatewayKeys.MaxNameLength} characters, no control characters.");
        }

        return await WithDatabaseAsync(agency.Value, database, async (db, databaseName) =>
        {
            CreatedGatewayKey created;
            try
            {
                created = await GatewayKeys.CreateAsync(db, agency.Value, role, name, TimeProvider.System, cancellationToken: ct);
            }
            catch (GatewayKeyNameTakenException e)
            {
                return Usage(e.Message);
            }

            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    key = created.Key,
                    id = created.Client.ClientId,
                    name = created.Client.Name,
                    agency = created.Client.AgencyCode,
                    role = created.Client.Role,
                    createdAt = created.Client.CreatedAt,
                    database = databaseName,
                }, Json));
            }
            else
            {
                Console.WriteLine($"API key (shown once; give it to its holder, store it nowhere else): {created.Key}");
                Console.WriteLine($"id {created.Client.ClientId}, name '{created.Client.Name}', role {created.Client.Role}, agency {created.Client.AgencyCode}, database {databaseName}");
                Console.WriteLine($"Present it as the {ServiceDefaults.Access.ApiKey.Header} header (or Authorization: Bearer).");
            }

            return ExitCodes.Ok;
        }, ct);
    }

    private static Task<int> ListAsync(string agencyText, string? database, bool json, CancellationToken ct)
    {
        if (!AgencyCode.TryParse(agencyText, out var agency, out var error))
        {
            return Task.FromResult(Usage($"--agency: {error}"));
        }

        return WithDatabaseAsync(agency.Value, database, async (db, _) =>
        {
            var keys = await GatewayKeys.ListAsync(db, ct);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(keys.Select(k => new
                {
                    id = k.ClientId,
                    name = k.Name,
                    agency = k.AgencyCode,
                    role = k.Role,
                    createdAt = k.CreatedAt,
                    revokedAt = k.RevokedAt,
                }), Json));
                return ExitCodes.Ok;
            }

            var table = new Table().AddColumns("Id", "Name", "Role", "Agency", "Created", "Revoked");
            foreach (var k in keys)
            {
                table.AddRow(k.ClientId.ToString(), Markup.Escape(k.Name), k.Role, k.AgencyCode,
                    k.CreatedAt.ToString("u", CultureInfo.InvariantCulture), k.RevokedAt?.ToString("u", CultureInfo.InvariantCulture) ?? "-");
            }

            AnsiConsole.Write(table);
            return ExitCodes.Ok;
        }, ct);
    }

    private static Task<int> RevokeAsync(string agencyText, string? database, Guid? id, string? name, CancellationToken ct)
    {
        if (!AgencyCode.TryParse(agencyText, out var agency, out var error))
        {
            return Task.FromResult(Usage($"--agency: {error}"));
        }

        if (id is null == string.IsNullOrWhiteSpace(name))
        {
            return Task.FromResult(Usage("Name the key to revoke with --id or --name (one of them)."));
        }

        return WithDatabaseAsync(agency.Value, database, async (db, _) =>
        {
            var revoked = await GatewayKeys.RevokeAsync(db, id, string.IsNullOrWhiteSpace(name) ? null : name, TimeProvider.System, ct);
            if (revoked == 0)
            {
                Console.Error.WriteLine("No key in force has that id or name (exchange gateway key list shows them).");
                return ExitCodes.Refused;
            }

            Console.WriteLine($"Revoked the key {(id is { } i ? i.ToString() : $"'{name!.Trim()}'")}; the gateway refuses it from its next request on.");
            return ExitCodes.Ok;
        }, ct);
    }

    /// <summary>Opens the gateway's database, bringing its schema up to date first (so a key can be made before the gateway's first start).</summary>
    private static async Task<int> WithDatabaseAsync(string agency, string? database, Func<GatewayDbContext, string, Task<int>> action, CancellationToken ct)
    {
        var servers = ServerSettings.FromEnvironment();
        var name = string.IsNullOrWhiteSpace(database)
            ? new ExchangeNames(Environment.GetEnvironmentVariable("EXCHANGE_PREFIX") ?? string.Empty).GatewayDatabase(agency)
            : database.Trim();
        var connection = servers.PostgresConnectionString(name);
        try
        {
            await MigrationRunner.ApplyAsync(connection, GatewayDbContext.Schema, cancellationToken: ct);
            await using var db = new GatewayDbContext(new DbContextOptionsBuilder<GatewayDbContext>().UseExchangePostgres(connection).Options);
            return await action(db, name);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            return Usage($"Cannot use the gateway's database {name} ({e.Message}). Start the servers with: deploy/local/services.sh up");
        }
    }

    private static int Usage(string message)
    {
        Console.Error.WriteLine(message);
        return ExitCodes.UsageOrIo;
    }
}
