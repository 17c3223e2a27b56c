namespace Exchange.Signing.Internal;

internal enum RevocationState
{
    Good,
    Revoked,
    Unknown,
}

internal readonly record struct RevocationStatus(RevocationState State, string Detail, DateTimeOffset? RevokedAt = null, int? Reason = null);

/// <summary>
/// What does not change between documents signed with one certificate: the chain to an anchor, the algorithms
/// used along it, and the revocation status of each certificate. Cached by the signer certificate's SHA-256,
/// until the trust store changes (a CRL added) or the earliest nextUpdate of the CRLs used passes.
/// </summary>
internal sealed class ChainFacts
{
    public required long Generation { get; init; }
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>Signer first, trust anchor last; empty when no chain was built.</summary>
    public required IReadOnlyList<CertificateInfo> Chain { get; init; }

    /// <summary>Why no chain to an anchor could be built, or null.</summary>
    public string? Failure { get; init; }

    public bool UsesMd5 { get; init; }
    public bool UsesSha1 { get; init; }

    /// <summary>The smallest RSA key among the CA certificates of the chain (the signer's own key is checked apart).</summary>
    public int MinCaRsaBits { get; init; } = int.MaxValue;

    public string WeakestCa { get; init; } = string.Empty;

    /// <summary>One per certificate below the anchor, in chain order.</summary>
    public IReadOnlyList<RevocationStatus> Revocation { get; init; } = [];
}
