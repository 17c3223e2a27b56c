using Exchange.Core;

namespace Exchange.Signing.Evidence;

/// <summary>Settings of a chain walk.</summary>
public sealed record ChainVerifierOptions
{
    /// <summary>A record dated more than this before a record that precedes it in the chain is out of order.
    /// Legitimate records may be a little out of time order (several routers, transactions committing in another
    /// order than they were stamped); a back-dated insertion is usually far more.</summary>
    public TimeSpan OutOfOrderTolerance { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Problems kept in the report; the walk goes on and counts the rest.</summary>
    public int MaxProblems { get; init; } = 100;

    /// <summary>How far (in chain indexes) to look for the index a changed record was sealed at, to tell a moved
    /// record (insertion, removal with renumbering, reordering) from an edited one.</summary>
    public int MoveSearchDistance { get; init; } = 8;

    /// <summary>Signed checkpoints kept outside the hub (a gateway's, an exported one with its RFC 3161 timestamp):
    /// one for an index beyond the chain's end, or committing to another hash than the chain has at its index, shows
    /// that the newest records were removed with their checkpoints, which the hub's own data cannot show (issue #16
    /// item 12).</summary>
    public IReadOnlyList<ChainAnchor> Anchors { get; init; } = [];

    /// <summary>Trust anchors (and intermediates) for the timestamp authorities of anchors' RFC 3161 tokens; empty:
    /// tokens are not checked (a warning says so).</summary>
    public IReadOnlyList<System.Security.Cryptography.X509Certificates.X509Certificate2> TimestampAnchors { get; init; } = [];

    public IReadOnlyList<System.Security.Cryptography.X509Certificates.X509Certificate2> TimestampIntermediates { get; init; } = [];
}

/// <summary>The newest checkpoint with a valid RFC 3161 timestamp among the anchors: when the authority saw it.</summary>
public sealed record TimestampReport(long ChainIndex, DateTimeOffset GenTime, string Authority, string Source);

/// <summary>The result of walking a chain.</summary>
/// <param name="LastCheckpointIndex">The newest checkpoint (0 when none).</param>
/// <param name="Unsealed">Records stored but not sealed into the chain yet (normal for the newest; not an error).</param>
/// <param name="CheckpointSigners">Subject and SHA-256 of every certificate that signed a valid checkpoint.</param>
public sealed record ChainReport(
    long Records,
    long Checkpoints,
    long LastChainIndex,
    long LastCheckpointIndex,
    long Unsealed,
    IReadOnlyList<EvidenceProblem> Problems,
    long ProblemCount,
    IReadOnlyList<string> Warnings,
    IReadOnlyList<string> CheckpointSigners,
    int AnchorsChecked = 0,
    TimestampReport? NewestTimestamp = null)
{
    public bool Intact => ProblemCount == 0;

    /// <summary>The first problem in chain order: the first record changed, removed or inserted.</summary>
    public EvidenceProblem? FirstProblem => Problems.Count > 0 ? Problems[0] : null;

    /// <summary>Sealed records after the newest checkpoint: chained, but not yet signed.</summary>
    public long UncoveredRecords => Math.Max(0, LastChainIndex - LastCheckpointIndex);
}

/// <summary>
/// Walks a hash chain of evidence in chain_index order, one entry at a time (memory does not grow with the chain),
/// and names the first record that was changed, removed or inserted out of order. For each record: its chain index
/// follows the previous one; its fields hash to its stored record_hash; its prev_hash is the previous record's
/// hash; it is not dated far before the records preceding it. For each checkpoint: its signature (see
/// <see cref="CheckpointVerifier"/>) and that it commits to the hash the chain has at its index. A record whose
/// hash fails is re-hashed at nearby indexes to tell a moved record from an edited one. See docs/evidence.md.
/// </summary>
public sealed class EvidenceChainVerifier
{
    private readonly CheckpointVerifier _checkpoints;
    private readonly ChainVerifierOptions _options;
    private readonly List<EvidenceProblem> _problems = [];
    private readonly HashSet<string> _warnings = new(StringComparer.Ordinal);
    private readonly SortedSet<string> _signers = new(StringComparer.Ordinal);
    private readonly Dictionary<long, Guid> _recent = [];

