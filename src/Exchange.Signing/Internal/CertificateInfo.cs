using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Exchange.Signing.Internal;

/// <summary>A public key ready for .NET's OpenSSL-backed verification.</summary>
internal sealed class PublicKeyInfo
{
    public RSA? Rsa { get; init; }
    public ECDsa? Ecdsa { get; init; }
    public RSAParameters? RsaParameters { get; init; }
    public int KeySizeBits { get; init; }
    public string Description { get; init; } = string.Empty;
    public string? Curve { get; init; }
}

/// <summary>
/// A certificate parsed once and cached by its DER bytes: the fields chain building and policy need
/// (RFC 5280 §4.1), the decoded extensions, and the public key object.
/// </summary>
internal sealed class CertificateInfo
{
    private static readonly HashSet<string> UnderstoodCriticalExtensions =
    [
        Oids.KeyUsage, Oids.BasicConstraints, Oids.SubjectKeyIdentifier, Oids.AuthorityKeyIdentifier,
        Oids.ExtendedKeyUsage, Oids.CertificatePolicies, Oids.SubjectAltName, Oids.CrlDistributionPoints,
    ];

    private CertificateInfo(byte[] der)
    {
        Der = der;
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(der));
        Certificate = X509CertificateLoader.LoadCertificate(der);

        var cert = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        var tbsEncoded = cert.PeekEncodedValue();
        Tbs = tbsEncoded;
        var tbs = cert.ReadSequence();
        SignatureAlgorithm = AlgorithmId.Read(cert);
        SignatureValue = cert.ReadBitString(out var unusedBits);
        if (unusedBits != 0)
        {
            throw new CryptographicException("The signature BIT STRING is not byte-aligned.");
        }

        cert.ThrowIfNotEmpty();

        var v0 = new Asn1Tag(TagClass.ContextSpecific, 0, true);
        if (tbs.PeekTag().HasSameClassAndValue(v0))
        {
            tbs.ReadSequence(v0);
        }

        var serial = tbs.ReadIntegerBytes();
        SerialRaw = serial;
        SerialHex = Internal.Der.SerialHex(serial.Span);
        var innerAlg = AlgorithmId.Read(tbs);
        if (!innerAlg.SameAs(SignatureAlgorithm))
        {
            throw new CryptographicException("The certificate's inner and outer signature algorithms differ (RFC 5280 §4.1.1.2).");
        }

        IssuerRaw = tbs.ReadEncodedValue();
        var validity = tbs.ReadSequence();
        NotBefore = Internal.Der.ReadTime(validity);
        NotAfter = Internal.Der.ReadTime(validity);
        SubjectRaw = tbs.ReadEncodedValue();

        Subject = Certificate.Subject;
        Issuer = Certificate.Issuer;
        SelfIssued = IssuerRaw.Span.SequenceEqual(SubjectRaw.Span);

        foreach (var ext in Certificate.Extensions)
        {
            switch (ext)
            {
                case X509BasicConstraintsExtension bc:
                    IsCa = bc.CertificateAuthority;
                    PathLength = bc.HasPathLengthConstraint ? bc.PathLengthConstraint : null;
                    break;
                case X509KeyUsageExtension ku:
                    KeyUsage = ku.KeyUsages;
                    break;
                case X509SubjectKeyIdentifierExtension ski:
                    SubjectKeyId = ski.SubjectKeyIdentifierBytes.ToArray();
                    break;
                case X509AuthorityKeyIdentifierExtension aki:
                    AuthorityKeyId = aki.KeyIdentifier?.ToArray();
                    break;
                case X509EnhancedKeyUsageExtension eku:
                    ExtendedKeyUsages = eku.EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>().Select(o => o.Value ?? string.Empty).ToList();
                    ExtendedKeyUsageCritical = eku.Critical;
                    break;
                default:
                    if (ext.Oid?.Value == Oids.CrlDistributionPoints)
                    {
                        var names = new List<string>();
                        CrlDistributionPoints = ReadCrlDistributionPoints(ext.RawData, names);
                        CrlDistributionPointNames = names;
                    }
                    else if (ext.Oid?.Value == Oids.AuthorityInfoAccess)
                    {
                        OcspUrls = ReadOcspUrls(ext.RawData);
                    }

                    break;
            }

            if (ext.Critical && ext.Oid?.Value is { } oid && !UnderstoodCriticalExtensions.Contains(oid))
            {
                UnknownCriticalExtension ??= oid;
            }
        }

