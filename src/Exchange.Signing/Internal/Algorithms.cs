using System.Formats.Asn1;
using System.Security.Cryptography;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Digests;
using Org.BouncyCastle.Crypto.Engines;
using Org.BouncyCastle.Crypto.Parameters;
using Org.BouncyCastle.Crypto.Signers;

namespace Exchange.Signing.Internal;

internal enum SignatureKind
{
    RsaPkcs1,
    RsaPss,
    Ecdsa,
}

/// <summary>An AlgorithmIdentifier (RFC 5280 §4.1.1.2): the OID and the encoded parameters, if any.</summary>
internal readonly record struct AlgorithmId(string Oid, ReadOnlyMemory<byte> Parameters)
{
    public static AlgorithmId Read(AsnReader reader)
    {
        var seq = reader.ReadSequence();
        var oid = seq.ReadObjectIdentifier();
        var parameters = seq.HasData ? seq.ReadEncodedValue() : ReadOnlyMemory<byte>.Empty;
        seq.ThrowIfNotEmpty();
        return new AlgorithmId(oid, parameters);
    }

    /// <summary>Parameters absent or NULL, as digest algorithms (RFC 5754 §2) and PKCS#1 v1.5 / ECDSA signature
    /// algorithms (RFC 4055 §5, RFC 5758 §3.2) have them.</summary>
    public bool HasNoParameters => Parameters.IsEmpty || Parameters.Span.SequenceEqual(NullEncoding);

    /// <summary>Same OID and same encoded parameters (RFC 5280 §4.1.1.2: the outer and inner algorithm must be equal).</summary>
    public bool SameAs(AlgorithmId other) => Oid == other.Oid && Parameters.Span.SequenceEqual(other.Parameters.Span);

    private static ReadOnlySpan<byte> NullEncoding => [0x05, 0x00];
}

/// <summary>A resolved signature scheme: how to check a signature value with .NET's OpenSSL-backed primitives.</summary>
internal sealed record SignatureScheme(SignatureKind Kind, HashAlgorithmName Hash, string Name, HashAlgorithmName MgfHash, int SaltLength)
{
    /// <summary>The weakest hash involved (SHA-1 in PSS's MGF counts too).</summary>
    public bool UsesSha1 => Hash == HashAlgorithmName.SHA1 || (Kind == SignatureKind.RsaPss && MgfHash == HashAlgorithmName.SHA1);

    public bool UsesMd5 => Hash == HashAlgorithmName.MD5 || (Kind == SignatureKind.RsaPss && MgfHash == HashAlgorithmName.MD5);
}

internal static class Algorithms
{
    public static HashAlgorithmName? DigestFromOid(string oid) => oid switch
    {
        Oids.Md5 => HashAlgorithmName.MD5,
        Oids.Sha1 => HashAlgorithmName.SHA1,
        Oids.Sha256 => HashAlgorithmName.SHA256,
        Oids.Sha384 => HashAlgorithmName.SHA384,
        Oids.Sha512 => HashAlgorithmName.SHA512,
        _ => null,
    };

    public static string DigestName(string oid) => oid switch
    {
        Oids.Md5 => "MD5",
        Oids.Sha1 => "SHA-1",
        Oids.Sha224 => "SHA-224",
        Oids.Sha256 => "SHA-256",
        Oids.Sha384 => "SHA-384",
        Oids.Sha512 => "SHA-512",
        _ => oid,
    };

    public static string HashName(HashAlgorithmName hash) =>
        hash == HashAlgorithmName.SHA1 ? "SHA-1"
        : hash == HashAlgorithmName.MD5 ? "MD5"
        : hash.Name!.Replace("SHA", "SHA-", StringComparison.Ordinal);

    public static int HashLength(HashAlgorithmName hash) =>
        hash == HashAlgorithmName.SHA256 ? 32
        : hash == HashAlgorithmName.SHA384 ? 48
        : hash == HashAlgorithmName.SHA512 ? 64
        : hash == HashAlgorithmName.SHA1 ? 20
        : 16;

    public static byte[] Hash(HashAlgorithmName hash, ReadOnlySpan<byte> data) =>
        hash == HashAlgorithmName.SHA256 ? SHA256.HashData(data)
        : hash == HashAlgorithmName.SHA384 ? SHA384.HashData(data)
        : hash == HashAlgorithmName.SHA512 ? SHA512.HashData(data)
        : hash == HashAlgorithmName.SHA1 ? SHA1.HashData(data)
        : MD5.HashData(data);