    private long _problemCount;
    private long _records;
    private long _checkpointCount;
    private long _lastIndex;
    private string? _lastHash = EvidenceChain.GenesisHash;
    private Guid? _lastEvidence;
    private bool _skipNextLink;
    private long _lastCheckpointIndex;
    private (long Index, Guid? Evidence)? _firstSinceCheckpoint;
    private (DateTimeOffset At, long Index, Guid Evidence)? _latest;
    private (long Index, Guid Evidence, long SealedAs)? _pendingMove;
    private long? _moveOffset;

    // Anchors whose signature verifies, by the chain index they commit to; a forged one proves nothing.
    // Every envelope's newest record so far, by bucket, to check envelope links and recompute each checkpoint's
    // envelope_heads_root (EnvelopeHeads). Memory grows with the number of envelopes (about 200 bytes each).
    private readonly Dictionary<Guid, string> _envelopeHeads = [];
    private readonly Dictionary<int, List<Guid>> _bucketMembers = [];
    private readonly HashSet<int> _dirtyBuckets = [];
    private readonly EnvelopeHeadTree _headTree = new();
    private long _headsRootsUnchecked;

    private readonly SortedDictionary<long, List<ChainAnchor>> _anchors = [];
    private int _anchorsChecked;
    private TimestampReport? _newestTimestamp;

    public EvidenceChainVerifier(CheckpointVerifier checkpoints, ChainVerifierOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        _checkpoints = checkpoints;
        _options = options ?? new ChainVerifierOptions();
        foreach (var anchor in _options.Anchors)
        {
            AddAnchor(anchor);
        }
    }

    /// <summary>An anchor counts only when it is signed like the chain's own checkpoints (the pinned sealing
    /// certificate, RFC 5652 over the canonical bytes): anyone can write a checkpoint file.</summary>
    private void AddAnchor(ChainAnchor anchor)
    {
        var check = _checkpoints.Verify(anchor.Checkpoint);
        if (check.Problem is { } problem)
        {
            Problem(problem with { Reason = $"the anchor kept by {anchor.Source}: {problem.Reason}", File = anchor.Source });
            return;
        }

        _anchorsChecked++;
        var index = anchor.Checkpoint.Checkpoint.ChainIndex;
        if (anchor.TimestampToken is { } token)
        {
            CheckTimestamp(anchor, token, index);
        }

        if (!_anchors.TryGetValue(index, out var list))
        {
            _anchors[index] = list = [];
        }

        list.Add(anchor);
    }

    /// <summary>An anchor's RFC 3161 token must stamp its checkpoint's signature, signed by a timestamp authority
    /// that chains to the configured anchors (RFC 3161 §2.3, RFC 5816). The anchor's hub signature already counts
    /// without it; a bad token is reported, never silently dropped.</summary>
    private void CheckTimestamp(ChainAnchor anchor, byte[] token, long index)
    {
        if (_options.TimestampAnchors.Count == 0)
        {
            _warnings.Add($"the timestamp of checkpoint {index} kept by {anchor.Source} is not checked: no trust anchor for timestamp authorities");
            return;
        }

        var check = CheckpointTimestamps.Verify(token, anchor.Checkpoint.Signature, _options.TimestampAnchors, _options.TimestampIntermediates);
        if (!check.Valid)
        {
            Problem(new EvidenceProblem(EvidenceProblemKind.TimestampInvalid,
                $"the RFC 3161 timestamp of checkpoint {index} kept by {anchor.Source}: {check.Problem}", null, null, anchor.Source));
            return;
        }

        if (_newestTimestamp is null || index > _newestTimestamp.ChainIndex)
        {
            _newestTimestamp = new TimestampReport(index, check.GenTime!.Value, check.Authority!, anchor.Source);
        }
    }

    /// <summary>The chain's record at an anchor's index must be the one the anchor signed.</summary>
    private void CheckAnchors(long index, string storedHash, Guid evidence)
    {
        if (!_anchors.TryGetValue(index, out var anchors))
        {
            return;
        }

        foreach (var anchor in anchors.Where(a => a.Checkpoint.Checkpoint.RecordHash != storedHash))
        {
            var checkpoint = anchor.Checkpoint.Checkpoint;
            Problem(EvidenceProblemKind.CheckpointMismatch,
                $"the checkpoint {index} kept by {anchor.Source} (sealed at {EvidenceChain.FormatTime(checkpoint.SealedAt)}) commits to record_hash {checkpoint.RecordHash}, but record {index} now has {storedHash}: the chain up to index {index} was rewritten after that checkpoint was shown outside the hub",
                index, evidence);
        }
    }

