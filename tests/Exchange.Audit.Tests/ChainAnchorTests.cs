using Exchange.Audit.Tests.Support;
using Exchange.Core;
using Exchange.Signing;
using Exchange.Signing.Evidence;

namespace Exchange.Audit.Tests;

/// <summary>
/// Anchors of the chain kept outside the hub (issue #16 item 12): a signed checkpoint a gateway or an auditor holds
/// shows a chain whose newest records were removed with their checkpoints, or cut and grown again, which the hub's own
/// data cannot show. Each test: 1. the untouched chain verifies with the anchor; 2. the change an owner of the hub
/// (who holds its sealing key) could make; 3. the walk fails for the right reason.
/// </summary>
[TestFixture]
public sealed class ChainAnchorTests
{
    private static CmsSigner _hub = null!;

    [OneTimeSetUp]
    public void LoadHubSigner() => _hub = TestPki.Pki.HubSigner();

    [OneTimeTearDown]
    public void DisposeHubSigner() => _hub.Dispose();

    private static ChainBuilder Chain(int records, ChainBuilder? from = null, int keep = 0)
    {
        var chain = new ChainBuilder();
        for (var i = 1; i <= records; i++)
        {
            chain.Append(i <= keep
                ? from!.Records[i - 1].Record
                : ChainBuilder.Unsealed(EvidenceKind.SubmissionAcceptance, Guid.CreateVersion7(), packageSha256: Digests.Sha256Hex([(byte)i]), detail: $"record {i}"));
            if (i % 5 == 0)
            {
                chain.Checkpoint(_hub);
            }
        }

        return chain;
    }

    private static ChainReport Walk(IEnumerable<ChainEntry> entries, params ChainAnchor[] anchors)
    {
        var verifier = new EvidenceChainVerifier(new CheckpointVerifier(TestPki.Verifier(), [_hub.CertificateSha256]), new ChainVerifierOptions { Anchors = anchors });
        foreach (var entry in entries)
        {
            verifier.Add(entry);
        }

        return verifier.Complete();
    }

    [Test]
    public void Removing_the_newest_records_with_their_checkpoints_is_named_at_the_first_missing_index()
    {
        // 1. A gateway keeps checkpoint 20; the chain verifies with it.
        var chain = Chain(20);
        var anchor = new ChainAnchor(chain.Checkpoints.Single(c => c.Checkpoint.ChainIndex == 20), "gateway 000.00.01.H29");
        Assert.That(Walk(chain.Entries(), anchor) is { Intact: true, AnchorsChecked: 1 });

        // 2. The owner deletes records 14..20 and checkpoints 15 and 20: the rest is a valid chain by itself.
        var records = chain.Records.Take(13).ToList();
        var checkpoints = chain.Checkpoints.Where(c => c.Checkpoint.ChainIndex <= 10).ToList();
        Assert.That(Walk(ChainBuilder.Entries(records, checkpoints)).Intact, Is.True);

        // 3. With the gateway's checkpoint: chain-truncated at index 14.
        var report = Walk(ChainBuilder.Entries(records, checkpoints), anchor);
        Assert.That(report.Problems.Select(p => p.Kind), Is.EqualTo(new[] { EvidenceProblemKind.ChainTruncated }), string.Join("; ", report.Problems));
        Assert.That(report.FirstProblem!.ChainIndex, Is.EqualTo(14));
        Assert.That(report.FirstProblem.Reason, Does.Contain("gateway 000.00.01.H29"));
    }

    [Test]
    public void A_chain_cut_and_grown_again_under_the_hub_key_contradicts_the_anchor()
    {
        // 1. A gateway keeps checkpoint 15 of the original chain.
        var original = Chain(20);
        var anchor = new ChainAnchor(original.Checkpoints.Single(c => c.Checkpoint.ChainIndex == 15), "gateway 000.00.01.H29");

        // 2. The owner cuts the chain after record 10 and lets the hub seal other records from 11 on, signing new
        //    checkpoints with the hub's own key: without the anchor, a perfectly valid chain.
        var regrown = Chain(20, original, keep: 10);
        Assert.That(Walk(regrown.Entries()).Intact, Is.True);

        // 3. With the anchor: checkpoint-mismatch at 15, the index the gateway's checkpoint signs.
        var report = Walk(regrown.Entries(), anchor);
        Assert.That(report.Problems.Select(p => p.Kind), Is.EqualTo(new[] { EvidenceProblemKind.CheckpointMismatch }), string.Join("; ", report.Problems));
        Assert.That(report.FirstProblem!.ChainIndex, Is.EqualTo(15));
    }

    [Test]
    public void An_anchor_not_signed_by_the_pinned_hub_seal_counts_for_nothing()
    {
        // 1. The chain is intact.
        var chain = Chain(10);

        // 2. Someone writes a checkpoint for index 50, signed with an agency's certificate from the same CA.
        var forged = new EvidenceCheckpoint(50, new string('0', 64), DateTimeOffset.UtcNow);
        using var agency = TestPki.Pki.AgencySigner(TestPki.Pki.AgencyCodes[0]);
        var signed = new SignedCheckpoint(forged, agency.SignDetached(EvidenceChain.Canonical(forged), forged.SealedAt), agency.Certificate.RawData);

        // 3. It is refused as not the hub's (checkpoint-signer), and no truncation is claimed from it.
        var report = Walk(chain.Entries(), new ChainAnchor(signed, "planted.json"));
        Assert.That(report.AnchorsChecked, Is.Zero);
        Assert.That(report.Problems.Select(p => p.Kind), Is.EqualTo(new[] { EvidenceProblemKind.CheckpointSigner }), string.Join("; ", report.Problems));
        Assert.That(report.FirstProblem!.File, Is.EqualTo("planted.json"));
    }
}
