using System.Security.Cryptography.X509Certificates;
using Exchange.Core;
using Exchange.Signing.Tests.Support;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.X509;

namespace Exchange.Signing.Tests;

/// <summary>
/// Which CRLs speak for a certificate (RFC 5280 §5.2.5 issuingDistributionPoint scope, §6.3.3), and that every usable
/// CRL of the issuer is consulted. The CRLs are made with BouncyCastle's X509V2CrlGenerator, because .NET's
/// CertificateRevocationListBuilder writes no issuingDistributionPoint.
/// </summary>
public class CrlScopeTests
{
    private const string PointA = "http://crl.test.invalid/issuing-a.crl";
    private const string PointB = "http://crl.test.invalid/issuing-b.crl";

    private static readonly Lazy<TestCa> Root = new(() => TestCa.Root("Scope Root CA"));
    private static readonly Lazy<TestCa> Issuing = new(() => Root.Value.Intermediate("Scope Issuing CA"));

    private static (byte[] Content, byte[] Signature) Signed(X509Certificate2 leaf)
    {
        var content = Pki.Document();
        using var signer = new CmsSigner(leaf, [Issuing.Value.Public]);
        return (content, signer.SignDetached(content));
    }

    private static SignatureVerifier Verifier(params byte[][] issuingCrls) =>
        new(TrustStore.FromCertificates([Root.Value.Public], crls: [.. issuingCrls, Root.Value.Crl()]));

    /// <summary>A CRL of <paramref name="ca"/>, with an issuingDistributionPoint when <paramref name="idp"/> is given.</summary>
    private static byte[] Crl(TestCa ca, DateTimeOffset thisUpdate, IssuingDistributionPoint? idp = null, params X509Certificate2[] revoked)
    {
        var issuer = new X509CertificateParser().ReadCertificate(ca.Certificate.RawData);
        var key = DotNetUtilities.GetRsaKeyPair(ca.Certificate.GetRSAPrivateKey()!.ExportParameters(true)).Private;
        var generator = new X509V2CrlGenerator();
        generator.SetIssuerDN(issuer.SubjectDN);
        generator.SetThisUpdate(thisUpdate.UtcDateTime);
        generator.SetNextUpdate(thisUpdate.AddDays(7).UtcDateTime);
        foreach (var certificate in revoked)
        {
            generator.AddCrlEntry(new BigInteger(certificate.SerialNumber, 16), thisUpdate.AddMinutes(-5).UtcDateTime, CrlReason.KeyCompromise);
        }

        var ski = ca.Certificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single().SubjectKeyIdentifierBytes.ToArray();
        generator.AddExtension(X509Extensions.AuthorityKeyIdentifier, false, new AuthorityKeyIdentifier(ski));
        generator.AddExtension(X509Extensions.CrlNumber, false, new CrlNumber(BigInteger.ValueOf(thisUpdate.ToUnixTimeSeconds())));
        if (idp is not null)
        {
            generator.AddExtension(X509Extensions.IssuingDistributionPoint, true, idp);
        }

        return generator.Generate(new Asn1SignatureFactory("SHA256WITHRSA", key)).GetEncoded();
    }

    private static IssuingDistributionPoint Scope(string? point = null, bool onlyUser = false, bool onlyCa = false, bool someReasons = false, bool indirect = false) =>
        new(
            point is null ? null : new DistributionPointName(new GeneralNames(new GeneralName(GeneralName.UniformResourceIdentifier, point))),
            onlyUser,
            onlyCa,
            someReasons ? new ReasonFlags(ReasonFlags.KeyCompromise) : null,
            indirect,
            false);

