using System.Security.Cryptography.X509Certificates;
using Exchange.Core;

namespace Exchange.Signing;

/// <summary>
/// The outcome of verifying a CMS SignedData. <see cref="Reason"/> is <see cref="ReasonCode.Ok"/> when at least one
/// signer is valid; otherwise it is the verdict of the first signer that failed (or of the message as a whole when
/// it could not be read).
/// </summary>
public sealed record VerificationResult(ReasonCode Reason, string Detail, IReadOnlyList<SignerReport> Signers)
{
    public bool Valid => Reason == ReasonCode.Ok;

    public IEnumerable<SignerReport> ValidSigners => Signers.Where(s => s.Verdict == ReasonCode.Ok);

    /// <summary>The encapsulated content, for <see cref="SignatureVerifier.VerifyAttached"/>.</summary>
    public byte[]? Content { get; init; }

    /// <summary>The eContentType of the SignedData (id-data for ordinary documents), when it could be read.</summary>
    public string? ContentType { get; init; }
}

/// <summary>One SignerInfo and its own verdict.</summary>
/// <param name="CertificateSha256">Lowercase hex SHA-256 of the signer certificate's DER: the key a directory binds to an agency.</param>
/// <param name="DigestAlgorithm">e.g. <c>SHA-256</c>.</param>
/// <param name="SignatureAlgorithm">e.g. <c>sha256WithRSAEncryption</c>, <c>RSASSA-PSS with SHA-256</c>, <c>ecdsa-with-SHA384</c>.</param>
/// <param name="SigningTime">The signing-time signed attribute (claimed by the signer; not a time-stamp).</param>
public sealed record SignerReport(
    string Subject,
    string Issuer,
    string SerialNumber,
    string CertificateSha256,
    string DigestAlgorithm,
    string SignatureAlgorithm,
    DateTimeOffset? SigningTime,
    ReasonCode Verdict,
    string Detail)
{
    public bool Valid => Verdict == ReasonCode.Ok;

    /// <summary>Things accepted but worth telling an auditor (unknown revocation accepted, SHA-1 under archive policy,
    /// certificate expired since signing). Also appended to <see cref="Detail"/>.</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>The signer certificate, when found.</summary>
    public X509Certificate2? Certificate { get; init; }

    /// <summary>The key, e.g. <c>RSA 2048</c> or <c>EC nistP256</c>.</summary>
    public string? KeyDescription { get; init; }

    /// <summary>Subjects from the signer up to the trust anchor, when a chain was built.</summary>
    public IReadOnlyList<string> Chain { get; init; } = [];

    /// <summary>
    /// Lowercase hex SHA-256 of the SignerInfo's signature value (RFC 5652 §5.3). Unlike a digest of the whole CMS it
    /// does not change when the CMS around it is re-encoded or stripped of other signers, so it identifies one act of
    /// signing: the hub refuses a value it has seen on another submission as a replay.
    /// </summary>
    public string SignatureValueSha256 { get; init; } = string.Empty;
}