    /// <summary>Walks <paramref name="entries"/> (in chain_index order) and reports; progress counts entries.</summary>
    public static async Task<ChainReport> VerifyAsync(
        IAsyncEnumerable<ChainEntry> entries, CheckpointVerifier checkpoints, ChainVerifierOptions? options = null,
        long unsealed = 0, IProgress<long>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(entries);
        var verifier = new EvidenceChainVerifier(checkpoints, options);
        long seen = 0;
        await foreach (var entry in entries.WithCancellation(cancellationToken))
        {
            verifier.Add(entry);
            if (++seen % 10_000 == 0)
            {
                progress?.Report(seen);
            }
        }

        progress?.Report(seen);
        return verifier.Complete(unsealed);
    }

    /// <summary>The next entry of the chain; entries must come in increasing chain_index order.</summary>
    public void Add(ChainEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var index = entry.ChainIndex;
        if (entry.Record is null && entry.Malformed is null)
        {
            if (entry.Checkpoint is not null)
            {
                OrphanCheckpoint(entry.Checkpoint);
            }

            return;
        }

        _records++;
        if (index <= _lastIndex)
        {
            Problem(EvidenceProblemKind.RecordReordered, $"chain index {index} comes after index {_lastIndex}: the chain is not in order", index, entry.Record?.Record.EvidenceId);
            return;
        }

        if (index != _lastIndex + 1)
        {
            FlushPendingMove();
            var range = index - _lastIndex == 2 ? $"record {_lastIndex + 1} is" : $"records {_lastIndex + 1}..{index - 1} are";
            Problem(EvidenceProblemKind.RecordRemoved,
                $"{range} missing: the chain jumps from index {_lastIndex}{Evidence(_lastEvidence)} to index {index}{Evidence(entry.Record?.Record.EvidenceId)}; removed",
                _lastIndex + 1);
            _skipNextLink = true;
        }

        if (entry.Malformed is not null || entry.Record is null)
        {
            FlushPendingMove();
            Problem(EvidenceProblemKind.RecordMalformed, entry.Malformed ?? "unreadable record", index);
            Advance(index, null, null);
            if (entry.Checkpoint is not null)
            {
                CheckCheckpoint(entry.Checkpoint, null, null);
            }

            return;
        }

        var sealedRecord = entry.Record;
        var record = sealedRecord.Record;
        string? recomputed;
        try
        {
            recomputed = EvidenceChain.Hash(record);
        }
        catch (ArgumentException e)
        {
            FlushPendingMove();
            Problem(EvidenceProblemKind.RecordMalformed, $"the record cannot be put in canonical form: {e.Message}", index, record.EvidenceId);
            Advance(index, EvidenceChain.IsHash(sealedRecord.RecordHash) ? sealedRecord.RecordHash : null, record.EvidenceId);
            return;
        }

        var changed = recomputed != sealedRecord.RecordHash;
        var moved = changed && CheckChanged(sealedRecord, index, recomputed);
        if (!changed)
        {
            FlushPendingMove();
            _moveOffset = null;
        }

        if (!changed && !_skipNextLink && _lastHash is not null && record.PrevHash != _lastHash)
        {
            Problem(EvidenceProblemKind.LinkBroken, index == 1
                ? $"record 1{Evidence(record.EvidenceId)} names prev_hash {record.PrevHash}, not the genesis hash (64 zeros): the start of the chain was removed or rewritten"
                : $"record {index}{Evidence(record.EvidenceId)} names prev_hash {record.PrevHash}, but record {_lastIndex} hashes to {_lastHash}: record {_lastIndex} was rewritten with a recomputed hash (or record {index}'s link was)",
                index == 1 ? 1 : _lastIndex, index == 1 ? record.EvidenceId : _lastEvidence);
        }

        if (_latest is { } latest && record.IssuedAt < latest.At - _options.OutOfOrderTolerance)
        {
            Problem(EvidenceProblemKind.RecordOutOfOrder,
                $"it is dated {EvidenceChain.FormatTime(record.IssuedAt)}, {(latest.At - record.IssuedAt).TotalMinutes:0} min before record {latest.Index} (evidence {latest.Evidence}, {EvidenceChain.FormatTime(latest.At)}) which precedes it in the chain: inserted later with a back-dated time (or a router's clock was wrong)",
                index, record.EvidenceId);
        }

        if (_latest is null || record.IssuedAt > _latest.Value.At)
        {
            _latest = (record.IssuedAt, index, record.EvidenceId);
        }

        _skipNextLink = moved;
        var hash = EvidenceChain.IsHash(sealedRecord.RecordHash) ? sealedRecord.RecordHash : recomputed;
        FollowEnvelope(record, hash);
        Advance(index, hash, record.EvidenceId);
        CheckAnchors(index, sealedRecord.RecordHash, record.EvidenceId);
        if (entry.Checkpoint is not null)
        {
            // A record sealed at another index is not the one this checkpoint signed: that is already the problem.
            CheckCheckpoint(entry.Checkpoint, moved ? null : sealedRecord.RecordHash, record.EvidenceId);
        }
    }

