using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Exchange.Cli.Chaos;
using Exchange.Gateway;
using Exchange.ServiceDefaults;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Cli.Bench;

/// <summary>What the large-document scenario measured.</summary>
internal sealed record LargeResult(
    double SizeMb, double UploadSeconds, double Seconds, double PackageMb, bool Delivered, bool PackageIntact, IReadOnlyDictionary<string, double> PeakRssMb);

/// <summary>
/// One document with one large attachment, end to end: the sender's document system uploads it to its gateway (streamed,
/// never held by this process either), the gateway builds and signs the package into its store, the hub verifies and
/// forwards it, the recipient's gateway verifies and stores it and signs the receipt. The hosts run as processes of their
/// own (as in the chaos run), so that each one's peak resident memory (VmHWM, Linux) is its own.
/// </summary>
internal static class LargeBench
{
    public const string Prefix = "large-";

    private const string Sender = SampleDirectory.HomeAffairs;
    private const string Recipient = SampleDirectory.PhucXaWard;

    public static async Task<LargeResult> RunAsync(long sizeBytes, TimeSpan timeout, ConsoleProgress console, CancellationToken ct)
    {
        var log = new ChaosLog(DateTimeOffset.UtcNow, "large");
        await using var province = new ChaosProvince(ServerSettings.FromEnvironment(), log, Prefix, requestTimeout: timeout);
        // A deadline past the run: the hub's chaser must not forward the document a second time while it is on its way.
        await province.StartAsync([Sender, Recipient], deadline: timeout * 2, ct);

        console.Stage($"uploading one {sizeBytes / (1024.0 * 1024):0} MiB attachment");
        var started = TimeProvider.System.GetTimestamp();
        var content = new StreamContent(new GeneratedStream(sizeBytes), 64 * 1024);
        content.Headers.ContentLength = sizeBytes;
        var answer = await province.Client(Sender).SendDocumentAsync(
            new DocumentMetadata([Recipient], "Văn bản có tệp đính kèm lớn", CodeNotation: "BENCH-LARGE"),
            [("large.bin", "application/octet-stream", (HttpContent)content)], idempotencyKey: null, ct);
        var uploadSeconds = TimeProvider.System.GetElapsedTime(started).TotalSeconds;

        console.Stage("waiting for the receipt at the sender's gateway");
        var delivered = await WaitDeliveredAsync(province, answer.EnvelopeId, timeout, ct);
        var seconds = TimeProvider.System.GetElapsedTime(started).TotalSeconds;

        // Read before anything else runs in the hosts: the peak of the transfer itself.
        var peaks = new Dictionary<string, double>(StringComparer.Ordinal)
        {
            ["router"] = PeakRssMb(province.Router.ProcessId),
            ["gateway_sender"] = PeakRssMb(province.Gateway(Sender).ProcessId),
            ["gateway_recipient"] = PeakRssMb(province.Gateway(Recipient).ProcessId),
        };

        console.Stage("downloading the package from the recipient's gateway and comparing digests");
        string sentSha256;
        long packageBytes;
        await using (var db = province.CreateGatewayDb(Sender))
        {
            var row = await db.Outbox.AsNoTracking().Where(o => o.EnvelopeId == answer.EnvelopeId)
                .Select(o => new { o.PackageSha256, o.PackageLength }).SingleAsync(ct);
            sentSha256 = row.PackageSha256;
            packageBytes = row.PackageLength ?? 0;
        }

        var intact = delivered && await province.Client(Recipient).PackageSha256Async(answer.EnvelopeId, ct) == sentSha256;
        peaks["bench_client"] = PeakRssMb(Environment.ProcessId);
        return new LargeResult(
            Math.Round(sizeBytes / (1024.0 * 1024), 1), Math.Round(uploadSeconds, 2), Math.Round(seconds, 2),
            Math.Round(packageBytes / (1024.0 * 1024), 1), delivered, intact, peaks);
    }

    private static async Task<bool> WaitDeliveredAsync(ChaosProvince province, Guid envelopeId, TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        await using var db = province.CreateGatewayDb(Sender);
        try
        {
            while (true)
            {
                if (await db.OutboxReceipts.AnyAsync(r => r.EnvelopeId == envelopeId, deadline.Token))
                {
                    return true;
                }

                if (await db.Outbox.AnyAsync(o => o.EnvelopeId == envelopeId && o.State == Persistence.Gateway.OutboxStates.Rejected, deadline.Token))
                {
                    return false;
                }

                await Task.Delay(250, deadline.Token);
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Peak resident set size (VmHWM in /proc/PID/status, Linux), in MiB; NaN where it cannot be read.</summary>
    public static double PeakRssMb(int? processId)
    {
        var status = $"/proc/{processId}/status";
        if (processId is null || !File.Exists(status))
        {
            return double.NaN;
        }

        var line = File.ReadLines(status).FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null
            ? double.NaN
            : Math.Round(long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) / 1024.0, 1);
    }

    /// <summary>Deterministic pseudo-random bytes of a given length, made as they are read (nothing is held).</summary>
    private sealed class GeneratedStream(long length) : Stream
    {
        private ulong _state = 0x9E3779B97F4A7C15;
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => length;
        public override long Position { get => _position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var take = (int)Math.Min(buffer.Length, length - _position);
            for (var i = 0; i < take; i++)
            {
                // xorshift64: cheap, and incompressible enough that nothing on the way can shrink it.
                _state ^= _state << 13;
                _state ^= _state >> 7;
                _state ^= _state << 17;
                buffer[i] = (byte)_state;
            }

            _position += take;
            return take;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
