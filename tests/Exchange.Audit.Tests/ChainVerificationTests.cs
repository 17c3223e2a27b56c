using Exchange.Audit.Tests.Support;
using Exchange.Core;
using Exchange.Signing;
using Exchange.Signing.Evidence;

namespace Exchange.Audit.Tests;

/// <summary>
/// The chain walk names the first record changed, removed or inserted out of order. Each tamper test: 1. the
/// untouched chain verifies; 2. one change, as someone with write access to the database would make it; 3. the
/// walk fails for the right reason and names the right record.
/// </summary>
[TestFixture]
public sealed class ChainVerificationTests
{
    private static CmsSigner _hub = null!;

    [OneTimeSetUp]
    public void LoadHubSigner() => _hub = TestPki.Pki.HubSigner();

    [OneTimeTearDown]
    public void DisposeHubSigner() => _hub.Dispose();

    /// <summary>20 records with checkpoints every 5.</summary>
    private static ChainBuilder Chain()
    {
        var chain = new ChainBuilder();
        for (var i = 1; i <= 20; i++)
        {
            chain.Append(ChainBuilder.Unsealed(EvidenceKind.SubmissionAcceptance, Guid.CreateVersion7(), packageSha256: Digests.Sha256Hex([(byte)i]), detail: $"record {i}"));
            if (i % 5 == 0)
            {
                chain.Checkpoint(_hub);
            }
        }

        return chain;
    }

    private static CheckpointVerifier Checkpoints(params string[] pinned) =>
        new(TestPki.Verifier(), pinned.Length > 0 ? pinned : [_hub.CertificateSha256]);

    private static ChainReport Walk(IEnumerable<ChainEntry> entries, CheckpointVerifier? checkpoints = null)
    {
        var verifier = new EvidenceChainVerifier(checkpoints ?? Checkpoints());
        foreach (var entry in entries)
        {
            verifier.Add(entry);
        }

        return verifier.Complete();
    }

    /// <summary>Rewrites the records from <paramref name="from"/> on with freshly computed links and hashes, as an
    /// attacker who knows the format (but not the hub's key) would.</summary>
    private static List<SealedEvidence> Rehash(List<SealedEvidence> records, int from)
    {
        var result = records.Take(from - 1).ToList();
        var prev = from == 1 ? EvidenceChain.GenesisHash : result[^1].RecordHash;
        for (var i = from - 1; i < records.Count; i++)
        {
            var resealed = EvidenceChain.Seal(records[i].Record, i + 1, prev);
            result.Add(resealed);
            prev = resealed.RecordHash;
        }

        return result;
    }

    [Test]
    public void Untouched_chain_is_intact()
    {
        var chain = Chain();

        var report = Walk(chain.Entries());

        Assert.That(report.Intact, Is.True, string.Join("; ", report.Problems));
        Assert.That(report.Records, Is.EqualTo(20));
        Assert.That(report.Checkpoints, Is.EqualTo(4));
        Assert.That(report.LastCheckpointIndex, Is.EqualTo(20));
        Assert.That(report.Warnings, Is.Empty);
    }

