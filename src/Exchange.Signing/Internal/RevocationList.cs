using System.Collections.Concurrent;
using System.Formats.Asn1;
using System.Security.Cryptography;

namespace Exchange.Signing.Internal;

internal readonly record struct RevokedEntry(DateTimeOffset RevokedAt, int? Reason);

/// <summary>
/// A parsed X.509 CRL (RFC 5280 §5). Its signature is checked lazily against the issuing CA found while
/// building a chain, and the outcome is remembered per CA certificate.
/// </summary>
internal sealed class RevocationList
{
    private readonly ConcurrentDictionary<string, bool> _verifiedBy = new(StringComparer.Ordinal);

    private RevocationList(byte[] der)
    {
        Der = der;
        Sha256 = Convert.ToHexStringLower(SHA256.HashData(der));
        var list = new AsnReader(der, AsnEncodingRules.DER).ReadSequence();
        Tbs = list.PeekEncodedValue();
        var tbs = list.ReadSequence();
        SignatureAlgorithm = AlgorithmId.Read(list);
        SignatureValue = list.ReadBitString(out var unusedBits);
        if (unusedBits != 0)
        {
            throw new CryptographicException("The signature BIT STRING is not byte-aligned.");
        }

        list.ThrowIfNotEmpty();

        if (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Integer))
        {
            tbs.ReadInteger();
        }

        var innerAlg = AlgorithmId.Read(tbs);
        if (!innerAlg.SameAs(SignatureAlgorithm))
        {
            throw new CryptographicException("The CRL's inner and outer signature algorithms differ (RFC 5280 §5.1.2.2).");
        }

        IssuerRaw = tbs.ReadEncodedValue();
        Issuer = new System.Security.Cryptography.X509Certificates.X500DistinguishedName(IssuerRaw.Span).Name;
        ThisUpdate = Internal.Der.ReadTime(tbs);
        if (tbs.HasData && (tbs.PeekTag().HasSameClassAndValue(Asn1Tag.UtcTime) || tbs.PeekTag().HasSameClassAndValue(Asn1Tag.GeneralizedTime)))
        {
            NextUpdate = Internal.Der.ReadTime(tbs);
        }

