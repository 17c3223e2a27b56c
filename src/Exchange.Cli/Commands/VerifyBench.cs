using System.Diagnostics;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Exchange.Signing;

namespace Exchange.Cli.Commands;

/// <summary>
/// `exchange bench verify`: verifications per second of a 100 KB document signed RSA-2048/SHA-256, on one thread,
/// warm caches: Exchange's <see cref="SignatureVerifier"/> (signature, chain, validity, key usage, CRLs) next to .NET's
/// <see cref="SignedCms"/> on the same bytes in the same run, both with signature checking only
/// (<c>CheckSignature(true)</c>) and with an X509Chain to the same root.
/// </summary>
public static class VerifyBench
{
    private static readonly TimeSpan Warmup = TimeSpan.FromSeconds(0.5);
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(3);

    public sealed record Result(double ExchangePerSecond, double SignedCmsPerSecond, double SignedCmsWithChainPerSecond, int DocumentBytes);

    public static Task<int> RunAsync(bool json, CancellationToken ct)
    {
        var console = new ConsoleProgress();
        console.Stage("preparing: in-memory CA, RSA-2048 certificate, 100 KB document signed SHA-256");
        var fixture = VerifyBenchFixture.Create();
        var verifier = new SignatureVerifier(fixture.CreateTrustStore());
        var first = verifier.Verify(fixture.Content, fixture.Signature);
        if (!first.Valid)
        {
            Console.Error.WriteLine($"The benchmark signature does not verify: {first.Reason} {first.Detail}");
            return Task.FromResult(ExitCodes.Refused);
        }

        console.Stage($"Exchange SignatureVerifier.Verify, {Duration.TotalSeconds:0} s");
        var exchange = Measure(() => verifier.Verify(fixture.Content, fixture.Signature), ct);

        console.Stage($"SignedCms.Decode + CheckSignature(verifySignatureOnly: true), {Duration.TotalSeconds:0} s");
        var signedCms = Measure(() =>
        {
            var cms = new SignedCms(new ContentInfo(fixture.Content), detached: true);
            cms.Decode(fixture.Signature);
            cms.CheckSignature(verifySignatureOnly: true);
        }, ct);

        console.Stage($"SignedCms + X509Chain to the same root (no revocation), {Duration.TotalSeconds:0} s");
        var signedCmsChain = Measure(() =>
        {
            var cms = new SignedCms(new ContentInfo(fixture.Content), detached: true);
            cms.Decode(fixture.Signature);
            cms.CheckSignature(verifySignatureOnly: true);
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(fixture.Root);
            chain.ChainPolicy.ExtraStore.AddRange(cms.Certificates);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (!chain.Build(cms.SignerInfos[0].Certificate!))
            {
                throw new InvalidOperationException("SignedCms chain did not build");
            }
        }, ct);

        var result = new Result(exchange, signedCms, signedCmsChain, fixture.Content.Length);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                scenario = "verify",
                document_bytes = result.DocumentBytes,
                exchange_per_s = Math.Round(result.ExchangePerSecond),
                signedcms_per_s = Math.Round(result.SignedCmsPerSecond),
                signedcms_chain_per_s = Math.Round(result.SignedCmsWithChainPerSecond),
                ratio = Math.Round(result.ExchangePerSecond / result.SignedCmsPerSecond, 2),
                ratio_chain = Math.Round(result.ExchangePerSecond / result.SignedCmsWithChainPerSecond, 2),
            }));
        }
        else
        {
            Console.WriteLine($"exchange_per_s        {result.ExchangePerSecond,10:0}   (signature, chain, validity, key usage, CRLs; cached per certificate)");
            Console.WriteLine($"signedcms_per_s       {result.SignedCmsPerSecond,10:0}   (signature only)   x{result.ExchangePerSecond / result.SignedCmsPerSecond:0.0}");
            Console.WriteLine($"signedcms_chain_per_s {result.SignedCmsWithChainPerSecond,10:0}   (signature + X509Chain)   x{result.ExchangePerSecond / result.SignedCmsWithChainPerSecond:0.0}");
        }

        return Task.FromResult(ExitCodes.Ok);
    }

    /// <summary>Operations per second of <paramref name="action"/> on this thread, after a warm-up.</summary>
    private static double Measure(Action action, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < Warmup)
        {
            action();
        }

        var count = 0;
        clock.Restart();
        while (clock.Elapsed < Duration && !ct.IsCancellationRequested)
        {
            action();
            count++;
        }

        return count / clock.Elapsed.TotalSeconds;
    }
}
