using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Exchange.Signing.Tests.Support;

/// <summary>How a test certificate's key is made.</summary>
internal enum KeyKind
{
    Rsa2048,
    Rsa1024,
    Rsa3072,
    EcP256,
    EcP384,
}

/// <summary>What a test leaf certificate looks like; the defaults are a good organisation certificate.</summary>
internal sealed record LeafOptions
{
    public KeyKind Key { get; init; } = KeyKind.Rsa2048;
    public X509KeyUsageFlags? Usage { get; init; } = X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation;
    public DateTimeOffset? NotBefore { get; init; }
    public DateTimeOffset? NotAfter { get; init; }

    /// <summary>The hash of the CA's signature on the certificate.</summary>
    public HashAlgorithmName IssuerHash { get; init; } = HashAlgorithmName.SHA256;

    public string? CrlDistributionPoint { get; init; }

    /// <summary>extendedKeyUsage purposes (OIDs); null: no such extension.</summary>
    public IReadOnlyList<string>? ExtendedKeyUsages { get; init; }

    public bool ExtendedKeyUsageCritical { get; init; }
}

/// <summary>
/// A certificate authority built in memory with .NET's CertificateRequest for tests: no keys are committed,
/// everything is generated at test time.
/// </summary>
internal sealed class TestCa
{
    private readonly List<(X509Certificate2 Certificate, DateTimeOffset When, X509RevocationReason Reason)> _revoked = [];
    private int _crlNumber;

    private TestCa(X509Certificate2 certificate, TestCa? parent)
    {
        Certificate = certificate;
        Parent = parent;
    }

    /// <summary>With its private key.</summary>
    public X509Certificate2 Certificate { get; }

    public TestCa? Parent { get; }

    /// <summary>The certificate without private key (what a verifier is configured with).</summary>
    public X509Certificate2 Public => X509CertificateLoader.LoadCertificate(Certificate.RawData);

    public static TestCa Root(string name, KeyKind key = KeyKind.Rsa2048, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null)
    {
        var (request, privateKey) = Request($"CN={name}, O=Test PKI, C=VN", key);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        var cert = request.CreateSelfSigned(notBefore ?? now.AddYears(-5), notAfter ?? now.AddYears(10));
        privateKey.Dispose();
        return new TestCa(cert, null);
    }

    public TestCa Intermediate(string name, int? pathLength = 0, KeyKind key = KeyKind.Rsa2048, X509KeyUsageFlags usage = X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, bool isCa = true, HashAlgorithmName? hash = null)
    {
        var (request, privateKey) = Request($"CN={name}, O=Test PKI, C=VN", key, hash);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(isCa, pathLength.HasValue, pathLength ?? 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        var now = DateTimeOffset.UtcNow;
        using var cert = request.Create(Certificate.SubjectName, Generator(), now.AddYears(-4), now.AddYears(8), Serial());
        var withKey = CopyWithKey(cert, privateKey);
        privateKey.Dispose();
        return new TestCa(withKey, this);
    }

    /// <summary>An end-entity certificate with its private key.</summary>
    public X509Certificate2 Leaf(string name, LeafOptions? options = null)
    {
        options ??= new LeafOptions();
        var (request, privateKey) = Request($"CN={name}, OU=TEST, O={name}, C=VN", options.Key, options.IssuerHash);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        if (options.Usage is { } usage)
        {
            request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
        }

        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, true, false));
        if (options.CrlDistributionPoint is { } cdp)
        {
            request.CertificateExtensions.Add(CertificateRevocationListBuilder.BuildCrlDistributionPointExtension([cdp]));
        }