    /// <summary>
    /// Resolves a signature AlgorithmIdentifier. In a SignerInfo, <paramref name="digest"/> is the SignerInfo's
    /// digestAlgorithm: OpenSSL and others write plain rsaEncryption / id-ecPublicKey there (RFC 5652 §10.1.2 and
    /// RFC 5754 §3.2 allow it), and then the digestAlgorithm names the hash. For certificates and CRLs it is null.
    /// </summary>
    public static SignatureScheme? Resolve(AlgorithmId alg, HashAlgorithmName? digest, out string error)
    {
        error = string.Empty;
        SignatureScheme? scheme = alg.Oid switch
        {
            Oids.Sha256WithRsa => Pkcs1(HashAlgorithmName.SHA256, "sha256WithRSAEncryption"),
            Oids.Sha384WithRsa => Pkcs1(HashAlgorithmName.SHA384, "sha384WithRSAEncryption"),
            Oids.Sha512WithRsa => Pkcs1(HashAlgorithmName.SHA512, "sha512WithRSAEncryption"),
            Oids.Sha1WithRsa => Pkcs1(HashAlgorithmName.SHA1, "sha1WithRSAEncryption"),
            Oids.Md5WithRsa => Pkcs1(HashAlgorithmName.MD5, "md5WithRSAEncryption"),
            // Named as the equivalent combined algorithm, so reports read the same whichever OID the producer chose.
            Oids.RsaEncryption when digest is { } d => Pkcs1(d, $"{HashName(d).Replace("-", string.Empty, StringComparison.Ordinal).ToLowerInvariant()}WithRSAEncryption"),
            Oids.EcdsaWithSha256 => Ecdsa(HashAlgorithmName.SHA256, "ecdsa-with-SHA256"),
            Oids.EcdsaWithSha384 => Ecdsa(HashAlgorithmName.SHA384, "ecdsa-with-SHA384"),
            Oids.EcdsaWithSha512 => Ecdsa(HashAlgorithmName.SHA512, "ecdsa-with-SHA512"),
            Oids.EcdsaWithSha1 => Ecdsa(HashAlgorithmName.SHA1, "ecdsa-with-SHA1"),
            Oids.EcPublicKey when digest is { } d => Ecdsa(d, $"ecdsa-with-{HashName(d).Replace("-", string.Empty, StringComparison.Ordinal)}"),
            Oids.RsaPss => ResolvePss(alg.Parameters, out error),
            _ => null,
        };

        if (scheme is null && error.Length == 0)
        {
            error = $"signature algorithm {alg.Oid} is not supported";
        }

        return scheme;

        static SignatureScheme Pkcs1(HashAlgorithmName h, string name) => new(SignatureKind.RsaPkcs1, h, name, h, 0);

        static SignatureScheme Ecdsa(HashAlgorithmName h, string name) => new(SignatureKind.Ecdsa, h, name, h, 0);
    }

