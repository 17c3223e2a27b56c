using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using Exchange.Signing;

namespace Exchange.Benchmarks;

/// <summary>
/// Verifying a 100 KB document signed RSA-2048/SHA-256 (detached CMS carrying the signer and issuing CA), warm
/// caches, one thread. Exchange's verifier does the full check (signature, chain to the root, validity, key usage,
/// CRLs of both CAs), cached per certificate. SignedCms is measured on the same bytes twice: signature only
/// (<c>CheckSignature(true)</c>, less work than ours) and with an X509Chain to the same root (comparable work,
/// minus revocation, which .NET cannot take from an in-memory CRL).
/// </summary>
[MemoryDiagnoser]
public class VerifyBenchmarks
{
    private VerifyBenchFixture _fixture = null!;
    private SignatureVerifier _verifier = null!;

    [GlobalSetup]
    public void Setup()
    {
        _fixture = VerifyBenchFixture.Create(100 * 1024);
        _verifier = new SignatureVerifier(_fixture.CreateTrustStore());
        var warm = _verifier.Verify(_fixture.Content, _fixture.Signature);
        if (!warm.Valid)
        {
            throw new InvalidOperationException($"benchmark input does not verify: {warm.Reason} {warm.Detail}");
        }
    }

    [Benchmark(Baseline = true, Description = "Exchange SignatureVerifier.Verify (full check)")]
    public bool Exchange() => _verifier.Verify(_fixture.Content, _fixture.Signature).Valid;

    [Benchmark(Description = "SignedCms Decode+CheckSignature(true)")]
    public int SignedCmsSignatureOnly()
    {
        var cms = new SignedCms(new ContentInfo(_fixture.Content), detached: true);
        cms.Decode(_fixture.Signature);
        cms.CheckSignature(verifySignatureOnly: true);
        return cms.SignerInfos.Count;
    }

    [Benchmark(Description = "SignedCms + X509Chain (custom root)")]
    public bool SignedCmsWithChain()
    {
        var cms = new SignedCms(new ContentInfo(_fixture.Content), detached: true);
        cms.Decode(_fixture.Signature);
        cms.CheckSignature(verifySignatureOnly: true);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_fixture.Root);
        chain.ChainPolicy.ExtraStore.AddRange(cms.Certificates);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(cms.SignerInfos[0].Certificate!);
    }
}
