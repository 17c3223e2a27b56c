using Exchange.Contracts;
using Exchange.Core;
using Exchange.Persistence;
using MassTransit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Exchange.ServiceDefaults.Messaging;

/// <summary>
/// Moves a stored package (<see cref="PackageStore"/>) from one host to the next as <see cref="PackageChunk"/> messages,
/// sent ahead of the message that names the package on the same queue (docs/performance.md, "Large documents").
/// </summary>
public static class PackageTransfer
{
    /// <summary>How long a receiver waits for chunks announced but not yet stored before it refuses the package.</summary>
    public static readonly TimeSpan ChunkWait = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Sends the package's chunks in order, one in memory at a time. They go straight to the broker, not through a
    /// consumer's in-memory outbox (which would hold every chunk until the consumer ends); so they are on the queue
    /// before the message that names them, and a chunk sent twice by a retried attempt is stored once. Each names
    /// <paramref name="senderCode"/>, the agency that sent the envelope, whose package the receiver binds them to.
    /// </summary>
    public static async Task SendChunksAsync(
        this ISendEndpoint endpoint, PackageStore store, Guid packageId, StoredPackage package, string senderCode, CancellationToken cancellationToken)
    {
        // One send at a time, each waiting for the broker's confirm: with eight in flight a 200 MB package moved 10% faster
        // and the hub's peak memory passed 200 MB (docs/performance.md, "Large documents").
        var index = 0;
        await foreach (var bytes in store.ReadChunksAsync(packageId, package.Chunks, cancellationToken))
        {
            await endpoint.SendConfirmedAsync(new PackageChunk(packageId, index++, package.Chunks, bytes, senderCode), cancellationToken);
        }
    }

    /// <summary>
    /// Whether a stored package is the one its message announced: its chunks were sent for <paramref name="senderCode"/>
    /// (the message's sender) as a package of the announced count, every chunk is there, and together they have the
    /// announced length and SHA-256. Null when it is, else what is wrong (reason <c>package-incomplete</c>). The chunks
    /// travel ahead of the message on the same queue, but a consumer running several messages at once may still be
    /// storing the last ones, so this waits for them up to <see cref="ChunkWait"/>.
    /// </summary>
    public static async Task<string?> CheckStoredAsync(
        this PackageStore store, Guid packageId, StoredPackage package, string senderCode, CancellationToken cancellationToken)
    {
        if (package.Chunks is < 1 or > PackageStore.MaxChunks || package.Length is < 0 or > PackageStore.MaxPackageBytes || string.IsNullOrEmpty(package.Sha256))
        {
            return $"The message announces a stored package of {package.Chunks} chunk(s), {package.Length} bytes; at most {PackageStore.MaxChunks} chunks and {PackageStore.MaxPackageBytes} bytes are accepted, with a length and a SHA-256.";
        }

        var deadline = DateTimeOffset.UtcNow + ChunkWait;
        int stored;
        while (true)
        {
            // Chunks sent for another agency, or as a package of another size, are not this message's package however
            // long one waits: only its own sender's chunks may make it up.
            if (await store.ClaimAsync(packageId, cancellationToken) is { } claim && (claim.Owner != senderCode || claim.Chunks != package.Chunks))
            {
                return claim.Owner != senderCode
                    ? $"The chunks stored for this package were sent for '{claim.Owner}', not for the message's sender '{senderCode}'."
                    : $"The chunks stored for this package were sent as {(claim.Chunks is { } n ? $"{n} chunk(s)" : "a package this host is writing")}; the message announces {package.Chunks}.";
            }

            stored = await store.CountChunksAsync(packageId, package.Chunks, cancellationToken);
            if (stored >= package.Chunks || DateTimeOffset.UtcNow >= deadline)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
        }

        if (stored != package.Chunks)
        {
            return $"{stored} of the {package.Chunks} chunk(s) of the package are stored after waiting {ChunkWait.TotalSeconds:0} s.";
        }

        await using var reader = store.OpenRead(packageId, package.Chunks);
        var scratch = new byte[PackageStore.ChunkBytes];
        while (await reader.ReadAsync(scratch, cancellationToken) > 0)
        {
        }

        return reader.Length == package.Length && string.Equals(reader.Sha256Hex, package.Sha256, StringComparison.OrdinalIgnoreCase)
            ? null
            : $"The stored chunks make {reader.Length} bytes with SHA-256 {reader.Sha256Hex}; the message announced {package.Length} bytes with SHA-256 {package.Sha256}.";
    }
}