    /// <summary>The report, after the last entry.</summary>
    public ChainReport Complete(long unsealed = 0)
    {
        FlushPendingMove();

        // Anchors beyond the chain's end: the records they sign existed and are gone, with their checkpoints.
        foreach (var (index, anchors) in _anchors.Where(a => a.Key > _lastIndex))
        {
            var anchor = anchors.OrderBy(a => a.Checkpoint.Checkpoint.SealedAt).First();
            var range = index == _lastIndex + 1 ? $"record {index} is" : $"records {_lastIndex + 1}..{index} are";
            Problem(EvidenceProblemKind.ChainTruncated,
                $"{range} missing: the chain ends at index {_lastIndex}, but {anchor.Source} holds checkpoint {index} signed by the hub at {EvidenceChain.FormatTime(anchor.Checkpoint.Checkpoint.SealedAt)}: the newest records were removed together with their checkpoints",
                _lastIndex + 1);
            break;
        }

        var warnings = new List<string>(_warnings);
        if (_records > 0 && _checkpointCount == 0)
        {
            warnings.Add("the chain has no signed checkpoint: nothing proves it was not rewritten as a whole (is Router:SealPkcs12Path set?)");
        }
        else if (_lastIndex > _lastCheckpointIndex)
        {
            warnings.Add($"{_lastIndex - _lastCheckpointIndex} record(s) after the newest checkpoint (index {_lastCheckpointIndex}) are chained but not signed yet");
        }

        if (_headsRootsUnchecked > 0)
        {
            warnings.Add($"the envelope_heads_root of {_headsRootsUnchecked} checkpoint(s) after the first problem was not checked");
        }

        if (!_checkpoints.Pinned && _signers.Count > 0)
        {
            warnings.Add($"checkpoint signers not pinned (pass --hub-certificate to require the hub's sealing certificate): {string.Join("; ", _signers)}");
        }

        return new ChainReport(_records, _checkpointCount, _lastIndex, _lastCheckpointIndex, unsealed, _problems.ToList(), _problemCount, warnings, _signers.ToList(), _anchorsChecked, _newestTimestamp);
    }

    /// <summary>A record whose fields do not hash to its stored hash: edited, or sealed at another index (then
    /// true).</summary>
    private bool CheckChanged(SealedEvidence sealedRecord, long index, string recomputed)
    {
        var record = sealedRecord.Record;
        var sealedAs = FindSealedIndex(record, sealedRecord.RecordHash);
        if (sealedAs is null)
        {
            FlushPendingMove();
            _moveOffset = null;
            Problem(EvidenceProblemKind.RecordChanged,
                $"its fields hash to {recomputed}, but it was sealed with record_hash {sealedRecord.RecordHash}: changed after sealing ({record.Kind}, envelope {record.EnvelopeId})",
                index, record.EvidenceId);
            return false;
        }

        var offset = index - sealedAs.Value;
        if (sealedAs < index)
        {
            if (_pendingMove is { } pending && pending.SealedAs == index && pending.Index == sealedAs)
            {
                _pendingMove = null;
                Problem(EvidenceProblemKind.RecordReordered,
                    $"records were swapped: record {pending.Evidence} sealed at index {pending.SealedAs} now sits at {pending.Index}, and record {record.EvidenceId} sealed at {sealedAs} now sits at {index}",
                    pending.Index, pending.Evidence);
                _moveOffset = null;
                return true;
            }

            FlushPendingMove();
            if (_moveOffset != offset)
            {
                _moveOffset = offset;
                var first = sealedAs.Value;
                Problem(EvidenceProblemKind.RecordInserted,
                    $"record {record.EvidenceId} at index {index} was sealed at index {sealedAs}: {offset} record(s) were inserted before it, the first at index {first}{Evidence(_recent.TryGetValue(first, out var inserted) ? inserted : null)}",
                    first, _recent.TryGetValue(first, out var id) ? id : null);
            }

            return true;
        }

        // Sealed at a later index: the record sealed here was removed (and the rest renumbered), or records were
        // swapped; the next record tells which.
        FlushPendingMove();
        if (_moveOffset != offset)
        {
            _pendingMove = (index, record.EvidenceId, sealedAs.Value);
        }

        return true;
    }

