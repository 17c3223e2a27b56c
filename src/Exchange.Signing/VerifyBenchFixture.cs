using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Exchange.Signing;

/// <summary>
/// The input of the verification benchmarks (`exchange bench verify` and benchmarks/Exchange.Benchmarks): an
/// in-memory root and issuing CA, an RSA-2048 organisation certificate, their CRLs, and a document of the given
/// size signed SHA-256 by <see cref="CmsSigner"/>. Built in well under a second; nothing is written to disk.
/// </summary>
public sealed class VerifyBenchFixture
{
    private VerifyBenchFixture(byte[] content, byte[] signature, X509Certificate2 root, X509Certificate2 issuing, IReadOnlyList<byte[]> crls)
    {
        Content = content;
        Signature = signature;
        Root = root;
        Issuing = issuing;
        Crls = crls;
    }

    public byte[] Content { get; }

    /// <summary>Detached CMS over <see cref="Content"/>, carrying the signer and issuing CA certificates.</summary>
    public byte[] Signature { get; }

    public X509Certificate2 Root { get; }

    public X509Certificate2 Issuing { get; }

    public IReadOnlyList<byte[]> Crls { get; }

    public TrustStore CreateTrustStore() => TrustStore.FromCertificates([Root], crls: Crls);

    public static VerifyBenchFixture Create(int documentBytes = 100 * 1024)
    {
        var now = DateTimeOffset.UtcNow;
        using var rootKey = RSA.Create(3072);
        var rootRequest = new CertificateRequest("CN=Bench Root CA, O=Exchange bench, C=VN", rootKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        rootRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        rootRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(rootRequest.PublicKey, false));
        var root = rootRequest.CreateSelfSigned(now.AddDays(-1), now.AddYears(5));

        using var issuingKey = RSA.Create(3072);
        var issuingRequest = new CertificateRequest("CN=Bench Issuing CA, O=Exchange bench, C=VN", issuingKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        issuingRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        issuingRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        issuingRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(issuingRequest.PublicKey, false));
        issuingRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(root, true, false));
        using var issuingPublic = issuingRequest.Create(root, now.AddDays(-1), now.AddYears(4), RandomNumberGenerator.GetBytes(8));
        var issuing = issuingPublic.CopyWithPrivateKey(issuingKey);

        using var leafKey = RSA.Create(2048);
        var leafRequest = new CertificateRequest("CN=Bench Agency, OU=000.00.00.B00, O=Bench Agency, C=VN", leafKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        leafRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation, true));
        leafRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(leafRequest.PublicKey, false));
        leafRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuing, true, false));
        using var leafPublic = leafRequest.Create(issuing, now.AddDays(-1), now.AddYears(1), RandomNumberGenerator.GetBytes(8));
        using var leaf = leafPublic.CopyWithPrivateKey(leafKey);

        var crls = new List<byte[]>
        {
            new CertificateRevocationListBuilder().Build(issuing, 1, now.AddDays(7), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            new CertificateRevocationListBuilder().Build(root, 1, now.AddDays(7), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        };

        var content = new byte[documentBytes];
        new Random(20170101).NextBytes(content);
        using var issuingCertificate = X509CertificateLoader.LoadCertificate(issuing.RawData);
        using var signer = new CmsSigner(leaf, [issuingCertificate]);
        var signature = signer.SignDetached(content);
        return new VerifyBenchFixture(content, signature, X509CertificateLoader.LoadCertificate(root.RawData), X509CertificateLoader.LoadCertificate(issuing.RawData), crls);
    }
}
