using BenchmarkDotNet.Attributes;
using Exchange.Core;
using Exchange.Signing;

namespace Exchange.Benchmarks;

/// <summary>
/// Refusing a signature built to make certification path search explode (<see cref="PathSearchBombFixture"/>:
/// 2·8² CA certificates issuing one another in loops, 20 decoys). A failed chain is not cached, so every
/// verification redoes the bounded search; the target is well under 100 ms per signature.
/// </summary>
[MemoryDiagnoser]
public class PathSearchBenchmarks
{
    private PathSearchBombFixture _bomb = null!;
    private SignatureVerifier _verifier = null!;

    [GlobalSetup]
    public void Setup()
    {
        _bomb = PathSearchBombFixture.Create(loopKeys: 8, decoys: 20);
        _verifier = new SignatureVerifier(_bomb.CreateTrustStore());
        var first = _verifier.Verify(_bomb.Content, _bomb.Signature);
        if (first.Reason != ReasonCode.UntrustedChain)
        {
            throw new InvalidOperationException($"the path bomb was not refused as untrusted-chain: {first.Reason} {first.Detail}");
        }
    }

    [Benchmark(Description = "Verify path-search bomb (refused untrusted-chain)")]
    public ReasonCode RefusePathBomb() => _verifier.Verify(_bomb.Content, _bomb.Signature).Reason;
}
