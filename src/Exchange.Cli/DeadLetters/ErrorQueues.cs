using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Exchange.Core;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Broker;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Exchange.Cli.DeadLetters;

/// <summary>One error queue of the deployment and its depth as the management API last counted it (it lags a few seconds).</summary>
public sealed record ErrorQueue(string Name, long Messages);

/// <summary>
/// A deployment's error queues on the broker: which exist (RabbitMQ management HTTP API), and their messages (AMQP
/// <c>basic.get</c> without auto-ack, so that nothing is removed by reading). A message read is held by this
/// client's channel until it is acknowledged (removed) or returned; RabbitMQ puts a returned message back at its
/// place in the queue, marked redelivered (https://www.rabbitmq.com/docs/confirms#consumer-nacks-requeue), and
/// no one consumes error queues, so reading disturbs nothing else. The management API's own "get messages" is
/// not used: it offers no way to take out one chosen message and leave the others.
/// </summary>
public sealed class ErrorQueues(ServerSettings servers, ExchangeNames names) : IAsyncDisposable
{
    private IConnection? _connection;

    /// <summary>
    /// Error queues of this deployment's hub and agency endpoints: <c>{prefix}exchange-hub_error</c> and
    /// <c>{prefix}agency-…_error</c>, and no other deployment's (another prefix) or anything else on the vhost.
    /// </summary>
    public bool IsErrorQueue(string queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        var hub = Regex.Escape(names.HubQueue);
        var agencies = Regex.Escape(names.AgencyQueue(string.Empty));
        return Regex.IsMatch(queue, $"^(?:{hub}|{agencies}[a-z0-9-]+){Regex.Escape(BrokerNames.ErrorSuffix)}$", RegexOptions.CultureInvariant);
    }

    /// <summary>
    /// The error queue a user means by <paramref name="name"/>: the name as listed, or its source queue's name, with
    /// or without the deployment's prefix. Null when it names no error queue of this deployment.
    /// </summary>
    public string? Resolve(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        string[] candidates = [name, name + BrokerNames.ErrorSuffix, names.Prefix + name, names.Prefix + name + BrokerNames.ErrorSuffix];
        return candidates.FirstOrDefault(IsErrorQueue);
    }

    /// <summary>The deployment's error queues that exist, by name, the hub's first.</summary>
    /// <exception cref="HttpRequestException">The management API cannot be reached or refuses the user.</exception>
    public async Task<IReadOnlyList<ErrorQueue>> ListAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = servers.AmqpManagementUri, Timeout = TimeSpan.FromSeconds(30) };
        http.DefaultRequestHeaders.Authorization = new("Basic", Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes($"{servers.AmqpUser}:{servers.AmqpPassword}")));
        var queues = await http.GetFromJsonAsync<List<QueueRow>>(
            $"api/queues/{Uri.EscapeDataString(servers.AmqpVirtualHost)}?columns=name,messages", cancellationToken) ?? [];
        return queues.Where(q => q.Name is not null && IsErrorQueue(q.Name))
            .Select(q => new ErrorQueue(q.Name!, q.Messages ?? 0))
            .OrderBy(q => q.Name == names.HubQueue + BrokerNames.ErrorSuffix ? 0 : 1).ThenBy(q => q.Name, StringComparer.Ordinal)
            .ToList();
    }

    /// <summary>Reads up to <paramref name="limit"/> messages from the head of <paramref name="queue"/> and returns them all to their places.</summary>
    public async Task<IReadOnlyList<DeadLetter>> PeekAsync(string queue, int limit, CancellationToken cancellationToken)
    {
        var channel = await (await ConnectAsync(cancellationToken)).CreateChannelAsync(cancellationToken: cancellationToken);
        var letters = new List<DeadLetter>();
        ulong last = 0;
        try
        {
            while (letters.Count < limit)
            {
                var got = await channel.BasicGetAsync(queue, autoAck: false, cancellationToken);
                if (got is null)
                {
                    break;
                }

                last = got.DeliveryTag;
                letters.Add(Parse(queue, got));
            }
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
        {
            // Deleted since it was listed: nothing in it.
        }
        finally
        {
            if (last > 0 && channel.IsOpen)
            {
                await channel.BasicNackAsync(last, multiple: true, requeue: true, CancellationToken.None);
            }

            await channel.DisposeAsync();
        }

        return letters;
    }

    /// <summary>
    /// Finds the message <paramref name="id"/> (<see cref="DeadLetter.Id"/>) in the first of <paramref name="queues"/>
    /// that has it, and holds it; every other message read on the way goes back to its place at once. Null when no
    /// queue has it.
    /// </summary>
    public async Task<HeldMessage?> TakeAsync(IEnumerable<string> queues, string id, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queues);
        var connection = await ConnectAsync(cancellationToken);
        foreach (var queue in queues)
        {
            // Publisher confirms on the channel that holds the message: a re-send is confirmed before the original is removed.
            var channel = await connection.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true), cancellationToken);
            var passed = new List<ulong>();
            HeldMessage? found = null;
            try
            {
                while (found is null)
                {
                    var got = await channel.BasicGetAsync(queue, autoAck: false, cancellationToken);
                    if (got is null)
                    {
                        break;
                    }

                    var letter = Parse(queue, got);
                    if (letter.Id == id)
                    {
                        found = new HeldMessage(channel, got.DeliveryTag, letter, got.BasicProperties, got.Body.ToArray(), servers.AmqpUser);
                    }
                    else
                    {
                        passed.Add(got.DeliveryTag);
                    }
                }
            }
            catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == 404)
            {
                // No such queue (any more): nothing in it.
            }

            if (channel.IsOpen)
            {
                foreach (var tag in passed)
                {
                    await channel.BasicNackAsync(tag, multiple: false, requeue: true, CancellationToken.None);
                }
            }

            if (found is not null)
            {
                return found;
            }

            await channel.DisposeAsync();
        }

        return null;
    }

    private static DeadLetter Parse(string queue, BasicGetResult got) =>
        DeadLetter.Parse(queue, got.BasicProperties.MessageId, got.BasicProperties.Headers, got.Body.Span);

    private async Task<IConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        if (_connection is { IsOpen: true } open)
        {
            return open;
        }

        var factory = servers.ConnectionFactory("exchange dlq");
        factory.AutomaticRecoveryEnabled = false;
        _connection = await factory.CreateConnectionAsync(cancellationToken);
        return _connection;
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is { } connection)
        {
            _connection = null;
            await connection.DisposeAsync();
        }
    }

    private sealed record QueueRow(string? Name, long? Messages);
}

