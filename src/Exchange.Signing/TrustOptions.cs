namespace Exchange.Signing;

/// <summary>Trust settings, bound from the configuration section <see cref="SectionName"/>.</summary>
public sealed class TrustOptions
{
    public const string SectionName = "Trust";

    /// <summary>Trust anchor certificates (PEM, possibly several per file, or DER).</summary>
    public List<string> TrustAnchorFiles { get; set; } = [];

    /// <summary>Optional extra CA certificates used to build chains when a CMS does not carry them.</summary>
    public List<string> IntermediateFiles { get; set; } = [];

    /// <summary>CRLs (PEM or DER).</summary>
    public List<string> CrlFiles { get; set; } = [];

    /// <summary>When no usable CRL is known for a certificate: false (the default) refuses with
    /// <c>revocation-unknown</c>; true accepts with a warning in the signer's detail.</summary>
    public bool AcceptUnknownRevocation { get; set; }

    /// <summary>Under <see cref="SignaturePolicy.Archive"/>, SHA-1 is accepted (with a warning) for signatures whose
    /// signing time is before this instant. Null: SHA-1 is never accepted.</summary>
    public DateTimeOffset? ArchiveSha1AcceptedBefore { get; set; }

    /// <summary>Fetch CRLs over http(s) from the certificates' CRL distribution points when no fresh CRL is loaded
    /// (cached until the CRL's nextUpdate). Off by default.</summary>
    public bool FetchCrlDistributionPoints { get; set; }

    /// <summary>An OCSP responder (RFC 6960) asked about any certificate that no usable CRL covers. Null: none.</summary>
    public string? OcspResponderUrl { get; set; }

    /// <summary>Also ask the OCSP responders named in the certificates' authorityInfoAccess. Off by default.</summary>
    public bool OcspFromCertificates { get; set; }

    /// <summary>Refuse an OCSP answer that does not echo the nonce sent with the request (RFC 6960 §4.4.1, RFC 8954):
    /// without it a recorded "good" answer can be replayed until its nextUpdate. On by default; turn off only for a
    /// responder that serves pre-produced answers, which then rely on <see cref="OcspMaxAgeWithoutNextUpdate"/> and
    /// their nextUpdate.</summary>
    public bool OcspRequireNonce { get; set; } = true;

    /// <summary>Oldest OCSP answer accepted when it gives no nextUpdate, counted from its thisUpdate (RFC 6960
    /// §4.2.2.1: without nextUpdate, newer information is always available, so the answer's age must be bounded
    /// locally).</summary>
    public TimeSpan OcspMaxAgeWithoutNextUpdate { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Time allowed for one CRL download or OCSP request.</summary>
    public TimeSpan CrlFetchTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest CRL accepted from a distribution point.</summary>
    public int MaxCrlBytes { get; set; } = 20 * 1024 * 1024;

    /// <summary>Longest certification path, signer and anchor included (RFC 5280 §6.1 puts no bound; the
    /// national PKI's paths have three certificates).</summary>
    public int MaxPathLength { get; set; } = 8;

    /// <summary>Most candidate issuers one path search may examine before it stops and refuses the chain with
    /// <c>untrusted-chain</c>: the certificates in a CMS are the sender's choice, and loops of certificates issuing
    /// each other would otherwise make the search exponential (RFC 4158 §2.4.2).</summary>
    public int MaxPathCandidates { get; set; } = 64;

    /// <summary>Most certificate signatures one path search may check (each (certificate, issuer) pair is checked
    /// once) before it stops and refuses the chain with <c>untrusted-chain</c>.</summary>
    public int MaxPathSignatureChecks { get; set; } = 32;
}
