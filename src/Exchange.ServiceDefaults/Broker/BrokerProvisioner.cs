using System.Buffers.Text;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;

namespace Exchange.ServiceDefaults.Broker;

/// <summary>What provisioning did to one broker user.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<BrokerUserChange>))]
public enum BrokerUserChange
{
    /// <summary>Already as wanted: nothing written, the password kept (and not returned).</summary>
    Unchanged,

    /// <summary>Tags or permissions corrected; the password kept (and not returned).</summary>
    Updated,

    /// <summary>New, with a new password (returned).</summary>
    Created,

    /// <summary>Existing, given a new password on request (returned); tags and permissions set as wanted.</summary>
    Rotated,
}

/// <summary>
/// One user after provisioning. <see cref="Password"/> is set only when the user was created or its password
/// rotated: the broker keeps only a hash, so this is the one moment the caller can store it.
/// </summary>
public sealed record BrokerUserResult(string User, string? AgencyCode, BrokerUserChange Change, BrokerPermissions Permissions, string? Password)
{
    // A result may be logged or printed; its password may not.
    public override string ToString() =>
        $"{nameof(BrokerUserResult)} {{ User = {User}, AgencyCode = {AgencyCode}, Change = {Change}, Password = {(Password is null ? "none" : "***")} }}";
}

/// <summary>What one provisioning run did.</summary>
/// <param name="Users">The hub's user first, then one per agency, in the layout's order.</param>
/// <param name="Declared">Exchanges, queues and bindings that did not exist and were created.</param>
/// <param name="Orphans">Users of this layout's naming that no agency of the layout owns (an agency removed
/// from the directory, or merged): left in place, listed so an operator can remove them.</param>
public sealed record BrokerProvisionResult(IReadOnlyList<BrokerUserResult> Users, IReadOnlyList<string> Declared, IReadOnlyList<string> Orphans);

/// <summary>
/// Gives every agency its own RabbitMQ user, through the management HTTP API, so that a gateway may read
/// only its own queue and write only towards its hub (docs/architecture.md, "Bus layout"); and gives the hub a user
/// that may read its queue and send to every agency queue. See docs/broker.md.
/// </summary>
/// <remarks>
/// Idempotent: every object is read first and written only when missing or different, so a second run with
/// the same layout writes nothing. Passwords are generated here and returned to the caller, never logged;
/// an existing user keeps its password unless <see cref="BrokerProvisionOptions.RotatePasswords"/> is set.
/// It also declares what a gateway with these rights can no longer declare for itself: the agency's outbound
/// exchange and its binding to the hub's exchange (and, so that nothing sent before the first consumer
/// starts is lost, the hub's and the agencies' queues with their exchanges and bindings, in the shape
/// MassTransit declares them: durable fanout exchanges, durable queues without arguments). An existing
/// queue is never redeclared, whatever its arguments.
/// </remarks>
public sealed class BrokerProvisioner : IDisposable
{
    /// <summary>32 random bytes, base64url: 43 characters that need no quoting in a shell or a URL.</summary>
    public const int PasswordBytes = 32;

    const int Parallelism = 8;

    static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    readonly ServerSettings _settings;
    readonly HttpClient _http;
    readonly ResiliencePipeline<HttpResponseMessage> _pipeline;
    readonly ILogger _logger;
    readonly string _vhost;