/// <summary>
/// One message taken out of an error queue and held by this client, invisible to others, until it is removed
/// (<see cref="RemoveAsync"/>) or returned to its place (<see cref="ReturnAsync"/>, or disposing it unsettled; so is
/// a message whose connection drops).
/// </summary>
public sealed class HeldMessage(IChannel channel, ulong deliveryTag, DeadLetter letter, IReadOnlyBasicProperties properties, byte[] body, string resender) : IAsyncDisposable
{
    private bool _settled;

    public DeadLetter Letter { get; } = letter;

    public ReadOnlyMemory<byte> Body => body;

    /// <summary>
    /// Publishes the same body with the same properties to <paramref name="queue"/> through the default exchange (it
    /// routes to the queue of that name and nowhere else), persistent, mandatory, and waits for the broker's
    /// confirm. MassTransit's fault headers are left out, so a new failure writes fresh ones; the number of re-sends
    /// and the first failure's time go along (<see cref="DeadLetter.ResendsHeader"/>, <see cref="DeadLetter.FirstFailedAtHeader"/>).
    /// The AMQP <c>user_id</c> becomes the resender's own login: RabbitMQ refuses a publish whose <c>user_id</c> is not
    /// the connection's user (https://www.rabbitmq.com/docs/validated-user-id), and the hub then knows the operator,
    /// not the original sender, vouches for the copy (BusOrigin, docs/broker.md "Who sent it").
    /// </summary>
    /// <exception cref="PublishException">The broker refused it, or no queue of that name exists (returned).</exception>
    public async Task RepublishAsync(string queue, CancellationToken cancellationToken)
    {
        var copy = new BasicProperties(properties)
        {
            Headers = ResendHeaders(properties.Headers, Letter),
            Persistent = true,
            UserId = resender,
        };
        await channel.BasicPublishAsync(string.Empty, queue, mandatory: true, copy, Body, cancellationToken);
    }

    /// <summary>
    /// RabbitMQ.Client's own header, with which it matches a returned message to its publish (publisher confirmation
    /// tracking); the copy is a new publish and gets a new one.
    /// </summary>
    public const string PublishSequenceHeader = "x-dotnet-pub-seq-no";

    /// <summary>
    /// The headers a re-sent message carries: the original ones less MassTransit's fault and host headers and the
    /// client's publish sequence number, plus the re-send count and the first failure's time.
    /// </summary>
    public static Dictionary<string, object?> ResendHeaders(IDictionary<string, object?>? original, DeadLetter letter)
    {
        ArgumentNullException.ThrowIfNull(letter);
        var headers = (original ?? new Dictionary<string, object?>())
            .Where(h => !h.Key.StartsWith(DeadLetter.FaultHeaderPrefix, StringComparison.OrdinalIgnoreCase)
                && !h.Key.StartsWith(DeadLetter.HostHeaderPrefix, StringComparison.OrdinalIgnoreCase)
                && !string.Equals(h.Key, DeadLetter.ReasonHeader, StringComparison.OrdinalIgnoreCase)
                && !string.Equals(h.Key, PublishSequenceHeader, StringComparison.OrdinalIgnoreCase)
                && !string.Equals(h.Key, DeadLetter.ResendsHeader, StringComparison.OrdinalIgnoreCase)
                && !string.Equals(h.Key, DeadLetter.FirstFailedAtHeader, StringComparison.OrdinalIgnoreCase))
            .ToDictionary(h => h.Key, h => h.Value, StringComparer.Ordinal);
        headers[DeadLetter.ResendsHeader] = letter.Resends + 1;
        if (letter.FirstFailedAt is { } first)
        {
            headers[DeadLetter.FirstFailedAtHeader] = first.ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        }

        return headers;
    }

    /// <summary>Removes it from the error queue.</summary>
    public async Task RemoveAsync(CancellationToken cancellationToken)
    {
        await channel.BasicAckAsync(deliveryTag, multiple: false, cancellationToken);
        _settled = true;
    }

    /// <summary>Puts it back at its place in the error queue.</summary>
    public async Task ReturnAsync()
    {
        if (!_settled && channel.IsOpen)
        {
            await channel.BasicNackAsync(deliveryTag, multiple: false, requeue: true, CancellationToken.None);
        }

        _settled = true;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await ReturnAsync();
        }
        finally
        {
            await channel.DisposeAsync();
        }
    }
}
