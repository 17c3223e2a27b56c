using System.Security.Cryptography;
using Exchange.Core;
using Exchange.Signing.Tests.Support;

namespace Exchange.Signing.Tests;

/// <summary>
/// Algorithm policy: Submission refuses MD5, SHA-1 and RSA keys under 2048 bits; Archive may accept SHA-1 for
/// documents signed before <see cref="TrustOptions.ArchiveSha1AcceptedBefore"/>, with a warning.
/// SHA-1 and MD5 signatures are made with SignedCms / openssl at test time.
/// </summary>
public class AlgorithmPolicyTests
{
    private const string Sha1Oid = "1.3.14.3.2.26";

    private static byte[] Sha1Signature(byte[] content, DateTimeOffset signingTime) =>
        DotNetCms.Sign(content, Pki.Agency, configure: s => s.DigestAlgorithm = new Oid(Sha1Oid), signingTime: signingTime);

    [Test]
    public void Rejects_sha1_signature_for_submission()
    {
        var content = Pki.Document();
        var result = Pki.Verifier().Verify(content, Sha1Signature(content, DateTimeOffset.UtcNow));

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.WeakAlgorithm), result.Detail);
        Assert.That(result.Detail, Does.Contain("SHA-1"));
    }

    [Test]
    public void Archive_accepts_sha1_signature_made_before_the_cutoff_with_a_warning()
    {
        var content = Pki.Document();
        var signature = Sha1Signature(content, DateTimeOffset.UtcNow.AddDays(-20));
        var options = new TrustOptions { ArchiveSha1AcceptedBefore = DateTimeOffset.UtcNow.AddDays(-10) };

        var archive = Pki.Verifier(options).Verify(content, signature, SignaturePolicy.Archive);
        var submission = Pki.Verifier(options).Verify(content, signature, SignaturePolicy.Submission);

        Assert.That(archive.Reason, Is.EqualTo(ReasonCode.Ok), archive.Detail);
        Assert.That(archive.Signers.Single().Warnings, Has.Some.Contains("SHA-1"));
        Assert.That(submission.Reason, Is.EqualTo(ReasonCode.WeakAlgorithm));
    }

    [Test]
    public void Archive_rejects_sha1_signature_made_after_the_cutoff()
    {
        var content = Pki.Document();
        var signature = Sha1Signature(content, DateTimeOffset.UtcNow.AddDays(-5));
        var options = new TrustOptions { ArchiveSha1AcceptedBefore = DateTimeOffset.UtcNow.AddDays(-10) };

        var result = Pki.Verifier(options).Verify(content, signature, SignaturePolicy.Archive);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.WeakAlgorithm));
    }

    [Test]
    public void Archive_rejects_sha1_when_no_cutoff_is_configured()
    {
        var content = Pki.Document();
        var result = Pki.Verifier().Verify(content, Sha1Signature(content, DateTimeOffset.UtcNow.AddDays(-20)), SignaturePolicy.Archive);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.WeakAlgorithm));
    }

    [Test]
    public void Rejects_md5_signature_under_every_policy()
    {
        // openssl cms -md md5: OpenSSL 3's default provider still computes MD5.
        using var openssl = OpenSsl.Create();
        var content = Pki.Document();
        var file = openssl.WriteFile("content.bin", content);
        var (cert, key) = openssl.WriteSigner(Pki.Agency, "signer");
        var signature = openssl.CmsSign(file, "-signer", cert, "-inkey", key, "-md", "md5");
        var options = new TrustOptions { ArchiveSha1AcceptedBefore = DateTimeOffset.UtcNow.AddYears(1) };

        Assert.That(Pki.Verifier(options).Verify(content, signature).Reason, Is.EqualTo(ReasonCode.WeakAlgorithm));
        Assert.That(Pki.Verifier(options).Verify(content, signature, SignaturePolicy.Archive).Reason, Is.EqualTo(ReasonCode.WeakAlgorithm));
    }

    [Test]
    public void Rejects_rsa_1024_signer_key_for_submission()
    {
        var weak = Pki.Issuing.Leaf("Weak key agency", new LeafOptions { Key = KeyKind.Rsa1024 });
        var content = Pki.Document();
        using var signer = new CmsSigner(weak, Pki.Chain);
        var signature = signer.SignDetached(content);

        var submission = Pki.Verifier().Verify(content, signature);
        var archive = Pki.Verifier().Verify(content, signature, SignaturePolicy.Archive);

        Assert.That(submission.Reason, Is.EqualTo(ReasonCode.WeakAlgorithm));
        Assert.That(submission.Detail, Does.Contain("1024"));
        Assert.That(archive.Reason, Is.EqualTo(ReasonCode.Ok), "archive accepts 1024-bit keys with a warning");
        Assert.That(archive.Detail, Does.Contain("1024"));
    }

    [Test]
    public void Rejects_certificate_signed_with_sha1_for_submission()
    {
        // The CA signed the agency certificate with sha1WithRSAEncryption: the chain is weak, not the CMS.
        var sha1Cert = Pki.Issuing.Leaf("SHA-1 certificate", new LeafOptions { IssuerHash = HashAlgorithmName.SHA1 });
        var content = Pki.Document();
        using var signer = new CmsSigner(sha1Cert, Pki.Chain);

        var result = Pki.Verifier().Verify(content, signer.SignDetached(content));

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.WeakAlgorithm));
        Assert.That(result.Detail, Does.Contain("chain"));
    }

    [Test]
    public void Rejects_ca_with_rsa_1024_key_for_submission()
    {
        var weakCa = Pki.Root.Intermediate("Weak CA", key: KeyKind.Rsa1024);
        var leaf = weakCa.Leaf("Below a weak CA");
        var content = Pki.Document();
        using var signer = new CmsSigner(leaf, [weakCa.Public]);
        var store = TrustStore.FromCertificates([Pki.Root.Public], crls: [weakCa.Crl(), Pki.Root.Crl()]);

        var result = new SignatureVerifier(store).Verify(content, signer.SignDetached(content));

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.WeakAlgorithm));
        Assert.That(result.Detail, Does.Contain("Weak CA"));
    }
}
