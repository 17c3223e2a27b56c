using System.Text;
using System.Text.Json;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Persistence.Gateway;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Broker;
using Exchange.ServiceDefaults.Messaging;
using Exchange.Signing;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Exchange.Gateway;

// The gateway's copy of the hub's directory (docs/directory.md, "Gateways' copy of the directory").

/// <summary>
/// Stores a directory version from the hub when it is newer than every version stored here, and drops the older ones:
/// answers and pushes may cross (an answer to an old request arriving after a push), and the highest version wins. The
/// same version twice is stored once. A snapshot is believed only signed by the hub's sealing certificate this gateway
/// pins (<see cref="DirectorySeal"/>, docs/directory.md, "Signed snapshots"); the signature is stored with it. One that is
/// not so signed, or not a sound directory document, is refused (logged and counted): the hub did not make it.
/// </summary>
public sealed class DirectorySnapshotConsumer(
    GatewayDbContext db,
    GatewayDirectory directory,
    SignatureVerifier verifier,
    HubSealPin pin,
    TimeProvider clock,
    ILogger<DirectorySnapshotConsumer> logger) : IConsumer<DirectorySnapshot>
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public async Task Consume(ConsumeContext<DirectorySnapshot> context)
    {
        var message = context.Message;
        var ct = context.CancellationToken;
        if (Read(message, out var signerSha256) is not { } json)
        {
            return;
        }

        var version = message.Version;
        var createdAt = message.CreatedAt.ToUniversalTime();
        var receivedAt = clock.GetUtcNow().ToUniversalTime();
        var signature = message.Signature;
        var stored = await db.Database.ExecuteSqlInterpolatedAsync($"""
            insert into gateway.directory_snapshots (version, created_at, received_at, content, signature, signer_sha256)
            select {version}, {createdAt}, {receivedAt}, {json}, {signature}, {signerSha256}
            where not exists (select 1 from gateway.directory_snapshots where version >= {version})
            on conflict (version) do nothing
            """, ct);
        if (stored == 0)
        {
            logger.LogDebug("Directory version {Version} is not newer than the one stored; kept the stored one", version);
            return;
        }

        await db.Database.ExecuteSqlInterpolatedAsync($"delete from gateway.directory_snapshots where version < {version}", ct);
        directory.Changed();
        logger.LogInformation("Stored directory version {Version} from the hub (imported there at {CreatedAt})", version, createdAt);
    }

    private string? Read(DirectorySnapshot message, out string? signerSha256)
    {
        string? problem;
        string? json = null;
        var reason = ReasonCode.Malformed;
        signerSha256 = null;
        if (message.Version <= 0 || message.Content is not { Length: > 0 })
        {
            problem = "it has no version or no content";
        }
        else if (DirectorySeal.Check(verifier, [pin.Sha256], message.Version, message.Content, message.Signature, out signerSha256) is { } unsigned)
        {
            problem = unsigned;
            reason = ReasonCode.SignatureInvalid;
        }
        else
        {
            try
            {
                json = StrictUtf8.GetString(message.Content);
                var problems = DirectoryDocument.Parse(json).Problems();
                problem = problems.Count == 0 ? null : $"{problems.Count} problem(s), the first: {problems[0]}";
            }
            catch (Exception e) when (e is DecoderFallbackException or JsonException or FormatException or NotSupportedException)
            {
                problem = $"it is not a directory document ({e.GetType().Name})";
            }
        }

        if (problem is null)
        {
            return json;
        }

        ExchangeTelemetry.RecordMessageRefused(nameof(DirectorySnapshot), reason.ToCode());
        logger.LogWarning("Refused directory version {Version} from the hub: {Problem}", message.Version, problem);
        return null;
    }
}

/// <summary>
/// Asks the hub for its directory at start and then every <see cref="GatewayOptions.DirectoryRefresh"/>, naming the
/// version stored here, so the hub answers only with a newer one. The hub also pushes a new version as soon as it is
/// imported; the periodic request is what brings this gateway back on the hub's list after the hub restarts, and what
/// catches a push that expired while the gateway was down. It asks at once when a delivery was routed by a newer version
/// than the one stored (<see cref="GatewayDirectory.Want"/>). While the bus or the hub is unavailable the request is
/// retried every <see cref="GatewayOptions.OutboxRetry"/>, as queued documents are, and so is it while no directory is
/// stored yet.
/// </summary>
public sealed class DirectoryRequester(
    IServiceScopeFactory scopes,
    GatewayHubAddress hubAddress,
    GatewayDirectory directory,
    IOptions<GatewayOptions> options,
    ILogger<DirectoryRequester> logger) : BackgroundService
{
    private static readonly TimeSpan MinimumGap = TimeSpan.FromSeconds(1);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var code = AgencyCode.Parse(options.Value.AgencyCode).Value;
        while (!stoppingToken.IsCancellationRequested)
        {
            var wait = options.Value.DirectoryRefresh;
            try
            {
                var known = await directory.StoredVersionAsync(stoppingToken);
                await using var scope = scopes.CreateAsyncScope();
                var hub = await scope.ServiceProvider.GetRequiredService<ISendEndpointProvider>().GetSendEndpoint(hubAddress.Address);
                await hub.SendConfirmedAsync(new RequestDirectory(code, known), stoppingToken);
                logger.LogDebug("Asked the hub for a directory newer than version {Known}", known);
                if (known is null)
                {
                    // Without any directory this gateway holds back every delivery (DirectoryBehindException): ask again
                    // soon rather than at the next refresh, in case this request went before the hub could take it.
                    wait = options.Value.OutboxRetry;
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // A fault here (bus or database down) must not end the loop: the request is retried.
            catch (Exception e)
#pragma warning restore CA1031
            {
                wait = options.Value.OutboxRetry;
                logger.LogWarning("Could not ask the hub for the directory ({Error}); retrying in {Delay}", e.GetType().Name + ": " + e.Message, wait);
            }

            try
            {
                // Not more than once a second however many deliveries want a newer version.
                await Task.Delay(MinimumGap, stoppingToken);
                await directory.WaitUntilWantedAsync(wait > MinimumGap ? wait - MinimumGap : TimeSpan.Zero, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}

/// <summary>The SHA-256 of the hub's sealing certificate (<see cref="GatewayOptions.HubCertificatePath"/>), read once.</summary>
public sealed class HubSealPin(IOptions<GatewayOptions> options)
{
    public string Sha256 { get; } = DirectorySeal.CertificateSha256(options.Value.HubCertificatePath);
}