/// <summary>
/// Whether a message may speak for the agency it names, by how it reached this host (the hub: which agency's way in it
/// came through). A host without one (a gateway, whose queue only its hub writes to) takes the name as it is.
/// </summary>
public interface IMessageOrigin
{
    bool Agrees(ConsumeContext context, string? claimedAgency, out string detail);
}

/// <summary>
/// Stores each chunk of a package that travels ahead of its envelope, bound to the agency that sent the envelope
/// (<see cref="PackageChunk.SenderCode"/>, which must agree with the way the chunk came, <see cref="IMessageOrigin"/>).
/// A chunk that names no agency, breaks the limits, or is for a package id another agency claimed is dropped and
/// counted (exchange.messages.refused); an envelope that needed it is then refused as <c>package-incomplete</c>.
/// </summary>
public sealed class PackageChunkConsumer(PackageStore store, ILogger<PackageChunkConsumer> logger, IMessageOrigin? origin = null) : IConsumer<PackageChunk>
{
    public async Task Consume(ConsumeContext<PackageChunk> context)
    {
        var chunk = context.Message;
        (ReasonCode Reason, string Detail)? refusal = chunk.Bytes is not { } bytes
            ? (ReasonCode.Malformed, "The chunk carries no bytes.")
            : !AgencyCode.TryParse(chunk.SenderCode, out var sender, out _)
                ? (ReasonCode.InvalidAgencyCode, $"The chunk names no valid sending agency ('{Untrusted.Quote(chunk.SenderCode)}').")
                : origin is not null && !origin.Agrees(context, sender.Value, out var originDetail)
                    ? (ReasonCode.SenderMismatch, originDetail)
                    : await store.AddChunkAsync(chunk.PackageId, sender.Value, chunk.Index, chunk.Count, bytes, context.CancellationToken);
        if (refusal is { } refused)
        {
            ExchangeTelemetry.RecordMessageRefused(nameof(PackageChunk), refused.Reason.ToCode());
            logger.LogWarning("Dropped chunk {Index} of {Count} of package {PackageId} sent for {Sender}: {Reason} {Detail}",
                chunk.Index, chunk.Count, chunk.PackageId, Untrusted.Quote(chunk.SenderCode, 64), refused.Reason.ToCode(), refused.Detail);
        }
    }
}

/// <summary>
/// Once an hour, deletes stored chunks that no envelope claimed within <c>Exchange:OrphanChunkAge</c> (a day by
/// default): a sender that stopped half-way, or one that sent chunks and never the envelope.
/// </summary>
public sealed class OrphanChunkSweeper(PackageStore store, string owners, TimeSpan age, ILogger<OrphanChunkSweeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // The first round an hour after start, when the host's schema is long in place.
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1));
        while (await timer.WaitForNextTickAsync(stoppingToken))
        {
            try
            {
                var deleted = await store.SweepOrphansAsync(owners, age, stoppingToken);
                if (deleted > 0)
                {
                    logger.LogWarning("Deleted {Count} stored chunk(s) that no envelope claimed within {Age}", deleted, age);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // The database may be down for a while; the next round tries again.
                logger.LogWarning(e, "Sweeping unclaimed chunks failed; retrying in an hour");
            }
        }
    }

    /// <summary>Registers the sweeper of one host's store; <paramref name="owners"/> lists the envelope ids that claim packages.</summary>
    public static void Register(IServiceCollection services, IConfiguration configuration, string owners)
    {
        var age = configuration.GetValue("Exchange:OrphanChunkAge", TimeSpan.FromDays(1));
        services.AddHostedService(sp => new OrphanChunkSweeper(sp.GetRequiredService<PackageStore>(), owners, age, sp.GetRequiredService<ILogger<OrphanChunkSweeper>>()));
    }
}

/// <summary>
/// Chunks are stored a few at a time, whatever the endpoint's limit: each one in flight holds its message, its base64
/// text (over the runtime's large-object threshold) and its bytes, and with the endpoint's 32 at once a 200 MB document
/// took a gateway past 200 MB resident (docs/performance.md, "Large documents").
/// </summary>
public sealed class PackageChunkConsumerDefinition : RetryingConsumerDefinition<PackageChunkConsumer>
{
    public const int ConcurrentChunks = 4;

    public PackageChunkConsumerDefinition() => ConcurrentMessageLimit = ConcurrentChunks;
}