    private void FlushPendingMove()
    {
        if (_pendingMove is not { } pending)
        {
            return;
        }

        _pendingMove = null;
        _moveOffset = pending.Index - pending.SealedAs;
        Problem(EvidenceProblemKind.RecordRemoved,
            $"the record sealed at index {pending.Index} was removed and the records after it renumbered: record {pending.Evidence} now at index {pending.Index} was sealed at {pending.SealedAs}",
            pending.Index);
    }

    private long? FindSealedIndex(EvidenceRecord record, string storedHash)
    {
        for (var distance = 1; distance <= _options.MoveSearchDistance; distance++)
        {
            foreach (var candidate in new[] { record.ChainIndex - distance, record.ChainIndex + distance })
            {
                if (candidate >= 1 && candidate <= EvidenceChain.MaxChainIndex
                    && EvidenceChain.Hash(record with { ChainIndex = candidate }) == storedHash)
                {
                    return candidate;
                }
            }
        }

        return null;
    }

    private void CheckCheckpoint(SignedCheckpoint checkpoint, string? storedHash, Guid? evidence)
    {
        var index = checkpoint.Checkpoint.ChainIndex;
        var check = Signature(checkpoint);
        if (storedHash is not null && checkpoint.Checkpoint.RecordHash != storedHash)
        {
            var (from, fromEvidence) = _firstSinceCheckpoint ?? (index, evidence);
            Problem(EvidenceProblemKind.CheckpointMismatch,
                $"signed checkpoint {index} (sealed at {EvidenceChain.FormatTime(checkpoint.Checkpoint.SealedAt)}) commits to record_hash {checkpoint.Checkpoint.RecordHash}, but record {index}{Evidence(evidence)} now has {storedHash}: records {from}..{index} were rewritten and re-hashed after sealing",
                from, fromEvidence);
        }
        else if (check.Valid)
        {
            CheckEnvelopeHeadsRoot(checkpoint.Checkpoint, recordReadable: storedHash is not null);
            _lastCheckpointIndex = index;
            if (storedHash is null)
            {
                // The record here is unreadable, but the signed hash still lets the next link be checked.
                _lastHash = checkpoint.Checkpoint.RecordHash;
            }
        }

        _firstSinceCheckpoint = null;
    }

    /// <summary>
    /// A format 2 record names its envelope's previous record_hash (64 zeros for the first): in the whole chain that must
    /// be the envelope's newest record before it, or a record of the envelope was removed or its link rewritten.
    /// </summary>
    private void FollowEnvelope(EvidenceRecord record, string recordHash)
    {
        var envelope = record.EnvelopeId;
        var previous = _envelopeHeads.GetValueOrDefault(envelope, EvidenceChain.GenesisHash);
        if (record.EnvelopePrevHash is { } named && named != previous)
        {
            Problem(EvidenceProblemKind.LinkBroken,
                $"record {record.ChainIndex}{Evidence(record.EvidenceId)} names envelope_prev_hash {named}, but envelope {envelope}'s record before it in the chain hashes to {previous}: a record of the envelope was removed, or a link rewritten",
                record.ChainIndex, record.EvidenceId);
        }

        if (!_envelopeHeads.ContainsKey(envelope))
        {
            var bucket = EnvelopeHeads.BucketOf(envelope);
            if (!_bucketMembers.TryGetValue(bucket, out var members))
            {
                _bucketMembers[bucket] = members = [];
            }

            members.Add(envelope);
        }

        _envelopeHeads[envelope] = recordHash;
        _dirtyBuckets.Add(EnvelopeHeads.BucketOf(envelope));
    }