        if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(Asn1Tag.Sequence))
        {
            var entries = tbs.ReadSequence();
            while (entries.HasData)
            {
                var entry = entries.ReadSequence();
                var serial = Internal.Der.SerialHex(entry.ReadIntegerBytes().Span);
                var when = Internal.Der.ReadTime(entry);
                int? reason = null;
                if (entry.HasData)
                {
                    var exts = entry.ReadSequence();
                    while (exts.HasData)
                    {
                        var ext = exts.ReadSequence();
                        var oid = ext.ReadObjectIdentifier();
                        var critical = ext.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean) && ext.ReadBoolean();
                        var value = ext.ReadOctetString();
                        if (oid == Oids.CrlReason)
                        {
                            var r = new AsnReader(value, AsnEncodingRules.DER);
                            reason = (int)r.ReadEnumeratedBytes().Span[^1];
                        }
                        else if (critical && oid != Oids.InvalidityDate)
                        {
                            // RFC 5280 §5.3: an unrecognised critical entry extension makes the CRL unusable.
                            Unusable ??= $"CRL entry extension {oid} is critical and not supported";
                        }
                    }
                }

                Revoked[serial] = new RevokedEntry(when, reason);
            }
        }

        var t0 = new Asn1Tag(TagClass.ContextSpecific, 0, true);
        if (tbs.HasData && tbs.PeekTag().HasSameClassAndValue(t0))
        {
            var exts = tbs.ReadSequence(t0).ReadSequence();
            while (exts.HasData)
            {
                var ext = exts.ReadSequence();
                var oid = ext.ReadObjectIdentifier();
                var critical = ext.PeekTag().HasSameClassAndValue(Asn1Tag.Boolean) && ext.ReadBoolean();
                var value = ext.ReadOctetString();
                switch (oid)
                {
                    case Oids.CrlNumber:
                        Number = new AsnReader(value, AsnEncodingRules.DER).ReadInteger();
                        break;
                    case Oids.DeltaCrlIndicator:
                        Unusable ??= "delta CRLs are not supported";
                        break;
                    case Oids.AuthorityKeyIdentifier:
                        var aki = new AsnReader(value, AsnEncodingRules.DER).ReadSequence();
                        var k0 = new Asn1Tag(TagClass.ContextSpecific, 0);
                        if (aki.HasData && aki.PeekTag().HasSameClassAndValue(k0))
                        {
                            AuthorityKeyId = aki.ReadOctetString(k0);
                        }

                        break;
                    case Oids.IssuingDistributionPoint:
                        ReadIssuingDistributionPoint(value);
                        break;
                    default:
                        if (critical)
                        {
                            Unusable ??= $"CRL extension {oid} is critical and not supported";
                        }

                        break;
                }
            }
        }

        tbs.ThrowIfNotEmpty();
    }

    /// <summary>The issuingDistributionPoint's fullName GeneralNames, DER in hex; null when it names none.</summary>
    public IReadOnlyList<string>? DistributionPointNames { get; private set; }

    public bool OnlyUserCerts { get; private set; }

    public bool OnlyCaCerts { get; private set; }

    public bool OnlySomeReasons { get; private set; }

    public bool Indirect { get; private set; }

    public bool OnlyAttributeCerts { get; private set; }

    /// <summary>A nameRelativeToCRLIssuer distribution point, which is not resolved here.</summary>
    public bool RelativeDistributionPoint { get; private set; }

    public byte[] Der { get; }
    public string Sha256 { get; }
    public ReadOnlyMemory<byte> Tbs { get; }
    public AlgorithmId SignatureAlgorithm { get; }
    public byte[] SignatureValue { get; }
    public ReadOnlyMemory<byte> IssuerRaw { get; }
    public string Issuer { get; }
    public DateTimeOffset ThisUpdate { get; }
    public DateTimeOffset? NextUpdate { get; }
    public System.Numerics.BigInteger? Number { get; }
    public byte[]? AuthorityKeyId { get; }
    public Dictionary<string, RevokedEntry> Revoked { get; } = new(StringComparer.Ordinal);

    /// <summary>Why this CRL cannot be relied on, or null.</summary>
    public string? Unusable { get; }

    public static RevocationList Parse(byte[] der) => new(der);

    /// <summary>Loads every CRL from PEM ("X509 CRL") or DER bytes.</summary>
    public static List<RevocationList> Load(byte[] derOrPem) =>
        Internal.Der.PemOrDer(derOrPem, "X509 CRL").Select(Parse).ToList();

    public bool IsFor(CertificateInfo issuer) =>
        (IssuerRaw.Span.SequenceEqual(issuer.SubjectRaw.Span) || string.Equals(Issuer, issuer.Subject, StringComparison.OrdinalIgnoreCase))
        && (AuthorityKeyId is null || issuer.SubjectKeyId is null || AuthorityKeyId.AsSpan().SequenceEqual(issuer.SubjectKeyId));

    /// <summary>
    /// Does this CRL's scope cover <paramref name="certificate"/> (RFC 5280 §5.2.5, §6.3.3 (b))? A CRL that does not
    /// is no evidence either way and is not consulted for it. Not covered: a user-certificates-only CRL for a CA
    /// certificate and a CA-certificates-only CRL for an end entity; an attribute-certificates-only CRL; a CRL
    /// partitioned by reason (onlySomeReasons), because one partition alone does not give a complete status and
    /// partitions are not combined here; an indirect CRL, whose entries may belong to other issuers (certificateIssuer
    /// entry extensions are not read); and a CRL whose distribution point name is not one of the certificate's CRL
    /// distribution points (the certificate names none, or the names differ), or is relative to the issuer.
    /// </summary>
    public bool Covers(CertificateInfo certificate, out string why)
    {
        why = Scope(certificate) ?? string.Empty;
        return why.Length == 0;
    }

    private string? Scope(CertificateInfo certificate)
    {
        if (OnlyUserCerts && certificate.IsCa)
        {
            return $"the CRL of {ThisUpdate:u} covers only end-entity certificates (onlyContainsUserCerts)";
        }

        if (OnlyCaCerts && !certificate.IsCa)
        {
            return $"the CRL of {ThisUpdate:u} covers only CA certificates (onlyContainsCACerts)";
        }

        if (OnlyAttributeCerts)
        {
            return $"the CRL of {ThisUpdate:u} covers only attribute certificates (onlyContainsAttributeCerts)";
        }

        if (OnlySomeReasons)
        {
            return $"the CRL of {ThisUpdate:u} covers only some revocation reasons (onlySomeReasons), which is not supported";
        }

        if (Indirect)
        {
            return $"the CRL of {ThisUpdate:u} is an indirect CRL (indirectCRL), which is not supported";
        }

        if (RelativeDistributionPoint)
        {
            return $"the CRL of {ThisUpdate:u} names its distribution point relative to the issuer, which is not supported";
        }

        if (DistributionPointNames is { } names && !names.Any(certificate.CrlDistributionPointNames.Contains))
        {
            return $"the CRL of {ThisUpdate:u} is for a distribution point that is not among the certificate's CRL distribution points";
        }

        return null;
    }

    /// <summary>IssuingDistributionPoint, RFC 5280 §5.2.5 (IMPLICIT tags: [0] DistributionPointName, [1]..[5] flags).</summary>
    private void ReadIssuingDistributionPoint(byte[] value)
    {
        var idp = new AsnReader(value, AsnEncodingRules.DER).ReadSequence();
        var t0 = new Asn1Tag(TagClass.ContextSpecific, 0, true);
        var t1 = new Asn1Tag(TagClass.ContextSpecific, 1, true);
        if (idp.HasData && idp.PeekTag().HasSameClassAndValue(t0))
        {
            var name = idp.ReadSequence(t0);
            if (name.PeekTag().HasSameClassAndValue(t0))
            {
                var fullName = name.ReadSequence(t0);
                var names = new List<string>();
                while (fullName.HasData)
                {
                    names.Add(Convert.ToHexString(fullName.ReadEncodedValue().Span));
                }

                DistributionPointNames = names;
            }
            else if (name.PeekTag().HasSameClassAndValue(t1))
            {
                name.ReadEncodedValue();
                RelativeDistributionPoint = true;
            }

            name.ThrowIfNotEmpty();
        }

        for (var tag = 1; tag <= 5 && idp.HasData; tag++)
        {
            var context = new Asn1Tag(TagClass.ContextSpecific, tag);
            if (tag == 3)
            {
                if (idp.PeekTag().HasSameClassAndValue(context))
                {
                    idp.ReadEncodedValue();
                    OnlySomeReasons = true;
                }

                continue;
            }

            if (!idp.PeekTag().HasSameClassAndValue(context))
            {
                continue;
            }

            var flag = idp.ReadBoolean(context);
            switch (tag)
            {
                case 1: OnlyUserCerts = flag; break;
                case 2: OnlyCaCerts = flag; break;
                case 4: Indirect = flag; break;
                default: OnlyAttributeCerts = flag; break;
            }
        }

        idp.ThrowIfNotEmpty();
    }

    /// <summary>Is the CRL signed by <paramref name="issuer"/>? Checked once per CA certificate.</summary>
    public bool SignedBy(CertificateInfo issuer) =>
        _verifiedBy.GetOrAdd(issuer.Sha256, static (_, state) =>
        {
            var (crl, ca) = state;
            var scheme = Algorithms.Resolve(crl.SignatureAlgorithm, null, out _);
            if (scheme is null || scheme.UsesMd5)
            {
                return false;
            }

            if (ca.KeyUsage is { } ku && (ku & System.Security.Cryptography.X509Certificates.X509KeyUsageFlags.CrlSign) == 0)
            {
                return false;
            }

            var hash = Algorithms.Hash(scheme.Hash, crl.Tbs.Span);
            return Algorithms.VerifyHash(ca.Key, scheme, hash, crl.SignatureValue);
        }, (this, issuer));
}
