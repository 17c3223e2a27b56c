using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Exchange.Core;
using Exchange.Signing.Tests.Support;
using Exchange.Tests.Shared;

namespace Exchange.Signing.Tests;

/// <summary>
/// The stream overloads of <see cref="CmsSigner.SignDetached(Stream, DateTimeOffset)"/> and
/// <see cref="SignatureVerifier.Verify(Stream, ReadOnlySpan{byte}, SignaturePolicy)"/>: what they return is what the
/// span overloads return for the same bytes, they read the content once, and their memory does not grow with it.
/// </summary>
public class StreamingTests
{
    private const long LargeContentBytes = 256L * 1024 * 1024;
    private const long AllocationBudget = 8 * 1024 * 1024;

    /// <summary>One signature to verify both ways: the content beside it, the CMS, and how to verify.</summary>
    public sealed record Case(byte[] Content, byte[] Cms, SignaturePolicy Policy = SignaturePolicy.Submission, TrustOptions? Options = null);

    private static readonly DateTimeOffset Now = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds());

    private static readonly Lazy<X509Certificate2> EcSigner = new(() => Pki.Issuing.Leaf("Sở Y tế (P-256 streaming)", new LeafOptions { Key = KeyKind.EcP256 }));

    private static readonly Lazy<TestCa> Stranger = new(() => TestCa.Root("Stranger Root (streaming)").Intermediate("Stranger CA (streaming)"));

    /// <summary>Cases built at test time from the shared test PKI (Support/Fixtures.cs), one per verdict the span
    /// overload gives in SignatureVerifierTests, TamperTests and AlgorithmPolicyTests.</summary>
    private static readonly Dictionary<string, Func<Case>> Cases = new()
    {
        ["valid"] = () => Signed(Pki.Document()),
        ["content with one flipped byte"] = () => Changed(Signed(Pki.Document()), c => c with { Content = Tamper.FlipAt(c.Content, c.Content.Length / 2) }),
        ["signature over other content"] = () => Signed(Pki.Document(seed: 1)) with { Content = Pki.Document(seed: 2) },
        ["empty content"] = () => Signed([]),
        ["signature value with one flipped byte"] = () => Changed(Signed(Pki.Document()), c => c with { Cms = Tamper.FlipAt(c.Cms, c.Cms.Length - 1) }),
        ["truncated CMS"] = () => Changed(Signed(Pki.Document()), c => c with { Cms = c.Cms[..^100] }),
        ["garbage for a CMS"] = () => new Case(Pki.Document(), Pki.Document(1500, seed: 9)),
        ["empty CMS"] = () => new Case(Pki.Document(), []),
        ["PEM CMS"] = () => Changed(Signed(Pki.Document()), c => c with { Cms = System.Text.Encoding.ASCII.GetBytes(PemEncoding.WriteString("CMS", c.Cms)) }),
        ["untrusted root"] = () => Signed(Pki.Document(), Stranger.Value.Leaf("Impostor"), [Stranger.Value.Public]),
        ["expired certificate"] = () => Signed(Pki.Document(), Pki.Issuing.Leaf("Expired (streaming)", new LeafOptions { NotBefore = Now.AddYears(-3), NotAfter = Now.AddYears(-1) }), signingTime: Now.AddYears(-2)),
        ["expired certificate under archive"] = () => Signed(Pki.Document(), Pki.Issuing.Leaf("Archived (streaming)", new LeafOptions { NotBefore = Now.AddYears(-3), NotAfter = Now.AddYears(-1) }), signingTime: Now.AddYears(-2)) with { Policy = SignaturePolicy.Archive },
        ["certificate without signing key usage"] = () => Signed(Pki.Document(), Pki.Issuing.Leaf("Encryption only (streaming)", new LeafOptions { Usage = X509KeyUsageFlags.KeyEncipherment })),
        ["no signer certificate in the CMS"] = () => DotNet(Pki.Document(), s => s.IncludeOption = X509IncludeOption.None),
        ["no signed attributes"] = () => DotNet(Pki.Document(), SignatureVerifierTests.RemoveSignedAttributes),
        ["no signed attributes, content changed"] = () => Changed(DotNet(Pki.Document(), SignatureVerifierTests.RemoveSignedAttributes), c => c with { Content = Tamper.FlipAt(c.Content, 0) }),
        ["SHA-384 digest"] = () => DotNet(Pki.Document(), s => s.DigestAlgorithm = new Oid("2.16.840.1.101.3.4.2.2")),
        ["SHA-1 under submission"] = () => DotNet(Pki.Document(), s => s.DigestAlgorithm = new Oid("1.3.14.3.2.26")),
        ["SHA-1 under archive before the cut-off"] = () => DotNet(Pki.Document(), s => s.DigestAlgorithm = new Oid("1.3.14.3.2.26"), Now.AddDays(-20)) with
        {
            Policy = SignaturePolicy.Archive,
            Options = new TrustOptions { ArchiveSha1AcceptedBefore = Now.AddDays(-10) },
        },
        ["ECDSA"] = () => Signed(Pki.Document(), EcSigner.Value),
        ["two signers, one trusted"] = () => CoSigned(Pki.Document()),
        ["two signers, content changed"] = () => Changed(CoSigned(Pki.Document()), c => c with { Content = Tamper.FlipAt(c.Content, 100) }),
        ["attached CMS with the same content beside it"] = () => Attached(Pki.Document(), Pki.Document()),
        ["attached CMS with other content beside it"] = () => Attached(Pki.Document(seed: 1), Pki.Document(seed: 2)),
        ["attached CMS with a prefix of its content beside it"] = () => Attached(Pki.Document(), Pki.Document()[..^1]),
    };

    public static IEnumerable<string> CaseNames => Cases.Keys;

    [TestCaseSource(nameof(CaseNames))]
    public void Verifying_a_stream_gives_what_verifying_the_bytes_gives(string name)
    {
        var c = Cases[name]();
        var store = Pki.Store(c.Options);
        var clock = new FixedClock(Now);
        using var stream = OnePassStream.Over(c.Content);

        var fromBytes = new SignatureVerifier(store, clock).Verify(c.Content, c.Cms, c.Policy);
        var fromStream = new SignatureVerifier(store, clock).Verify(stream, c.Cms, c.Policy);

        Assert.That(Difference(fromBytes, fromStream), Is.Null, $"bytes: {fromBytes.Reason} {fromBytes.Detail}; stream: {fromStream.Reason} {fromStream.Detail}");
        if (fromBytes.Signers.Count > 0)
        {
            Assert.That(stream.BytesRead, Is.EqualTo(c.Content.Length), "the stream is read to its end once");
        }
    }

    [Test]
    public void Verifying_a_stream_gives_the_expected_verdicts()
    {
        // The comparison above would pass if both overloads were wrong the same way: a few verdicts, spelled out.
        var verdicts = new[] { "valid", "content with one flipped byte", "no signed attributes, content changed", "SHA-1 under archive before the cut-off", "attached CMS with other content beside it", "garbage for a CMS" }
            .ToDictionary(n => n, n =>
            {
                var c = Cases[n]();
                return new SignatureVerifier(Pki.Store(c.Options), new FixedClock(Now)).Verify(OnePassStream.Over(c.Content), c.Cms, c.Policy).Reason;
            });

        Assert.That(verdicts, Is.EqualTo(new Dictionary<string, ReasonCode>
        {
            ["valid"] = ReasonCode.Ok,
            ["content with one flipped byte"] = ReasonCode.SignatureInvalid,
            ["no signed attributes, content changed"] = ReasonCode.SignatureInvalid,
            ["SHA-1 under archive before the cut-off"] = ReasonCode.Ok,
            ["attached CMS with other content beside it"] = ReasonCode.Malformed,
            ["garbage for a CMS"] = ReasonCode.Malformed,
        }));
    }

    [Test]
    public void Verifies_a_md5_signature_from_openssl_the_same_way_from_a_stream()
    {
        // MD5 is refused before any hashing, so the stream overload does not hash the content with it at all.
        using var openssl = OpenSsl.Create();
        var content = Pki.Document();
        var file = openssl.WriteFile("content.bin", content);
        var (cert, key) = openssl.WriteSigner(Pki.Agency, "signer");
        var cms = openssl.CmsSign(file, "-signer", cert, "-inkey", key, "-certfile", openssl.WriteCertificates("chain", Pki.Chain), "-md", "md5");
        var verifier = Pki.Verifier(clock: new FixedClock(Now));

        var fromBytes = verifier.Verify(content, cms);
        var fromStream = verifier.Verify(OnePassStream.Over(content), cms);

        Assert.That(fromBytes.Reason, Is.EqualTo(ReasonCode.WeakAlgorithm), fromBytes.Detail);
        Assert.That(Difference(fromBytes, fromStream), Is.Null);
    }

    [Test]
    public void Signing_a_stream_writes_the_bytes_signing_the_span_writes()
    {
        // RSA PKCS#1 v1.5 is deterministic: same key, content and signing time give the same CMS.
        using var signer = new CmsSigner(Pki.Agency, Pki.Chain);
        foreach (var size in new[] { 0, 1, 65_535, 65_536, 65_537, 300_000 })
        {
            var content = Pki.Document(size, seed: size);

            Assert.That(signer.SignDetached(OnePassStream.Over(content), Now), Is.EqualTo(signer.SignDetached(content, Now)), $"{size} bytes");
        }
    }

    [Test]
    public void Signing_a_stream_with_ecdsa_verifies_against_the_bytes()
    {
        // ECDSA signatures are randomised, so the two overloads are compared by verifying each against the other's input.
        using var signer = new CmsSigner(EcSigner.Value, Pki.Chain);
        var content = Pki.Document(100_000);
        var verifier = Pki.Verifier();

        var fromStream = signer.SignDetached(OnePassStream.Over(content), Now);

        Assert.Multiple(() =>
        {
            Assert.That(verifier.Verify(content, fromStream).Reason, Is.EqualTo(ReasonCode.Ok));
            Assert.That(verifier.Verify(OnePassStream.Over(content), signer.SignDetached(content, Now)).Reason, Is.EqualTo(ReasonCode.Ok));
            Assert.That(verifier.Verify(Tamper.FlipAt(content, 5), fromStream).Reason, Is.EqualTo(ReasonCode.SignatureInvalid));
        });
    }

    [Test]
    public void Signs_and_verifies_256_MiB_in_constant_memory()
    {
        using var signer = new CmsSigner(Pki.Agency, Pki.Chain);
        var verifier = Pki.Verifier();

        // 1. Sign the generated content; the signer's allocations do not grow with it either.
        var before = GC.GetAllocatedBytesForCurrentThread();
        var cms = signer.SignDetached(new GeneratedStream(LargeContentBytes, seed: 256));
        var signing = GC.GetAllocatedBytesForCurrentThread() - before;

        // 2. Verify the same bytes, generated again.
        before = GC.GetAllocatedBytesForCurrentThread();
        var result = verifier.Verify(new GeneratedStream(LargeContentBytes, seed: 256), cms);
        var verifying = GC.GetAllocatedBytesForCurrentThread() - before;

        // 3. One bit changed near the end is still found.
        var tampered = verifier.Verify(new GeneratedStream(LargeContentBytes, seed: 256, flipAt: LargeContentBytes - 2), cms);

        TestContext.Out.WriteLine($"256 MiB: signing allocated {signing:N0} bytes, verifying {verifying:N0} bytes");
        Assert.Multiple(() =>
        {
            Assert.That(result.Reason, Is.EqualTo(ReasonCode.Ok), result.Detail);
            Assert.That(verifying, Is.LessThan(AllocationBudget), "verifying");
            Assert.That(signing, Is.LessThan(AllocationBudget), "signing");
            Assert.That(tampered.Reason, Is.EqualTo(ReasonCode.SignatureInvalid));
            Assert.That(tampered.Detail, Does.Contain("message-digest"));
        });
    }

    private static Case Signed(byte[] content, X509Certificate2? certificate = null, IEnumerable<X509Certificate2>? chain = null, DateTimeOffset? signingTime = null)
    {
        using var signer = new CmsSigner(certificate ?? Pki.Agency, chain ?? Pki.Chain);
        return new Case(content, signer.SignDetached(content, signingTime ?? Now));
    }

    private static Case Changed(Case original, Func<Case, Case> change) => change(original);

    private static Case DotNet(byte[] content, Action<System.Security.Cryptography.Pkcs.CmsSigner> configure, DateTimeOffset? signingTime = null) =>
        new(content, DotNetCms.Sign(content, Pki.Agency, configure: configure, signingTime: signingTime ?? Now));

    private static Case CoSigned(byte[] content)
    {
        var first = DotNetCms.Sign(content, Stranger.Value.Leaf("Stranger co-signer"), [Stranger.Value.Public]);
        return new Case(content, DotNetCms.CoSign(content, first, Pki.Agency));
    }

    private static Case Attached(byte[] signed, byte[] beside)
    {
        using var signer = new CmsSigner(Pki.Agency, Pki.Chain);
        return new Case(beside, signer.SignAttached(signed, Now));
    }

    /// <summary>The first difference between two results, member by member (records compare lists by reference).</summary>
    private static string? Difference(VerificationResult expected, VerificationResult actual)
    {
        if ((expected.Reason, expected.Detail, expected.ContentType, expected.Signers.Count) != (actual.Reason, actual.Detail, actual.ContentType, actual.Signers.Count))
        {
            return "the verdict, detail, content type or number of signers differs";
        }

        for (var i = 0; i < expected.Signers.Count; i++)
        {
            var (e, a) = (expected.Signers[i], actual.Signers[i]);
            if (e with { Warnings = [], Chain = [], Certificate = null } != a with { Warnings = [], Chain = [], Certificate = null }
                || !e.Warnings.SequenceEqual(a.Warnings)
                || !e.Chain.SequenceEqual(a.Chain)
                || e.Certificate?.Thumbprint != a.Certificate?.Thumbprint)
            {
                return $"signer {i + 1} differs: {e} / {a}";
            }
        }

        return null;
    }
}
