using Exchange.ServiceDefaults;
using Microsoft.Extensions.Configuration;
using Npgsql;

namespace Exchange.ServiceDefaults.Tests;

// These tests change process-wide environment variables, so they must not run beside others.
[NonParallelizable]
public sealed class ServerSettingsTests
{
    static readonly string[] Variables =
    [
        ServerSettings.PostgresHostVariable, ServerSettings.PostgresPortVariable, ServerSettings.PostgresUserVariable,
        ServerSettings.PostgresPasswordVariable, ServerSettings.AmqpHostVariable, ServerSettings.AmqpPortVariable,
        ServerSettings.AmqpUserVariable, ServerSettings.AmqpPasswordVariable, ServerSettings.AmqpVirtualHostVariable,
        ServerSettings.AmqpManagementPortVariable, ServerSettings.AmqpTlsVariable, ServerSettings.AmqpTlsPortVariable,
        ServerSettings.AmqpCaFileVariable, ServerSettings.AmqpManagementTlsVariable, ServerSettings.DevelopmentVariable,
        ServerSettings.AmqpHostsVariable, ServerSettings.AmqpQuorumVariable, ServerSettings.PostgresHostsVariable,
    ];

    readonly Dictionary<string, string?> saved = [];

    [OneTimeSetUp]
    public void SaveEnvironment()
    {
        foreach (var name in Variables)
            saved[name] = Environment.GetEnvironmentVariable(name);
    }

    // Reset before each test (not after), so a failing test leaves its environment to inspect.
    [SetUp]
    public void ClearEnvironment()
    {
        foreach (var name in Variables)
            Environment.SetEnvironmentVariable(name, null);
    }

    [OneTimeTearDown]
    public void RestoreEnvironment()
    {
        foreach (var (name, value) in saved)
            Environment.SetEnvironmentVariable(name, value);
    }

    [Test]
    public void Defaults_to_the_loopback_servers_of_the_local_script_when_nothing_is_set()
    {
        var settings = ServerSettings.FromEnvironment();

        Assert.That(settings, Is.EqualTo(new ServerSettings(
            "127.0.0.1", 55432, "exchange", "exchange",
            "127.0.0.1", 55672, "exchange", "exchange", "exchange", 55673)));
        Assert.That(settings, Is.EqualTo(ServerSettings.Defaults));
    }

    [Test]
    public void Reads_every_setting_from_its_environment_variable()
    {
        Environment.SetEnvironmentVariable("EXCHANGE_PG_HOST", "db.example");
        Environment.SetEnvironmentVariable("EXCHANGE_PG_PORT", "5432");
        Environment.SetEnvironmentVariable("EXCHANGE_PG_USER", "hub");
        Environment.SetEnvironmentVariable("EXCHANGE_PG_PASSWORD", "pg-secret");
        Environment.SetEnvironmentVariable("EXCHANGE_AMQP_HOST", "mq.example");
        Environment.SetEnvironmentVariable("EXCHANGE_AMQP_PORT", "5672");
        Environment.SetEnvironmentVariable("EXCHANGE_AMQP_USER", "agency-000-00-00-h01");
        Environment.SetEnvironmentVariable("EXCHANGE_AMQP_PASSWORD", "mq-secret");
        Environment.SetEnvironmentVariable("EXCHANGE_AMQP_VHOST", "province");
        Environment.SetEnvironmentVariable("EXCHANGE_AMQP_MGMT_PORT", "15672");

        var settings = ServerSettings.FromEnvironment();

        Assert.That(settings, Is.EqualTo(new ServerSettings(
            "db.example", 5432, "hub", "pg-secret",
            "mq.example", 5672, "agency-000-00-00-h01", "mq-secret", "province", 15672)));
    }

    [Test]
    public void Keeps_the_default_for_a_variable_that_is_set_but_empty()
    {
        Environment.SetEnvironmentVariable("EXCHANGE_PG_PORT", " ");
        Environment.SetEnvironmentVariable("EXCHANGE_AMQP_HOST", "mq.example");

        var settings = ServerSettings.FromEnvironment();

        Assert.That(settings.PostgresPort, Is.EqualTo(55432));
        Assert.That(settings.AmqpHost, Is.EqualTo("mq.example"));
    }

    [TestCase("5432x")]
    [TestCase("0")]
    [TestCase("70000")]
    [TestCase("-1")]
    public void Rejects_a_port_that_is_not_a_port_number_and_names_the_variable(string value)
    {
        Environment.SetEnvironmentVariable("EXCHANGE_AMQP_PORT", value);

        var error = Assert.Throws<FormatException>(() => ServerSettings.FromEnvironment());

        Assert.That(error.Message, Does.Contain("EXCHANGE_AMQP_PORT"));
    }

