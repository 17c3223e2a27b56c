using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Exchange.Signing.Internal;

namespace Exchange.Signing;

/// <summary>
/// Produces CMS SignedData (RFC 5652 §5): SHA-256, with signed attributes content-type, message-digest and
/// signing-time; carries the signer certificate and its issuing CA(s), not the self-signed root. The DER is written
/// with System.Formats.Asn1 and the private-key operation is .NET's (OpenSSL underneath), so nothing on the signing
/// path runs managed cryptography. Thread-safe.
/// </summary>
public sealed class CmsSigner : IDisposable
{
    private static readonly Asn1Tag Context0 = new(TagClass.ContextSpecific, 0, isConstructed: true);

    private readonly AsymmetricAlgorithm _key;

    /// <summary>The parts that are the same in every signature, encoded once.</summary>
    private readonly byte[] _certificateSet;
    private readonly byte[] _signerIdentifier;
    private readonly byte[] _signatureAlgorithm;

    public CmsSigner(X509Certificate2 certificateWithKey, IEnumerable<X509Certificate2>? chain = null)
    {
        ArgumentNullException.ThrowIfNull(certificateWithKey);
        Certificate = certificateWithKey;
        _key = (AsymmetricAlgorithm?)certificateWithKey.GetRSAPrivateKey()
            ?? certificateWithKey.GetECDsaPrivateKey()
            ?? throw new ArgumentException("The certificate has no RSA or ECDSA private key.", nameof(certificateWithKey));
        CertificateSha256 = Convert.ToHexStringLower(SHA256.HashData(certificateWithKey.RawData));

        var carried = new List<X509Certificate2>();
        foreach (var ca in chain ?? [])
        {
            // The root is the verifier's trust anchor, configured on its side: sending it would add bytes and
            // invite verifiers to trust what a message brings along.
            if (ca.SubjectName.RawData.AsSpan().SequenceEqual(ca.IssuerName.RawData) || ca.RawData.AsSpan().SequenceEqual(certificateWithKey.RawData))
            {
                continue;
            }

            carried.Add(X509CertificateLoader.LoadCertificate(ca.RawData));
        }

        Chain = carried;
        _certificateSet = EncodeCertificateSet([certificateWithKey, .. carried]);
        _signerIdentifier = EncodeIssuerAndSerialNumber(certificateWithKey.RawData);
        _signatureAlgorithm = EncodeAlgorithm(_key is RSA ? Oids.Sha256WithRsa : Oids.EcdsaWithSha256, withNullParameters: _key is RSA);
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

    /// <summary>
    /// A detached signature over content read from a stream, signing-time now: the stream is read once, front to back,
    /// in constant memory, and not closed. For the same bytes and signing time the CMS is the one
    /// <see cref="SignDetached(ReadOnlySpan{byte}, DateTimeOffset)"/> makes.
    /// </summary>
    public byte[] SignDetached(Stream content) => SignDetached(content, DateTimeOffset.UtcNow);

    /// <summary>A detached signature over content read from a stream, with an explicit signing-time attribute.</summary>
    public byte[] SignDetached(Stream content, DateTimeOffset signingTime)
    {
        ArgumentNullException.ThrowIfNull(content);
        var digest = ContentDigests.Of(content, [HashAlgorithmName.SHA256])[HashAlgorithmName.SHA256];
        return Encode(digest, signingTime, encapsulate: false, content: default);
    }

    /// <summary>A signature that encapsulates the content (RFC 5652 eContent).</summary>
    public byte[] SignAttached(ReadOnlySpan<byte> content) => Sign(content, DateTimeOffset.UtcNow, encapsulate: true);

    public byte[] SignAttached(ReadOnlySpan<byte> content, DateTimeOffset signingTime) => Sign(content, signingTime, encapsulate: true);

    public void Dispose() => _key.Dispose();

    private byte[] Sign(ReadOnlySpan<byte> content, DateTimeOffset signingTime, bool encapsulate)
    {
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(content, digest);
        return Encode(digest, signingTime, encapsulate, content);
    }

    /// <summary>
    /// The SignedData over content whose SHA-256 is <paramref name="contentDigest"/>. The content itself is read only
    /// when it is encapsulated (eContent, RFC 5652 §5.2), so a detached signature needs nothing but the digest.
    /// </summary>
    private byte[] Encode(ReadOnlySpan<byte> contentDigest, DateTimeOffset signingTime, bool encapsulate, ReadOnlySpan<byte> content)
    {
        // The signature covers the DER of the attributes as a SET OF (RFC 5652 §5.4); in the SignerInfo the same
        // bytes carry the [0] IMPLICIT tag instead.
        var signedAttributes = EncodeSignedAttributes(contentDigest, signingTime);
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(signedAttributes, digest);
        var signature = _key switch
        {
            RSA rsa => rsa.SignHash(digest, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
            ECDsa ec => ec.SignHash(digest, DSASignatureFormat.Rfc3279DerSequence),
            _ => throw new NotSupportedException(),
        };
        signedAttributes[0] = 0xA0;

        var writer = new AsnWriter(AsnEncodingRules.DER, (encapsulate ? content.Length : 0) + _certificateSet.Length + signature.Length + 512);
        using (writer.PushSequence())
        {
            // ContentInfo (RFC 5652 §3)
            writer.WriteObjectIdentifier(Oids.SignedData);
            using (writer.PushSequence(Context0))
            using (writer.PushSequence())
            {
                // SignedData (§5.1): version 1 (id-data, IssuerAndSerialNumber, no attribute certificates).
                writer.WriteInteger(1);
                using (writer.PushSetOf())
                {
                    WriteAlgorithm(writer, Oids.Sha256, withNullParameters: true);
                }

                using (writer.PushSequence())
                {
                    // EncapsulatedContentInfo (§5.2): eContent absent for a detached signature.
                    writer.WriteObjectIdentifier(Oids.Data);
                    if (encapsulate)
                    {
                        using (writer.PushSequence(Context0))
                        {
                            writer.WriteOctetString(content);
                        }
                    }
                }

                writer.WriteEncodedValue(_certificateSet);
                using (writer.PushSetOf())
                using (writer.PushSequence())
                {
                    // SignerInfo (§5.3): version 1 with IssuerAndSerialNumber.
                    writer.WriteInteger(1);
                    writer.WriteEncodedValue(_signerIdentifier);
                    WriteAlgorithm(writer, Oids.Sha256, withNullParameters: true);
                    writer.WriteEncodedValue(signedAttributes);
                    writer.WriteEncodedValue(_signatureAlgorithm);
                    writer.WriteOctetString(signature);
                }
            }
        }

        return writer.Encode();
    }

    /// <summary>content-type, signing-time and message-digest (RFC 5652 §11.1, §11.3, §11.2), DER-sorted.</summary>
    private static byte[] EncodeSignedAttributes(ReadOnlySpan<byte> messageDigest, DateTimeOffset signingTime)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER, 128);
        using (writer.PushSetOf())
        {
            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(Oids.ContentTypeAttr);
                using (writer.PushSetOf())
                {
                    writer.WriteObjectIdentifier(Oids.Data);
                }
            }

            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(Oids.SigningTimeAttr);
                using (writer.PushSetOf())
                {
                    // §11.3: UTCTime for 1950 through 2049, GeneralizedTime otherwise; whole seconds, UTC.
                    var utc = signingTime.ToUniversalTime();
                    if (utc.Year is >= 1950 and < 2050)
                    {
                        writer.WriteUtcTime(utc);
                    }
                    else
                    {
                        writer.WriteGeneralizedTime(utc, omitFractionalSeconds: true);
                    }
                }
            }