        if (options.ExtendedKeyUsages is { } purposes)
        {
            var oids = new OidCollection();
            foreach (var purpose in purposes)
            {
                oids.Add(new Oid(purpose));
            }

            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, options.ExtendedKeyUsageCritical));
        }

        var now = DateTimeOffset.UtcNow;
        using var cert = request.Create(Certificate.SubjectName, Generator(), options.NotBefore ?? now.AddDays(-30), options.NotAfter ?? now.AddYears(1), Serial());
        var withKey = CopyWithKey(cert, privateKey);
        privateKey.Dispose();
        return withKey;
    }

    public void Revoke(X509Certificate2 certificate, DateTimeOffset? when = null, X509RevocationReason reason = X509RevocationReason.KeyCompromise) =>
        _revoked.Add((certificate, when ?? DateTimeOffset.UtcNow.AddMinutes(-1), reason));

    /// <summary>This CA's CRL (DER), listing what <see cref="Revoke"/> was told.</summary>
    public byte[] Crl(DateTimeOffset? nextUpdate = null, DateTimeOffset? thisUpdate = null)
    {
        var builder = new CertificateRevocationListBuilder();
        foreach (var (certificate, when, reason) in _revoked)
        {
            builder.AddEntry(certificate, when, reason);
        }

        var now = DateTimeOffset.UtcNow;
        var rsa = Certificate.GetRSAPrivateKey() is null ? null : RSASignaturePadding.Pkcs1;
        return builder.Build(Certificate, ++_crlNumber, nextUpdate ?? now.AddDays(7), HashAlgorithmName.SHA256, rsa, thisUpdate ?? now.AddMinutes(-2));
    }

    /// <summary>Certificates between a leaf of this CA and the root (this CA first, the root excluded).</summary>
    public IEnumerable<X509Certificate2> ChainBelowRoot()
    {
        for (var ca = this; ca.Parent is not null; ca = ca.Parent)
        {
            yield return ca.Public;
        }
    }

    private static (CertificateRequest Request, IDisposable Key) Request(string subject, KeyKind key, HashAlgorithmName? hash = null)
    {
        var h = hash ?? HashAlgorithmName.SHA256;
        switch (key)
        {
            case KeyKind.EcP256:
            case KeyKind.EcP384:
                var ec = ECDsa.Create(key == KeyKind.EcP256 ? ECCurve.NamedCurves.nistP256 : ECCurve.NamedCurves.nistP384);
                return (new CertificateRequest(subject, ec, h), ec);
            default:
                var rsa = RSA.Create(key switch { KeyKind.Rsa1024 => 1024, KeyKind.Rsa3072 => 3072, _ => 2048 });
                return (new CertificateRequest(subject, rsa, h, RSASignaturePadding.Pkcs1), rsa);
        }
    }

    /// <summary>Signs with this CA's key without .NET's issuer checks, so that tests can build bad chains too.</summary>
    private X509SignatureGenerator Generator() =>
        Certificate.GetRSAPrivateKey() is { } rsa
            ? new RsaPkcs1Generator(rsa)
            : X509SignatureGenerator.CreateForECDsa(Certificate.GetECDsaPrivateKey()!);

    /// <summary>PKCS#1 v1.5 with any hash, SHA-1 included (.NET's own generator refuses SHA-1; the policy tests need it).</summary>
    private sealed class RsaPkcs1Generator(RSA key) : X509SignatureGenerator
    {
        public override byte[] GetSignatureAlgorithmIdentifier(HashAlgorithmName hashAlgorithm)
        {
            var oid = hashAlgorithm.Name switch
            {
                "SHA1" => "1.2.840.113549.1.1.5",
                "SHA256" => "1.2.840.113549.1.1.11",
                "SHA384" => "1.2.840.113549.1.1.12",
                "SHA512" => "1.2.840.113549.1.1.13",
                _ => throw new NotSupportedException(hashAlgorithm.Name),
            };
            var writer = new System.Formats.Asn1.AsnWriter(System.Formats.Asn1.AsnEncodingRules.DER);
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(oid);
                writer.WriteNull();
            }

            return writer.Encode();
        }

        public override byte[] SignData(byte[] data, HashAlgorithmName hashAlgorithm) => key.SignData(data, hashAlgorithm, RSASignaturePadding.Pkcs1);

        protected override PublicKey BuildPublicKey() => PublicKey.CreateFromSubjectPublicKeyInfo(key.ExportSubjectPublicKeyInfo(), out _);
    }

    private static X509Certificate2 CopyWithKey(X509Certificate2 cert, IDisposable key) => key switch
    {
        RSA rsa => cert.CopyWithPrivateKey(rsa),
        ECDsa ec => cert.CopyWithPrivateKey(ec),
        _ => throw new NotSupportedException(),
    };

    private static byte[] Serial()
    {
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] = (byte)((serial[0] & 0x7F) | 0x01);
        return serial;
    }
}