    [Test]
    public void Reads_the_same_keys_from_a_host_configuration()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["EXCHANGE_PG_HOST"] = "10.0.0.5",
                ["EXCHANGE_AMQP_VHOST"] = "district-7",
            })
            .Build();

        var settings = ServerSettings.FromConfiguration(configuration);

        Assert.That(settings, Is.EqualTo(ServerSettings.Defaults with { PostgresHost = "10.0.0.5", AmqpVirtualHost = "district-7" }));
    }

    [Test]
    public void ToString_redacts_both_passwords()
    {
        var settings = ServerSettings.Defaults with { PostgresPassword = "pg-Secret-1", AmqpPassword = "mq-Secret-2" };

        var text = settings.ToString();

        Assert.That(text, Does.Not.Contain("pg-Secret-1"));
        Assert.That(text, Does.Not.Contain("mq-Secret-2"));
        Assert.That(text, Does.Contain("***"));
        Assert.That(text, Does.Contain("127.0.0.1:55432"));
        Assert.That($"{settings}", Is.EqualTo(text), "interpolation uses the same redacted form");
    }

    [Test]
    public void Postgres_connection_string_names_the_database_pools_and_hides_error_detail()
    {
        var settings = ServerSettings.Defaults with { PostgresPassword = "pg-secret" };

        var parsed = new NpgsqlConnectionStringBuilder(settings.PostgresConnectionString("exchange_hub"));

        Assert.Multiple(() =>
        {
            Assert.That(parsed.Host, Is.EqualTo("127.0.0.1"));
            Assert.That(parsed.Port, Is.EqualTo(55432));
            Assert.That(parsed.Username, Is.EqualTo("exchange"));
            Assert.That(parsed.Password, Is.EqualTo("pg-secret"));
            Assert.That(parsed.Database, Is.EqualTo("exchange_hub"));
            Assert.That(parsed.Pooling, Is.True);
            Assert.That(parsed.Timeout, Is.EqualTo(ServerSettings.PostgresConnectTimeoutSeconds));
            Assert.That(parsed.IncludeErrorDetail, Is.False);
        });
    }

    [Test]
    public void Maintenance_connection_string_points_at_the_postgres_database_without_pooling()
    {
        var parsed = new NpgsqlConnectionStringBuilder(ServerSettings.Defaults.PostgresMaintenanceConnectionString());

        Assert.That(parsed.Database, Is.EqualTo("postgres"));
        Assert.That(parsed.Pooling, Is.False);
        Assert.That(parsed.IncludeErrorDetail, Is.False);
    }

    [Test]
    public void Amqp_uri_is_rabbitmq_host_port_and_virtual_host_without_credentials()
    {
        var settings = ServerSettings.Defaults;

        Assert.That(settings.AmqpUri, Is.EqualTo(new Uri("rabbitmq://127.0.0.1:55672/exchange")));
        Assert.That(settings.AmqpUri.UserInfo, Is.Empty);
        Assert.That(settings.AmqpManagementUri, Is.EqualTo(new Uri("http://127.0.0.1:55673/")));
    }

    [Test]
    public void The_management_api_over_plain_http_is_refused_outside_development_mode()
    {
        // 1. It works: over HTTPS anywhere, over plain HTTP in development mode (the local servers).
        Assert.That((ServerSettings.Defaults with { AmqpManagementTls = true }).ManagementApiUri(), Is.EqualTo(new Uri("https://127.0.0.1:55673/")));
        Assert.That((ServerSettings.Defaults with { Development = true }).ManagementApiUri(), Is.EqualTo(new Uri("http://127.0.0.1:55673/")));

        // 2. The unsafe call: the administrator's password over plain HTTP outside development mode.
        var refused = Assert.Throws<InvalidOperationException>(() => ServerSettings.Defaults.ManagementApiUri());

        // 3. Refused, saying what to set (issue #16, item 11).
        Assert.That(refused!.Message, Does.Contain(ServerSettings.AmqpManagementTlsVariable + "=1").And.Contain(ServerSettings.DevelopmentVariable + "=1"));
    }

    [Test]
    public void Development_mode_and_management_tls_are_read_from_their_variables()
    {
        var settings = ServerSettings.FromConfiguration(new Microsoft.Extensions.Configuration.ConfigurationBuilder().AddInMemoryCollection(
            new Dictionary<string, string?> { [ServerSettings.DevelopmentVariable] = "1", [ServerSettings.AmqpManagementTlsVariable] = "true" }).Build());

        Assert.That((settings.Development, settings.AmqpManagementTls), Is.EqualTo((true, true)));
        Assert.That(ServerSettings.Defaults.Development, Is.False, "development mode is never a default");
    }

    [Test]
    public void Amqp_uri_of_the_default_virtual_host_has_an_empty_path()
    {
        var settings = ServerSettings.Defaults with { AmqpVirtualHost = "/" };

        Assert.That(settings.AmqpUri.AbsoluteUri, Is.EqualTo("rabbitmq://127.0.0.1:55672/"));
    }

    [Test]
    public void Amqp_over_tls_is_off_unless_set_and_then_uses_the_tls_port_and_the_ca_file()
    {
        Assert.That(ServerSettings.FromEnvironment().AmqpTls, Is.False);

        Environment.SetEnvironmentVariable("EXCHANGE_AMQP_TLS", "1");
        Environment.SetEnvironmentVariable("EXCHANGE_AMQP_TLS_PORT", "5671");
        Environment.SetEnvironmentVariable("EXCHANGE_AMQP_CA_FILE", "/etc/exchange/broker-ca.pem");
        var settings = ServerSettings.FromEnvironment();

        Assert.Multiple(() =>
        {
            Assert.That(settings.AmqpTls, Is.True);
            Assert.That(settings.AmqpConnectPort, Is.EqualTo(5671));
            Assert.That(settings.AmqpCaFile, Is.EqualTo("/etc/exchange/broker-ca.pem"));
            Assert.That(settings.AmqpUri, Is.EqualTo(new Uri("rabbitmqs://127.0.0.1:5671/exchange")));
            Assert.That(settings.ToString(), Does.Contain("127.0.0.1:5671").And.Contain("over TLS"));
        });
    }

    [Test]
    public void Amqp_over_tls_defaults_to_the_local_tls_listener()
    {
        Environment.SetEnvironmentVariable("EXCHANGE_AMQP_TLS", "true");

        var settings = ServerSettings.FromEnvironment();

        Assert.That(settings.AmqpConnectPort, Is.EqualTo(ServerSettings.DefaultAmqpTlsPort));
        Assert.That(settings.AmqpCaFile, Is.Null, "no CA file: the system's trust store");
    }

    [Test]
    public void Rejects_a_tls_switch_that_is_neither_on_nor_off_and_names_the_variable()
    {
        Environment.SetEnvironmentVariable("EXCHANGE_AMQP_TLS", "maybe");

        var error = Assert.Throws<FormatException>(() => ServerSettings.FromEnvironment());

        Assert.That(error.Message, Does.Contain("EXCHANGE_AMQP_TLS"));
    }

    [Test]
    public void Cluster_settings_are_off_unless_set()
    {
        var settings = ServerSettings.FromEnvironment();
        Assert.Multiple(() =>
        {
            Assert.That(settings.AmqpHosts, Is.Empty);
            Assert.That(settings.AmqpQuorum, Is.False);
            Assert.That(settings.PostgresHosts, Is.Null);
            Assert.That(settings.PostgresReadConnectionString("db"), Is.EqualTo(settings.PostgresConnectionString("db")));
            Assert.That(new NpgsqlConnectionStringBuilder(settings.PostgresConnectionString("db")).TargetSessionAttributes, Is.Null);
        });
    }

    [Test]
    public void Cluster_settings_name_every_node_the_writers_want_the_primary_and_the_readers_prefer_a_standby()
    {
        Environment.SetEnvironmentVariable(ServerSettings.AmqpHostsVariable, "10.0.0.1:5672, 10.0.0.2:5672,10.0.0.3:5673");
        Environment.SetEnvironmentVariable(ServerSettings.AmqpQuorumVariable, "1");
        Environment.SetEnvironmentVariable(ServerSettings.PostgresHostsVariable, "db1:5432,db2:5433");
        var settings = ServerSettings.FromEnvironment();
        var writer = new NpgsqlConnectionStringBuilder(settings.PostgresConnectionString("db"));
        var reader = new NpgsqlConnectionStringBuilder(settings.PostgresReadConnectionString("db"));
        var maintenance = new NpgsqlConnectionStringBuilder(settings.PostgresMaintenanceConnectionString());
        Assert.Multiple(() =>
        {
            Assert.That(settings.AmqpHosts, Is.EqualTo(new[] { "10.0.0.1:5672", "10.0.0.2:5672", "10.0.0.3:5673" }));
            Assert.That(settings.AmqpQuorum, Is.True);
            Assert.That(writer.Host, Is.EqualTo("db1:5432,db2:5433"));
            Assert.That(writer.TargetSessionAttributes, Is.EqualTo("primary"));
            Assert.That(maintenance.TargetSessionAttributes, Is.EqualTo("primary"));
            Assert.That(reader.Host, Is.EqualTo("db1:5432,db2:5433"));
            Assert.That(reader.TargetSessionAttributes, Is.EqualTo("prefer-standby"));
            Assert.That(settings.ToString(), Does.Contain("db1:5432,db2:5433").And.Contain("10.0.0.3:5673").And.Contain("quorum"));
        });
    }

    [TestCase(ServerSettings.AmqpHostsVariable, "10.0.0.1")]
    [TestCase(ServerSettings.PostgresHostsVariable, "db1:5432,db2:port")]
    public void Rejects_a_host_list_entry_without_a_port_and_names_the_variable(string variable, string value)
    {
        Environment.SetEnvironmentVariable(variable, value);
        Assert.That(() => ServerSettings.FromEnvironment(), Throws.TypeOf<FormatException>().With.Message.Contains(variable));
    }
}
