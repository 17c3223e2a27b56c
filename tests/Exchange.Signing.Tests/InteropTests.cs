using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using Exchange.Core;
using Exchange.Signing.Tests.Support;

namespace Exchange.Signing.Tests;

/// <summary>
/// Signatures made by other implementations verify: the <c>openssl cms -sign</c> command line (OpenSSL 3) and .NET's
/// <see cref="SignedCms"/>. Every input is generated at test time into a scratch folder; nothing is committed.
/// </summary>
public class InteropTests
{
    private static readonly Lazy<X509Certificate2> RsaSigner = new(() => Pki.Issuing.Leaf("Sở Tư pháp (RSA)"));
    private static readonly Lazy<X509Certificate2> SecondRsaSigner = new(() => Pki.Issuing.Leaf("Nguyễn Văn A (personal)"));
    private static readonly Lazy<X509Certificate2> EcP256Signer = new(() => Pki.Issuing.Leaf("Sở Y tế (P-256)", new LeafOptions { Key = KeyKind.EcP256 }));
    private static readonly Lazy<X509Certificate2> EcP384Signer = new(() => Pki.Issuing.Leaf("Sở Xây dựng (P-384)", new LeafOptions { Key = KeyKind.EcP384 }));

    private static void AssertValid(VerificationResult result, string? signatureAlgorithm = null)
    {
        Assert.That(result.Reason, Is.EqualTo(ReasonCode.Ok), result.Detail);
        Assert.That(result.Signers.All(s => s.Valid), Is.True, string.Join("; ", result.Signers.Select(s => s.Detail)));
        if (signatureAlgorithm is not null)
        {
            Assert.That(result.Signers.Select(s => s.SignatureAlgorithm), Has.All.EqualTo(signatureAlgorithm));
        }
    }

    // ---- openssl cms -sign ------------------------------------------------------------------------------------

    [Test]
    public void Verifies_openssl_detached_signature_with_certfile()
    {
        using var openssl = OpenSsl.Create();
        var content = Pki.Document(50_000);
        var file = openssl.WriteFile("content.bin", content);
        var (cert, key) = openssl.WriteSigner(RsaSigner.Value, "signer");
        var chain = openssl.WriteCertificates("chain", Pki.Chain);

        // OpenSSL writes rsaEncryption as the SignerInfo's signatureAlgorithm, the hash named by digestAlgorithm
        // (RFC 5754 §3.2); it is reported under the combined name.
        var signature = openssl.CmsSign(file, "-signer", cert, "-inkey", key, "-certfile", chain);

        AssertValid(Pki.Verifier().Verify(content, signature), "sha256WithRSAEncryption");
    }

    [Test]
    public void Verifies_openssl_signature_without_certfile_when_the_store_knows_the_issuing_ca()
    {
        using var openssl = OpenSsl.Create();
        var content = Pki.Document();
        var file = openssl.WriteFile("content.bin", content);
        var (cert, key) = openssl.WriteSigner(RsaSigner.Value, "signer");
        var signature = openssl.CmsSign(file, "-signer", cert, "-inkey", key);
        var withIntermediate = new SignatureVerifier(TrustStore.FromCertificates([Pki.Root.Public], [Pki.Issuing.Public], [Pki.Issuing.Crl(), Pki.Root.Crl()]));

        AssertValid(withIntermediate.Verify(content, signature));
        Assert.That(Pki.Verifier().Verify(content, signature).Reason, Is.EqualTo(ReasonCode.UntrustedChain), "without the issuing CA anywhere");
    }

    [Test]
    public void Verifies_openssl_signature_with_two_signers()
    {
        using var openssl = OpenSsl.Create();
        var content = Pki.Document();
        var file = openssl.WriteFile("content.bin", content);
        var (cert1, key1) = openssl.WriteSigner(RsaSigner.Value, "organisation");
        var (cert2, key2) = openssl.WriteSigner(SecondRsaSigner.Value, "person");
        var chain = openssl.WriteCertificates("chain", Pki.Chain);

        var signature = openssl.CmsSign(file, "-signer", cert1, "-inkey", key1, "-signer", cert2, "-inkey", key2, "-certfile", chain);
        var result = Pki.Verifier().Verify(content, signature);

        AssertValid(result);
        Assert.That(result.Signers, Has.Count.EqualTo(2));
        Assert.That(result.Detail, Does.Contain("2 of 2"));
    }

    [Test]
    public void Verifies_openssl_rsa_pss_signature_with_default_salt_length()
    {
        // OpenSSL 3.0 signs PSS with the maximum salt length by default: the BouncyCastle PSS path checks it.
        using var openssl = OpenSsl.Create();
        var content = Pki.Document();
        var file = openssl.WriteFile("content.bin", content);
        var (cert, key) = openssl.WriteSigner(RsaSigner.Value, "signer");
        var chain = openssl.WriteCertificates("chain", Pki.Chain);

        var signature = openssl.CmsSign(file, "-signer", cert, "-inkey", key, "-keyopt", "rsa_padding_mode:pss", "-certfile", chain);

        AssertValid(Pki.Verifier().Verify(content, signature), "RSASSA-PSS with SHA-256");
    }

