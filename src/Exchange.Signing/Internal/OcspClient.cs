using System.Collections.Concurrent;
using System.Security.Cryptography;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Ocsp;
using Org.BouncyCastle.Asn1.Oiw;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Ocsp;
using Org.BouncyCastle.Security;
using BcBigInteger = Org.BouncyCastle.Math.BigInteger;
using BcCertificate = Org.BouncyCastle.X509.X509Certificate;

namespace Exchange.Signing.Internal;

/// <summary>
/// Asks an OCSP responder (RFC 6960) about one certificate when no usable CRL covers it. BouncyCastle builds the
/// request and reads the response; the response must be signed by the issuing CA itself or by a responder
/// certificate that CA issued for OCSP signing (id-kp-OCSPSigning, RFC 6960 §4.2.2.2), must echo the nonce sent
/// (unless <see cref="TrustOptions.OcspRequireNonce"/> is off), must not be past its nextUpdate, and without a
/// nextUpdate must not be older than <see cref="TrustOptions.OcspMaxAgeWithoutNextUpdate"/>. Answers are cached per certificate until their
/// nextUpdate (5 minutes when the responder gives none); a failing responder is retried after 5 minutes.
/// </summary>
internal sealed class OcspClient(TrustOptions options)
{
    private const string OcspSigningEku = "1.3.6.1.5.5.7.3.9";
    private static readonly TimeSpan Retry = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan Skew = TimeSpan.FromMinutes(5);

    private readonly ConcurrentDictionary<string, (RevocationStatus Status, DateTimeOffset Until)> _answers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _failedUntil = new(StringComparer.Ordinal);
    private readonly HttpClient _http = new() { Timeout = options.CrlFetchTimeout };