            using (writer.PushSequence())
            {
                writer.WriteObjectIdentifier(Oids.MessageDigestAttr);
                using (writer.PushSetOf())
                {
                    writer.WriteOctetString(messageDigest);
                }
            }
        }

        return writer.Encode();
    }

    /// <summary>
    /// The certificates field ([0] IMPLICIT CertificateSet, RFC 5652 §5.1), in the order given: the signer's first,
    /// then its CAs, as BouncyCastle wrote it before; verifiers look certificates up by issuer and serial, not by
    /// position.
    /// </summary>
    private static byte[] EncodeCertificateSet(IEnumerable<X509Certificate2> certificates)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence(Context0))
        {
            foreach (var certificate in certificates)
            {
                writer.WriteEncodedValue(certificate.RawData);
            }
        }

        return writer.Encode();
    }

    /// <summary>IssuerAndSerialNumber (RFC 5652 §10.2.4), with the issuer Name and serial INTEGER copied from the
    /// certificate's own encoding so that they match it byte for byte.</summary>
    private static byte[] EncodeIssuerAndSerialNumber(byte[] certificate)
    {
        var tbs = new AsnReader(certificate, AsnEncodingRules.BER).ReadSequence().ReadSequence();
        if (tbs.PeekTag().HasSameClassAndValue(Context0))
        {
            tbs.ReadEncodedValue(); // version
        }

        var serial = tbs.ReadEncodedValue();
        tbs.ReadEncodedValue(); // signature algorithm
        var issuer = tbs.ReadEncodedValue();

        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteEncodedValue(issuer.Span);
            writer.WriteEncodedValue(serial.Span);
        }

        return writer.Encode();
    }

    private static byte[] EncodeAlgorithm(string oid, bool withNullParameters)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        WriteAlgorithm(writer, oid, withNullParameters);
        return writer.Encode();
    }

    /// <summary>AlgorithmIdentifier: NULL parameters on sha256WithRSAEncryption (RFC 4055 §5) and, as this signer
    /// always wrote, on SHA-256 (RFC 5754 §2 has verifiers accept NULL or absent); none for ECDSA (RFC 5758 §3.2).</summary>
    private static void WriteAlgorithm(AsnWriter writer, string oid, bool withNullParameters)
    {
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(oid);
            if (withNullParameters)
            {
                writer.WriteNull();
            }
        }
    }
}
