namespace Exchange.Signing.Evidence;

/// <summary>
/// What is wrong with an evidence chain or bundle. The set is closed and each has a stable kebab-case code
/// (<see cref="EvidenceProblem.Code"/>, e.g. <c>record-changed</c>), documented in docs/evidence.md; add new ones at
/// the end, never rename one.
/// </summary>
public enum EvidenceProblemKind
{
    /// <summary>A record's fields no longer hash to the record_hash it was sealed with.</summary>
    RecordChanged,

    /// <summary>A chain index is missing: the record sealed there was deleted.</summary>
    RecordRemoved,

    /// <summary>A record sits where another was sealed, and the records after it moved up: one was inserted.</summary>
    RecordInserted,

    /// <summary>Records were sealed at other chain indexes than they now hold, without one being added or removed.</summary>
    RecordReordered,

    /// <summary>A record is dated well before a record that precedes it in the chain: added later, back-dated.</summary>
    RecordOutOfOrder,

    /// <summary>A record's prev_hash is not the hash of the record before it (one of the two was rewritten).</summary>
    LinkBroken,

    /// <summary>A stored record cannot be read as a sealed record at all (missing hashes, NULLs, bad values).</summary>
    RecordMalformed,

    /// <summary>A signed checkpoint commits to another hash than the chain now has at its index: records were
    /// rewritten and re-hashed.</summary>
    CheckpointMismatch,

    /// <summary>A checkpoint's CMS signature does not verify against the trust anchor.</summary>
    CheckpointSignature,

    /// <summary>A checkpoint is validly signed, but not by the hub's sealing certificate (or not by the certificate
    /// stored beside it).</summary>
    CheckpointSigner,

    /// <summary>The bundle is not a readable zip, or an entry name is unsafe or repeated.</summary>
    BundleUnreadable,

    /// <summary>The bundle exceeds a size or count limit (zip bomb guard).</summary>
    LimitExceeded,

    /// <summary>manifest.json is missing, not valid, or not in its canonical form.</summary>
    ManifestInvalid,

    /// <summary>A file's SHA-256 or size differs from what the manifest lists.</summary>
    FileDigestMismatch,

    /// <summary>A file the manifest lists, or the bundle's layout requires, is absent.</summary>
    FileMissing,

    /// <summary>A file that the manifest does not list or the layout does not know.</summary>
    FileUnexpected,

    /// <summary>A file cannot be read as what its name says (record, checkpoint, view, certificate, CRL).</summary>
    FileInvalid,

    /// <summary>The package is not the one the sealed evidence names (SHA-256 differs).</summary>
    PackageDigest,

    /// <summary>The package's CMS signature does not verify, for an envelope the hub accepted.</summary>
    PackageSignature,

    /// <summary>A delivery receipt's CMS signature does not verify.</summary>
    ReceiptSignature,

    /// <summary>A receipt names another envelope, package or recipient than the bundle's evidence.</summary>
    ReceiptMismatch,

    /// <summary>envelope.json disagrees with the package, the receipts or the sealed evidence.</summary>
    EnvelopeMismatch,

    /// <summary>Evidence that must be present is not: a sealed record of the envelope left out, a receipt for a
    /// consignment missing.</summary>
    EvidenceIncomplete,

    /// <summary>A record in the bundle is not linked to a signed checkpoint.</summary>
    ChainUncovered,

    /// <summary>A signed checkpoint kept outside the hub (a gateway's, a timestamped one) is for an index beyond the
    /// chain's end: the newest records were removed with their checkpoints (issue #16 item 12).</summary>
    ChainTruncated,

    /// <summary>An RFC 3161 timestamp token of a checkpoint does not verify: not a token, not over the checkpoint's
    /// signature, or not signed by a trusted timestamp authority.</summary>
    TimestampInvalid,

    /// <summary>A bundle does not prove that it holds all of an envelope's records up to its newest checkpoint: the
    /// envelope's heads proof is missing, malformed, or does not lead to the checkpoint's envelope_heads_root.</summary>
    HeadsUnproven,

    /// <summary>A signed checkpoint kept outside the hub is newer than the checkpoint a bundle proves its envelopes up
    /// to: records sealed in between may be left out (export the bundle again).</summary>
    OlderThanAnchor,
}

/// <summary>One problem, with the record (chain index, evidence id) or file it is about, and a reason for people.</summary>
public sealed record EvidenceProblem(EvidenceProblemKind Kind, string Reason, long? ChainIndex = null, Guid? EvidenceId = null, string? File = null)
{
    /// <summary>The stable string form, e.g. <c>record-changed</c>.</summary>
    public string Code => ToCode(Kind);

    public static string ToCode(EvidenceProblemKind kind)
    {
        var name = kind.ToString();
        var text = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                text.Append('-');
            }

            text.Append(char.ToLowerInvariant(name[i]));
        }

        return text.ToString();
    }

    public override string ToString()
    {
        var where = ChainIndex is { } index
            ? $" at chain index {index}{(EvidenceId is { } id ? $" (evidence {id})" : string.Empty)}"
            : File is not null ? $" in {File}" : string.Empty;
        return $"{Code}{where}: {Reason}";
    }
}
