using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using Exchange.Core;

namespace Exchange.Benchmarks;

/// <summary>
/// What the envelope heads commitment adds to each checkpoint (docs/evidence.md, "Envelope heads"): the root over
/// every non-empty bucket, computed by the sealer for each checkpoint and by each bundle export for the proof's
/// path, with a million envelopes (every bucket in use: the worst case).
/// </summary>
[MemoryDiagnoser]
public class EnvelopeHeadsBenchmarks
{
    private Dictionary<int, byte[]> _buckets = null!;

    [GlobalSetup]
    public void Setup()
    {
        var heads = Enumerable.Range(0, 1_000_000)
            .Select(i => new EnvelopeHead(Guid.CreateVersion7(), Convert.ToHexStringLower(SHA256.HashData(BitConverter.GetBytes(i)))));
        _buckets = heads.GroupBy(h => EnvelopeHeads.BucketOf(h.EnvelopeId)).ToDictionary(g => g.Key, g => EnvelopeHeads.BucketHash(g));
        if (_buckets.Count != EnvelopeHeads.Buckets)
        {
            throw new InvalidOperationException($"expected every bucket in use, got {_buckets.Count}");
        }
    }

    [Benchmark(Description = "Root over 65,536 buckets (1M envelopes)")]
    public string Root() => EnvelopeHeads.Root(_buckets);

    [Benchmark(Description = "Proof path for one bucket (1M envelopes)")]
    public int Path() => EnvelopeHeads.Path(_buckets, 12345).Count;
}
