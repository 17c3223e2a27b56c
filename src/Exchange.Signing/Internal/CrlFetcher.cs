using System.Collections.Concurrent;

namespace Exchange.Signing.Internal;

/// <summary>
/// Downloads CRLs from http(s) CRL distribution points (RFC 5280 §4.2.1.13). A CRL is only kept when its
/// signature checks out against the issuing CA; failures are remembered for a while so a dead distribution
/// point is not hammered once per document.
/// </summary>
internal sealed class CrlFetcher(TrustOptions options)
{
    private static readonly TimeSpan RetryAfterFailure = TimeSpan.FromMinutes(5);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _failedUntil = new(StringComparer.Ordinal);
    private readonly HttpClient _http = new() { Timeout = options.CrlFetchTimeout };

    public RevocationList? Fetch(CertificateInfo certificate, CertificateInfo issuer, DateTimeOffset now, out string detail)
    {
        detail = certificate.CrlDistributionPoints.Count == 0 ? "the certificate names no http(s) CRL distribution point" : string.Empty;
        foreach (var uri in certificate.CrlDistributionPoints)
        {
            if (_failedUntil.TryGetValue(uri, out var until) && until > now)
            {
                detail = $"CRL download from {uri} failed recently";
                continue;
            }

            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, uri);
                using var response = _http.Send(request, HttpCompletionOption.ResponseHeadersRead);
                response.EnsureSuccessStatusCode();
                using var body = response.Content.ReadAsStream();
                using var buffer = new MemoryStream();
                var chunk = new byte[81920];
                int read;
                while ((read = body.Read(chunk, 0, chunk.Length)) > 0)
                {
                    buffer.Write(chunk, 0, read);
                    if (buffer.Length > options.MaxCrlBytes)
                    {
                        throw new InvalidDataException($"CRL at {uri} is larger than {options.MaxCrlBytes} bytes");
                    }
                }

                var crl = RevocationList.Load(buffer.ToArray()).FirstOrDefault()
                    ?? throw new InvalidDataException($"no CRL at {uri}");
                if (!crl.IsFor(issuer) || !crl.SignedBy(issuer))
                {
                    throw new InvalidDataException($"CRL at {uri} is not signed by {issuer.Subject}");
                }

                return crl;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException or InvalidDataException
                or System.Security.Cryptography.CryptographicException or System.Formats.Asn1.AsnContentException)
            {
                _failedUntil[uri] = now + RetryAfterFailure;
                detail = $"CRL download from {uri} failed: {e.Message}";
            }
        }

        return null;
    }
}
