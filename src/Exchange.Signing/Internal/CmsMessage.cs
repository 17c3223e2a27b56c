using System.Formats.Asn1;
using System.Security.Cryptography;

namespace Exchange.Signing.Internal;

internal sealed class SignerInfoData
{
    public int Version { get; init; }

    /// <summary>IssuerAndSerialNumber: the issuer Name (encoded) and serial; or a SubjectKeyIdentifier.</summary>
    public ReadOnlyMemory<byte> SidIssuer { get; init; }
    public string? SidSerialHex { get; init; }
    public byte[]? SidKeyId { get; init; }

    public required AlgorithmId DigestAlgorithm { get; init; }

    /// <summary>The signed attributes re-tagged as the DER SET OF that the signature covers (RFC 5652 §5.4).</summary>
    public byte[]? SignedAttributesDer { get; init; }
    public required AlgorithmId SignatureAlgorithm { get; init; }
    public required byte[] Signature { get; init; }
}

/// <summary>
/// A CMS SignedData (RFC 5652 §5) read with System.Formats.Asn1 under BER rules, so that indefinite lengths and
/// constructed OCTET STRINGs from streaming producers (openssl cms -stream) are accepted.
/// </summary>
internal sealed class CmsMessage
{
    public required string ContentType { get; init; }
    public byte[]? Content { get; init; }
    public required List<ReadOnlyMemory<byte>> Certificates { get; init; }
    public required List<ReadOnlyMemory<byte>> Crls { get; init; }
    public required List<SignerInfoData> SignerInfos { get; init; }

    public static CmsMessage Parse(ReadOnlyMemory<byte> encoded)
    {
        var top = new AsnReader(encoded, AsnEncodingRules.BER);
        var contentInfo = top.ReadSequence();
        top.ThrowIfNotEmpty();
        var type = contentInfo.ReadObjectIdentifier();
        if (type != Oids.SignedData)
        {
            throw new CryptographicException($"ContentInfo holds {type}, not SignedData (RFC 5652 §3).");
        }

        var explicit0 = new Asn1Tag(TagClass.ContextSpecific, 0, true);
        var signedData = contentInfo.ReadSequence(explicit0).ReadSequence();
        contentInfo.ThrowIfNotEmpty();

        // CMSVersion (RFC 5652 §5.1): 1, or 3/4/5 for the later certificate and content variants.
        if (!signedData.TryReadInt32(out var version) || version is not (1 or 3 or 4 or 5))
        {
            throw new CryptographicException("The SignedData version is not 1, 3, 4 or 5 (RFC 5652 §5.1).");
        }

        // digestAlgorithms is a hint for one-pass verifiers and may even be empty (RFC 5652 §5.1): read, not used.
        var digestAlgorithms = signedData.ReadSetOf();
        while (digestAlgorithms.HasData)
        {
            AlgorithmId.Read(digestAlgorithms);
        }

        var encap = signedData.ReadSequence();
        var eContentType = encap.ReadObjectIdentifier();
        byte[]? content = null;
        if (encap.HasData)
        {
            content = encap.ReadSequence(explicit0).ReadOctetString();
        }

        encap.ThrowIfNotEmpty();

        var certificates = new List<ReadOnlyMemory<byte>>();
        var implicit0 = new Asn1Tag(TagClass.ContextSpecific, 0, true);
        if (signedData.PeekTag().HasSameClassAndValue(implicit0))
        {
            var set = signedData.ReadSetOf(implicit0);
            while (set.HasData)
            {
                // CertificateChoices: only plain certificates (a SEQUENCE) are used; attribute and "other"
                // certificates ([1]..[3]) are skipped.
                var tag = set.PeekTag();
                var value = set.ReadEncodedValue();
                if (tag.HasSameClassAndValue(Asn1Tag.Sequence))
                {
                    certificates.Add(value);
                }
            }
        }

        var crls = new List<ReadOnlyMemory<byte>>();
        var implicit1 = new Asn1Tag(TagClass.ContextSpecific, 1, true);
        if (signedData.PeekTag().HasSameClassAndValue(implicit1))
        {
            var set = signedData.ReadSetOf(implicit1);
            while (set.HasData)
            {
                var tag = set.PeekTag();
                var value = set.ReadEncodedValue();
                if (tag.HasSameClassAndValue(Asn1Tag.Sequence))
                {
                    crls.Add(value);
                }
            }
        }

        var signerInfos = new List<SignerInfoData>();
        var infos = signedData.ReadSetOf();
        while (infos.HasData)
        {
            signerInfos.Add(ReadSignerInfo(infos.ReadSequence()));
        }

        signedData.ThrowIfNotEmpty();
        return new CmsMessage
        {
            ContentType = eContentType,
            Content = content,
            Certificates = certificates,
            Crls = crls,
            SignerInfos = signerInfos,
        };
    }