    /// <summary>RSASSA-PSS-params, RFC 4055 §3.1 (the defaults are SHA-1, MGF1-SHA-1, salt 20).</summary>
    private static SignatureScheme? ResolvePss(ReadOnlyMemory<byte> parameters, out string error)
    {
        error = string.Empty;
        var hash = HashAlgorithmName.SHA1;
        var mgfHash = HashAlgorithmName.SHA1;
        var salt = 20;
        if (!parameters.IsEmpty && parameters.Span[0] != 0x05)
        {
            var seq = new AsnReader(parameters, AsnEncodingRules.DER).ReadSequence();
            var t0 = new Asn1Tag(TagClass.ContextSpecific, 0, true);
            var t1 = new Asn1Tag(TagClass.ContextSpecific, 1, true);
            var t2 = new Asn1Tag(TagClass.ContextSpecific, 2, true);
            var t3 = new Asn1Tag(TagClass.ContextSpecific, 3, true);
            if (seq.HasData && seq.PeekTag().HasSameClassAndValue(t0))
            {
                var h = AlgorithmId.Read(seq.ReadSequence(t0));
                hash = DigestFromOid(h.Oid) ?? default;
            }

            if (seq.HasData && seq.PeekTag().HasSameClassAndValue(t1))
            {
                var mgf = AlgorithmId.Read(seq.ReadSequence(t1));
                if (mgf.Oid != Oids.Mgf1)
                {
                    error = $"RSA-PSS mask generation {mgf.Oid} is not supported";
                    return null;
                }

                var mh = AlgorithmId.Read(new AsnReader(mgf.Parameters, AsnEncodingRules.DER));
                mgfHash = DigestFromOid(mh.Oid) ?? default;
            }

            if (seq.HasData && seq.PeekTag().HasSameClassAndValue(t2))
            {
                var inner = seq.ReadSequence(t2);
                if (!inner.TryReadInt32(out salt) || salt < 0)
                {
                    error = "RSA-PSS salt length is out of range";
                    return null;
                }
            }

            if (seq.HasData && seq.PeekTag().HasSameClassAndValue(t3))
            {
                var inner = seq.ReadSequence(t3);
                if (!inner.TryReadInt32(out var trailer) || trailer != 1)
                {
                    error = "RSA-PSS trailer field must be 1 (RFC 4055 §3.1)";
                    return null;
                }
            }

            seq.ThrowIfNotEmpty();
        }

        if (hash == default || mgfHash == default)
        {
            error = "RSA-PSS hash algorithm is not supported";
            return null;
        }

        // The mask generation hash is part of the algorithm policy like the message hash: a strong hashAlgorithm
        // with a weak or odd MGF1 hash is refused. RFC 4055 §3.1 recommends the same hash for both, and every
        // producer we interoperate with (OpenSSL, .NET, BouncyCastle defaults) does so; the policy requires it.
        if (mgfHash != hash)
        {
            error = $"RSA-PSS mask generation hash {HashName(mgfHash)} differs from the message hash {HashName(hash)} (RFC 4055 §3.1; the policy requires them equal)";
            return null;
        }

        return new SignatureScheme(SignatureKind.RsaPss, hash, $"RSASSA-PSS with {HashName(hash)}", mgfHash, salt);
    }

    /// <summary>Checks a signature over an already computed hash with the signer's public key.</summary>
    public static bool VerifyHash(PublicKeyInfo key, SignatureScheme scheme, ReadOnlySpan<byte> hash, ReadOnlySpan<byte> signature)
    {
        switch (scheme.Kind)
        {
            case SignatureKind.RsaPkcs1 when key.Rsa is { } rsa:
                return rsa.VerifyHash(hash, signature, scheme.Hash, RSASignaturePadding.Pkcs1);
            case SignatureKind.RsaPss when key.Rsa is { } rsa:
                if (scheme.MgfHash == scheme.Hash && scheme.SaltLength == HashLength(scheme.Hash))
                {
                    // The common profile (RFC 8017 recommends salt = hash length); OpenSSL does it.
                    return rsa.VerifyHash(hash, signature, scheme.Hash, RSASignaturePadding.Pss);
                }

                // .NET's Pss padding fixes the salt at the hash length; other salt lengths (OpenSSL 3.0 signs with
                // the maximum by default) go through BouncyCastle's PSS with the explicit parameters.
                return VerifyPssWithBouncyCastle(key, scheme, hash, signature);
            case SignatureKind.Ecdsa when key.Ecdsa is { } ecdsa:
                return ecdsa.VerifyHash(hash, signature, DSASignatureFormat.Rfc3279DerSequence);
            default:
                return false;
        }
    }

    private static bool VerifyPssWithBouncyCastle(PublicKeyInfo key, SignatureScheme scheme, ReadOnlySpan<byte> hash, ReadOnlySpan<byte> signature)
    {
        var p = key.RsaParameters!.Value;
        var bcKey = new RsaKeyParameters(false, new Org.BouncyCastle.Math.BigInteger(1, p.Modulus), new Org.BouncyCastle.Math.BigInteger(1, p.Exponent));
        var signer = PssSigner.CreateRawSigner(new RsaBlindedEngine(), BcDigest(scheme.Hash), BcDigest(scheme.MgfHash), scheme.SaltLength, PssSigner.TrailerImplicit);
        signer.Init(false, bcKey);
        var h = hash.ToArray();
        signer.BlockUpdate(h, 0, h.Length);
        try
        {
            return signer.VerifySignature(signature.ToArray());
        }
        catch (CryptoException)
        {
            return false;
        }
    }

    private static IDigest BcDigest(HashAlgorithmName hash) =>
        hash == HashAlgorithmName.SHA256 ? new Sha256Digest()
        : hash == HashAlgorithmName.SHA384 ? new Sha384Digest()
        : hash == HashAlgorithmName.SHA512 ? new Sha512Digest()
        : hash == HashAlgorithmName.SHA1 ? new Sha1Digest()
        : new MD5Digest();
}
