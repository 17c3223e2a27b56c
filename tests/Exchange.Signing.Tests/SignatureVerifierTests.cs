using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using Exchange.Core;
using Exchange.Signing.Tests.Support;

namespace Exchange.Signing.Tests;

/// <summary>One test per verdict of <see cref="SignatureVerifier"/>, on signatures from our own <see cref="CmsSigner"/>
/// unless said otherwise.</summary>
public class SignatureVerifierTests
{
    private static CmsSigner Signer(X509Certificate2? certificate = null, IEnumerable<X509Certificate2>? chain = null) =>
        new(certificate ?? Pki.Agency, chain ?? Pki.Chain);

    [Test]
    public void Accepts_detached_signature_from_organisation_certificate()
    {
        var content = Pki.Document();
        var signature = Signer().SignDetached(content);

        var result = Pki.Verifier().Verify(content, signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.Ok), result.Detail);
        Assert.That(result.Valid, Is.True);
        var signer = result.Signers.Single();
        Assert.Multiple(() =>
        {
            Assert.That(signer.Verdict, Is.EqualTo(ReasonCode.Ok));
            Assert.That(signer.CertificateSha256, Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(Pki.Agency.RawData))));
            Assert.That(signer.Subject, Does.Contain("Sở Nội vụ"));
            Assert.That(signer.Issuer, Does.Contain("Test Issuing CA"));
            Assert.That(signer.SerialNumber, Is.EqualTo(Pki.Agency.SerialNumber));
            Assert.That(signer.DigestAlgorithm, Is.EqualTo("SHA-256"));
            Assert.That(signer.SignatureAlgorithm, Is.EqualTo("sha256WithRSAEncryption"));
            Assert.That(signer.SigningTime, Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(1)));
            Assert.That(signer.Chain, Has.Count.EqualTo(3));
            Assert.That(result.ValidSigners.Count(), Is.EqualTo(1));
        });
    }

    [Test]
    public void Accepts_attached_signature_and_returns_its_content()
    {
        var content = Pki.Document();
        var signature = Signer().SignAttached(content);

        var result = Pki.Verifier().VerifyAttached(signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.Ok), result.Detail);
        Assert.That(result.Content, Is.EqualTo(content));
    }

    [Test]
    public void Refuses_detached_signature_given_to_attached_verification()
    {
        var signature = Signer().SignDetached(Pki.Document());

        var result = Pki.Verifier().VerifyAttached(signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.Malformed));
        Assert.That(result.Detail, Does.Contain("detached"));
    }

    [Test]
    public void Accepts_pem_encoded_signature()
    {
        var content = Pki.Document();
        var pem = System.Text.Encoding.ASCII.GetBytes(PemEncoding.WriteString("CMS", Signer().SignDetached(content)));

        Assert.That(Pki.Verifier().Verify(content, pem).Reason, Is.EqualTo(ReasonCode.Ok));
    }

    [Test]
    public void Rejects_garbage_as_malformed()
    {
        var result = Pki.Verifier().Verify(Pki.Document(), RandomNumberGenerator.GetBytes(300));

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.Malformed));
        Assert.That(result.Signers, Is.Empty);
    }

    [Test]
    public void Rejects_signature_without_signer_certificate()
    {
        // SignedCms with IncludeOption.None leaves the certificates field out (RFC 5652 §5.1 makes it optional).
        var content = Pki.Document();
        var signature = DotNetCms.Sign(content, Pki.Agency, configure: s => s.IncludeOption = X509IncludeOption.None);

        var result = Pki.Verifier().Verify(content, signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.NoSignerCertificate), result.Detail);
        Assert.That(result.Signers.Single().SerialNumber, Is.EqualTo(Pki.Agency.SerialNumber));
    }

    [Test]
    public void Rejects_signature_over_other_content()
    {
        var signature = Signer().SignDetached(Pki.Document(seed: 1));

        var result = Pki.Verifier().Verify(Pki.Document(seed: 2), signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.SignatureInvalid));
        Assert.That(result.Detail, Does.Contain("message-digest"));
    }

    [Test]
    public void Rejects_signature_from_untrusted_root()
    {
        var otherRoot = TestCa.Root("Other Root CA");
        var otherIssuing = otherRoot.Intermediate("Other Issuing CA");
        var content = Pki.Document();
        var signature = Signer(otherIssuing.Leaf("Impostor"), [otherIssuing.Public]).SignDetached(content);

        var result = Pki.Verifier().Verify(content, signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.UntrustedChain), result.Detail);
    }

    [Test]
    public void Rejects_signature_whose_chain_lacks_the_issuing_ca()
    {
        var content = Pki.Document();
        var signature = Signer(Pki.Agency, []).SignDetached(content);

        Assert.That(Pki.Verifier().Verify(content, signature).Reason, Is.EqualTo(ReasonCode.UntrustedChain));
    }

    [Test]
    public void Builds_chain_through_intermediate_from_the_trust_store_when_the_cms_lacks_it()
    {
        var content = Pki.Document();
        var signature = Signer(Pki.Agency, []).SignDetached(content);
        var store = TrustStore.FromCertificates([Pki.Root.Public], [Pki.Issuing.Public], [Pki.Issuing.Crl(), Pki.Root.Crl()]);

        Assert.That(new SignatureVerifier(store).Verify(content, signature).Reason, Is.EqualTo(ReasonCode.Ok));
    }

    [Test]
    public void Rejects_certificate_issued_by_a_non_ca_certificate()
    {
        // A leaf certificate (basicConstraints cA=false) used as an issuer: RFC 5280 §6.1.4 (k).
        var notCa = Pki.Issuing.Intermediate("Not a CA", isCa: false, usage: X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.DigitalSignature);
        var content = Pki.Document();
        var signature = Signer(notCa.Leaf("Below a non-CA"), [notCa.Public, Pki.Issuing.Public]).SignDetached(content);

        var result = Pki.Verifier().Verify(content, signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.UntrustedChain));
        Assert.That(result.Detail, Does.Contain("not a CA"));
    }

    [Test]
    public void Rejects_chain_longer_than_the_issuing_ca_path_length_allows()
    {
        // The issuing CA has pathLenConstraint 0: no CA may sit below it (RFC 5280 §4.2.1.9).
        var sub = Pki.Issuing.Intermediate("Sub CA below pathlen 0", pathLength: null);
        var content = Pki.Document();
        var signature = Signer(sub.Leaf("Too deep"), [sub.Public, Pki.Issuing.Public]).SignDetached(content);

        var result = Pki.Verifier().Verify(content, signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.UntrustedChain));
        Assert.That(result.Detail, Does.Contain("pathLenConstraint"));
    }

    [Test]
    public void Rejects_certificate_expired_at_signing_time()
    {
        var now = DateTimeOffset.UtcNow;
        var expired = Pki.Issuing.Leaf("Expired agency", new LeafOptions { NotBefore = now.AddYears(-3), NotAfter = now.AddYears(-1) });
        var content = Pki.Document();
        var signature = Signer(expired).SignDetached(content, now);

        var result = Pki.Verifier().Verify(content, signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.CertificateExpired), result.Detail);
        Assert.That(result.Detail, Does.Contain("signing time"));
    }

    [Test]
    public void Rejects_certificate_not_yet_valid_at_signing_time()
    {
        var now = DateTimeOffset.UtcNow;
        var future = Pki.Issuing.Leaf("Future agency", new LeafOptions { NotBefore = now.AddDays(10), NotAfter = now.AddYears(1) });
        var content = Pki.Document();
        var signature = Signer(future).SignDetached(content, now);

        Assert.That(Pki.Verifier().Verify(content, signature).Reason, Is.EqualTo(ReasonCode.CertificateExpired));
    }

    [Test]
    public void Rejects_submission_signed_while_valid_but_verified_after_expiry()
    {
        // Signing time is the signer's claim (no time-stamp), so a live submission needs a certificate valid now too.
        var now = DateTimeOffset.UtcNow;
        var expired = Pki.Issuing.Leaf("Expired since", new LeafOptions { NotBefore = now.AddYears(-3), NotAfter = now.AddYears(-1) });
        var content = Pki.Document();
        var signature = Signer(expired).SignDetached(content, now.AddYears(-2));

        var result = Pki.Verifier().Verify(content, signature, SignaturePolicy.Submission);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.CertificateExpired));
        Assert.That(result.Detail, Does.Contain("not now"));
    }

    [Test]
    public void Accepts_archived_document_signed_before_its_certificate_expired_with_a_warning()
    {
        var now = DateTimeOffset.UtcNow;
        var expired = Pki.Issuing.Leaf("Archived agency", new LeafOptions { NotBefore = now.AddYears(-3), NotAfter = now.AddYears(-1) });
        var content = Pki.Document();
        var signature = Signer(expired).SignDetached(content, now.AddYears(-2));

        var result = Pki.Verifier().Verify(content, signature, SignaturePolicy.Archive);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.Ok), result.Detail);
        Assert.That(result.Signers.Single().Warnings, Has.Some.Contains("valid at the signing time but not now"));
    }

    [Test]
    public void Uses_the_verifier_clock_for_validity_without_a_signing_time()
    {
        // SignedCms without any signed attribute: the signature covers the content directly (RFC 5652 §5.4).
        var content = Pki.Document();
        var signature = DotNetCms.Sign(content, Pki.Agency, configure: RemoveSignedAttributes);
        var clock = new FixedClock(DateTimeOffset.UtcNow.AddYears(5));

        var later = new SignatureVerifier(TrustStore.FromCertificates([Pki.Root.Public], crls: [Pki.Issuing.Crl(clock.Now.AddDays(1)), Pki.Root.Crl(clock.Now.AddDays(1))]), clock);

        Assert.That(Pki.Verifier().Verify(content, signature).Reason, Is.EqualTo(ReasonCode.Ok));
        Assert.That(later.Verify(content, signature).Reason, Is.EqualTo(ReasonCode.CertificateExpired));
    }

    internal static void RemoveSignedAttributes(System.Security.Cryptography.Pkcs.CmsSigner signer)
    {
        foreach (var attribute in signer.SignedAttributes.Cast<CryptographicAttributeObject>().ToList())
        {
            signer.SignedAttributes.Remove(attribute);
        }
    }

    [Test]
    public void Rejects_certificate_without_signing_key_usage()
    {
        var encipherOnly = Pki.Issuing.Leaf("Encryption only", new LeafOptions { Usage = X509KeyUsageFlags.KeyEncipherment });
        var content = Pki.Document();
        var signature = Signer(encipherOnly).SignDetached(content);

        var result = Pki.Verifier().Verify(content, signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.KeyUsage), result.Detail);
    }

    [Test]
    public void Critical_extended_key_usage_without_document_signing_is_no_longer_ignored()
    {
        var content = Pki.Document();

        // 1. A critical extendedKeyUsage that lists id-kp-documentSigning (RFC 9336) verifies.
        var documentSigning = Pki.Issuing.Leaf("Critical EKU document signing", new LeafOptions { ExtendedKeyUsages = ["1.3.6.1.5.5.7.3.36"], ExtendedKeyUsageCritical = true });
        Assert.That(Pki.Verifier().Verify(content, Signer(documentSigning).SignDetached(content)).Reason, Is.EqualTo(ReasonCode.Ok));

        // 2. The attack: a certificate whose critical extendedKeyUsage restricts it to code signing and TLS signs a document.
        var codeSigning = Pki.Issuing.Leaf("Critical EKU code signing", new LeafOptions { ExtendedKeyUsages = ["1.3.6.1.5.5.7.3.3", "1.3.6.1.5.5.7.3.1"], ExtendedKeyUsageCritical = true });
        var result = Pki.Verifier().Verify(content, Signer(codeSigning).SignDetached(content));

        // 3. Refused for its key usage, naming the purposes it carries.
        Assert.That(result.Reason, Is.EqualTo(ReasonCode.KeyUsage), result.Detail);
        Assert.That(result.Detail, Does.Contain("1.3.6.1.5.5.7.3.3"));
    }

    [Test]
    public void Accepts_certificate_with_non_repudiation_only()
    {
        var nonRepudiation = Pki.Issuing.Leaf("Non-repudiation only", new LeafOptions { Usage = X509KeyUsageFlags.NonRepudiation });
        var content = Pki.Document();
        var signature = Signer(nonRepudiation).SignDetached(content);

        Assert.That(Pki.Verifier().Verify(content, signature).Reason, Is.EqualTo(ReasonCode.Ok));
    }

    [Test]
    public void Reports_every_signer_and_accepts_when_one_is_valid()
    {
        var untrusted = TestCa.Root("Stranger Root").Intermediate("Stranger CA");
        var stranger = untrusted.Leaf("Stranger");
        var content = Pki.Document();
        var first = DotNetCms.Sign(content, stranger, [untrusted.Public]);
        var both = DotNetCms.CoSign(content, first, Pki.Agency);

        var result = Pki.Verifier().Verify(content, both);

        // SignerInfos is a DER SET OF: the order on the wire is the sorted encoding, not the order of signing.
        Assert.That(result.Reason, Is.EqualTo(ReasonCode.Ok), result.Detail);
        Assert.That(result.Signers.Select(s => s.Verdict), Is.EquivalentTo(new[] { ReasonCode.UntrustedChain, ReasonCode.Ok }));
        Assert.That(result.ValidSigners.Single().Subject, Does.Contain("Sở Nội vụ"));
        Assert.That(result.Detail, Does.Contain("1 of 2"));
    }

    [Test]
    public void Reports_the_first_failing_signer_when_none_is_valid()
    {
        var encipherOnly = Pki.Issuing.Leaf("Encryption only 2", new LeafOptions { Usage = X509KeyUsageFlags.KeyEncipherment });
        var untrusted = TestCa.Root("Stranger Root 2").Intermediate("Stranger CA 2");
        var content = Pki.Document();
        var first = DotNetCms.Sign(content, encipherOnly);
        var both = DotNetCms.CoSign(content, first, untrusted.Leaf("Stranger 2"), [untrusted.Public]);

        var result = Pki.Verifier().Verify(content, both);

        Assert.That(result.Signers.Select(s => s.Verdict), Is.EquivalentTo(new[] { ReasonCode.KeyUsage, ReasonCode.UntrustedChain }));
        Assert.That(result.Reason, Is.EqualTo(result.Signers[0].Verdict));
        Assert.That(result.Detail, Does.StartWith("signer 1 of 2"));
    }

    [Test]
    public void Finds_signer_by_subject_key_identifier()
    {
        var content = Pki.Document();
        var signature = DotNetCms.Sign(content, Pki.Agency, configure: s => s.SignerIdentifierType = SubjectIdentifierType.SubjectKeyIdentifier);

        Assert.That(Pki.Verifier().Verify(content, signature).Reason, Is.EqualTo(ReasonCode.Ok));
    }

    [Test]
    public void Is_safe_to_share_between_threads()
    {
        var verifier = Pki.Verifier();
        var documents = Enumerable.Range(0, 8).Select(i => Pki.Document(2048, i)).ToArray();
        var signatures = documents.Select(d => Signer().SignDetached(d)).ToArray();
        var failures = 0;

        Parallel.For(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 8 }, i =>
        {
            var result = verifier.Verify(documents[i % 8], signatures[i % 8]);
            var wrong = verifier.Verify(documents[(i + 1) % 8], signatures[i % 8]);
            if (!result.Valid || wrong.Reason != ReasonCode.SignatureInvalid)
            {
                Interlocked.Increment(ref failures);
            }
        });

        Assert.That(failures, Is.Zero);
    }
}
