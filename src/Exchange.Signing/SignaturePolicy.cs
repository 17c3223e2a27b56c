namespace Exchange.Signing;

/// <summary>Which algorithm policy applies (see docs/signatures.md).</summary>
public enum SignaturePolicy
{
    /// <summary>A document arriving now: SHA-256 or stronger, RSA ≥ 2048 bits or ECDSA P-256/P-384/P-521.</summary>
    Submission,

    /// <summary>A stored document re-checked later: may accept SHA-1 for signatures made before
    /// <see cref="TrustOptions.ArchiveSha1AcceptedBefore"/>, with a warning.</summary>
    Archive,
}
