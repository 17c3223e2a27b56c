using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Exchange.Cli.Commands;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Broker;
using MassTransit;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;

namespace Exchange.IntegrationTests;

/// <summary>
/// Per-agency isolation on the real broker (issue 4, part 6): two agencies provisioned under a prefix of this
/// run, each logging in as its own user. What one agency may do with its own queue it may not do with the
/// other's, and it reaches the hub only through its outbound exchange; the hub's user reaches both.
/// </summary>
[TestFixture]
public sealed class BrokerIsolationTests
{
    private const string AgencyA = "000.00.01.H29";
    private const string AgencyB = "000.01.21.H29";

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private ExchangeNames _names = null!;
    private BrokerLayout _layout = null!;
    private BrokerProvisionResult _first = null!;
    private IConnection _a = null!;
    private IConnection _b = null!;
    private IConnection _hub = null!;

    private BrokerAgency A => _layout.Find(AgencyA)!;

    private BrokerAgency B => _layout.Find(AgencyB)!;

    [OneTimeSetUp]
    public async Task Provision()
    {
        await DeleteStaleBrokerUsersAsync();
        _names = new ExchangeNames($"{Servers.RunPrefix}{Guid.NewGuid().ToString("N")[..6]}-");
        _layout = BrokerCommand.Layout(_names, [AgencyA, AgencyB]);
        using (var provisioner = new BrokerProvisioner(Servers.Settings))
        {
            _first = await provisioner.ProvisionAsync(_layout);
        }

        _a = await ConnectAsync(A.User);
        _b = await ConnectAsync(B.User);
        _hub = await ConnectAsync(_layout.HubUser);
    }