    [Test]
    public void Verifies_openssl_rsa_pss_signature_with_salt_of_hash_length()
    {
        // Salt length = hash length: the .NET (OpenSSL) RSASignaturePadding.Pss path.
        using var openssl = OpenSsl.Create();
        var content = Pki.Document();
        var file = openssl.WriteFile("content.bin", content);
        var (cert, key) = openssl.WriteSigner(RsaSigner.Value, "signer");
        var chain = openssl.WriteCertificates("chain", Pki.Chain);

        var signature = openssl.CmsSign(file, "-signer", cert, "-inkey", key, "-keyopt", "rsa_padding_mode:pss", "-keyopt", "rsa_pss_saltlen:32", "-md", "sha256", "-certfile", chain);

        AssertValid(Pki.Verifier().Verify(content, signature), "RSASSA-PSS with SHA-256");
    }

    [Test]
    public void Rsa_pss_mask_generation_hash_is_no_longer_left_out_of_the_algorithm_policy()
    {
        using var openssl = OpenSsl.Create();
        var content = Pki.Document();
        var file = openssl.WriteFile("content.bin", content);
        var (cert, key) = openssl.WriteSigner(RsaSigner.Value, "signer");
        var chain = openssl.WriteCertificates("chain", Pki.Chain);

        // 1. RSASSA-PSS with SHA-256 and MGF1-SHA-256 verifies.
        var matching = openssl.CmsSign(file, "-signer", cert, "-inkey", key, "-keyopt", "rsa_padding_mode:pss", "-keyopt", "rsa_mgf1_md:sha256", "-md", "sha256", "-certfile", chain);
        AssertValid(Pki.Verifier().Verify(content, matching), "RSASSA-PSS with SHA-256");

        // 2. The same signer with a mask generation hash other than the message hash (RFC 4055 §3.1 parameters).
        var mismatched = openssl.CmsSign(file, "-signer", cert, "-inkey", key, "-keyopt", "rsa_padding_mode:pss", "-keyopt", "rsa_mgf1_md:sha512", "-md", "sha256", "-certfile", chain);
        var result = Pki.Verifier().Verify(content, mismatched);

        // 3. Refused by the algorithm policy, naming the mask generation hash.
        Assert.That(result.Reason, Is.EqualTo(ReasonCode.WeakAlgorithm), result.Detail);
        Assert.That(result.Detail, Does.Contain("mask generation hash SHA-512"));
    }

    [TestCase(256, "sha256", "SHA256")]
    [TestCase(384, "sha384", "SHA384")]
    public void Verifies_openssl_ecdsa_signature(int curveBits, string digest, string expectedAlgorithm)
    {
        using var openssl = OpenSsl.Create();
        var content = Pki.Document();
        var file = openssl.WriteFile("content.bin", content);
        var (cert, key) = openssl.WriteSigner(curveBits == 256 ? EcP256Signer.Value : EcP384Signer.Value, "signer");
        var chain = openssl.WriteCertificates("chain", Pki.Chain);

        var signature = openssl.CmsSign(file, "-signer", cert, "-inkey", key, "-md", digest, "-certfile", chain);
        var result = Pki.Verifier().Verify(content, signature);

        AssertValid(result);
        Assert.That(result.Signers.Single().SignatureAlgorithm, Does.Contain(expectedAlgorithm));
    }

    [TestCase("sha384", "SHA-384")]
    [TestCase("sha512", "SHA-512")]
    public void Verifies_openssl_rsa_signature_with_longer_digest(string digest, string expected)
    {
        using var openssl = OpenSsl.Create();
        var content = Pki.Document();
        var file = openssl.WriteFile("content.bin", content);
        var (cert, key) = openssl.WriteSigner(RsaSigner.Value, "signer");
        var chain = openssl.WriteCertificates("chain", Pki.Chain);

        var signature = openssl.CmsSign(file, "-signer", cert, "-inkey", key, "-md", digest, "-certfile", chain);
        var result = Pki.Verifier().Verify(content, signature);

        AssertValid(result);
        Assert.That(result.Signers.Single().DigestAlgorithm, Is.EqualTo(expected));
    }

    [Test]
    public void Verifies_openssl_attached_streamed_signature_in_ber()
    {
        // -nodetach -stream writes indefinite lengths and a constructed OCTET STRING (BER, RFC 5652 §5.2).
        using var openssl = OpenSsl.Create();
        var content = Pki.Document(20_000);
        var file = openssl.WriteFile("content.bin", content);
        var (cert, key) = openssl.WriteSigner(RsaSigner.Value, "signer");
        var chain = openssl.WriteCertificates("chain", Pki.Chain);

        var signature = openssl.CmsSign(file, "-signer", cert, "-inkey", key, "-certfile", chain, "-nodetach", "-stream");
        Assert.That(signature[1], Is.EqualTo(0x80), "expected an indefinite length from openssl -stream");

        var result = Pki.Verifier().VerifyAttached(signature);

        AssertValid(result);
        Assert.That(result.Content, Is.EqualTo(content));
    }

