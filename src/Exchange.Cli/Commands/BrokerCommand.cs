using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Exchange.Core;
using Exchange.Persistence;
using Exchange.Persistence.Hub;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Broker;
using Exchange.Signing;
using Spectre.Console;

namespace Exchange.Cli.Commands;

/// <summary>
/// `exchange broker provision|check`: one RabbitMQ user per agency of the directory, allowed to read only its
/// own queue and to write only towards the hub, and one for the hub (docs/broker.md). Passwords go to
/// <c>$EXCHANGE_HOME/broker/*.secret</c> (mode 0600), never to the output.
/// </summary>
public static class BrokerCommand
{
    /// <summary>What `check` accepts instead of an agency code to show the hub's user.</summary>
    public const string HubArgument = "hub";

    // Regexes stay readable: '+' as itself, not \u002B.
    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print one JSON object instead of a table (no passwords either way)." };
        var rotate = new Option<bool>("--rotate") { Description = "Give every user a new password; without it existing users keep theirs." };
        var provision = new Command("provision", "Create or correct the broker users of the hub and of every agency of the newest directory version.") { json, rotate };
        provision.SetAction((p, ct) => ProvisionAsync(p.GetValue(json), p.GetValue(rotate), ct));

        var agency = new Argument<string>("agency") { Description = $"An agency code (000.00.01.H29), or '{HubArgument}'." };
        var checkJson = new Option<bool>("--json") { Description = "Print one JSON object." };
        var check = new Command("check", "Show an agency's broker user and its permissions; exit 1 unless they are what provision sets.") { agency, checkJson };
        check.SetAction((p, ct) => CheckAsync(p.GetValue(agency)!, p.GetValue(checkJson), ct));

