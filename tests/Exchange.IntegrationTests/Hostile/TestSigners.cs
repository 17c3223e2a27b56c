using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using Exchange.Signing;
using CmsSigner = Exchange.Signing.CmsSigner;

namespace Exchange.IntegrationTests.Hostile;

/// <summary>
/// Signers no verifier should accept, made at test time from the dev PKI's issuing CA (whose key the PKI folder
/// holds, see <see cref="DevPki"/>): nothing here is committed, every key is generated when the fixture starts.
/// </summary>
public sealed class TestSigners
{
    private TestSigners(DevPki pki)
    {
        Pki = pki;
    }

    public DevPki Pki { get; }

    /// <summary>From the trusted issuing CA, registered to no agency (<see cref="DevPki.IssueRogueCertificate"/>).</summary>
    public CmsSigner Rogue { get; private init; } = null!;

    /// <summary>From the trusted issuing CA, valid until a minute ago.</summary>
    public CmsSigner Expired { get; private init; } = null!;

    /// <summary>From the trusted issuing CA, valid from tomorrow.</summary>
    public CmsSigner NotYetValid { get; private init; } = null!;

    /// <summary>From the trusted issuing CA, with an RSA key of 1024 bits.</summary>
    public CmsSigner Rsa1024 { get; private init; } = null!;

    /// <summary>From the trusted issuing CA, for key encipherment only (no digitalSignature, no nonRepudiation).</summary>
    public CmsSigner EnciphermentOnly { get; private init; } = null!;

    /// <summary>Self-signed: chains to no trust anchor.</summary>
    public CmsSigner SelfSigned { get; private init; } = null!;

    public static TestSigners Create(DevPki pki)
    {
        using var issuing = X509CertificateLoader.LoadPkcs12FromFile(Path.Combine(pki.Folder, "issuing-ca.p12"), pki.Password, X509KeyStorageFlags.EphemeralKeySet);
        var now = DateTimeOffset.UtcNow;
        // A certificate cannot start before its issuer (created with the PKI, five minutes before it was made).
        var issuerStart = new DateTimeOffset(issuing.NotBefore.ToUniversalTime());
        var signing = X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation;
        return new TestSigners(pki)
        {
            Rogue = CmsSigner.FromPkcs12(pki.IssueRogueCertificate("Kẻ mạo danh"), pki.Password),
            Expired = Leaf(issuing, "Chứng thư hết hạn", 2048, signing, issuerStart, now.AddMinutes(-1)),
            NotYetValid = Leaf(issuing, "Chứng thư chưa hiệu lực", 2048, signing, now.AddDays(1), now.AddDays(30)),
            Rsa1024 = Leaf(issuing, "Khóa RSA 1024", 1024, signing, issuerStart, now.AddDays(30)),
            EnciphermentOnly = Leaf(issuing, "Chỉ mã hóa khóa", 2048, X509KeyUsageFlags.KeyEncipherment, issuerStart, now.AddDays(30)),
            SelfSigned = SelfSignedLeaf("Tự ký"),
        };
    }

    /// <summary>
    /// A detached CMS by <paramref name="agency"/>'s genuine, registered key, made with .NET's SignedCms: with SHA-1
    /// as the digest (<paramref name="sha1"/>), or carrying no certificate at all (<paramref name="withoutCertificates"/>).
    /// </summary>
    public byte[] SignWithSignedCms(string agency, byte[] content, bool sha1 = false, bool withoutCertificates = false)
    {
        using var certificate = X509CertificateLoader.LoadPkcs12FromFile(Pki.AgencyPkcs12Path(agency), Pki.Password, X509KeyStorageFlags.EphemeralKeySet);
        var cms = new SignedCms(new ContentInfo(content), detached: true);
        var signer = new System.Security.Cryptography.Pkcs.CmsSigner(SubjectIdentifierType.IssuerAndSerialNumber, certificate)
        {
            DigestAlgorithm = sha1 ? new Oid("1.3.14.3.2.26", "sha1") : new Oid("2.16.840.1.101.3.4.2.1", "sha256"),
            IncludeOption = withoutCertificates ? X509IncludeOption.None : X509IncludeOption.EndCertOnly,
        };
        signer.SignedAttributes.Add(new Pkcs9SigningTime(DateTime.UtcNow));
        cms.ComputeSignature(signer, silent: true);
        return cms.Encode();
    }

    /// <summary>The same signature value in a re-encoded CMS: the root certificate added to its certificate set.</summary>
    public byte[] Rewrap(byte[] content, byte[] signature)
    {
        var cms = new SignedCms(new ContentInfo(content), detached: true);
        cms.Decode(signature);
        cms.AddCertificate(Pki.RootCertificate);
        return cms.Encode();
    }

    private static CmsSigner Leaf(X509Certificate2 issuing, string name, int rsaBits, X509KeyUsageFlags usage, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = RSA.Create(rsaBits);
        var request = new CertificateRequest($"CN={name}, O={name}, C=VN", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuing, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x10);
        using var certificate = request.Create(issuing, notBefore, notAfter, serial);
        using var withKey = certificate.CopyWithPrivateKey(key);
        return new CmsSigner(Reload(withKey), [X509CertificateLoader.LoadCertificate(issuing.RawData)]);
    }

    private static CmsSigner SelfSignedLeaf(string name)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={name}, O={name}, C=VN", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation, true));
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(30));
        return new CmsSigner(Reload(certificate));
    }

    /// <summary>A copy that owns its key, independent of the key object it was made with.</summary>
    private static X509Certificate2 Reload(X509Certificate2 withKey) =>
        X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.EphemeralKeySet);
}