    [Test]
    public void Names_a_record_whose_detail_was_edited()
    {
        var chain = Chain();
        var target = chain.Records[6];
        chain.Records[6] = target with { Record = target.Record with { Detail = "Đã sửa" } };

        var report = Walk(chain.Entries());

        Assert.That(report.Intact, Is.False);
        Assert.That(report.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.RecordChanged));
        Assert.That(report.FirstProblem.ChainIndex, Is.EqualTo(7));
        Assert.That(report.FirstProblem.EvidenceId, Is.EqualTo(target.Record.EvidenceId));
        Assert.That(report.ProblemCount, Is.EqualTo(1), string.Join("; ", report.Problems));
    }

    [Test]
    public void Names_a_record_whose_time_was_edited()
    {
        var chain = Chain();
        var target = chain.Records[2];
        chain.Records[2] = target with { Record = target.Record with { IssuedAt = target.Record.IssuedAt.AddDays(-1) } };

        var report = Walk(chain.Entries());

        Assert.That(report.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.RecordChanged));
        Assert.That(report.FirstProblem.ChainIndex, Is.EqualTo(3));
    }

    [Test]
    public void Names_a_deleted_record()
    {
        var chain = Chain();
        chain.Records.RemoveAt(6);

        var report = Walk(chain.Entries());

        Assert.That(report.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.RecordRemoved));
        Assert.That(report.FirstProblem.ChainIndex, Is.EqualTo(7));
        Assert.That(report.ProblemCount, Is.EqualTo(1), string.Join("; ", report.Problems));
    }

    [Test]
    public void Names_a_deleted_record_when_the_later_ones_were_renumbered()
    {
        var chain = Chain();
        chain.Records.RemoveAt(6);
        var renumbered = chain.Records.Select((r, i) => r with { Record = r.Record with { ChainIndex = i + 1 } }).ToList();

        var report = Walk(ChainBuilder.Entries(renumbered, chain.Checkpoints));

        Assert.That(report.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.RecordRemoved), string.Join("; ", report.Problems));
        Assert.That(report.FirstProblem.ChainIndex, Is.EqualTo(7));
    }

    [Test]
    public void Names_the_first_of_the_tail_records_removed_under_a_checkpoint()
    {
        var chain = Chain();
        chain.Records.RemoveRange(18, 2);

        var report = Walk(chain.Entries());

        Assert.That(report.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.RecordRemoved));
        Assert.That(report.FirstProblem.ChainIndex, Is.EqualTo(19));
        Assert.That(report.FirstProblem.Reason, Does.Contain("checkpoint 20"));
    }

    [Test]
    public void Names_a_record_inserted_with_the_later_ones_renumbered()
    {
        var chain = Chain();
        // A forged consignment slipped in at index 7, correctly linked to record 6; records 7.. moved up by one.
        var forged = EvidenceChain.Seal(
            ChainBuilder.Unsealed(EvidenceKind.ContentConsignment, chain.Records[3].Record.EnvelopeId, "000.01.21.H29", at: chain.Records[5].Record.IssuedAt),
            7, chain.Records[5].RecordHash);
        var tampered = chain.Records.Take(6).Append(forged)
            .Concat(chain.Records.Skip(6).Select(r => r with { Record = r.Record with { ChainIndex = r.Record.ChainIndex + 1 } }))
            .ToList();

        var report = Walk(ChainBuilder.Entries(tampered, chain.Checkpoints));

        Assert.That(report.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.RecordInserted), string.Join("; ", report.Problems));
        Assert.That(report.FirstProblem.ChainIndex, Is.EqualTo(7));
        Assert.That(report.FirstProblem.EvidenceId, Is.EqualTo(forged.Record.EvidenceId));
    }

    [Test]
    public void Names_records_swapped_in_order()
    {
        var chain = Chain();
        var (a, b) = (chain.Records[6], chain.Records[7]);
        chain.Records[6] = b with { Record = b.Record with { ChainIndex = 7 } };
        chain.Records[7] = a with { Record = a.Record with { ChainIndex = 8 } };

        var report = Walk(chain.Entries());

        Assert.That(report.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.RecordReordered), string.Join("; ", report.Problems));
        Assert.That(report.FirstProblem.ChainIndex, Is.EqualTo(7));
        Assert.That(report.FirstProblem.EvidenceId, Is.EqualTo(b.Record.EvidenceId));
    }

    [Test]
    public void Names_records_swapped_across_a_checkpoint_as_reordered()
    {
        var chain = Chain();
        var (a, b) = (chain.Records[9], chain.Records[10]);
        chain.Records[9] = b with { Record = b.Record with { ChainIndex = 10 } };
        chain.Records[10] = a with { Record = a.Record with { ChainIndex = 11 } };

        var report = Walk(chain.Entries());

        Assert.That(report.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.RecordReordered), string.Join("; ", report.Problems));
        Assert.That(report.FirstProblem.ChainIndex, Is.EqualTo(10));
        Assert.That(report.ProblemCount, Is.EqualTo(1), string.Join("; ", report.Problems));
    }

    [Test]
    public void Names_a_back_dated_record_appended_later()
    {
        var chain = Chain();
        // Sealed normally (the sealer cannot know), but dated a day before the records it follows.
        chain.Append(ChainBuilder.Unsealed(EvidenceKind.ContentConsignment, chain.Records[0].Record.EnvelopeId, "000.01.21.H29",
            at: chain.Records[0].Record.IssuedAt.AddDays(-1)));

        var report = Walk(chain.Entries());

        Assert.That(report.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.RecordOutOfOrder));
        Assert.That(report.FirstProblem.ChainIndex, Is.EqualTo(21));
    }

    [Test]
    public void Names_a_record_rewritten_with_its_own_hash_recomputed()
    {
        var chain = Chain();
        var target = chain.Records[6];
        chain.Records[6] = EvidenceChain.Seal(target.Record with { Reason = "signature-invalid" }, 7, target.Record.PrevHash);

        var report = Walk(chain.Entries());

        Assert.That(report.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.LinkBroken));
        Assert.That(report.FirstProblem.ChainIndex, Is.EqualTo(7));
        Assert.That(report.FirstProblem.EvidenceId, Is.EqualTo(target.Record.EvidenceId));
    }

    [Test]
    public void Finds_a_rewrite_of_the_whole_rest_of_the_chain_at_the_next_signed_checkpoint()
    {
        var chain = Chain();
        var target = chain.Records[6];
        chain.Records[6] = target with { Record = target.Record with { Detail = "Đã sửa" } };
        var rewritten = Rehash(chain.Records, from: 7);

        var report = Walk(ChainBuilder.Entries(rewritten, chain.Checkpoints));

        // Every link holds; only the hub's signature at checkpoint 10 can tell, and it narrows the change to 6..10.
        Assert.That(report.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.CheckpointMismatch));
        Assert.That(report.FirstProblem.ChainIndex, Is.EqualTo(6));
        Assert.That(report.FirstProblem.Reason, Does.Contain("6..10"));
    }

    [Test]
    public void Refuses_a_checkpoint_whose_signature_was_altered()
    {
        var chain = Chain();
        var checkpoint = chain.Checkpoints[1];
        var signature = checkpoint.Signature.ToArray();
        signature[^10] ^= 0x01;
        chain.Checkpoints[1] = checkpoint with { Signature = signature };

        var report = Walk(chain.Entries());

        Assert.That(report.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.CheckpointSignature));
        Assert.That(report.FirstProblem.ChainIndex, Is.EqualTo(10));
    }

    [Test]
    public void Refuses_a_checkpoint_signed_by_an_agency_rather_than_the_hub()
    {
        var chain = Chain();
        using var agency = TestPki.Pki.AgencySigner(TestPki.Sender);
        var checkpoint = chain.Checkpoints[0].Checkpoint;
        chain.Checkpoints[0] = new SignedCheckpoint(checkpoint, agency.SignDetached(EvidenceChain.Canonical(checkpoint)), agency.Certificate.RawData);

        var report = Walk(chain.Entries());

        Assert.That(report.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.CheckpointSigner));
        Assert.That(report.FirstProblem.ChainIndex, Is.EqualTo(5));
    }

    [Test]
    public void Warns_when_signers_are_not_pinned()
    {
        var report = Walk(Chain().Entries(), new CheckpointVerifier(TestPki.Verifier()));

        Assert.That(report.Intact, Is.True);
        Assert.That(report.Warnings, Has.Some.Contains("not pinned"));
    }

    [Test]
    public void Reports_a_stored_row_that_is_not_a_sealed_record()
    {
        var entries = Chain().Entries();
        entries[3] = new ChainEntry(4, null, null, "record (evidence x) has chain_index 4 but no prev_hash");

        var report = Walk(entries);

        Assert.That(report.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.RecordMalformed));
        Assert.That(report.FirstProblem.ChainIndex, Is.EqualTo(4));
        Assert.That(report.ProblemCount, Is.EqualTo(1), string.Join("; ", report.Problems));
    }

    [Test]
    public void Warns_when_the_chain_has_no_checkpoint()
    {
        var chain = Chain();

        var report = Walk(ChainBuilder.Entries(chain.Records, []));

        Assert.That(report.Intact, Is.True);
        Assert.That(report.Warnings, Has.Some.Contains("no signed checkpoint"));
    }

    [Test]
    public void Counts_records_after_the_newest_checkpoint_as_uncovered()
    {
        var chain = Chain();
        chain.AppendOthers(3);

        var report = Walk(chain.Entries());

        Assert.That(report.Intact, Is.True);
        Assert.That(report.UncoveredRecords, Is.EqualTo(3));
    }

    [Test]
    public async Task Walks_a_long_chain_streaming()
    {
        var chain = new ChainBuilder();
        for (var i = 0; i < 20; i++)
        {
            chain.AppendOthers(1000);
            chain.Checkpoint(_hub);
        }

        var progress = new List<long>();
        var report = await EvidenceChainVerifier.VerifyAsync(Stream(chain.Entries()), Checkpoints(), progress: new Inline(progress.Add));

        Assert.That(report.Intact, Is.True);
        Assert.That(report.Records, Is.EqualTo(20_000));
        Assert.That(progress, Has.Count.GreaterThanOrEqualTo(2));

        static async IAsyncEnumerable<ChainEntry> Stream(IEnumerable<ChainEntry> entries)
        {
            foreach (var entry in entries)
            {
                await Task.Yield();
                yield return entry;
            }
        }
    }

    [Test]
    public void A_checkpoint_that_misstates_an_envelopes_newest_record_is_named()
    {
        // 1. It works: every checkpoint of Chain() commits to the envelopes' newest records (Untouched_chain_is_intact).
        // 2. The attack: the hub signs a checkpoint whose envelope_heads_root leaves out the newest record (as a hub
        //    would that wants later bundles to hide it).
        var chain = Chain();
        var honest = chain.Checkpoints[^1].Checkpoint;
        var forged = honest with { EnvelopeHeadsRoot = new string('0', 64) };
        chain.Checkpoints[^1] = new SignedCheckpoint(forged, _hub.SignDetached(EvidenceChain.Canonical(forged), forged.SealedAt), _hub.Certificate.RawData);

        var report = Walk(chain.Entries());

        // 3. The walk recomputes the root from the chain and names the checkpoint.
        Assert.That(report.ProblemCount, Is.EqualTo(1), string.Join("; ", report.Problems));
        Assert.That(report.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.CheckpointMismatch));
        Assert.That((report.FirstProblem.ChainIndex, report.FirstProblem.Reason), Is.EqualTo((20L, report.FirstProblem.Reason)));
        Assert.That(report.FirstProblem.Reason, Does.Contain("envelope_heads_root"));
    }

    [Test]
    public void A_record_sealed_past_its_envelopes_previous_record_is_named()
    {
        // 1. It works: an envelope's second record links to its first.
        var envelope = Guid.CreateVersion7();
        var chain = new ChainBuilder();
        chain.Append(ChainBuilder.Unsealed(EvidenceKind.SubmissionAcceptance, envelope, packageSha256: Digests.Sha256Hex([1])));
        chain.AppendOthers(2);
        // 2. The attack: the second record names the genesis hash, as if the first were not the envelope's.
        var unsealed = ChainBuilder.Unsealed(EvidenceKind.ContentConsignment, envelope, "000.00.01.H29", Digests.Sha256Hex([1]));
        chain.Records.Add(EvidenceChain.Seal(unsealed with { IssuedAt = chain.Records[^1].Record.IssuedAt }, chain.Head + 1, chain.HeadHash, EvidenceChain.GenesisHash));
        chain.Checkpoint(_hub);

        var report = Walk(chain.Entries());

        // 3. Named at the record whose envelope link is wrong.
        Assert.That(report.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.LinkBroken), string.Join("; ", report.Problems));
        Assert.That(report.FirstProblem.ChainIndex, Is.EqualTo(4));
        Assert.That(report.FirstProblem.Reason, Does.Contain("envelope_prev_hash"));
    }

    private sealed class Inline(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
