using Exchange.Core;
using Exchange.Signing;

namespace Exchange.Audit.Tests.Support;

/// <summary>Builds a sealed evidence chain in memory, the way the hub's sealer does, for tests to verify and tamper with.</summary>
internal sealed class ChainBuilder
{
    /// <summary>A minute ago: signing times must fall within the test PKI's certificates, which start 5 minutes
    /// before they are made, and must not be in the future.</summary>
    private static readonly DateTimeOffset Start = EvidenceChain.Normalize(DateTimeOffset.UtcNow.AddMinutes(-1));

    public List<SealedEvidence> Records { get; } = [];

    public List<SignedCheckpoint> Checkpoints { get; } = [];

    public long Head => Records.Count == 0 ? 0 : Records[^1].Record.ChainIndex;

    public string HeadHash => Records.Count == 0 ? EvidenceChain.GenesisHash : Records[^1].RecordHash;

    /// <summary>An unsealed record; time advances a millisecond per record.</summary>
    public static EvidenceRecord Unsealed(
        EvidenceKind kind, Guid envelopeId, string? recipient = null, string? packageSha256 = null, string detail = "Kiểm thử", DateTimeOffset? at = null, string reason = "ok")
    {
        var time = at ?? Start;
        return new EvidenceRecord(Guid.CreateVersion7(time), kind.ToString(), envelopeId, recipient, reason, detail, packageSha256, "exchange-hub", time, 1, EvidenceChain.GenesisHash);
    }

    public SealedEvidence Append(EvidenceRecord unsealed)
    {
        var record = unsealed.IssuedAt == Start ? unsealed with { IssuedAt = Start.AddMilliseconds(Head) } : unsealed;
        // As the sealer does: each record also links to its envelope's previous one (format 2).
        var envelopePrev = Records.LastOrDefault(r => r.Record.EnvelopeId == record.EnvelopeId)?.RecordHash ?? EvidenceChain.GenesisHash;
        var sealedRecord = EvidenceChain.Seal(record, Head + 1, HeadHash, envelopePrev);
        Records.Add(sealedRecord);
        return sealedRecord;
    }

    /// <summary>Appends <paramref name="count"/> records of other envelopes (the traffic between ours).</summary>
    public void AppendOthers(int count)
    {
        for (var i = 0; i < count; i++)
        {
            Append(Unsealed(EvidenceKind.SubmissionAcceptance, Guid.CreateVersion7(), packageSha256: Digests.Sha256Hex([(byte)i])));
        }
    }

    /// <summary>A checkpoint at the head; of format 2 (committing to every envelope's newest record) as the sealer writes them.</summary>
    public SignedCheckpoint Checkpoint(CmsSigner signer, bool withEnvelopeHeads = true)
    {
        var root = withEnvelopeHeads ? EnvelopeHeads.Root(BucketHashes(Head)) : null;
        var checkpoint = new EvidenceCheckpoint(Head, HeadHash, EvidenceChain.Normalize(Start.AddMilliseconds(Head + 0.5)), root);
        var signed = new SignedCheckpoint(checkpoint, signer.SignDetached(EvidenceChain.Canonical(checkpoint), checkpoint.SealedAt), signer.Certificate.RawData);
        Checkpoints.Add(signed);
        return signed;
    }

    /// <summary>The proof of <paramref name="envelopeId"/>'s newest record as of checkpoint <paramref name="checkpointIndex"/>.</summary>
    public EnvelopeHeadProof HeadProof(Guid envelopeId, long checkpointIndex)
    {
        var bucket = EnvelopeHeads.BucketOf(envelopeId);
        var entries = Heads(checkpointIndex).Where(h => EnvelopeHeads.BucketOf(h.EnvelopeId) == bucket).ToList();
        return new EnvelopeHeadProof(envelopeId, checkpointIndex, bucket, entries, EnvelopeHeads.Path(BucketHashes(checkpointIndex), bucket));
    }

    /// <summary>Each envelope's newest record up to <paramref name="upTo"/>.</summary>
    private IEnumerable<EnvelopeHead> Heads(long upTo) => Records.Where(r => r.Record.ChainIndex <= upTo)
        .GroupBy(r => r.Record.EnvelopeId).Select(g => new EnvelopeHead(g.Key, g.MaxBy(r => r.Record.ChainIndex)!.RecordHash));

    private Dictionary<int, byte[]> BucketHashes(long upTo) =>
        Heads(upTo).GroupBy(h => EnvelopeHeads.BucketOf(h.EnvelopeId)).ToDictionary(g => g.Key, g => EnvelopeHeads.BucketHash(g));

    /// <summary>The chain as a store streams it: records and checkpoints merged by chain index.</summary>
    public static List<ChainEntry> Entries(IEnumerable<SealedEvidence> records, IEnumerable<SignedCheckpoint> checkpoints)
    {
        var byIndex = new SortedDictionary<long, ChainEntry>();
        foreach (var r in records)
        {
            byIndex[r.Record.ChainIndex] = new ChainEntry(r.Record.ChainIndex, r, null);
        }

        foreach (var c in checkpoints)
        {
            var index = c.Checkpoint.ChainIndex;
            byIndex[index] = byIndex.TryGetValue(index, out var entry) ? entry with { Checkpoint = c } : new ChainEntry(index, null, c);
        }

        return byIndex.Values.ToList();
    }

    public List<ChainEntry> Entries() => Entries(Records, Checkpoints);
}