    [Test]
    public void Crl_scoped_to_ca_certificates_no_longer_vouches_for_an_end_entity()
    {
        var leaf = Issuing.Value.Leaf("Agency under a CA-only CRL");
        var (content, signature) = Signed(leaf);
        var now = DateTimeOffset.UtcNow.AddMinutes(-2);

        // 1. A full CRL of the issuing CA (no issuingDistributionPoint) vouches for the agency.
        Assert.That(Verifier(Crl(Issuing.Value, now)).Verify(content, signature).Reason, Is.EqualTo(ReasonCode.Ok));

        // 2. The attack: the only CRL is one that lists CA certificates only (onlyContainsCACerts), so it cannot list the agency.
        var result = Verifier(Crl(Issuing.Value, now, Scope(onlyCa: true))).Verify(content, signature);

        // 3. It is no evidence for the agency: the status is unknown, and the detail names the scope.
        Assert.That(result.Reason, Is.EqualTo(ReasonCode.RevocationUnknown), result.Detail);
        Assert.That(result.Detail, Does.Contain("onlyContainsCACerts"));
    }

    [TestCase(true, false, "onlySomeReasons")]
    [TestCase(false, true, "indirectCRL")]
    public void Crl_partitioned_by_reason_or_indirect_no_longer_vouches_for_a_certificate(bool someReasons, bool indirect, string named)
    {
        var leaf = Issuing.Value.Leaf($"Agency under a {named} CRL");
        var (content, signature) = Signed(leaf);
        var now = DateTimeOffset.UtcNow.AddMinutes(-2);

        // 1. A user-certificates-only CRL does cover the agency.
        Assert.That(Verifier(Crl(Issuing.Value, now, Scope(onlyUser: true))).Verify(content, signature).Reason, Is.EqualTo(ReasonCode.Ok));

        // 2. The only CRL covers some reasons only, or is indirect.
        var result = Verifier(Crl(Issuing.Value, now, Scope(someReasons: someReasons, indirect: indirect))).Verify(content, signature);

        // 3. Unknown status, naming the flag.
        Assert.That(result.Reason, Is.EqualTo(ReasonCode.RevocationUnknown), result.Detail);
        Assert.That(result.Detail, Does.Contain(named));
    }

    [Test]
    public void Crl_for_another_distribution_point_no_longer_vouches_for_a_certificate()
    {
        var leaf = Issuing.Value.Leaf("Agency with distribution point A", new LeafOptions { CrlDistributionPoint = PointA });
        var (content, signature) = Signed(leaf);
        var now = DateTimeOffset.UtcNow.AddMinutes(-2);

        // 1. The CRL of the certificate's own distribution point vouches for it.
        Assert.That(Verifier(Crl(Issuing.Value, now, Scope(PointA))).Verify(content, signature).Reason, Is.EqualTo(ReasonCode.Ok));

        // 2. The attack: only the (empty) CRL of another partition, distribution point B, is presented.
        var result = Verifier(Crl(Issuing.Value, now, Scope(PointB))).Verify(content, signature);

        // 3. Unknown status: that partition says nothing about this certificate.
        Assert.That(result.Reason, Is.EqualTo(ReasonCode.RevocationUnknown), result.Detail);
        Assert.That(result.Detail, Does.Contain("distribution point"));
    }

    [Test]
    public void Revocation_on_a_crl_other_than_the_newest_is_no_longer_missed()
    {
        var leaf = Issuing.Value.Leaf("Agency revoked on one CRL of two");
        var (content, signature) = Signed(leaf);
        var now = DateTimeOffset.UtcNow.AddMinutes(-2);
        var listing = Crl(Issuing.Value, now.AddHours(-1), revoked: leaf);
        var newer = Crl(Issuing.Value, now);

        // 1. The newer CRL alone (which does not list the agency) vouches for it.
        Assert.That(Verifier(newer).Verify(content, signature).Reason, Is.EqualTo(ReasonCode.Ok));

        // 2. Both current CRLs of the issuer are known; only the older one lists the agency.
        var result = Verifier(newer, listing).Verify(content, signature);

        // 3. Revoked on any usable CRL is revoked.
        Assert.That(result.Reason, Is.EqualTo(ReasonCode.CertificateRevoked), result.Detail);
        Assert.That(result.Detail, Does.Contain("keyCompromise"));
    }
}