    /// <summary>
    /// A format 2 checkpoint's envelope_heads_root must be the root over every envelope's newest record up to it. Once the
    /// walk has found a problem, which envelope's newest record is where is no longer known (a record is gone, moved or
    /// unreadable), so later roots are not checked: the first problem is the finding, and the report says so.
    /// </summary>
    private void CheckEnvelopeHeadsRoot(EvidenceCheckpoint checkpoint, bool recordReadable)
    {
        if (checkpoint.EnvelopeHeadsRoot is null)
        {
            return;
        }

        if (_problemCount > 0 || !recordReadable || _pendingMove is not null)
        {
            _headsRootsUnchecked++;
            return;
        }

        foreach (var bucket in _dirtyBuckets)
        {
            _headTree.SetBucket(bucket, EnvelopeHeads.BucketHash(_bucketMembers[bucket].Select(id => new EnvelopeHead(id, _envelopeHeads[id]))));
        }

        _dirtyBuckets.Clear();
        var root = _headTree.Root;
        if (root != checkpoint.EnvelopeHeadsRoot)
        {
            Problem(EvidenceProblemKind.CheckpointMismatch,
                $"signed checkpoint {checkpoint.ChainIndex} commits to envelope_heads_root {checkpoint.EnvelopeHeadsRoot}, but the envelopes' newest records up to it give {root}: the commitment is false, or records were changed",
                checkpoint.ChainIndex);
        }
    }

    /// <summary>A checkpoint with no record at its index: the records it signs were removed.</summary>
    private void OrphanCheckpoint(SignedCheckpoint checkpoint)
    {
        var index = checkpoint.Checkpoint.ChainIndex;
        FlushPendingMove();
        var check = Signature(checkpoint);
        var range = index == _lastIndex + 1 ? $"record {index} is" : $"records {_lastIndex + 1}..{index} are";
        Problem(EvidenceProblemKind.RecordRemoved,
            $"{range} missing, yet checkpoint {index} (sealed at {EvidenceChain.FormatTime(checkpoint.Checkpoint.SealedAt)}) signs the chain up to index {index}: removed",
            _lastIndex + 1);

        // The signed hash stands in for the missing record, so the record after it is still checked against it.
        _lastIndex = index;
        _lastHash = check.Valid ? checkpoint.Checkpoint.RecordHash : null;
        _lastEvidence = null;
        _skipNextLink = !check.Valid;
        if (check.Valid)
        {
            _lastCheckpointIndex = index;
        }

        _firstSinceCheckpoint = null;
    }

    private CheckpointCheck Signature(SignedCheckpoint checkpoint)
    {
        _checkpointCount++;
        var check = _checkpoints.Verify(checkpoint);
        if (check.Problem is not null)
        {
            Problem(check.Problem);
        }

        if (check.Signer is { } signer && check.Valid)
        {
            _signers.Add($"{signer.Subject} (sha256 {signer.CertificateSha256})");
        }

        foreach (var warning in check.Warnings)
        {
            _warnings.Add($"checkpoint signature: {warning}");
        }

        return check;
    }

    private void Advance(long index, string? hash, Guid? evidence)
    {
        _lastIndex = index;
        _lastHash = hash;
        _lastEvidence = evidence;
        _firstSinceCheckpoint ??= (index, evidence);
        if (evidence is { } id)
        {
            _recent[index] = id;
            _recent.Remove(index - _options.MoveSearchDistance - 1);
        }
    }

    private void Problem(EvidenceProblemKind kind, string reason, long? index = null, Guid? evidence = null) =>
        Problem(new EvidenceProblem(kind, reason, index, evidence));

    private void Problem(EvidenceProblem problem)
    {
        _problemCount++;
        if (_problems.Count < _options.MaxProblems)
        {
            _problems.Add(problem);
        }
    }

    private static string Evidence(Guid? id) => id is { } value ? $" (evidence {value})" : string.Empty;
}