    /// <summary>A definite answer (good or revoked) with how long it holds, or null with why not.</summary>
    public RevocationStatus? Check(CertificateInfo certificate, CertificateInfo issuer, DateTimeOffset now, out DateTimeOffset until, out string detail)
    {
        until = now;
        detail = string.Empty;
        if (_answers.TryGetValue(certificate.Sha256, out var cached) && cached.Until > now)
        {
            until = cached.Until;
            return cached.Status;
        }

        var urls = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.OcspResponderUrl))
        {
            urls.Add(options.OcspResponderUrl);
        }

        if (options.OcspFromCertificates)
        {
            urls.AddRange(certificate.OcspUrls);
        }

        if (urls.Count == 0)
        {
            return null;
        }

        foreach (var url in urls.Distinct(StringComparer.Ordinal))
        {
            if (_failedUntil.TryGetValue(url, out var failed) && failed > now)
            {
                detail = $"OCSP responder {url} failed recently";
                continue;
            }

            try
            {
                var status = Ask(url, certificate, issuer, now, out until);
                _answers[certificate.Sha256] = (status, until);
                return status;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or OcspException
                or InvalidDataException or ArgumentException or SecurityUtilityException or Org.BouncyCastle.Security.Certificates.CertificateException
                or Asn1Exception or CryptographicException)
            {
                _failedUntil[url] = now + Retry;
                detail = $"OCSP responder {url}: {e.Message}";
            }
        }

        return null;
    }

    private RevocationStatus Ask(string url, CertificateInfo certificate, CertificateInfo issuer, DateTimeOffset now, out DateTimeOffset until)
    {
        var parser = new Org.BouncyCastle.X509.X509CertificateParser();
        var bcIssuer = parser.ReadCertificate(issuer.Der);
        var id = new CertificateID(new AlgorithmIdentifier(OiwObjectIdentifiers.IdSha1, DerNull.Instance), bcIssuer, new BcBigInteger(1, certificate.SerialRaw.ToArray()));
        var nonce = RandomNumberGenerator.GetBytes(16);
        var generator = new OcspReqGenerator();
        generator.AddRequest(id);
        generator.SetRequestExtensions(new X509Extensions(
            new Dictionary<DerObjectIdentifier, X509Extension>
            {
                [OcspObjectIdentifiers.PkixOcspNonce] = new(false, new DerOctetString(new DerOctetString(nonce))),
            }));
        var request = generator.Generate().GetEncoded();

        using var content = new ByteArrayContent(request);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/ocsp-request");
        using var message = new HttpRequestMessage(HttpMethod.Post, url) { Content = content };
        using var response = _http.Send(message);
        response.EnsureSuccessStatusCode();
        using var body = response.Content.ReadAsStream();
        using var buffer = new MemoryStream();
        body.CopyTo(buffer);
        if (buffer.Length > options.MaxCrlBytes)
        {
            throw new InvalidDataException("the OCSP response is too large");
        }

        var ocsp = new OcspResp(buffer.ToArray());
        if (ocsp.Status != OcspRespStatus.Successful)
        {
            throw new InvalidDataException($"responder status {ocsp.Status} (RFC 6960 §4.2.1)");
        }

        if (ocsp.GetResponseObject() is not BasicOcspResp basic)
        {
            throw new InvalidDataException("not a basic OCSP response");
        }

        if (!SignedByIssuerOrDelegate(basic, bcIssuer, now))
        {
            throw new InvalidDataException($"the response is not signed by '{issuer.Subject}' or a responder it authorised");
        }

        var echoed = basic.ResponseExtensions?.GetExtension(OcspObjectIdentifiers.PkixOcspNonce);
        if (echoed is null && options.OcspRequireNonce)
        {
            // RFC 6960 §4.4.1: the nonce binds the answer to this request; without it the answer may be a replay.
            throw new InvalidDataException("the response does not echo the request's nonce (RFC 6960 §4.4.1)");
        }

        if (echoed is not null)
        {
            var value = Asn1Object.FromByteArray(echoed.Value.GetOctets());
            if (value is not Asn1OctetString octets || !octets.GetOctets().AsSpan().SequenceEqual(nonce))
            {
                throw new InvalidDataException("the response carries another request's nonce");
            }
        }

        var single = basic.Responses.FirstOrDefault(r => r.GetCertID().Equals(id))
            ?? throw new InvalidDataException("the response does not cover the certificate asked about");
        var thisUpdate = new DateTimeOffset(DateTime.SpecifyKind(single.ThisUpdate, DateTimeKind.Utc));
        if (thisUpdate > now + Skew)
        {
            throw new InvalidDataException($"the response's thisUpdate {thisUpdate:u} is in the future");
        }

        until = now + Retry;
        if (single.NextUpdate is { } next)
        {
            var nextUpdate = new DateTimeOffset(DateTime.SpecifyKind(next, DateTimeKind.Utc));
            if (nextUpdate <= now)
            {
                throw new InvalidDataException($"the response expired at {nextUpdate:u}");
            }

            until = nextUpdate;
        }
        else if (thisUpdate + options.OcspMaxAgeWithoutNextUpdate < now)
        {
            // RFC 6960 §4.2.2.1: no nextUpdate means newer information is always available; an old answer without
            // one says nothing about now.
            throw new InvalidDataException($"the response has no nextUpdate and its thisUpdate {thisUpdate:u} is older than {options.OcspMaxAgeWithoutNextUpdate}");
        }
        else if (thisUpdate + options.OcspMaxAgeWithoutNextUpdate < until)
        {
            until = thisUpdate + options.OcspMaxAgeWithoutNextUpdate;
        }

        return single.GetCertStatus() switch
        {
            null => new RevocationStatus(RevocationState.Good, $"OCSP {url}: good at {thisUpdate:u}"),
            RevokedStatus revoked => new RevocationStatus(
                RevocationState.Revoked,
                $"OCSP {url}: revoked",
                new DateTimeOffset(DateTime.SpecifyKind(revoked.RevocationTime, DateTimeKind.Utc)),
                revoked.HasRevocationReason ? revoked.RevocationReason : null),
            _ => throw new InvalidDataException("the responder does not know the certificate"),
        };
    }

    private static bool SignedByIssuerOrDelegate(BasicOcspResp basic, BcCertificate issuer, DateTimeOffset now)
    {
        if (basic.Verify(issuer.GetPublicKey()))
        {
            return true;
        }

        foreach (var responder in basic.GetCerts())
        {
            try
            {
                responder.Verify(issuer.GetPublicKey());
            }
            catch (Exception e) when (e is InvalidKeyException or SignatureException or Org.BouncyCastle.Security.Certificates.CertificateException)
            {
                continue;
            }

            var usages = responder.GetExtendedKeyUsage();
            var authorised = usages is not null && usages.Cast<object>().Any(u => u.ToString() == OcspSigningEku);
            if (authorised && responder.IsValid(now.UtcDateTime) && basic.Verify(responder.GetPublicKey()))
            {
                return true;
            }
        }

        return false;
    }
}
