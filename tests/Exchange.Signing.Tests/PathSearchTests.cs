using Exchange.Core;

namespace Exchange.Signing.Tests;

/// <summary>
/// Certification path search over the certificates a CMS carries (RFC 5280 §6.1) is the sender's to shape: it must
/// stay bounded whatever they carry (issue "Trust boundary, second round"). The speed figure comes from the
/// PathSearchBenchmarks benchmark, not from a timed assertion here.
/// </summary>
public class PathSearchTests
{
    [Test]
    public void Path_search_over_certificates_issuing_each_other_in_loops_is_cut_and_refused()
    {
        var bomb = PathSearchBombFixture.Create(loopKeys: 8, decoys: 20);
        var verifier = new SignatureVerifier(bomb.CreateTrustStore());

        // 1. The verifier works: a good signature chaining to its anchor verifies (the shared test PKI's root is added).
        verifier.Trust.AddAnchor(Support.Pki.Root.Public);
        var content = Support.Pki.Document();
        using (var signer = new CmsSigner(Support.Pki.Agency, Support.Pki.Chain))
        {
            Assert.That(verifier.Verify(content, signer.SignDetached(content)).Reason, Is.EqualTo(ReasonCode.Ok));
        }

        // 2. The attack: 2·8² "Loop CA" certificates issuing one another under every key, plus 20 decoys, no path.
        var result = verifier.Verify(bomb.Content, bomb.Signature);

        // 3. Refused as an untrusted chain, saying the search was cut rather than exhausted.
        Assert.That(result.Reason, Is.EqualTo(ReasonCode.UntrustedChain), result.Detail);
        Assert.That(result.Detail, Does.Contain("path search was cut"));
    }
}