    [OneTimeTearDown]
    public async Task Disconnect()
    {
        foreach (var connection in new[] { _a, _b, _hub })
        {
            if (connection is not null)
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>
    /// Each test starts from the provisioned users (a test that changed one is undone) and from empty queues,
    /// so a message left by another test cannot answer for it.
    /// </summary>
    [SetUp]
    public async Task ResetUsersAndQueues()
    {
        using (var provisioner = new BrokerProvisioner(Servers.Settings))
        {
            await provisioner.ProvisionAsync(_layout);
        }

        using var http = AdminHttp();
        foreach (var queue in new[] { _layout.HubQueue, A.Queue, B.Queue })
        {
            using var response = await http.DeleteAsync($"api/queues/{Vhost}/{Uri.EscapeDataString(queue)}/contents");
            response.EnsureSuccessStatusCode();
        }
    }

    [Test]
    public async Task Provisioning_creates_one_user_per_agency_and_one_for_the_hub_with_strong_passwords()
    {
        Assert.That(_first.Users.Select(u => (u.User, u.Change)), Is.EqualTo(new[]
        {
            (_layout.HubUser, BrokerUserChange.Created),
            (A.User, BrokerUserChange.Created),
            (B.User, BrokerUserChange.Created),
        }));
        Assert.That(_first.Users.Select(u => u.Password), Is.All.Matches<string>(p => Regex.IsMatch(p, "^[A-Za-z0-9_-]{43}$")));
        Assert.That(_first.Users.Select(u => u.Password), Is.Unique);
        Assert.That(_first.Users.Select(u => u.ToString()), Has.None.Contains(_first.Users[1].Password), "a result printed or logged shows no password");

        using var provisioner = new BrokerProvisioner(Servers.Settings);
        foreach (var (user, expected) in new[] { (_layout.HubUser, _layout.HubPermissions), (A.User, A.Permissions), (B.User, B.Permissions) })
        {
            Assert.That(await provisioner.GetPermissionsAsync(user), Is.EqualTo(expected));
        }

        // No management API and no administration for anyone; the hub may publish a user_id not its own (BrokerNames.HubTags).
        Assert.That(await provisioner.GetUserTagsAsync(A.User), Is.Empty);
        Assert.That(await provisioner.GetUserTagsAsync(B.User), Is.Empty);
        Assert.That(await provisioner.GetUserTagsAsync(_layout.HubUser), Is.EqualTo(new[] { "impersonator" }));
    }

    [Test]
    public async Task Provisioning_again_changes_nothing_and_keeps_the_passwords()
    {
        using var provisioner = new BrokerProvisioner(Servers.Settings);

        var second = await provisioner.ProvisionAsync(_layout);

        Assert.That(second.Users.Select(u => u.Change), Is.All.EqualTo(BrokerUserChange.Unchanged));
        Assert.That(second.Users.Select(u => u.Password), Is.All.Null);
        Assert.That(second.Declared, Is.Empty);
        Assert.That(second.Orphans, Is.Empty);
        await using var again = await ConnectAsync(A.User);
        Assert.That(again.IsOpen, Is.True, "the first password still logs in");
    }

    [Test]
    public async Task Provisioning_puts_back_drifted_tags_and_permissions_and_keeps_the_password()
    {
        // 1. Someone makes B an administrator with every right, keeping its password hash.
        using var http = AdminHttp();
        var user = await http.GetFromJsonAsync<JsonElement>($"api/users/{Uri.EscapeDataString(B.User)}");
        (await http.PutAsJsonAsync($"api/users/{Uri.EscapeDataString(B.User)}", new
        {
            password_hash = user.GetProperty("password_hash").GetString(),
            hashing_algorithm = user.GetProperty("hashing_algorithm").GetString(),
            tags = "administrator",
        })).EnsureSuccessStatusCode();
        (await http.PutAsJsonAsync($"api/permissions/{Vhost}/{Uri.EscapeDataString(B.User)}", new { configure = ".*", write = ".*", read = ".*" })).EnsureSuccessStatusCode();

        // 2. Provisioning puts back what B should have, and touches nothing else.
        using var provisioner = new BrokerProvisioner(Servers.Settings);
        var result = await provisioner.ProvisionAsync(_layout);
        Assert.That(result.Users.Select(u => (u.User, u.Change, u.Password)), Is.EqualTo(new[]
        {
            (_layout.HubUser, BrokerUserChange.Unchanged, (string?)null),
            (A.User, BrokerUserChange.Unchanged, null),
            (B.User, BrokerUserChange.Updated, null),
        }));
        Assert.That(await provisioner.GetUserTagsAsync(B.User), Is.Empty);
        Assert.That(await provisioner.GetPermissionsAsync(B.User), Is.EqualTo(B.Permissions));

        // 3. B's gateway still logs in with the password it was given.
        await using var again = await ConnectAsync(B.User);
        Assert.That(again.IsOpen, Is.True);
    }

    [Test]
    public async Task Agency_consumes_what_the_hub_sends_to_its_queue()
    {
        var body = await PublishAsync(_hub, A.Queue);

        Assert.That(await GetAsync(_a, A.Queue, body), Is.True);
    }

    [Test]
    public async Task Agency_sends_to_the_hub_through_its_outbound_exchange()
    {
        var body = await PublishAsync(_a, A.OutboundExchange);

        Assert.That(await GetAsync(_hub, _layout.HubQueue, body), Is.True);
    }

    [Test]
    public async Task Hub_delivers_to_both_agencies()
    {
        var toA = await PublishAsync(_hub, A.Queue);
        var toB = await PublishAsync(_hub, B.Queue);

        Assert.That(await GetAsync(_a, A.Queue, toA), Is.True);
        Assert.That(await GetAsync(_b, B.Queue, toB), Is.True);
    }

    // Each refusal below first does the same thing to the agency's own queue or exchange and sees it allowed,
    // so a refusal is about whose resource it is, not about a call that could never work.

    [Test]
    public async Task Agency_is_refused_consuming_another_agencys_queue()
    {
        await AssertAllowedAsync(_a, async channel => await channel.BasicConsumeAsync(A.Queue, autoAck: false, new AsyncEventingBasicConsumer(channel)));

        await AssertRefusedAsync(_a, async channel => await channel.BasicConsumeAsync(B.Queue, autoAck: false, new AsyncEventingBasicConsumer(channel)));
        await AssertRefusedAsync(_a, async channel => await channel.BasicGetAsync(B.Queue, autoAck: false));
    }

    [Test]
    public async Task Agency_is_refused_publishing_to_another_agencys_queue_exchange()
    {
        await AssertAllowedAsync(_a, channel => Publish(channel, A.OutboundExchange));

        await AssertRefusedAsync(_a, channel => Publish(channel, B.Queue));
        Assert.That(await GetAsync(_b, B.Queue, body: null, TimeSpan.FromSeconds(1)), Is.False, "nothing reached B's queue");
    }

    [Test]
    public async Task Agency_is_refused_binding_its_queue_to_another_agencys_exchange()
    {
        // The other way to read B's deliveries: have them copied into one's own queue.
        await AssertAllowedAsync(_a, channel => channel.QueueBindAsync(A.Queue, A.Queue, routingKey: string.Empty));

        await AssertRefusedAsync(_a, channel => channel.QueueBindAsync(A.Queue, B.Queue, routingKey: string.Empty));
    }

    [Test]
    public async Task Agency_is_refused_writing_to_the_hub_exchange_or_touching_the_hub_queue()
    {
        await AssertRefusedAsync(_a, channel => Publish(channel, _layout.HubQueue));
        await AssertRefusedAsync(_a, channel => channel.QueueDeleteAsync(_layout.HubQueue));
        await AssertRefusedAsync(_a, async channel => await channel.QueuePurgeAsync(_layout.HubQueue));
        await AssertRefusedAsync(_a, async channel => await channel.BasicGetAsync(_layout.HubQueue, autoAck: false));
    }

    [Test]
    public async Task Agency_is_refused_sending_through_another_agencys_outbound_exchange()
    {
        // Posing as B towards the hub would need B's outbound exchange.
        await AssertAllowedAsync(_a, channel => Publish(channel, A.OutboundExchange));

        await AssertRefusedAsync(_a, channel => Publish(channel, B.OutboundExchange));
    }

    // ---- Who sent it: the AMQP user_id, which RabbitMQ validates (issue #16, item 3; docs/broker.md) ------------------

    [Test]
    public async Task Broker_refuses_an_agency_message_whose_user_id_is_another_agencys()
    {
        // 1. A message stamped with A's own login reaches the hub with that user_id.
        var body = await PublishAsync(_a, A.OutboundExchange, userId: A.User);
        Assert.That(await GetUserIdAsync(_hub, _layout.HubQueue, body), Is.EqualTo(A.User));

        // 2. The attack: A stamps B's login. 3. The broker refuses the publish (406 PRECONDITION_FAILED), so a user_id
        //    that reaches the hub was the publisher's own.
        await AssertRefusedAsync(_a, channel => Publish(channel, A.OutboundExchange, userId: B.User), Constants.PreconditionFailed);
        await AssertRefusedAsync(_a, channel => Publish(channel, A.OutboundExchange, userId: _layout.HubUser), Constants.PreconditionFailed);
        Assert.That(await GetAsync(_hub, _layout.HubQueue, body: null, TimeSpan.FromSeconds(1)), Is.False, "nothing reached the hub");
    }

    [Test]
    public async Task What_an_agency_routes_around_its_outbound_exchange_still_carries_its_own_login()
    {
        // 1. The permissions allow it: A binds its own _skipped exchange (read: its queue's companion) to its .to-hub
        //    exchange (write: where it sends). Names, not routes, are what RabbitMQ's permissions match, and A needs both.
        var skipped = A.Queue + BrokerNames.SkippedSuffix;
        await AssertAllowedAsync(_a, async channel =>
        {
            await channel.ExchangeDeclareAsync(skipped, ExchangeType.Fanout, durable: true);
            await channel.ExchangeBindAsync(A.OutboundExchange, skipped, string.Empty);
        });
        try
        {
            // 2. What A publishes there reaches the hub through an exchange that is not .to-hub: the basic.deliver
            //    exchange proves nothing. 3. Its user_id does: without one, the hub knows it for an agency's exchange
            //    with no login (BusOrigin refuses it); with one, it is A's, or the broker refused it.
            var bare = await PublishAsync(_a, skipped);
            Assert.That(await GetDeliveryAsync(_hub, _layout.HubQueue, bare), Is.EqualTo((skipped, (string?)null)));
            var stamped = await PublishAsync(_a, skipped, userId: A.User);
            Assert.That(await GetDeliveryAsync(_hub, _layout.HubQueue, stamped), Is.EqualTo((skipped, (string?)A.User)));
            await AssertRefusedAsync(_a, channel => Publish(channel, skipped, userId: B.User), Constants.PreconditionFailed);
        }
        finally
        {
            await using var channel = await _a.CreateChannelAsync();
            await channel.ExchangeUnbindAsync(A.OutboundExchange, skipped, string.Empty);
        }
    }

    [Test]
    public async Task Agency_is_refused_routing_anything_straight_into_the_hubs_exchange()
    {
        // Every way to route into a name needs write on it, and the hub's exchange is not an agency's to write: an
        // exchange-to-exchange binding, an alternate exchange, a dead-letter exchange.
        await AssertRefusedAsync(_a, channel => channel.ExchangeBindAsync(_layout.HubQueue, A.Queue, string.Empty));
        await AssertRefusedAsync(_a, async channel =>
        {
            await channel.ExchangeDeleteAsync(A.Queue + BrokerNames.ErrorSuffix);
            await channel.ExchangeDeclareAsync(A.Queue + BrokerNames.ErrorSuffix, ExchangeType.Fanout, durable: true,
                arguments: new Dictionary<string, object?> { ["alternate-exchange"] = _layout.HubQueue });
        });
        await AssertRefusedAsync(_a, async channel => await channel.QueueDeclareAsync(A.Queue + BrokerNames.ErrorSuffix, durable: true, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-dead-letter-exchange"] = _layout.HubQueue }));
    }

    [Test]
    public async Task Hub_may_move_an_agency_stamped_message_to_its_error_queue()
    {
        // MassTransit moves a message the hub cannot take to {queue}_error (or _skipped) by publishing it again with its
        // properties, user_id included. 1. As the hub's user (impersonator tag) that publish is allowed; 2. an agency's
        // user may not do the same (3. PRECONDITION_FAILED): the tag is the hub's only.
        await using (var channel = await _hub.CreateChannelAsync(Confirmed))
        {
            await Publish(channel, _layout.HubQueue, userId: A.User);
            await channel.BasicQosAsync(0, 1, global: false);
            Assert.That(channel.IsOpen, Is.True, channel.CloseReason?.ToString());
        }

        await AssertRefusedAsync(_b, channel => Publish(channel, B.OutboundExchange, userId: A.User), Constants.PreconditionFailed);
    }

    [Test]
    public async Task Gateway_bus_with_agency_credentials_starts_and_exchanges_messages_with_the_hub_bus()
    {
        // Configured as a gateway's and the hub's buses are with per-agency users (docs/broker.md): no consume
        // topology (no exchanges per message type) and no published faults (failures go to the _error queue).
        var delivered = new TaskCompletionSource<DeliverEnvelope>(TaskCreationOptions.RunContinuationsAsynchronously);
        var submitted = new TaskCompletionSource<SubmitEnvelope>(TaskCreationOptions.RunContinuationsAsynchronously);
        var gateway = CreateBus(A.User, A.Queue, (DeliverEnvelope m) => delivered.TrySetResult(m));
        var hub = CreateBus(_layout.HubUser, _layout.HubQueue, (SubmitEnvelope m) => submitted.TrySetResult(m));
        using var startTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await gateway.StartAsync(startTimeout.Token);
        try
        {
            await hub.StartAsync(startTimeout.Token);
            try
            {
                var delivery = new DeliverEnvelope(Guid.NewGuid(), AgencyB, AgencyA, [1, 2, 3], [4, 5], 1, []);
                await (await hub.GetSendEndpoint(new Uri($"queue:{A.Queue}"))).Send(delivery);
                Assert.That((await delivered.Task.WaitAsync(Patience)).EnvelopeId, Is.EqualTo(delivery.EnvelopeId));

                var submission = new SubmitEnvelope(Guid.NewGuid(), AgencyA, [AgencyB], [1, 2, 3], [4, 5], DateTimeOffset.UtcNow);
                await (await gateway.GetSendEndpoint(new Uri($"exchange:{A.OutboundExchange}"))).Send(submission);
                Assert.That((await submitted.Task.WaitAsync(Patience)).EnvelopeId, Is.EqualTo(submission.EnvelopeId));
            }
            finally
            {
                await hub.StopAsync();
            }
        }
        finally
        {
            await gateway.StopAsync();
        }
    }

    private string Password(string user) => _first.Users.Single(u => u.User == user).Password!;

    private async Task<IConnection> ConnectAsync(string user)
    {
        var s = Servers.Settings;
        var factory = new ConnectionFactory
        {
            HostName = s.AmqpHost,
            Port = s.AmqpPort,
            VirtualHost = s.AmqpVirtualHost,
            UserName = user,
            Password = Password(user),
            ClientProvidedName = $"{nameof(BrokerIsolationTests)} {user}",
        };
        return await factory.CreateConnectionAsync();
    }

    private IBusControl CreateBus<T>(string user, string queue, Action<T> received)
        where T : class
    {
        var servers = Servers.Settings with { AmqpUser = user, AmqpPassword = Password(user) };
        return Bus.Factory.CreateUsingRabbitMq(bus =>
        {
            bus.Host(servers);
            bus.ReceiveEndpoint(queue, e =>
            {
                e.ConfigureConsumeTopology = false;
                e.PublishFaults = false;
                e.Handler<T>(context =>
                {
                    received(context.Message);
                    return Task.CompletedTask;
                });
            });
        });
    }

    /// <summary>Publishes a fresh body to <paramref name="exchange"/>, mandatory and confirmed: it reached a queue or this throws.</summary>
    private static async Task<string> PublishAsync(IConnection connection, string exchange, string? userId = null)
    {
        await using var channel = await connection.CreateChannelAsync(Confirmed);
        return await Publish(channel, exchange, userId);
    }

    private static async Task<string> Publish(IChannel channel, string exchange, string? userId = null)
    {
        var body = $"{nameof(BrokerIsolationTests)} {Guid.NewGuid():N}";
        var properties = new BasicProperties { Persistent = true };
        if (userId is not null)
        {
            properties.UserId = userId;
        }

        await channel.BasicPublishAsync(exchange, routingKey: string.Empty, mandatory: true, properties, Encoding.UTF8.GetBytes(body));
        return body;
    }

    /// <summary>The user_id that <paramref name="body"/> carries when taken from <paramref name="queue"/>.</summary>
    private static async Task<string?> GetUserIdAsync(IConnection connection, string queue, string body) =>
        (await GetDeliveryAsync(connection, queue, body))?.UserId;

    /// <summary>The exchange <paramref name="body"/> was published to and its user_id, once taken from <paramref name="queue"/>; null if it never came.</summary>
    private static async Task<(string Exchange, string? UserId)?> GetDeliveryAsync(IConnection connection, string queue, string body)
    {
        await using var channel = await connection.CreateChannelAsync();
        var deadline = DateTimeOffset.UtcNow + Patience;
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (await channel.BasicGetAsync(queue, autoAck: true) is { } result)
            {
                if (Encoding.UTF8.GetString(result.Body.Span) == body)
                {
                    return (result.Exchange, result.BasicProperties.IsUserIdPresent() ? result.BasicProperties.UserId : null);
                }

                continue;
            }

            await Task.Delay(50);
        }

        return null;
    }

    /// <summary>True once <paramref name="body"/> (or, when null, anything) is taken from <paramref name="queue"/>.</summary>
    private static async Task<bool> GetAsync(IConnection connection, string queue, string? body, TimeSpan? patience = null)
    {
        await using var channel = await connection.CreateChannelAsync();
        var deadline = DateTimeOffset.UtcNow + (patience ?? Patience);
        while (DateTimeOffset.UtcNow < deadline)
        {
            if (await channel.BasicGetAsync(queue, autoAck: true) is { } result)
            {
                if (body is null || Encoding.UTF8.GetString(result.Body.Span) == body)
                {
                    return true;
                }

                continue;
            }

            await Task.Delay(50);
        }

        return false;
    }

    private static async Task AssertAllowedAsync(IConnection connection, Func<IChannel, Task> action)
    {
        await using var channel = await connection.CreateChannelAsync(Confirmed);
        await action(channel);
        await channel.BasicQosAsync(0, 1, global: false);
        Assert.That(channel.IsOpen, Is.True, channel.CloseReason?.ToString());
    }

    /// <summary>
    /// Runs <paramref name="action"/> on a fresh channel and asserts that the broker closed the channel with
    /// 403 ACCESS_REFUSED. A publish is answered asynchronously, so a confirmed channel is used and a round
    /// trip follows the action: by its end the refusal has arrived.
    /// </summary>
    private static async Task AssertRefusedAsync(IConnection connection, Func<IChannel, Task> action, ushort replyCode = Constants.AccessRefused)
    {
        var channel = await connection.CreateChannelAsync(Confirmed);
        try
        {
            Exception? thrown = null;
            try
            {
                await action(channel);
                await channel.BasicQosAsync(0, 1, global: false);
            }
            catch (Exception e) when (e is OperationInterruptedException or RabbitMQ.Client.Exceptions.PublishException)
            {
                thrown = e;
            }

            Assert.That(thrown, Is.Not.Null, "the broker allowed it");
            Assert.That(channel.CloseReason?.ReplyCode, Is.EqualTo(replyCode), thrown?.Message);
            Assert.That(channel.CloseReason?.ReplyText, Does.StartWith(replyCode == Constants.AccessRefused ? "ACCESS_REFUSED" : "PRECONDITION_FAILED"));
            Assert.That(connection.IsOpen, Is.True, "a refusal closes the channel, not the connection");
        }
        finally
        {
            await channel.DisposeAsync();
        }
    }

    private static CreateChannelOptions Confirmed => new(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true);

    private static string Vhost => Uri.EscapeDataString(Servers.Settings.AmqpVirtualHost);

    private static HttpClient AdminHttp()
    {
        var s = Servers.Settings;
        var http = new HttpClient { BaseAddress = s.AmqpManagementUri };
        http.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{s.AmqpUser}:{s.AmqpPassword}")));
        return http;
    }

    /// <summary>
    /// Removes the broker users earlier test runs provisioned (named with the run prefix, <c>it</c> and six hex
    /// digits), and their outbound exchanges, before this run: Servers removes their queues, not their users.
    /// A user with an open connection belongs to a run still going, and is left alone.
    /// </summary>
    private static async Task DeleteStaleBrokerUsersAsync()
    {
        using var provisioner = new BrokerProvisioner(Servers.Settings);
        var connected = await provisioner.UsersWithConnectionsAsync();
        var stale = (await provisioner.ListUsersAsync())
            .Where(u => Regex.IsMatch(u, $"^{Servers.RunPrefix}[0-9a-f]{{6}}-") && !connected.Contains(u))
            .ToList();
        using var http = AdminHttp();
        foreach (var user in stale)
        {
            await provisioner.DeleteUserAsync(user);
            using var response = await http.DeleteAsync($"api/exchanges/{Vhost}/{Uri.EscapeDataString(BrokerNames.OutboundExchange(user))}");
        }
    }
}
