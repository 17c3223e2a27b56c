using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;

namespace Exchange.Signing.Evidence;

/// <summary>The verdict on one checkpoint's RFC 3161 timestamp token.</summary>
/// <param name="Problem">Null when the token is valid for the checkpoint's signature and its TSA chains to an anchor.</param>
public sealed record TimestampCheck(string? Problem, DateTimeOffset? GenTime, string? Authority)
{
    public bool Valid => Problem is null;
}

/// <summary>
/// RFC 3161 timestamps of evidence checkpoints (issue #16 item 12). The message imprint is the SHA-256 of the
/// checkpoint's detached CMS signature (RFC 5652) — what RFC 3161 Appendix A does for a signature — so a token proves
/// that the hub's signed checkpoint existed at the authority's time, from a party the hub's owner does not control.
/// </summary>
public static class CheckpointTimestamps
{
    /// <summary>id-kp-timeStamping (RFC 3161 §2.3).</summary>
    public const string TimeStampingOid = "1.3.6.1.5.5.7.3.8";

    /// <summary>Asks the authority at <paramref name="url"/> for a token over <paramref name="checkpointSignature"/>
    /// (TimeStampReq over HTTP, RFC 3161 §3.4, with a nonce and the TSA's certificate requested) and returns the
    /// token's DER once the response verifies against the request (status, imprint, nonce).</summary>
    public static async Task<byte[]> RequestAsync(HttpClient http, Uri url, byte[] checkpointSignature, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        var request = Rfc3161TimestampRequest.CreateFromData(checkpointSignature, HashAlgorithmName.SHA256,
            nonce: RandomNumberGenerator.GetBytes(16), requestSignerCertificates: true);
        using var content = new ByteArrayContent(request.Encode());
        content.Headers.ContentType = new MediaTypeHeaderValue("application/timestamp-query");
        using var response = await http.PostAsync(url, content, cancellationToken);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        var token = request.ProcessResponse(body, out _);
        return token.AsSignedCms().Encode();
    }

    /// <summary>
    /// Checks a token against the checkpoint signature it stamps: the imprint, the TSA's signature and its
    /// signing-certificate attribute (RFC 3161 §2.4.1, RFC 5816), then the TSA certificate's chain to one of
    /// <paramref name="anchors"/> at the token's time with id-kp-timeStamping. Revocation of the TSA certificate is
    /// not checked here (the dev PKI's CRLs cover agencies; a production TSA's status belongs to its own policy).
    /// </summary>
    public static TimestampCheck Verify(byte[] token, byte[] checkpointSignature, IReadOnlyList<X509Certificate2> anchors, IReadOnlyList<X509Certificate2>? intermediates = null)
    {
        ArgumentNullException.ThrowIfNull(token);
        ArgumentNullException.ThrowIfNull(anchors);
        if (!Rfc3161TimestampToken.TryDecode(token, out var decoded, out var read) || read != token.Length)
        {
            return new("not an RFC 3161 timestamp token", null, null);
        }

        var genTime = decoded!.TokenInfo.Timestamp;
        if (decoded.TokenInfo.HashAlgorithmId.Value != "2.16.840.1.101.3.4.2.1")
        {
            return new($"its message imprint uses {decoded.TokenInfo.HashAlgorithmId.Value}, not SHA-256", genTime, null);
        }

        var candidates = new X509Certificate2Collection();
        candidates.AddRange(intermediates?.ToArray() ?? []);
        if (!decoded.VerifySignatureForData(checkpointSignature, out var tsa, candidates) || tsa is null)
        {
            return new("it is not over this checkpoint's signature, or its signature does not verify", genTime, null);
        }

        using (tsa)
        {
            var usage = tsa.Extensions.OfType<X509EnhancedKeyUsageExtension>().SingleOrDefault();
            if (usage is null || !usage.Critical || usage.EnhancedKeyUsages.Count != 1 || usage.EnhancedKeyUsages[0].Value != TimeStampingOid)
            {
                return new($"'{tsa.Subject}' is not a timestamp authority (RFC 3161 §2.3: extended key usage id-kp-timeStamping only, critical)", genTime, tsa.Subject);
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(anchors.ToArray());
            chain.ChainPolicy.ExtraStore.AddRange(decoded.AsSignedCms().Certificates);
            chain.ChainPolicy.ExtraStore.AddRange(candidates);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.VerificationTime = genTime.UtcDateTime;
            chain.ChainPolicy.VerificationTimeIgnored = false;
            chain.ChainPolicy.ApplicationPolicy.Add(new Oid(TimeStampingOid));
            if (!chain.Build(tsa))
            {
                var status = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0));
                return new($"the timestamp authority '{tsa.Subject}' does not chain to a trust anchor: {status}", genTime, tsa.Subject);
            }

            return new(null, genTime, tsa.Subject);
        }
    }
}