        Key = ReadKey(Certificate);
    }

    public byte[] Der { get; }
    public string Sha256 { get; }
    public X509Certificate2 Certificate { get; }
    public ReadOnlyMemory<byte> Tbs { get; }
    public AlgorithmId SignatureAlgorithm { get; }
    public byte[] SignatureValue { get; }
    public ReadOnlyMemory<byte> SerialRaw { get; }
    public string SerialHex { get; }
    public ReadOnlyMemory<byte> IssuerRaw { get; }
    public ReadOnlyMemory<byte> SubjectRaw { get; }
    public string Subject { get; }
    public string Issuer { get; }
    public bool SelfIssued { get; }
    public DateTimeOffset NotBefore { get; }
    public DateTimeOffset NotAfter { get; }
    public bool IsCa { get; }
    public int? PathLength { get; }
    public X509KeyUsageFlags? KeyUsage { get; }
    public byte[]? SubjectKeyId { get; }
    public byte[]? AuthorityKeyId { get; }

    /// <summary>The extendedKeyUsage purposes (RFC 5280 §4.2.1.12), or null without the extension.</summary>
    public IReadOnlyList<string>? ExtendedKeyUsages { get; }

    public bool ExtendedKeyUsageCritical { get; }
    public IReadOnlyList<string> CrlDistributionPoints { get; } = [];

    /// <summary>Every fullName GeneralName of the CRL distribution points, DER in hex: what a CRL's
    /// issuingDistributionPoint name is matched against (RFC 5280 §6.3.3 (b)(2)(i)).</summary>
    public IReadOnlyList<string> CrlDistributionPointNames { get; } = [];

    /// <summary>The http(s) OCSP responders of the authorityInfoAccess extension (RFC 5280 §4.2.2.1).</summary>
    public IReadOnlyList<string> OcspUrls { get; } = [];
    public string? UnknownCriticalExtension { get; }
    public PublicKeyInfo Key { get; }

    public static CertificateInfo Parse(byte[] der) => new(der);

    public bool ValidAt(DateTimeOffset time) => time >= NotBefore && time <= NotAfter;

    /// <summary>Could <paramref name="issuer"/> have issued this certificate (names match, key identifiers agree)?</summary>
    public bool NamesIssuer(CertificateInfo issuer)
    {
        if (!IssuerRaw.Span.SequenceEqual(issuer.SubjectRaw.Span)
            && !string.Equals(Issuer, issuer.Subject, StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        return AuthorityKeyId is null || issuer.SubjectKeyId is null || AuthorityKeyId.AsSpan().SequenceEqual(issuer.SubjectKeyId);
    }

    private static PublicKeyInfo ReadKey(X509Certificate2 cert)
    {
        switch (cert.PublicKey.Oid.Value)
        {
            case Oids.RsaEncryption:
            {
                var rsa = cert.GetRSAPublicKey()!;
                return new PublicKeyInfo
                {
                    Rsa = rsa,
                    RsaParameters = rsa.ExportParameters(false),
                    KeySizeBits = rsa.KeySize,
                    Description = $"RSA {rsa.KeySize}",
                };
            }

            case Oids.EcPublicKey:
            {
                var ec = cert.GetECDsaPublicKey()!;
                var curve = ec.ExportParameters(false).Curve.Oid.FriendlyName ?? ec.ExportParameters(false).Curve.Oid.Value ?? "unknown";
                return new PublicKeyInfo { Ecdsa = ec, KeySizeBits = ec.KeySize, Curve = curve, Description = $"EC {curve}" };
            }

            default:
                return new PublicKeyInfo { Description = cert.PublicKey.Oid.FriendlyName ?? cert.PublicKey.Oid.Value ?? "unknown" };
        }
    }

    private static List<string> ReadOcspUrls(byte[] raw)
    {
        var uris = new List<string>();
        try
        {
            var access = new AsnReader(raw, AsnEncodingRules.DER).ReadSequence();
            while (access.HasData)
            {
                var description = access.ReadSequence();
                var method = description.ReadObjectIdentifier();
                var tag = description.PeekTag();
                if (method == "1.3.6.1.5.5.7.48.1" && tag.TagClass == TagClass.ContextSpecific && tag.TagValue == 6)
                {
                    var uri = description.ReadCharacterString(UniversalTagNumber.IA5String, new Asn1Tag(TagClass.ContextSpecific, 6));
                    if (uri.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || uri.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
                    {
                        uris.Add(uri);
                    }
                }
            }
        }
        catch (AsnContentException)
        {
            // A malformed AIA extension only means there is no responder to ask.
        }

        return uris;
    }

    /// <summary>The http(s) URIs of the CRL distribution points (RFC 5280 §4.2.1.13).</summary>
    private static List<string> ReadCrlDistributionPoints(byte[] raw, List<string> encodedNames)
    {
        var uris = new List<string>();
        try
        {
            var points = new AsnReader(raw, AsnEncodingRules.DER).ReadSequence();
            while (points.HasData)
            {
                var point = points.ReadSequence();
                var t0 = new Asn1Tag(TagClass.ContextSpecific, 0, true);
                if (!point.HasData || !point.PeekTag().HasSameClassAndValue(t0))
                {
                    continue;
                }

                var dpName = point.ReadSequence(t0);
                if (!dpName.HasData || !dpName.PeekTag().HasSameClassAndValue(t0))
                {
                    continue;
                }

                var fullName = dpName.ReadSequence(t0);
                while (fullName.HasData)
                {
                    encodedNames.Add(Convert.ToHexString(fullName.PeekEncodedValue().Span));
                    var tag = fullName.PeekTag();
                    if (tag.TagClass == TagClass.ContextSpecific && tag.TagValue == 6)
                    {
                        var uri = fullName.ReadCharacterString(UniversalTagNumber.IA5String, new Asn1Tag(TagClass.ContextSpecific, 6));
                        if (uri.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || uri.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
                        {
                            uris.Add(uri);
                        }
                    }
                    else
                    {
                        fullName.ReadEncodedValue();
                    }
                }
            }
        }
        catch (AsnContentException)
        {
            // A malformed CDP extension only means there is nothing to fetch.
        }

        return uris;
    }
}