    private static SignerInfoData ReadSignerInfo(AsnReader si)
    {
        if (!si.TryReadInt32(out var version))
        {
            throw new CryptographicException("The SignerInfo version is out of range.");
        }

        ReadOnlyMemory<byte> issuer = default;
        string? serial = null;
        byte[]? keyId = null;
        var ski = new Asn1Tag(TagClass.ContextSpecific, 0);
        if (si.PeekTag().HasSameClassAndValue(ski))
        {
            keyId = si.ReadOctetString(ski);
        }
        else
        {
            var ias = si.ReadSequence();
            issuer = ias.ReadEncodedValue();
            serial = Der.SerialHex(ias.ReadIntegerBytes().Span);
            ias.ThrowIfNotEmpty();
        }

        // RFC 5652 §5.3: version 1 with IssuerAndSerialNumber, 3 with SubjectKeyIdentifier.
        if (version != (keyId is null ? 1 : 3))
        {
            throw new CryptographicException($"SignerInfo version {version} does not fit its signer identifier (RFC 5652 §5.3).");
        }

        var digest = AlgorithmId.Read(si);
        if (!digest.HasNoParameters)
        {
            throw new CryptographicException("The SignerInfo digest algorithm has unexpected parameters.");
        }

        byte[]? signedAttrs = null;
        var attrsTag = new Asn1Tag(TagClass.ContextSpecific, 0, true);
        if (si.PeekTag().HasSameClassAndValue(attrsTag))
        {
            var encoded = si.ReadEncodedValue();

            // The signature covers the DER encoding with an EXPLICIT SET OF tag rather than the [0] IMPLICIT
            // tag the attributes travel with (RFC 5652 §5.4). On the wire they are DER already (the usual
            // case): take exactly those bytes, as OpenSSL and SignedCms do. An indefinite-length (BER)
            // transfer encoding is re-encoded to the DER that was signed.
            if (encoded.Span[1] == 0x80)
            {
                var reader = new AsnReader(encoded, AsnEncodingRules.BER).ReadSetOf(skipSortOrderValidation: true, attrsTag);
                var writer = new AsnWriter(AsnEncodingRules.DER);
                using (writer.PushSetOf())
                {
                    while (reader.HasData)
                    {
                        writer.WriteEncodedValue(reader.ReadEncodedValue().Span);
                    }
                }

                signedAttrs = writer.Encode();
            }
            else
            {
                signedAttrs = encoded.ToArray();
                signedAttrs[0] = 0x31;
            }
        }

        var sigAlg = AlgorithmId.Read(si);
        if (sigAlg.Oid != Oids.RsaPss && !sigAlg.HasNoParameters)
        {
            throw new CryptographicException("The SignerInfo signature algorithm has unexpected parameters.");
        }

        var signature = si.ReadOctetString();
        var unsignedTag = new Asn1Tag(TagClass.ContextSpecific, 1, true);
        if (si.HasData && si.PeekTag().HasSameClassAndValue(unsignedTag))
        {
            si.ReadEncodedValue();
        }

        si.ThrowIfNotEmpty();
        return new SignerInfoData
        {
            Version = version,
            SidIssuer = issuer,
            SidSerialHex = serial,
            SidKeyId = keyId,
            DigestAlgorithm = digest,
            SignedAttributesDer = signedAttrs,
            SignatureAlgorithm = sigAlg,
            Signature = signature,
        };
    }
}