        return new Command("broker", "Per-agency RabbitMQ users, provisioned from the directory.") { provision, check };
    }

    /// <summary>The broker layout of a hub serving <paramref name="agencyCodes"/>, with the queue names of <paramref name="names"/>.</summary>
    public static BrokerLayout Layout(ExchangeNames names, IEnumerable<string> agencyCodes)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(agencyCodes);
        // AgencyQueue("") is the prefix and "agency-": the stem every agency queue name starts with.
        return new BrokerLayout(names.HubQueue, names.AgencyQueue(string.Empty), agencyCodes.Select(code => new BrokerAgency(code, names.AgencyQueue(code))));
    }

    /// <summary>Where the CLI keeps broker passwords: <c>$EXCHANGE_HOME/broker</c>.</summary>
    public static string SecretFolder => Path.Combine(ExchangeHome.Path, "broker");

    /// <summary><c>{prefix}{agency code}.secret</c> for an agency, <c>{hub user}.secret</c> for the hub: the password alone, no newline.</summary>
    public static string SecretPath(ExchangeNames names, BrokerUserResult user)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(user);
        return Path.Combine(SecretFolder, user.AgencyCode is { } code ? $"{names.Prefix}{code}.secret" : $"{user.User}.secret");
    }

    /// <summary>Writes a secret readable by its owner only (0600 in a 0700 folder), replacing the old one in one step.</summary>
    public static void WriteSecret(string path, string secret)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(secret);
        var folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
            File.WriteAllText(path, secret);
            return;
        }

        Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        var options = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite,
        };
        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(secret);
        }

        File.Move(temporary, path, overwrite: true);
    }

    private static ExchangeNames Names() => new(Environment.GetEnvironmentVariable("EXCHANGE_PREFIX") ?? string.Empty);

    private static async Task<int> ProvisionAsync(bool json, bool rotate, CancellationToken ct)
    {
        var servers = ServerSettings.FromEnvironment();
        var names = Names();
        AgencyDirectory? directory;
        try
        {
            var connection = servers.PostgresConnectionString(names.HubDatabase);
            await MigrationRunner.ApplyAsync(connection, HubDbContext.Schema, cancellationToken: ct);
            await using var db = LocalDeployment.CreateHubDb(connection);
            directory = await DirectoryStore.LatestAsync(db, ct);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            await Console.Error.WriteLineAsync($"Cannot read the directory from PostgreSQL ({e.Message}). Start the servers with: deploy/local/services.sh up");
            return ExitCodes.UsageOrIo;
        }

        if (directory is null)
        {
            await Console.Error.WriteLineAsync("No directory imported yet: run `exchange directory import FILE`.");
            return ExitCodes.Refused;
        }

        var layout = Layout(names, directory.Agencies.Select(a => a.Code).Order(StringComparer.Ordinal));
        BrokerProvisionResult result;
        using (var provisioner = new BrokerProvisioner(servers))
        {
            try
            {
                var total = layout.Agencies.Count + 1;
                result = await provisioner.ProvisionAsync(layout, new BrokerProvisionOptions { RotatePasswords = rotate }, new StderrProgress(total), ct);
            }
            catch (Exception e) when (e is HttpRequestException or InvalidOperationException or TaskCanceledException)
            {
                await Console.Error.WriteLineAsync($"Cannot provision the broker at {servers.AmqpManagementUri}: {e.Message}");
                return ExitCodes.UsageOrIo;
            }
        }

        // The broker keeps only hashes: a returned password that is not written now is lost, and the user
        // must be rotated to get a new one.
        foreach (var user in result.Users.Where(u => u.Password is not null))
        {
            try
            {
                WriteSecret(SecretPath(names, user), user.Password!);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await Console.Error.WriteLineAsync($"Cannot write {SecretPath(names, user)} ({e.Message}); fix it and run `exchange broker provision --rotate`.");
                return ExitCodes.UsageOrIo;
            }
        }

        var missing = result.Users.Where(u => u.Password is null && !File.Exists(SecretPath(names, u))).ToList();
        foreach (var user in missing)
        {
            await Console.Error.WriteLineAsync($"warning: {user.User} exists but {SecretPath(names, user)} does not; `exchange broker provision --rotate` gives every user a new password.");
        }

        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                directory_version = directory.Version,
                vhost = servers.AmqpVirtualHost,
                users = result.Users.Select(u => new
                {
                    user = u.User,
                    agency = u.AgencyCode,
                    change = u.Change.ToString().ToLowerInvariant(),
                    secret_file = SecretPath(names, u),
                    secret_file_exists = File.Exists(SecretPath(names, u)),
                }),
                declared = result.Declared,
                orphans = result.Orphans,
            }, Json));
            return ExitCodes.Ok;
        }

        var table = new Table().Title($"Broker users, directory version {directory.Version}, vhost {Markup.Escape(servers.AmqpVirtualHost)}")
            .AddColumns("User", "Agency", "Change", "Secret file");
        foreach (var u in result.Users)
        {
            var file = SecretPath(names, u);
            table.AddRow(Markup.Escape(u.User), u.AgencyCode ?? HubArgument, u.Change.ToString().ToLowerInvariant(), Markup.Escape(Path.GetFileName(file) + (File.Exists(file) ? string.Empty : " (missing)")));
        }

        AnsiConsole.Write(table);
        Console.WriteLine($"Secret files (mode 0600) are in {SecretFolder}.");
        var counts = string.Join(", ", Enum.GetValues<BrokerUserChange>().Select(c => $"{result.Users.Count(u => u.Change == c)} {c.ToString().ToLowerInvariant()}"));
        Console.WriteLine($"{result.Users.Count} users: {counts}; {result.Declared.Count} exchanges, queues or bindings declared.");
        foreach (var orphan in result.Orphans)
        {
            Console.WriteLine($"orphan: {orphan} belongs to no agency of the directory (remove it with rabbitmqctl delete_user, or the management API).");
        }

        return ExitCodes.Ok;
    }

    private static async Task<int> CheckAsync(string agency, bool json, CancellationToken ct)
    {
        var servers = ServerSettings.FromEnvironment();
        var names = Names();
        string user;
        string? code = null;
        BrokerPermissions expected;
        if (string.Equals(agency, HubArgument, StringComparison.OrdinalIgnoreCase))
        {
            var layout = Layout(names, []);
            user = layout.HubUser;
            expected = layout.HubPermissions;
        }
        else if (AgencyCode.TryParse(agency, out var parsed, out var error))
        {
            code = parsed.Value;
            var one = Layout(names, [code]).Agencies[0];
            user = one.User;
            expected = one.Permissions;
        }
        else
        {
            await Console.Error.WriteLineAsync($"{ReasonCode.InvalidAgencyCode.ToCode()}: '{agency}' ({error})");
            return ExitCodes.UsageOrIo;
        }

        IReadOnlyList<string>? tags;
        BrokerPermissions? actual;
        using (var provisioner = new BrokerProvisioner(servers))
        {
            try
            {
                tags = await provisioner.GetUserTagsAsync(user, ct);
                actual = tags is null ? null : await provisioner.GetPermissionsAsync(user, ct);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                await Console.Error.WriteLineAsync($"Cannot read the broker at {servers.AmqpManagementUri}: {e.Message}");
                return ExitCodes.UsageOrIo;
            }
        }

        var secret = SecretPath(names, new BrokerUserResult(user, code, BrokerUserChange.Unchanged, expected, null));
        var ok = tags is not null && BrokerNames.SameTags(tags, code is null ? BrokerNames.HubTags : BrokerNames.AgencyTags) && actual == expected;
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                user,
                agency = code,
                vhost = servers.AmqpVirtualHost,
                exists = tags is not null,
                tags,
                permissions = actual is null ? null : new { configure = actual.Configure, write = actual.Write, read = actual.Read },
                expected = new { configure = expected.Configure, write = expected.Write, read = expected.Read },
                as_provisioned = ok,
                secret_file = secret,
                secret_file_exists = File.Exists(secret),
            }, Json));
            return ok ? ExitCodes.Ok : ExitCodes.Refused;
        }

        Console.WriteLine($"user      {user}{(tags is null ? " (does not exist)" : string.Empty)}");
        Console.WriteLine($"vhost     {servers.AmqpVirtualHost}");
        if (tags is not null)
        {
            Console.WriteLine($"tags      {(tags.Count == 0 ? "none" : string.Join(",", tags))}");
        }

        Line("configure", actual?.Configure, expected.Configure);
        Line("write", actual?.Write, expected.Write);
        Line("read", actual?.Read, expected.Read);
        Console.WriteLine($"secret    {secret}{(File.Exists(secret) ? string.Empty : " (missing)")}");
        Console.WriteLine(ok ? "as provisioned" : "NOT as provisioned: run `exchange broker provision`");
        return ok ? ExitCodes.Ok : ExitCodes.Refused;

        static void Line(string what, string? actual, string expected) =>
            Console.WriteLine(actual == expected
                ? $"{what,-9} {actual}"
                : $"{what,-9} {actual ?? "(none)"}   expected {expected}");
    }

    /// <summary>Progress on standard error, so that standard output stays one JSON object with --json.</summary>
    private sealed class StderrProgress(int total) : IProgress<int>
    {
        private readonly Lock _gate = new();
        private DateTimeOffset _last = DateTimeOffset.MinValue;

        public void Report(int value)
        {
            lock (_gate)
            {
                if (value < total && DateTimeOffset.UtcNow - _last < TimeSpan.FromSeconds(1))
                {
                    return;
                }

                _last = DateTimeOffset.UtcNow;
                Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"broker: {value}/{total} users provisioned"));
            }
        }
    }
}