    [Test]
    public void Verifies_openssl_signature_without_signed_attributes()
    {
        using var openssl = OpenSsl.Create();
        var content = Pki.Document();
        var file = openssl.WriteFile("content.bin", content);
        var (cert, key) = openssl.WriteSigner(RsaSigner.Value, "signer");
        var chain = openssl.WriteCertificates("chain", Pki.Chain);

        var signature = openssl.CmsSign(file, "-signer", cert, "-inkey", key, "-certfile", chain, "-noattr");
        var result = Pki.Verifier().Verify(content, signature);

        AssertValid(result);
        Assert.That(result.Signers.Single().SigningTime, Is.Null);
    }

    [Test]
    public void Verifies_openssl_signature_identified_by_subject_key_identifier()
    {
        using var openssl = OpenSsl.Create();
        var content = Pki.Document();
        var file = openssl.WriteFile("content.bin", content);
        var (cert, key) = openssl.WriteSigner(RsaSigner.Value, "signer");
        var chain = openssl.WriteCertificates("chain", Pki.Chain);

        var signature = openssl.CmsSign(file, "-signer", cert, "-inkey", key, "-certfile", chain, "-keyid");

        AssertValid(Pki.Verifier().Verify(content, signature));
    }

    [Test]
    public void Rejects_openssl_signature_without_certificates()
    {
        using var openssl = OpenSsl.Create();
        var content = Pki.Document();
        var file = openssl.WriteFile("content.bin", content);
        var (cert, key) = openssl.WriteSigner(RsaSigner.Value, "signer");

        var signature = openssl.CmsSign(file, "-signer", cert, "-inkey", key, "-nocerts");

        Assert.That(Pki.Verifier().Verify(content, signature).Reason, Is.EqualTo(ReasonCode.NoSignerCertificate));
    }

    [Test]
    public void Openssl_verifies_our_signature()
    {
        using var openssl = OpenSsl.Create();
        var content = Pki.Document();
        using var signer = new CmsSigner(Pki.Agency, Pki.Chain);
        var file = openssl.WriteFile("content.bin", content);
        var signature = openssl.WriteFile("signature.der", signer.SignDetached(content));
        var root = openssl.WriteCertificates("root", [Pki.Root.Public]);

        var (exitCode, _, error) = OpenSsl.Run(openssl.Folder, "cms", "-verify", "-binary", "-inform", "DER", "-in", signature, "-content", file, "-CAfile", root, "-purpose", "any", "-out", "/dev/null");

        Assert.That(exitCode, Is.Zero, error);
    }

    // ---- .NET SignedCms ---------------------------------------------------------------------------------------

    [Test]
    public void Verifies_signedcms_detached_rsa_signature()
    {
        var content = Pki.Document();
        AssertValid(Pki.Verifier().Verify(content, DotNetCms.Sign(content, RsaSigner.Value)), "sha256WithRSAEncryption");
    }

    [Test]
    public void Verifies_signedcms_rsa_pss_signature()
    {
        var content = Pki.Document();
        var signature = DotNetCms.Sign(content, RsaSigner.Value, configure: s => s.SignaturePadding = RSASignaturePadding.Pss);

        AssertValid(Pki.Verifier().Verify(content, signature), "RSASSA-PSS with SHA-256");
    }

    [TestCase("2.16.840.1.101.3.4.2.2", "SHA-384")]
    [TestCase("2.16.840.1.101.3.4.2.3", "SHA-512")]
    public void Verifies_signedcms_signature_with_longer_digest(string oid, string expected)
    {
        var content = Pki.Document();
        var signature = DotNetCms.Sign(content, RsaSigner.Value, configure: s => s.DigestAlgorithm = new Oid(oid));
        var result = Pki.Verifier().Verify(content, signature);

        AssertValid(result);
        Assert.That(result.Signers.Single().DigestAlgorithm, Is.EqualTo(expected));
    }

    [Test]
    public void Verifies_signedcms_ecdsa_signatures_on_p256_and_p384()
    {
        var content = Pki.Document();
        var p256 = DotNetCms.Sign(content, EcP256Signer.Value);
        var p384 = DotNetCms.Sign(content, EcP384Signer.Value, configure: s => s.DigestAlgorithm = new Oid("2.16.840.1.101.3.4.2.2"));

        AssertValid(Pki.Verifier().Verify(content, p256), "ecdsa-with-SHA256");
        AssertValid(Pki.Verifier().Verify(content, p384), "ecdsa-with-SHA384");
    }

    [Test]
    public void Verifies_signedcms_attached_signature()
    {
        var content = Pki.Document();
        var result = Pki.Verifier().VerifyAttached(DotNetCms.Sign(content, RsaSigner.Value, detached: false));

        AssertValid(result);
        Assert.That(result.Content, Is.EqualTo(content));
    }

    [Test]
    public void Signedcms_verifies_our_signature()
    {
        var content = Pki.Document();
        using var signer = new CmsSigner(Pki.Agency, Pki.Chain);
        var cms = new SignedCms(new ContentInfo(content), detached: true);

        cms.Decode(signer.SignDetached(content));

        Assert.DoesNotThrow(() => cms.CheckSignature(verifySignatureOnly: true));
    }
}
