using System.Collections.Concurrent;
using System.Diagnostics;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Exchange.Core;
using Exchange.Signing.Internal;

namespace Exchange.Signing;

/// <summary>
/// Verifies CMS SignedData (RFC 5652) against a <see cref="TrustStore"/>: signed attributes, signature value,
/// chain to an anchor (RFC 5280 §6), validity at signing time, key usage, revocation by CRL, algorithm policy.
/// One instance per process: it caches parsed certificates and, per signer certificate, the chain and revocation
/// verdicts, so that the per-document work is one hash of the content and one public-key operation per signer.
/// Thread-safe. The order of the checks and the reason codes are described in docs/signatures.md.
/// </summary>
public sealed class SignatureVerifier
{
    /// <summary>Beyond this many cached certificates the caches are dropped and rebuilt (a crude bound against
    /// unbounded growth from hostile input).</summary>
    public const int MaxCachedCertificates = 20_000;

    private static readonly TimeSpan UnknownRevocationRetry = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);
    private const string EmbeddedContentDiffers = "the CMS embeds content that differs from the content supplied beside it";

    /// <summary>
    /// extendedKeyUsage purposes that allow signing documents when the extension is critical (docs/signatures.md):
    /// anyExtendedKeyUsage (RFC 5280 §4.2.1.12), id-kp-emailProtection (RFC 5280 §4.2.1.12, S/MIME signing, which is
    /// CMS), id-kp-documentSigning (RFC 9336) and Microsoft's Document Signing, which Windows-issued signing
    /// certificates carry. Not id-kp-codeSigning, serverAuth, clientAuth, timeStamping or OCSPSigning.
    /// </summary>
    private static readonly HashSet<string> DocumentSigningPurposes = ["2.5.29.37.0", "1.3.6.1.5.5.7.3.4", "1.3.6.1.5.5.7.3.36", "1.3.6.1.4.1.311.10.3.12"];

    private static readonly HashSet<string> AcceptedCurves = ["1.2.840.10045.3.1.7", "1.3.132.0.34", "1.3.132.0.35"];

    private readonly ConcurrentDictionary<byte[], CertificateInfo> _certificates = new(ByteArrayComparer.Instance);
    private readonly ConcurrentDictionary<byte[], CertificateInfo>.AlternateLookup<ReadOnlySpan<byte>> _certificatesBySpan;
    private readonly ConcurrentDictionary<string, ChainFacts> _chains = new(StringComparer.Ordinal);
    private readonly TimeProvider _clock;

    public SignatureVerifier(TrustStore trust, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(trust);
        Trust = trust;
        _clock = clock ?? TimeProvider.System;
        _certificatesBySpan = _certificates.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public TrustStore Trust { get; }

    /// <summary>Verifies a detached signature over <paramref name="content"/>.</summary>
    public VerificationResult Verify(ReadOnlySpan<byte> content, ReadOnlySpan<byte> detachedCms, SignaturePolicy policy = SignaturePolicy.Submission)
    {
        var started = Stopwatch.GetTimestamp();
        return SignatureMetrics.Record(VerifyDetached(content, detachedCms, policy), started);
    }

    private VerificationResult VerifyDetached(ReadOnlySpan<byte> content, ReadOnlySpan<byte> detachedCms, SignaturePolicy policy)
    {
        var message = Parse(detachedCms, out var failure);
        if (message is null)
        {
            return failure!;
        }

        if (message.Content is { } embedded && !embedded.AsSpan().SequenceEqual(content))
        {
            return Refused(ReasonCode.Malformed, EmbeddedContentDiffers, message);
        }

        return VerifyMessage(message, ContentDigests.Of(content, DigestsNeeded(message)), policy);
    }

    /// <summary>
    /// Verifies a detached signature over content read from a stream (a package stored in chunks): the CMS is parsed
    /// first, then <paramref name="content"/> is read once, front to back, through one hash per digest algorithm the
    /// signers use, in constant memory whatever its size. The verdict, detail and signer reports are those of the
    /// <see cref="Verify(ReadOnlySpan{byte}, ReadOnlySpan{byte}, SignaturePolicy)"/> overload for the same bytes.
    /// The stream is not read when the CMS is refused before its content matters, and it is not closed.
    /// </summary>
    /// <remarks>
    /// A CMS that embeds content (RFC 5652 §5.2 eContent) is compared with the stream by length and SHA-256 rather
    /// than byte for byte, so that the stream is still read only once; it is refused as Malformed when they differ,
    /// as the span overload does.
    /// </remarks>
    public VerificationResult Verify(Stream content, ReadOnlySpan<byte> detachedCms, SignaturePolicy policy = SignaturePolicy.Submission)
    {
        var started = Stopwatch.GetTimestamp();
        return SignatureMetrics.Record(VerifyDetached(content, detachedCms, policy), started);
    }

    private VerificationResult VerifyDetached(Stream content, ReadOnlySpan<byte> detachedCms, SignaturePolicy policy)
    {
        ArgumentNullException.ThrowIfNull(content);
        var message = Parse(detachedCms, out var failure);
        if (message is null)
        {
            return failure!;
        }

        var needed = DigestsNeeded(message);
        if (message.Content is not null)
        {
            needed.Add(HashAlgorithmName.SHA256);
        }

        var digests = ContentDigests.Of(content, needed);
        if (message.Content is { } embedded
            && (embedded.LongLength != digests.Length || !SHA256.HashData(embedded).AsSpan().SequenceEqual(digests[HashAlgorithmName.SHA256])))
        {
            return Refused(ReasonCode.Malformed, EmbeddedContentDiffers, message);
        }

        return VerifyMessage(message, digests, policy);
    }

    /// <summary>Verifies a signature that encapsulates its content; the content is returned in the result.</summary>
    public VerificationResult VerifyAttached(ReadOnlySpan<byte> cms, SignaturePolicy policy = SignaturePolicy.Submission)
    {
        var started = Stopwatch.GetTimestamp();
        return SignatureMetrics.Record(VerifyEncapsulated(cms, policy), started);
    }

    private VerificationResult VerifyEncapsulated(ReadOnlySpan<byte> cms, SignaturePolicy policy)
    {
        var message = Parse(cms, out var failure);
        if (message is null)
        {
            return failure!;
        }

        if (message.Content is null)
        {
            return Refused(ReasonCode.Malformed, "the CMS is detached (it carries no content); verify it with the content beside it", message);
        }

        return VerifyMessage(message, ContentDigests.Of(message.Content, DigestsNeeded(message)), policy) with { Content = message.Content };
    }

    /// <summary>Drops every cached certificate and verdict.</summary>
    public void ClearCaches()
    {
        _certificates.Clear();
        _chains.Clear();
    }

    private static CmsMessage? Parse(ReadOnlySpan<byte> cms, out VerificationResult? failure)
    {
        failure = null;
        if (cms.IsEmpty)
        {
            failure = Refused(ReasonCode.Malformed, "the signature is empty", null);
            return null;
        }

        try
        {
            byte[] bytes;
            if (Der.LooksLikePem(cms))
            {
                bytes = Der.PemOrDer(cms.ToArray(), "CMS", "PKCS7", "PKCS #7 SIGNED DATA").FirstOrDefault()
                    ?? throw new CryptographicException("no CMS or PKCS7 block in the PEM text");
            }
            else
            {
                bytes = cms.ToArray();
            }

            var message = CmsMessage.Parse(bytes);
            if (message.SignerInfos.Count == 0)
            {
                failure = Refused(ReasonCode.Malformed, "the SignedData has no SignerInfo", message);
                return null;
            }

            return message;
        }
        catch (Exception e) when (IsInputError(e))
        {
            failure = Refused(ReasonCode.Malformed, $"not a CMS SignedData (RFC 5652): {e.Message}", null);
            return null;
        }
    }

    /// <summary>
    /// The hashes of the content that verifying <paramref name="message"/> takes: each SignerInfo's digestAlgorithm and,
    /// for a signer without signed attributes, the hash of its signature scheme, which then covers the content
    /// directly (RFC 5652 §5.4). Worked out before the content is read, so that a stream is hashed in one pass. A
    /// signer whose algorithms cannot be resolved needs none (it is refused before its digest is looked at), nor
    /// does MD5, which the policy refuses before any hashing.
    /// </summary>
    private static HashSet<HashAlgorithmName> DigestsNeeded(CmsMessage message)
    {
        var needed = new HashSet<HashAlgorithmName>();
        foreach (var signerInfo in message.SignerInfos)
        {
            try
            {
                if (Algorithms.DigestFromOid(signerInfo.DigestAlgorithm.Oid) is not { } digest
                    || Algorithms.Resolve(signerInfo.SignatureAlgorithm, digest, out _) is not { } scheme)
                {
                    continue;
                }

                needed.Add(digest);
                if (signerInfo.SignedAttributesDer is null)
                {
                    needed.Add(scheme.Hash);
                }
            }
            catch (Exception e) when (IsInputError(e))
            {
                // Unreadable parameters: VerifySigner reports this signer as Malformed without a digest.
            }
        }

        needed.Remove(HashAlgorithmName.MD5);
        return needed;
    }

    private static VerificationResult Refused(ReasonCode reason, string detail, CmsMessage? message) =>
        new(reason, detail, []) { ContentType = message?.ContentType };

    private static bool IsInputError(Exception e) =>
        e is CryptographicException or AsnContentException or FormatException or ArgumentException or OverflowException or InvalidDataException;

    private VerificationResult VerifyMessage(CmsMessage message, ContentDigests digests, SignaturePolicy policy)
    {
        var now = _clock.GetUtcNow();
        var certificates = new List<CertificateInfo>(message.Certificates.Count);
        var unreadable = 0;
        foreach (var der in message.Certificates)
        {
            var info = GetCertificate(der.Span);
            if (info is null)
            {
                unreadable++;
            }
            else
            {
                certificates.Add(info);
            }
        }

        var reports = new List<SignerReport>(message.SignerInfos.Count);
        foreach (var signerInfo in message.SignerInfos)
        {
            SignerReport report;
            try
            {
                report = VerifySigner(signerInfo, message, certificates, digests, policy, now);
            }
            catch (Exception e) when (IsInputError(e))
            {
                report = Report(signerInfo, null, ReasonCode.Malformed, $"the SignerInfo could not be read: {e.Message}");
            }

            if (report.Verdict == ReasonCode.NoSignerCertificate && unreadable > 0)
            {
                report = report with { Detail = $"{report.Detail} ({unreadable} certificate(s) in the CMS could not be read)" };
            }

            reports.Add(report);
        }

        var valid = reports.Count(r => r.Valid);
        if (valid > 0)
        {
            var warnings = reports.Where(r => r.Valid).SelectMany(r => r.Warnings).Distinct().ToList();
            var detail = reports.Count == 1 ? "signature valid" : $"{valid} of {reports.Count} signers valid";
            if (warnings.Count > 0)
            {
                detail += "; warning: " + string.Join("; ", warnings);
            }

            return new VerificationResult(ReasonCode.Ok, detail, reports) { ContentType = message.ContentType };
        }

        var first = reports[0];
        var prefix = reports.Count == 1 ? string.Empty : $"signer 1 of {reports.Count} ({first.Subject}): ";
        return new VerificationResult(first.Verdict, prefix + first.Detail, reports) { ContentType = message.ContentType };
    }

    private CertificateInfo? GetCertificate(ReadOnlySpan<byte> der)
    {
        if (_certificatesBySpan.TryGetValue(der, out var cached))
        {
            return cached;
        }

        CertificateInfo info;
        try
        {
            info = CertificateInfo.Parse(der.ToArray());
        }
        catch (Exception e) when (IsInputError(e))
        {
            return null;
        }

        if (_certificates.Count >= MaxCachedCertificates)
        {
            ClearCaches();
        }

        return _certificates.GetOrAdd(info.Der, info);
    }

    private SignerReport VerifySigner(
        SignerInfoData si,
        CmsMessage message,
        List<CertificateInfo> certificates,
        ContentDigests digests,
        SignaturePolicy policy,
        DateTimeOffset now)
    {
        // 1. The signer certificate, found in the CMS by the SignerIdentifier (RFC 5652 §5.3).
        var signer = FindSigner(si, certificates);
        if (signer is null)
        {
            return Report(si, null, ReasonCode.NoSignerCertificate, "the CMS does not carry the signer's certificate");
        }

        // 2. Signed attributes (RFC 5652 §5.3, §11): content-type and message-digest required, signing-time read.
        var attributes = SignedAttributes.Read(si.SignedAttributesDer, out var attrError);
        if (attributes is null)
        {
            return Report(si, signer, ReasonCode.SignatureInvalid, attrError);
        }

        var signingTime = attributes.SigningTime;
        var warnings = new List<string>();

        // 3. Algorithm policy, before any cryptography.
        var digest = Algorithms.DigestFromOid(si.DigestAlgorithm.Oid);
        if (digest is null)
        {
            return Report(si, signer, ReasonCode.WeakAlgorithm, $"digest algorithm {Algorithms.DigestName(si.DigestAlgorithm.Oid)} is not accepted", signingTime);
        }

        var scheme = Algorithms.Resolve(si.SignatureAlgorithm, digest, out var schemeError);
        if (scheme is null)
        {
            return Report(si, signer, ReasonCode.WeakAlgorithm, schemeError, signingTime);
        }

        var weak = CheckHashPolicy(digest.Value == HashAlgorithmName.MD5 || scheme.UsesMd5, digest.Value == HashAlgorithmName.SHA1 || scheme.UsesSha1, "the signature", policy, signingTime, warnings)
            ?? CheckKeyPolicy(signer, scheme, policy, warnings);
        if (weak is not null)
        {
            return Report(si, signer, ReasonCode.WeakAlgorithm, weak, signingTime, scheme);
        }

        // 4. The content: message-digest (or, without signed attributes, the signature itself) covers it.
        var contentDigest = digests[digest.Value];

        byte[] signedHash;
        if (si.SignedAttributesDer is { } signedAttributes)
        {
            if (attributes.ContentType != message.ContentType)
            {
                return Report(si, signer, ReasonCode.SignatureInvalid, $"the content-type attribute ({attributes.ContentType}) differs from the signed content's type ({message.ContentType})", signingTime, scheme);
            }

            if (!CryptographicOperations.FixedTimeEquals(attributes.MessageDigest, contentDigest))
            {
                return Report(si, signer, ReasonCode.SignatureInvalid, "the message-digest attribute does not match the content (the document was changed after signing)", signingTime, scheme);
            }

            signedHash = Algorithms.Hash(scheme.Hash, signedAttributes);
        }
        else
        {
            if (message.ContentType != Oids.Data)
            {
                return Report(si, signer, ReasonCode.SignatureInvalid, "signed attributes are required when the content is not id-data (RFC 5652 §5.3)", signingTime, scheme);
            }

            signedHash = digests[scheme.Hash];
        }

        // 5. The signature value.
        if (!Algorithms.VerifyHash(signer.Key, scheme, signedHash, si.Signature))
        {
            return Report(si, signer, ReasonCode.SignatureInvalid, "the signature value does not verify with the signer certificate's key", signingTime, scheme);
        }

        // 6. Chain to a trust anchor (cached per signer certificate).
        var facts = GetChainFacts(signer, certificates, now);
        if (facts.Failure is not null)
        {
            return Report(si, signer, ReasonCode.UntrustedChain, facts.Failure, signingTime, scheme);
        }

        var chainNames = facts.Chain.Select(c => c.Subject).ToList();
        weak = CheckHashPolicy(facts.UsesMd5, facts.UsesSha1, "a certificate of the chain", policy, signingTime, warnings);
        if (weak is null && facts.MinCaRsaBits < 2048)
        {
            weak = RsaSizePolicy(facts.MinCaRsaBits, $"the CA key of {facts.WeakestCa}", policy, warnings);
        }

        if (weak is not null)
        {
            return Report(si, signer, ReasonCode.WeakAlgorithm, weak, signingTime, scheme) with { Chain = chainNames };
        }

        // 7. Validity at signing time (or now, without a signing-time attribute); under Submission also now,
        //    because the signing-time attribute is only the signer's claim (no time-stamp token).
        var at = signingTime ?? now;
        if (signingTime is { } claimed && claimed > now + ClockSkew)
        {
            warnings.Add($"the signing time {claimed:u} is in the future");
        }

        foreach (var cert in facts.Chain)
        {
            if (!cert.ValidAt(at))
            {
                return Report(si, signer, ReasonCode.CertificateExpired,
                    $"certificate '{cert.Subject}' is valid from {cert.NotBefore:u} to {cert.NotAfter:u}, not at the signing time {at:u}", signingTime, scheme) with { Chain = chainNames };
            }

            if (!cert.ValidAt(now))
            {
                if (policy == SignaturePolicy.Submission)
                {
                    return Report(si, signer, ReasonCode.CertificateExpired,
                        $"certificate '{cert.Subject}' is valid from {cert.NotBefore:u} to {cert.NotAfter:u}, not now ({now:u})", signingTime, scheme) with { Chain = chainNames };
                }

                warnings.Add($"certificate '{cert.Subject}' was valid at the signing time but not now (valid until {cert.NotAfter:u})");
            }
        }

        // 8. Key usage of the signer certificate (RFC 5280 §4.2.1.3).
        if (signer.KeyUsage is { } usage && (usage & (X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation)) == 0)
        {
            return Report(si, signer, ReasonCode.KeyUsage, $"the signer certificate's key usage ({usage}) allows neither digitalSignature nor nonRepudiation", signingTime, scheme) with { Chain = chainNames };
        }

        // A critical extendedKeyUsage restricts the key to the purposes it lists (RFC 5280 §4.2.1.12); a certificate
        // issued for TLS or code signing must not sign documents. Which purposes count is DocumentSigningPurposes.
        if (signer.ExtendedKeyUsageCritical && signer.ExtendedKeyUsages is { } purposes && !purposes.Any(DocumentSigningPurposes.Contains))
        {
            return Report(si, signer, ReasonCode.KeyUsage,
                $"the signer certificate's critical extended key usage ({string.Join(", ", purposes)}) allows no document signing purpose", signingTime, scheme) with { Chain = chainNames };
        }

        // 9. Revocation of every certificate below the anchor.
        for (var i = 0; i < facts.Revocation.Count; i++)
        {
            var status = facts.Revocation[i];
            var cert = facts.Chain[i];
            switch (status.State)
            {
                case RevocationState.Revoked:
                    if (policy == SignaturePolicy.Archive && signingTime is { } st && status.RevokedAt > st && status.Reason is 3 or 4 or 5)
                    {
                        // affiliationChanged, superseded, cessationOfOperation (RFC 5280 §5.3.1): the key was not
                        // compromised, so what it signed before still stands for the archive.
                        warnings.Add($"certificate '{cert.Subject}' was revoked on {status.RevokedAt:u} ({ReasonName(status.Reason)}), after the signing time");
                        break;
                    }

                    return Report(si, signer, ReasonCode.CertificateRevoked,
                        $"certificate '{cert.Subject}' (serial {cert.SerialHex}) was revoked on {status.RevokedAt:u} ({ReasonName(status.Reason)})", signingTime, scheme) with { Chain = chainNames };
                case RevocationState.Unknown:
                    if (!Trust.Options.AcceptUnknownRevocation)
                    {
                        return Report(si, signer, ReasonCode.RevocationUnknown, $"revocation status of '{cert.Subject}' is unknown: {status.Detail}", signingTime, scheme) with { Chain = chainNames };
                    }

                    warnings.Add($"revocation status of '{cert.Subject}' is unknown ({status.Detail}); accepted by configuration");
                    break;
            }
        }

        var ok = Report(si, signer, ReasonCode.Ok, warnings.Count == 0 ? "valid" : "valid; warning: " + string.Join("; ", warnings), signingTime, scheme);
        return ok with { Warnings = warnings, Chain = chainNames };
    }

    private static string ReasonName(int? reason) => reason switch
    {
        null => "no reason given",
        0 => "unspecified",
        1 => "keyCompromise",
        2 => "cACompromise",
        3 => "affiliationChanged",
        4 => "superseded",
        5 => "cessationOfOperation",
        6 => "certificateHold",
        8 => "removeFromCRL",
        9 => "privilegeWithdrawn",
        10 => "aACompromise",
        _ => $"reason {reason}",
    };

    private string? CheckHashPolicy(bool md5, bool sha1, string what, SignaturePolicy policy, DateTimeOffset? signingTime, List<string> warnings)
    {
        if (md5)
        {
            return $"{what} uses MD5, which is never accepted";
        }

        if (!sha1)
        {
            return null;
        }

        if (policy == SignaturePolicy.Archive && Trust.Options.ArchiveSha1AcceptedBefore is { } cutoff)
        {
            if (signingTime is { } st && st < cutoff)
            {
                warnings.Add($"{what} uses SHA-1, accepted for archive because it was signed before {cutoff:u}");
                return null;
            }

            return signingTime is null
                ? $"{what} uses SHA-1 and has no signing time to show it was signed before {cutoff:u}"
                : $"{what} uses SHA-1 and was signed at {signingTime:u}, not before {cutoff:u}";
        }

        return policy == SignaturePolicy.Submission
            ? $"{what} uses SHA-1, which is not accepted for submission"
            : $"{what} uses SHA-1 and no SHA-1 cut-off date is configured for archive";
    }

    private static string? CheckKeyPolicy(CertificateInfo signer, SignatureScheme scheme, SignaturePolicy policy, List<string> warnings)
    {
        var key = signer.Key;
        switch (scheme.Kind)
        {
            case SignatureKind.RsaPkcs1 or SignatureKind.RsaPss when key.Rsa is null:
            case SignatureKind.Ecdsa when key.Ecdsa is null:
                return $"the signature algorithm {scheme.Name} does not fit the signer's {key.Description} key";
            case SignatureKind.Ecdsa:
                var curve = key.Ecdsa!.ExportParameters(false).Curve.Oid.Value;
                return curve is not null && AcceptedCurves.Contains(curve) ? null : $"the elliptic curve {key.Curve} is not accepted";
            default:
                return key.KeySizeBits >= 2048 ? null : RsaSizePolicy(key.KeySizeBits, "the signer's RSA key", policy, warnings);
        }
    }

    private static string? RsaSizePolicy(int bits, string what, SignaturePolicy policy, List<string> warnings)
    {
        if (policy == SignaturePolicy.Archive && bits >= 1024)
        {
            warnings.Add($"{what} has {bits} bits, accepted for archive only");
            return null;
        }

        return $"{what} has {bits} bits; at least 2048 are required";
    }

    private static CertificateInfo? FindSigner(SignerInfoData si, List<CertificateInfo> certificates)
    {
        foreach (var cert in certificates)
        {
            if (si.SidKeyId is { } keyId)
            {
                if (cert.SubjectKeyId is { } ski && ski.AsSpan().SequenceEqual(keyId))
                {
                    return cert;
                }
            }
            else if (cert.SerialHex == si.SidSerialHex
                && (cert.IssuerRaw.Span.SequenceEqual(si.SidIssuer.Span)
                    || string.Equals(cert.Issuer, new X500DistinguishedName(si.SidIssuer.Span).Name, StringComparison.OrdinalIgnoreCase)))
            {
                return cert;
            }
        }

        return null;
    }

    private static SignerReport Report(SignerInfoData si, CertificateInfo? cert, ReasonCode verdict, string detail, DateTimeOffset? signingTime = null, SignatureScheme? scheme = null)
    {
        string subject, issuer, serial;
        if (cert is not null)
        {
            (subject, issuer, serial) = (cert.Subject, cert.Issuer, cert.SerialHex);
        }
        else if (si.SidKeyId is { } keyId)
        {
            (subject, issuer, serial) = ($"subject key identifier {Convert.ToHexStringLower(keyId)}", string.Empty, string.Empty);
        }
        else
        {
            string issuerName;
            try
            {
                issuerName = new X500DistinguishedName(si.SidIssuer.Span).Name;
            }
            catch (CryptographicException)
            {
                issuerName = string.Empty;
            }

            (subject, issuer, serial) = (string.Empty, issuerName, si.SidSerialHex ?? string.Empty);
        }

        return new SignerReport(
            subject,
            issuer,
            serial,
            cert?.Sha256 ?? string.Empty,
            Algorithms.DigestName(si.DigestAlgorithm.Oid),
            scheme?.Name ?? si.SignatureAlgorithm.Oid,
            signingTime,
            verdict,
            detail)
        {
            Certificate = cert?.Certificate,
            KeyDescription = cert?.Key.Description,
            SignatureValueSha256 = Convert.ToHexStringLower(SHA256.HashData(si.Signature)),
        };
    }

    private ChainFacts GetChainFacts(CertificateInfo signer, List<CertificateInfo> supplied, DateTimeOffset now)
    {
        var generation = Trust.Generation;
        if (_chains.TryGetValue(signer.Sha256, out var cached) && cached.Generation == generation && now < cached.ExpiresAt)
        {
            return cached;
        }

        var facts = BuildChainFacts(signer, supplied, now, allowFetch: true);
        if (facts.Generation != Trust.Generation)
        {
            // A CRL was fetched (or added by someone else) while building: build again on the newer store.
            facts = BuildChainFacts(signer, supplied, now, allowFetch: false);
        }

        // A failed chain is not cached: the next CMS may carry the missing intermediate.
        if (facts.Failure is null)
        {
            _chains[signer.Sha256] = facts;
        }

        return facts;
    }

    private ChainFacts BuildChainFacts(CertificateInfo signer, List<CertificateInfo> supplied, DateTimeOffset now, bool allowFetch)
    {
        var store = Trust.Current;
        var builder = new PathBuilder(store, supplied, Trust.Options);
        if (builder.Build(signer) is not { } path)
        {
            return new ChainFacts { Generation = store.Generation, ExpiresAt = now, Chain = [], Failure = $"no chain to a trust anchor: {builder.Failure(signer)}" };
        }

        var usesMd5 = false;
        var usesSha1 = false;
        var minBits = int.MaxValue;
        var weakest = string.Empty;
        for (var i = 0; i + 1 < path.Count; i++)
        {
            var scheme = Algorithms.Resolve(path[i].SignatureAlgorithm, null, out _)!;
            usesMd5 |= scheme.UsesMd5;
            usesSha1 |= scheme.UsesSha1;
            var issuerKey = path[i + 1].Key;
            if (issuerKey.Rsa is not null && issuerKey.KeySizeBits < minBits)
            {
                minBits = issuerKey.KeySizeBits;
                weakest = path[i + 1].Subject;
            }
        }

        var expires = now.AddDays(1);
        var revocation = new List<RevocationStatus>(path.Count - 1);
        var fetched = false;
        for (var i = 0; i + 1 < path.Count; i++)
        {
            var status = CheckRevocation(path[i], path[i + 1], store, now, ref expires);
            if (status.State == RevocationState.Unknown)
            {
                // No usable CRL: an OCSP responder, when one is configured (answers cached until their nextUpdate).
                if (Trust.CheckOcsp(path[i], path[i + 1], now, out var until, out var ocspDetail) is { } answer)
                {
                    status = answer;
                    if (until < expires)
                    {
                        expires = until;
                    }
                }
                else if (ocspDetail.Length > 0)
                {
                    status = status with { Detail = $"{status.Detail}; {ocspDetail}" };
                }
            }

            if (status.State == RevocationState.Unknown && allowFetch)
            {
                if (Trust.TryFetchCrl(path[i], path[i + 1], now, out var fetchDetail))
                {
                    fetched = true;
                }
                else if (fetchDetail.Length > 0)
                {
                    status = status with { Detail = $"{status.Detail}; {fetchDetail}" };
                }
            }

            revocation.Add(status);
        }

        return new ChainFacts
        {
            Generation = fetched ? -1 : store.Generation,
            ExpiresAt = expires,
            Chain = path,
            UsesMd5 = usesMd5,
            UsesSha1 = usesSha1,
            MinCaRsaBits = minBits,
            WeakestCa = weakest,
            Revocation = revocation,
        };
    }

    /// <summary>
    /// The status of <paramref name="cert"/> from every CRL of <paramref name="issuer"/> that is usable: signed by its
    /// key, free of unsupported critical extensions, current, and whose scope covers the certificate (RFC 5280
    /// §6.3.3). Revoked on any of them is revoked; good needs at least one; a CRL that is not usable is no
    /// evidence and only explains an unknown status.
    /// </summary>
    private static RevocationStatus CheckRevocation(CertificateInfo cert, CertificateInfo issuer, TrustStore.Snapshot store, DateTimeOffset now, ref DateTimeOffset expires)
    {
        RevocationList? good = null;
        string? why = null;
        var soonest = expires;
        foreach (var crl in store.CrlsFor(issuer))
        {
            if (crl.Unusable is { } unusable)
            {
                why ??= unusable;
                continue;
            }

            if (!crl.Covers(cert, out var scope))
            {
                why ??= scope;
                continue;
            }

            if (!crl.SignedBy(issuer))
            {
                why ??= $"a CRL naming '{issuer.Subject}' is not signed by its key";
                continue;
            }

            if (crl.NextUpdate is { } next && next <= now)
            {
                why ??= $"the newest CRL from '{issuer.Subject}' expired at {next:u}";
                continue;
            }

            if (crl.Revoked.TryGetValue(cert.SerialHex, out var entry))
            {
                return new RevocationStatus(RevocationState.Revoked, "revoked", entry.RevokedAt, entry.Reason);
            }

            if (crl.NextUpdate is { } until && until < soonest)
            {
                soonest = until;
            }

            good ??= crl;
        }

        if (good is null)
        {
            var retry = now + UnknownRevocationRetry;
            if (retry < expires)
            {
                expires = retry;
            }

            return new RevocationStatus(RevocationState.Unknown, why ?? $"no CRL from '{issuer.Subject}' is loaded");
        }

        expires = soonest;
        return new RevocationStatus(RevocationState.Good, $"not on the CRL of {good.ThisUpdate:u}");
    }
}
