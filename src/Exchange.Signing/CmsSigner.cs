using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Cms;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Asn1.X9;
using Org.BouncyCastle.Cms;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.X509.Store;
using AttributeTable = Org.BouncyCastle.Asn1.Cms.AttributeTable;
using BcAttribute = Org.BouncyCastle.Asn1.Cms.Attribute;
using Time = Org.BouncyCastle.Asn1.Cms.Time;
using BcX509Certificate = Org.BouncyCastle.X509.X509Certificate;

namespace Exchange.Signing;

/// <summary>
/// Produces CMS SignedData (RFC 5652): BouncyCastle builds the structure, .NET (OpenSSL underneath) does the
/// private-key operation. SHA-256, with signed attributes content-type, message-digest and signing-time; carries the
/// signer certificate and its issuing CA(s), not the self-signed root. Thread-safe.
/// </summary>
public sealed class CmsSigner : IDisposable
{
    private readonly AsymmetricAlgorithm _key;
    private readonly BcX509Certificate _bcCertificate;
    private readonly IX509Store _bcCertificates;

    public CmsSigner(X509Certificate2 certificateWithKey, IEnumerable<X509Certificate2>? chain = null)
    {
        ArgumentNullException.ThrowIfNull(certificateWithKey);
        Certificate = certificateWithKey;
        _key = (AsymmetricAlgorithm?)certificateWithKey.GetRSAPrivateKey()
            ?? certificateWithKey.GetECDsaPrivateKey()
            ?? throw new ArgumentException("The certificate has no RSA or ECDSA private key.", nameof(certificateWithKey));
        CertificateSha256 = Convert.ToHexStringLower(SHA256.HashData(certificateWithKey.RawData));

        var parser = new Org.BouncyCastle.X509.X509CertificateParser();
        _bcCertificate = parser.ReadCertificate(certificateWithKey.RawData);
        var carried = new List<BcX509Certificate> { _bcCertificate };
        foreach (var ca in chain ?? [])
        {
            // The root is the verifier's trust anchor, configured on its side: sending it would add bytes and
            // invite verifiers to trust what a message brings along.
            if (ca.SubjectName.RawData.AsSpan().SequenceEqual(ca.IssuerName.RawData) || ca.RawData.AsSpan().SequenceEqual(certificateWithKey.RawData))
            {
                continue;
            }

            carried.Add(parser.ReadCertificate(ca.RawData));
        }

        Chain = carried.Skip(1).Select(c => X509CertificateLoader.LoadCertificate(c.GetEncoded())).ToList();
        _bcCertificates = X509StoreFactory.Create("Certificate/Collection", new X509CollectionStoreParameters(carried));
    }

    public X509Certificate2 Certificate { get; }

    /// <summary>Lowercase hex SHA-256 of the certificate's DER (what a directory registers).</summary>
    public string CertificateSha256 { get; }

    /// <summary>The CA certificates carried in each signature.</summary>
    public IReadOnlyList<X509Certificate2> Chain { get; }

    /// <summary>Loads the certificate with a private key from a PKCS#12 file, and the CA certificates beside it.</summary>
    public static CmsSigner FromPkcs12(string path, string password)
    {
        X509Certificate2Collection all;
        try
        {
            all = X509CertificateLoader.LoadPkcs12CollectionFromFile(path, password, X509KeyStorageFlags.EphemeralKeySet);
        }
        catch (CryptographicException e)
        {
            throw new CryptographicException($"Cannot open the PKCS#12 file '{path}' (wrong password or damaged file): {e.Message}", e);
        }

        var withKey = all.FirstOrDefault(c => c.HasPrivateKey)
            ?? throw new CryptographicException($"The PKCS#12 file '{path}' holds no private key.");
        return new CmsSigner(withKey, all.Where(c => !ReferenceEquals(c, withKey)));
    }

    /// <summary>A detached signature over <paramref name="content"/>, signing-time now.</summary>
    public byte[] SignDetached(ReadOnlySpan<byte> content) => Sign(content, DateTimeOffset.UtcNow, encapsulate: false);

    /// <summary>A detached signature with an explicit signing-time attribute (tests, re-signing tools).</summary>
    public byte[] SignDetached(ReadOnlySpan<byte> content, DateTimeOffset signingTime) => Sign(content, signingTime, encapsulate: false);

    /// <summary>A signature that encapsulates the content (RFC 5652 eContent).</summary>
    public byte[] SignAttached(ReadOnlySpan<byte> content) => Sign(content, DateTimeOffset.UtcNow, encapsulate: true);

    public byte[] SignAttached(ReadOnlySpan<byte> content, DateTimeOffset signingTime) => Sign(content, signingTime, encapsulate: true);

    public void Dispose() => _key.Dispose();

    private byte[] Sign(ReadOnlySpan<byte> content, DateTimeOffset signingTime, bool encapsulate)
    {
        var attributeTable = new AttributeTable(new Asn1EncodableVector(
            new BcAttribute(CmsAttributes.SigningTime, new DerSet(new Time(signingTime.UtcDateTime)))));
        var signerInfo = new SignerInfoGeneratorBuilder()
            .WithSignedAttributeGenerator(new DefaultSignedAttributeTableGenerator(attributeTable))
            .Build(new DotNetSignatureFactory(_key), _bcCertificate);

        var generator = new CmsSignedDataGenerator();
        generator.AddSignerInfoGenerator(signerInfo);
        generator.AddCertificates(_bcCertificates);
        var signed = generator.Generate(new CmsProcessableByteArray(content.ToArray()), encapsulate);
        return signed.GetEncoded(Asn1Encodable.Der);
    }

    /// <summary>Lets BouncyCastle's CMS generator sign with a .NET key (OpenSSL does the private-key operation).</summary>
    private sealed class DotNetSignatureFactory(AsymmetricAlgorithm key) : ISignatureFactory
    {
        public object AlgorithmDetails { get; } = key is RSA
            ? new AlgorithmIdentifier(PkcsObjectIdentifiers.Sha256WithRsaEncryption, DerNull.Instance)
            : new AlgorithmIdentifier(X9ObjectIdentifiers.ECDsaWithSha256);

        public IStreamCalculator CreateCalculator() => new Calculator(key);

        private sealed class Calculator(AsymmetricAlgorithm key) : IStreamCalculator
        {
            private readonly MemoryStream _buffer = new();

            public Stream Stream => _buffer;

            public object GetResult()
            {
                var data = _buffer.ToArray();
                var signature = key switch
                {
                    RSA rsa => rsa.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
                    ECDsa ec => ec.SignData(data, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence),
                    _ => throw new NotSupportedException(),
                };
                return new SignatureResult(signature);
            }
        }

        private sealed class SignatureResult(byte[] signature) : IBlockResult
        {
            public byte[] Collect() => signature;

            public int Collect(byte[] destination, int offset)
            {
                signature.CopyTo(destination, offset);
                return signature.Length;
            }
        }
    }
}
