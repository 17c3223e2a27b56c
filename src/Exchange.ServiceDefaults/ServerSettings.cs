using System.Globalization;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Exchange.ServiceDefaults;

/// <summary>
/// Where the PostgreSQL server and the RabbitMQ broker are, and how to log in. The names are the
/// environment variables that deploy/local/env.sh exports; every one has a loopback default that
/// matches the servers that script starts, so a fresh checkout runs without setting anything.
/// </summary>
/// <remarks>
/// <see cref="ToString"/> redacts both passwords: a settings object may be logged, its secrets may not.
/// AMQP over TLS is a setting (<see cref="AmqpTls"/>): the bus then connects to <see cref="AmqpTlsPort"/> and
/// checks the broker's certificate against the system's trust store or the CA in <see cref="AmqpCaFile"/>.
/// </remarks>
public sealed record ServerSettings(
    string PostgresHost,
    int PostgresPort,
    string PostgresUser,
    string PostgresPassword,
    string AmqpHost,
    int AmqpPort,
    string AmqpUser,
    string AmqpPassword,
    string AmqpVirtualHost,
    int AmqpManagementPort)
{
    public const string PostgresHostVariable = "EXCHANGE_PG_HOST";
    public const string PostgresPortVariable = "EXCHANGE_PG_PORT";
    public const string PostgresUserVariable = "EXCHANGE_PG_USER";
    public const string PostgresPasswordVariable = "EXCHANGE_PG_PASSWORD";
    public const string AmqpHostVariable = "EXCHANGE_AMQP_HOST";
    public const string AmqpPortVariable = "EXCHANGE_AMQP_PORT";
    public const string AmqpUserVariable = "EXCHANGE_AMQP_USER";
    public const string AmqpPasswordVariable = "EXCHANGE_AMQP_PASSWORD";
    public const string AmqpVirtualHostVariable = "EXCHANGE_AMQP_VHOST";
    public const string AmqpManagementPortVariable = "EXCHANGE_AMQP_MGMT_PORT";
    public const string AmqpTlsVariable = "EXCHANGE_AMQP_TLS";
    public const string AmqpTlsPortVariable = "EXCHANGE_AMQP_TLS_PORT";
    public const string AmqpCaFileVariable = "EXCHANGE_AMQP_CA_FILE";
    public const string AmqpManagementTlsVariable = "EXCHANGE_AMQP_MGMT_TLS";
    public const string DevelopmentVariable = "EXCHANGE_DEVELOPMENT";
    public const string AmqpHostsVariable = "EXCHANGE_AMQP_HOSTS";
    public const string AmqpQuorumVariable = "EXCHANGE_AMQP_QUORUM";
    public const string PostgresHostsVariable = "EXCHANGE_PG_HOSTS";

    /// <summary>The TLS listener deploy/local/services.sh gives the local RabbitMQ.</summary>
    public const int DefaultAmqpTlsPort = 55671;

    /// <summary>Connect to the broker over TLS (AMQPS, RabbitMQ's TLS listener), on <see cref="AmqpTlsPort"/>.</summary>
    public bool AmqpTls { get; init; }

    /// <summary>The broker's TLS listener; used when <see cref="AmqpTls"/> is on.</summary>
    public int AmqpTlsPort { get; init; } = DefaultAmqpTlsPort;

    /// <summary>
    /// A PEM file of the CA certificate(s) that issue the broker's certificate, when it is not one the system
    /// trusts (a private CA, as the local script's). Null: the system's trust store.
    /// </summary>
    public string? AmqpCaFile { get; init; }

    /// <summary>The management HTTP API over HTTPS (RabbitMQ's management listener with TLS on the same port setting).</summary>
    public bool AmqpManagementTls { get; init; }

    /// <summary>
    /// Explicit development mode (<c>EXCHANGE_DEVELOPMENT=1</c>, which deploy/local/env.sh exports): the local servers'
    /// shared default logins, hosts without their own broker user and the management API over plain HTTP are allowed.
    /// Outside it a host refuses to start that way and says why (<see cref="RefuseUnsafe"/>), as do the commands that
    /// call the management API (<see cref="ManagementApiUri"/>).
    /// </summary>
    public bool Development { get; init; }

    /// <summary>
    /// Every node of a RabbitMQ cluster, as <c>host:port</c> (the port the bus connects to: the TLS listener with
    /// <see cref="AmqpTls"/>), from EXCHANGE_AMQP_HOSTS (comma-separated). Empty: the one broker at <see cref="AmqpHost"/>.
    /// The management API stays the one at <see cref="AmqpHost"/> (users and permissions are the cluster's, on every node).
    /// </summary>
    public IReadOnlyList<string> AmqpHosts { get; init; } = [];

    /// <summary>
    /// Declare the hosts' receive queues as quorum queues (EXCHANGE_AMQP_QUORUM=1), replicated over a cluster's nodes. A
    /// queue's type is fixed when it is declared: an existing classic queue must be deleted (drained) first.
    /// </summary>
    public bool AmqpQuorum { get; init; }

    /// <summary>
    /// The PostgreSQL primary and its standbys, as <c>host:port</c> (comma-separated, EXCHANGE_PG_HOSTS). Set, the
    /// connection strings name them all: the writers' ones connect to whichever is the primary now
    /// (<c>Target Session Attributes=primary</c>), <see cref="PostgresReadConnectionString"/> prefers a standby. Null: the
    /// one server at <see cref="PostgresHost"/>.
    /// </summary>
    public string? PostgresHosts { get; init; }

    /// <summary>The port the bus connects to: <see cref="AmqpTlsPort"/> with TLS, else <see cref="AmqpPort"/>.</summary>
    public int AmqpConnectPort => AmqpTls ? AmqpTlsPort : AmqpPort;

    /// <summary>The database every PostgreSQL cluster has; used to create and drop the project's own databases.</summary>
    public const string MaintenanceDatabase = "postgres";

    /// <summary>Seconds to wait for a PostgreSQL connection before giving up (Npgsql's own default is 15).</summary>
    public const int PostgresConnectTimeoutSeconds = 10;

    /// <summary>Seconds a single command may run (Npgsql's default, stated so readers need not look it up).</summary>
    public const int PostgresCommandTimeoutSeconds = 30;

    const string Redacted = "***";

    /// <summary>The settings of the servers that deploy/local/env.sh starts, when nothing is set.</summary>
    public static ServerSettings Defaults { get; } = new(
        PostgresHost: "127.0.0.1",
        PostgresPort: 55432,
        PostgresUser: "exchange",
        PostgresPassword: "exchange",
        AmqpHost: "127.0.0.1",
        AmqpPort: 55672,
        AmqpUser: "exchange",
        AmqpPassword: "exchange",
        AmqpVirtualHost: "exchange",
        AmqpManagementPort: 55673);

    /// <summary>Reads the EXCHANGE_* environment variables; an unset or empty one keeps its loopback default.</summary>
    /// <exception cref="FormatException">A port variable is set but is not a port number.</exception>
    public static ServerSettings FromEnvironment() => From(Environment.GetEnvironmentVariable);

    /// <summary>
    /// Reads the same keys (EXCHANGE_PG_HOST, ...) from a host's configuration, which holds the
    /// environment variables and also anything set in appsettings.json or on the command line.
    /// </summary>
    public static ServerSettings FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return From(name => configuration[name]);
    }

    static ServerSettings From(Func<string, string?> read)
    {
        var d = Defaults;
        return new ServerSettings(
            PostgresHost: Text(read, PostgresHostVariable, d.PostgresHost),
            PostgresPort: Port(read, PostgresPortVariable, d.PostgresPort),
            PostgresUser: Text(read, PostgresUserVariable, d.PostgresUser),
            PostgresPassword: Text(read, PostgresPasswordVariable, d.PostgresPassword),
            AmqpHost: Text(read, AmqpHostVariable, d.AmqpHost),
            AmqpPort: Port(read, AmqpPortVariable, d.AmqpPort),
            AmqpUser: Text(read, AmqpUserVariable, d.AmqpUser),
            AmqpPassword: Text(read, AmqpPasswordVariable, d.AmqpPassword),
            AmqpVirtualHost: Text(read, AmqpVirtualHostVariable, d.AmqpVirtualHost),
            AmqpManagementPort: Port(read, AmqpManagementPortVariable, d.AmqpManagementPort))
        {
            AmqpTls = Flag(read, AmqpTlsVariable),
            AmqpTlsPort = Port(read, AmqpTlsPortVariable, DefaultAmqpTlsPort),
            AmqpCaFile = string.IsNullOrWhiteSpace(read(AmqpCaFileVariable)) ? null : read(AmqpCaFileVariable)!.Trim(),
            AmqpManagementTls = Flag(read, AmqpManagementTlsVariable),
            Development = Flag(read, DevelopmentVariable),
            AmqpHosts = HostList(read, AmqpHostsVariable),
            AmqpQuorum = Flag(read, AmqpQuorumVariable),
            PostgresHosts = HostList(read, PostgresHostsVariable) is { Count: > 0 } pg ? string.Join(',', pg) : null,
        };
    }

    static bool Flag(Func<string, string?> read, string name)
    {
        var value = read(name)?.Trim();
        return value?.ToLowerInvariant() switch
        {
            null or "" or "0" or "false" or "no" or "off" => false,
            "1" or "true" or "yes" or "on" => true,
            _ => throw new FormatException($"{name} must be 1 or 0 (true or false), but it is '{value}'."),
        };
    }

    /// <summary>A comma-separated list of <c>host:port</c>; each port is checked.</summary>
    static IReadOnlyList<string> HostList(Func<string, string?> read, string name)
    {
        var value = read(name);
        if (string.IsNullOrWhiteSpace(value))
            return [];
        var hosts = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var host in hosts)
        {
            var colon = host.LastIndexOf(':');
            if (colon <= 0 || !int.TryParse(host[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
                throw new FormatException($"{name} must list host:port entries separated by commas, but it holds '{host}'.");
        }

        return hosts;
    }

    static string Text(Func<string, string?> read, string name, string fallback)
    {
        var value = read(name);
        return string.IsNullOrWhiteSpace(value) ? fallback : value.Trim();
    }

    static int Port(Func<string, string?> read, string name, int fallback)
    {
        var value = read(name);
        if (string.IsNullOrWhiteSpace(value))
            return fallback;
        if (int.TryParse(value.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535)
            return port;
        throw new FormatException($"{name} must be a TCP port number (1-65535), but it is '{value}'.");
    }

    /// <summary>
    /// An Npgsql connection string for <paramref name="database"/>: pooled, a bounded connect
    /// timeout, and no error detail, so that parameter values (document metadata) never reach
    /// exception messages and logs.
    /// </summary>
    public string PostgresConnectionString(string database)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(database);
        return Builder(database, pooling: true).ConnectionString;
    }

    /// <summary>
    /// A connection string for the <c>postgres</c> maintenance database, used to create or drop the
    /// project's databases. Unpooled: such connections are rare, and an idle pooled one would block
    /// <c>DROP DATABASE</c>.
    /// </summary>
    public string PostgresMaintenanceConnectionString() => Builder(MaintenanceDatabase, pooling: false).ConnectionString;

    /// <summary>
    /// <see cref="PostgresConnectionString"/> for a reader that may lag a moment behind (the auditors' host): with
    /// <see cref="PostgresHosts"/> it prefers a standby, and takes the primary while no standby answers.
    /// </summary>
    public string PostgresReadConnectionString(string database)
    {
        var builder = Builder(database, pooling: true);
        if (PostgresHosts is not null)
        {
            builder.TargetSessionAttributes = "prefer-standby";
        }

        return builder.ConnectionString;
    }

    NpgsqlConnectionStringBuilder Builder(string database, bool pooling)
    {
        var builder = BaseBuilder(database, pooling);
        if (PostgresHosts is not null)
        {
            builder.Host = PostgresHosts;
            builder.TargetSessionAttributes = "primary";
            // Npgsql remembers which server was the primary for this long: short, so that writers find a promoted standby soon.
            builder.HostRecheckSeconds = 2;
        }

        return builder;
    }

    NpgsqlConnectionStringBuilder BaseBuilder(string database, bool pooling) => new()
    {
        Host = PostgresHost,
        Port = PostgresPort,
        Username = PostgresUser,
        Password = PostgresPassword,
        Database = database,
        Pooling = pooling,
        Timeout = PostgresConnectTimeoutSeconds,
        CommandTimeout = PostgresCommandTimeoutSeconds,
        IncludeErrorDetail = false,
        // No DISCARD ALL each time a pooled connection goes back: that was a third of the statements PostgreSQL ran
        // per document (docs/performance.md). Nothing here leaves session state behind: the evidence chain's advisory
        // lock and the audit's read-only mode are per transaction.
        NoResetOnClose = pooling,
    };

    /// <summary>
    /// The broker address in MassTransit's form, <c>rabbitmq://host:port/vhost</c> (<c>rabbitmqs://</c> and the TLS
    /// port with <see cref="AmqpTls"/>). The credentials are not in it: pass <see cref="AmqpUser"/> and
    /// <see cref="AmqpPassword"/> separately (see
    /// <see cref="RabbitMqHostExtensions.Host(MassTransit.IRabbitMqBusFactoryConfigurator, ServerSettings)"/>).
    /// </summary>
    public Uri AmqpUri => new UriBuilder(AmqpTls ? "rabbitmqs" : "rabbitmq", AmqpHost, AmqpConnectPort, VirtualHostPath).Uri;

    /// <summary>The RabbitMQ management HTTP API (users, permissions, queue depths), over HTTPS with <see cref="AmqpManagementTls"/>.</summary>
    public Uri AmqpManagementUri => new UriBuilder(AmqpManagementTls ? Uri.UriSchemeHttps : Uri.UriSchemeHttp, AmqpHost, AmqpManagementPort, "/").Uri;

    /// <summary>
    /// <see cref="AmqpManagementUri"/> for a command that sends the administrator's login to it. Plain HTTP would carry that
    /// password (HTTP basic authentication, RFC 7617) in the clear: refused outside <see cref="Development"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">Plain HTTP outside development mode.</exception>
    public Uri ManagementApiUri()
    {
        if (!AmqpManagementTls && !Development)
        {
            throw new InvalidOperationException(
                $"The broker's management API would be called over plain HTTP ({AmqpManagementUri}), sending the administrator's password in the clear: "
                + $"set {AmqpManagementTlsVariable}=1 for its HTTPS listener, or {DevelopmentVariable}=1 for the local servers (docs/operations.md, \"Development mode\").");
        }

        return AmqpManagementUri;
    }

    /// <summary>
    /// Outside <see cref="Development"/> mode, refuses what would be unsafe in a deployment: the local servers' default
    /// logins (a shared password anyone who read deploy/local/env.sh knows), plus what the host adds (<paramref name="more"/>,
    /// null entries ignored). The message names every reason, so that one start tells the operator everything to change.
    /// </summary>
    /// <exception cref="InvalidOperationException">Something unsafe outside development mode.</exception>
    public void RefuseUnsafe(string host, params string?[] more)
    {
        if (Development)
        {
            return;
        }

        var reasons = new List<string>();
        if (PostgresUser == Defaults.PostgresUser && PostgresPassword == Defaults.PostgresPassword)
        {
            reasons.Add($"PostgreSQL's login is the local servers' default ({PostgresUser}/…): set {PostgresUserVariable} and {PostgresPasswordVariable}");
        }

        if (AmqpUser == Defaults.AmqpUser && AmqpPassword == Defaults.AmqpPassword)
        {
            reasons.Add($"the broker login is the local servers' default ({AmqpUser}/…): set {AmqpUserVariable} and {AmqpPasswordVariable}, or the host's own broker user");
        }

        reasons.AddRange(more.OfType<string>());
        if (reasons.Count > 0)
        {
            throw new InvalidOperationException(
                $"{host} refuses to start outside development mode ({DevelopmentVariable}=1; docs/operations.md, \"Development mode\"): "
                + string.Join("; ", reasons) + ".");
        }
    }

    // RabbitMQ's default vhost is named "/"; MassTransit reads an empty path as that one, and any
    // other name is one path segment, escaped.
    string VirtualHostPath => AmqpVirtualHost == "/" ? "/" : "/" + Uri.EscapeDataString(AmqpVirtualHost);

    public override string ToString() =>
        $"{nameof(ServerSettings)} {{ PostgreSQL = {PostgresUser}:{Redacted}@{PostgresHosts ?? $"{PostgresHost}:{PostgresPort}"}, " +
        $"AMQP = {AmqpUser}:{Redacted}@{(AmqpHosts.Count > 0 ? string.Join(',', AmqpHosts) : $"{AmqpHost}:{AmqpConnectPort}")}/{AmqpVirtualHost}{(AmqpQuorum ? " (quorum queues)" : string.Empty)}{(AmqpTls ? $" over TLS (CA {AmqpCaFile ?? "system"})" : string.Empty)}, " +
        $"AMQP management port = {AmqpManagementPort} }}";
}