    /// <param name="settings">The broker, and an administrator of its management API (the EXCHANGE_AMQP_* user).</param>
    /// <param name="logger">Receives user names and what changed, never a password.</param>
    /// <param name="handler">The HTTP handler (tests); a new <see cref="SocketsHttpHandler"/> when null.</param>
    public BrokerProvisioner(ServerSettings settings, ILogger? logger = null, RetryPolicySettings? retry = null, HttpMessageHandler? handler = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _settings = settings;
        _logger = logger ?? NullLogger.Instance;
        _pipeline = Resilience.CreateHttpPipeline(_logger, retry);
        _http = new HttpClient(handler ?? new SocketsHttpHandler(), disposeHandler: handler is null)
        {
            BaseAddress = settings.ManagementApiUri(),
            Timeout = Timeout.InfiniteTimeSpan, // each attempt is bounded by the pipeline's timeout
        };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(
            "Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{settings.AmqpUser}:{settings.AmqpPassword}")));
        _vhost = Escape(settings.AmqpVirtualHost);
    }

    public void Dispose() => _http.Dispose();

    /// <summary>Creates or corrects the hub's user, every agency's user, and the exchanges, queues and bindings they rely on.</summary>
    /// <param name="progress">Users done so far (of <c>1 + layout.Agencies.Count</c>).</param>
    public async Task<BrokerProvisionResult> ProvisionAsync(
        BrokerLayout layout, BrokerProvisionOptions? options = null, IProgress<int>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(layout);
        options ??= new BrokerProvisionOptions();
        var managed = new[] { layout.HubUser }.Concat(layout.Agencies.Select(a => a.User));
        if (managed.Contains(_settings.AmqpUser, StringComparer.Ordinal))
        {
            // Provisioning would strip the administrator tag from the very user making the calls.
            throw new InvalidOperationException($"The management user '{_settings.AmqpUser}' has the name of a user to provision; use another administrator.");
        }

        await EnsureVirtualHostAsync(cancellationToken);

        var declared = new List<string>();
        await DeclareExchangeAsync(layout.HubQueue, declared, cancellationToken);
        await DeclareQueueAsync(layout.HubQueue, declared, cancellationToken);
        await BindAsync(layout.HubQueue, "q", layout.HubQueue, declared, cancellationToken);

        var done = 0;
        var users = new BrokerUserResult[layout.Agencies.Count + 1];
        users[0] = await EnsureUserAsync(layout.HubUser, null, layout.HubPermissions, BrokerNames.HubTags, options.RotatePasswords, cancellationToken);
        progress?.Report(Interlocked.Increment(ref done));

        var perAgency = new List<string>[layout.Agencies.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, layout.Agencies.Count),
            new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var agency = layout.Agencies[i];
                var mine = perAgency[i] = [];
                await DeclareExchangeAsync(agency.Queue, mine, ct);
                await DeclareQueueAsync(agency.Queue, mine, ct);
                await BindAsync(agency.Queue, "q", agency.Queue, mine, ct);
                await DeclareExchangeAsync(agency.OutboundExchange, mine, ct);
                await BindAsync(agency.OutboundExchange, "e", layout.HubQueue, mine, ct);
                users[i + 1] = await EnsureUserAsync(agency.User, agency.Code, agency.Permissions, BrokerNames.AgencyTags, options.RotatePasswords, ct);
                progress?.Report(Interlocked.Increment(ref done));
            });
        declared.AddRange(perAgency.SelectMany(d => d));

        var wanted = users.Select(u => u.User).ToHashSet(StringComparer.Ordinal);
        var orphans = (await ListUsersAsync(cancellationToken))
            .Where(u => layout.IsManagedUserName(u) && !wanted.Contains(u))
            .Order(StringComparer.Ordinal)
            .ToList();
        foreach (var orphan in orphans)
        {
            _logger.LogWarning("Broker user {User} belongs to no agency of the directory; it keeps its rights until removed", orphan);
        }

        return new BrokerProvisionResult(users, declared, orphans);
    }

    /// <summary>
    /// Creates a virtual host for a hub below the top one (federation by tier) unless it exists, and gives the
    /// management user full rights on it, as on the top hub's.
    /// </summary>
    public async Task EnsureHubVirtualHostAsync(string vhost, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(vhost);
        await PutAsync($"api/vhosts/{Escape(vhost)}", new { description = "Exchange hub (federation by tier)" }, cancellationToken);
        await PutAsync($"api/permissions/{Escape(vhost)}/{Escape(_settings.AmqpUser)}", new { configure = ".*", write = ".*", read = ".*" }, cancellationToken);
    }

    /// <summary>
    /// Links two hubs one way with a dynamic shovel (https://www.rabbitmq.com/docs/shovel-dynamic): what one hub sends to
    /// <paramref name="fromQueue"/> on its virtual host is moved to <paramref name="toQueue"/> on the other's, acknowledged at
    /// the source only once the destination confirmed it, so a broker restart loses nothing. Both queues are declared first,
    /// in MassTransit's shape. The shovel logs in as the management user; its URIs (with that password) are visible only
    /// to broker administrators.
    /// </summary>
    public async Task LinkHubsAsync(string fromVhost, string fromQueue, string toVhost, string toQueue, CancellationToken cancellationToken = default)
    {
        var declared = new List<string>();
        var source = Escape(fromVhost);
        var destination = Escape(toVhost);
        await DeclareExchangeAsync(fromQueue, declared, cancellationToken, source);
        await DeclareQueueAsync(fromQueue, declared, cancellationToken, source);
        await BindAsync(fromQueue, "q", fromQueue, declared, cancellationToken, source);
        await DeclareExchangeAsync(toQueue, declared, cancellationToken, destination);
        await DeclareQueueAsync(toQueue, declared, cancellationToken, destination);
        await BindAsync(toQueue, "q", toQueue, declared, cancellationToken, destination);
        await PutAsync($"api/parameters/shovel/{source}/{Escape(fromQueue)}", new
        {
            value = new Dictionary<string, object>
            {
                ["src-protocol"] = "amqp091",
                ["src-uri"] = AmqpUri(fromVhost),
                ["src-queue"] = fromQueue,
                ["dest-protocol"] = "amqp091",
                ["dest-uri"] = AmqpUri(toVhost),
                ["dest-queue"] = toQueue,
                ["ack-mode"] = "on-confirm",
                ["src-delete-after"] = "never",
                ["reconnect-delay"] = 1,
            },
        }, cancellationToken);
    }

    string AmqpUri(string vhost) =>
        $"amqp://{Escape(_settings.AmqpUser)}:{Escape(_settings.AmqpPassword)}@{_settings.AmqpHost}:{_settings.AmqpPort}/{Escape(vhost)}";

    /// <summary>The user's permissions on the settings' virtual host, or null when the user or its permissions do not exist.</summary>
    public async Task<BrokerPermissions?> GetPermissionsAsync(string user, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(user);
        var permissions = await GetJsonAsync<PermissionsBody>($"api/permissions/{_vhost}/{Escape(user)}", cancellationToken);
        return permissions is null ? null : new BrokerPermissions(permissions.Configure, permissions.Write, permissions.Read);
    }

    /// <summary>Whether the broker has a user of that name, with its tags.</summary>
    public async Task<IReadOnlyList<string>?> GetUserTagsAsync(string user, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(user);
        var body = await GetJsonAsync<UserBody>($"api/users/{Escape(user)}", cancellationToken);
        return body is null ? null : Tags(body.Tags);
    }

    /// <summary>Every user name on the broker (users are broker-wide, not per virtual host).</summary>
    public async Task<IReadOnlyList<string>> ListUsersAsync(CancellationToken cancellationToken = default)
    {
        var users = await GetJsonAsync<List<UserBody>>("api/users", cancellationToken) ?? [];
        return users.Select(u => u.Name).ToList();
    }

    /// <summary>Deletes a user (RabbitMQ closes its connections); false when it did not exist.</summary>
    public async Task<bool> DeleteUserAsync(string user, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(user);
        using var response = await SendAsync(HttpMethod.Delete, $"api/users/{Escape(user)}", null, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }

        await EnsureSuccessAsync(response, HttpMethod.Delete, "api/users/…");
        _logger.LogInformation("Deleted broker user {User}", user);
        return true;
    }

    /// <summary>Names of users with at least one open connection (a user to leave alone while cleaning up).</summary>
    public async Task<IReadOnlySet<string>> UsersWithConnectionsAsync(CancellationToken cancellationToken = default)
    {
        var connections = await GetJsonAsync<List<ConnectionBody>>("api/connections?columns=user", cancellationToken) ?? [];
        return connections.Select(c => c.User).ToHashSet(StringComparer.Ordinal);
    }

    async Task<BrokerUserResult> EnsureUserAsync(string user, string? agencyCode, BrokerPermissions wanted, IReadOnlyList<string> wantedTags, bool rotate, CancellationToken ct)
    {
        var tags = string.Join(',', wantedTags);
        var path = $"api/users/{Escape(user)}";
        var existing = await GetJsonAsync<UserBody>(path, ct);
        string? password = null;
        var change = BrokerUserChange.Unchanged;
        if (existing is null || rotate)
        {
            password = NewPassword();
            await PutAsync(path, new { password, tags }, ct);
            change = existing is null ? BrokerUserChange.Created : BrokerUserChange.Rotated;
        }
        else if (!BrokerNames.SameTags(Tags(existing.Tags), wantedTags))
        {
            // No management UI, no policies, no administration: a gateway only needs AMQP, the hub AMQP and
            // impersonator (BrokerNames.HubTags). The stored hash is sent back so the password stays what it was.
            await PutAsync(path, new { password_hash = existing.PasswordHash, hashing_algorithm = existing.HashingAlgorithm, tags }, ct);
            change = BrokerUserChange.Updated;
        }

        var permissionsPath = $"api/permissions/{_vhost}/{Escape(user)}";
        var current = await GetJsonAsync<PermissionsBody>(permissionsPath, ct);
        if (current is null || current.Configure != wanted.Configure || current.Write != wanted.Write || current.Read != wanted.Read)
        {
            await PutAsync(permissionsPath, new PermissionsBody(wanted.Configure, wanted.Write, wanted.Read), ct);
            if (change == BrokerUserChange.Unchanged)
            {
                change = BrokerUserChange.Updated;
            }
        }

        if (change != BrokerUserChange.Unchanged)
        {
            _logger.LogInformation("Broker user {User} {Change}", user, change.ToString().ToLowerInvariant());
        }

        return new BrokerUserResult(user, agencyCode, change, wanted, password);
    }

    async Task EnsureVirtualHostAsync(CancellationToken ct)
    {
        // Also the first call: a wrong password or a user without the administrator tag fails here, clearly.
        if (await GetJsonAsync<JsonElement?>($"api/vhosts/{_vhost}", ct) is null)
        {
            throw new InvalidOperationException($"The broker has no virtual host '{_settings.AmqpVirtualHost}' (EXCHANGE_AMQP_VHOST).");
        }
    }

    async Task DeclareExchangeAsync(string name, List<string> declared, CancellationToken ct, string? vhost = null)
    {
        var path = $"api/exchanges/{vhost ?? _vhost}/{Escape(name)}";
        if (await GetJsonAsync<JsonElement?>(path, ct) is not null)
        {
            return;
        }

        // Exactly what MassTransit declares, or its own declaration would fail with PRECONDITION_FAILED.
        await PutAsync(path, new { type = "fanout", durable = true, auto_delete = false, @internal = false, arguments = new { } }, ct);
        declared.Add($"exchange {name}");
    }

    async Task DeclareQueueAsync(string name, List<string> declared, CancellationToken ct, string? vhost = null)
    {
        var path = $"api/queues/{vhost ?? _vhost}/{Escape(name)}";
        if (await GetJsonAsync<JsonElement?>(path, ct) is not null)
        {
            return;
        }

        // Exactly what MassTransit declares for a receive endpoint: with quorum queues (ServerSettings.AmqpQuorum) the type
        // too, which cannot change once the queue exists.
        object arguments = _settings.AmqpQuorum ? new Dictionary<string, string> { ["x-queue-type"] = "quorum" } : new { };
        await PutAsync(path, new { durable = true, auto_delete = false, arguments }, ct);
        declared.Add($"queue {name}");
    }

    /// <summary>Binds exchange <paramref name="source"/> to queue ("q") or exchange ("e") <paramref name="destination"/> with an empty routing key.</summary>
    async Task BindAsync(string source, string destinationType, string destination, List<string> declared, CancellationToken ct, string? vhost = null)
    {
        var path = $"api/bindings/{vhost ?? _vhost}/e/{Escape(source)}/{destinationType}/{Escape(destination)}";
        var existing = await GetJsonAsync<List<BindingBody>>(path, ct) ?? [];
        if (existing.Any(b => b.RoutingKey.Length == 0))
        {
            return;
        }

        // POST creates a binding; RabbitMQ treats an identical one as the same binding, so a retry is harmless.
        using var response = await SendAsync(HttpMethod.Post, path, new { routing_key = "", arguments = new { } }, ct);
        await EnsureSuccessAsync(response, HttpMethod.Post, path);
        declared.Add($"binding {source} -> {destination}");
    }

    async Task<T?> GetJsonAsync<T>(string path, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Get, path, null, ct);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return default;
        }

        await EnsureSuccessAsync(response, HttpMethod.Get, path);
        return await response.Content.ReadFromJsonAsync<T>(Json, ct);
    }

    async Task PutAsync(string path, object body, CancellationToken ct)
    {
        using var response = await SendAsync(HttpMethod.Put, path, body, ct);
        await EnsureSuccessAsync(response, HttpMethod.Put, path);
    }

    // PUT and DELETE are idempotent and a binding POST is too, so every request may be retried.
    Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, object? body, CancellationToken ct) =>
        _pipeline.ExecuteAsync(
            async token =>
            {
                using var request = new HttpRequestMessage(method, path);
                if (body is not null)
                {
                    request.Content = JsonContent.Create(body, options: Json);
                }

                return await _http.SendAsync(request, token);
            },
            ct).AsTask();

    // The message names the request and RabbitMQ's reason; never the body, which may hold a password.
    async Task EnsureSuccessAsync(HttpResponseMessage response, HttpMethod method, string path)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var hint = response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
            ? $" The management API refused user '{_settings.AmqpUser}': it needs the administrator tag (EXCHANGE_AMQP_USER, EXCHANGE_AMQP_PASSWORD)."
            : string.Empty;
        string reason;
        try
        {
            reason = (await response.Content.ReadFromJsonAsync<ErrorBody>(Json))?.Reason ?? string.Empty;
        }
        catch (JsonException)
        {
            reason = string.Empty;
        }

        var answer = string.IsNullOrWhiteSpace(reason) ? $"{(int)response.StatusCode} {response.ReasonPhrase}" : $"{(int)response.StatusCode} ({reason})";
        throw new HttpRequestException($"RabbitMQ management API: {method} {path} answered {answer}.{hint}", null, response.StatusCode);
    }

    static string NewPassword() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(PasswordBytes));

    // RabbitMQ 3.9+ answers tags as an array, older versions as one comma-separated string.
    static List<string> Tags(JsonElement tags) => tags.ValueKind switch
    {
        JsonValueKind.Array => tags.EnumerateArray().Select(t => t.GetString() ?? string.Empty).Where(t => t.Length > 0).ToList(),
        JsonValueKind.String => (tags.GetString() ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList(),
        _ => [],
    };

    // One path segment; the default virtual host "/" becomes %2F, as the management API wants.
    static string Escape(string segment) => Uri.EscapeDataString(segment);

    sealed record UserBody(
        string Name,
        JsonElement Tags,
        [property: JsonPropertyName("password_hash")] string? PasswordHash,
        [property: JsonPropertyName("hashing_algorithm")] string? HashingAlgorithm);

    sealed record PermissionsBody(string Configure, string Write, string Read);

    sealed record BindingBody([property: JsonPropertyName("routing_key")] string RoutingKey);

    sealed record ConnectionBody(string User);

    sealed record ErrorBody(string? Error, string? Reason);
}

/// <summary>How <see cref="BrokerProvisioner.ProvisionAsync"/> treats users that already exist.</summary>
public sealed record BrokerProvisionOptions
{
    /// <summary>Give every user a new password (returned); without it an existing user keeps its password.</summary>
    public bool RotatePasswords { get; init; }
}
