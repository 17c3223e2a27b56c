using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using Exchange.Core;
using Exchange.Signing.Tests.Support;

namespace Exchange.Signing.Tests;

/// <summary>What <see cref="CmsSigner"/> produces (RFC 5652 §5), read back with .NET's SignedCms.</summary>
public class CmsSignerTests
{
    [Test]
    public void Produces_detached_sha256_signed_data_with_the_three_signed_attributes()
    {
        var content = Pki.Document();
        using var signer = new CmsSigner(Pki.Agency, Pki.Chain);
        var signingTime = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddMinutes(-3).ToUnixTimeSeconds());

        var cms = new SignedCms(new ContentInfo(content), detached: true);
        cms.Decode(signer.SignDetached(content, signingTime));

        var info = cms.SignerInfos.Cast<SignerInfo>().Single();
        Assert.Multiple(() =>
        {
            Assert.That(cms.Detached, Is.True);
            Assert.That(info.DigestAlgorithm.Value, Is.EqualTo("2.16.840.1.101.3.4.2.1"));
            Assert.That(info.SignedAttributes.Cast<CryptographicAttributeObject>().Select(a => a.Oid.Value),
                Is.SupersetOf(new[] { "1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4", "1.2.840.113549.1.9.5" }));
            var time = info.SignedAttributes.Cast<CryptographicAttributeObject>().Single(a => a.Oid.Value == "1.2.840.113549.1.9.5").Values[0];
            Assert.That(new Pkcs9SigningTime(time.RawData).SigningTime, Is.EqualTo(signingTime.UtcDateTime));
            Assert.That(info.Certificate!.Thumbprint, Is.EqualTo(Pki.Agency.Thumbprint));
        });
    }

    [Test]
    public void Bouncy_castle_verifies_what_it_writes()
    {
        // Until the move to BouncyCastle 2.x this compared bytes with the SignedData BouncyCastle 1.8 built for the same
        // inputs. 2.x builds a different one (SHA-256 AlgorithmIdentifiers without NULL parameters, RFC 5754 §2; the
        // certificate SET sorted; an added CMSAlgorithmProtection attribute, RFC 6211), so it now serves as an
        // independent reader: it must find the signature valid and see the three signed attributes and the chain below
        // the root.
        var content = Pki.Document(10 * 1024);
        var signingTime = DateTimeOffset.UtcNow.AddMinutes(-3);
        using var signer = new CmsSigner(Pki.Agency, [Pki.Issuing.Public, Pki.Root.Public]);
        string[] attributes = ["1.2.840.113549.1.9.3", "1.2.840.113549.1.9.4", "1.2.840.113549.1.9.5"];

        var detached = BouncyCastleCms.Read(signer.SignDetached(content, signingTime), content);
        var attached = BouncyCastleCms.Read(signer.SignAttached(content, signingTime), detachedContent: null);
        var empty = BouncyCastleCms.Read(signer.SignDetached([], signingTime), []);
        Assert.Multiple(() =>
        {
            foreach (var (name, reading) in new[] { ("detached", detached), ("attached", attached), ("empty content", empty) })
            {
                Assert.That(reading.SignatureValid, Is.True, name);
                Assert.That(reading.DigestAlgorithm, Is.EqualTo("2.16.840.1.101.3.4.2.1"), name);
                Assert.That(reading.SignedAttributes, Is.EquivalentTo(attributes), name);
                Assert.That(reading.CarriedCertificates, Is.EquivalentTo(new[] { Pki.Agency.RawData, Pki.Issuing.Public.RawData }), name);
            }

            Assert.That(attached.Content, Is.EqualTo(content), "attached content");
        });
        var tampered = content.ToArray();
        tampered[^1] ^= 1;
        Assert.That(BouncyCastleCms.Read(signer.SignDetached(content, signingTime), tampered).SignatureValid, Is.False, "other content");
    }

    [Test]
    public void Writes_a_signing_time_after_2049_as_generalized_time()
    {
        // RFC 5652 §11.3: UTCTime only for 1950 through 2049.
        var content = Pki.Document();
        using var signer = new CmsSigner(Pki.Agency, Pki.Chain);
        var signingTime = new DateTimeOffset(2051, 1, 2, 3, 4, 5, TimeSpan.Zero);

        var cms = new SignedCms(new ContentInfo(content), detached: true);
        cms.Decode(signer.SignDetached(content, signingTime));
        cms.CheckSignature(verifySignatureOnly: true);

        var time = cms.SignerInfos[0].SignedAttributes.Cast<CryptographicAttributeObject>().Single(a => a.Oid.Value == "1.2.840.113549.1.9.5").Values[0];
        // Pkcs9SigningTime reads UTCTime only, hence AsnReader.
        Assert.That(new AsnReader(time.RawData, AsnEncodingRules.DER).ReadGeneralizedTime(), Is.EqualTo(signingTime));
    }

    [Test]
    public void Produces_attached_signature_on_request()
    {
        var content = Pki.Document();
        using var signer = new CmsSigner(Pki.Agency, Pki.Chain);

        var cms = new SignedCms();
        cms.Decode(signer.SignAttached(content));

        Assert.That(cms.Detached, Is.False);
        Assert.That(cms.ContentInfo.Content, Is.EqualTo(content));
    }

    [Test]
    public void Leaves_the_root_out_of_the_signature()
    {
        using var signer = new CmsSigner(Pki.Agency, [Pki.Issuing.Public, Pki.Root.Public]);

        Assert.That(signer.Chain.Select(c => c.Thumbprint), Is.EqualTo(new[] { Pki.Issuing.Certificate.Thumbprint }));
    }

    [Test]
    public void Signs_with_an_ecdsa_key()
    {
        var ec = Pki.Issuing.Leaf("EC agency", new LeafOptions { Key = KeyKind.EcP256 });
        var content = Pki.Document();
        using var signer = new CmsSigner(ec, Pki.Chain);

        var result = Pki.Verifier().Verify(content, signer.SignDetached(content));

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.Ok), result.Detail);
        Assert.That(result.Signers.Single().SignatureAlgorithm, Is.EqualTo("ecdsa-with-SHA256"));
    }

    [Test]
    public void Loads_from_pkcs12_and_reports_the_certificate_hash()
    {
        var folder = Directory.CreateTempSubdirectory("exchange-p12-").FullName;
        try
        {
            var path = Path.Combine(folder, "agency.p12");
            var collection = new System.Security.Cryptography.X509Certificates.X509Certificate2Collection { Pki.Agency, Pki.Issuing.Public, Pki.Root.Public };
            File.WriteAllBytes(path, collection.Export(System.Security.Cryptography.X509Certificates.X509ContentType.Pkcs12, "secret")!);

            using var signer = CmsSigner.FromPkcs12(path, "secret");

            Assert.That(signer.CertificateSha256, Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData(Pki.Agency.RawData))));
            Assert.That(signer.Chain, Has.Count.EqualTo(1));
            Assert.That(() => CmsSigner.FromPkcs12(path, "wrong"), Throws.InstanceOf<CryptographicException>().With.Message.Contains("agency.p12"));
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }
}
