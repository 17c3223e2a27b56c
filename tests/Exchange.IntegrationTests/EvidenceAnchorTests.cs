using System.Data;
using System.Security.Cryptography.X509Certificates;
using Exchange.Cli;
using Exchange.Cli.Commands;
using Exchange.Core;
using Exchange.Gateway;
using Exchange.Persistence.Evidence;
using Exchange.Signing;
using Exchange.Signing.Evidence;
using Npgsql;

namespace Exchange.IntegrationTests;

/// <summary>
/// Anchors of the evidence chain outside the hub (issue #16 item 12): the hub shows its newest signed checkpoint to
/// each sending gateway, which keeps it; deleting the hub's newest records together with their checkpoints leaves
/// the hub's own data consistent, and only what a gateway holds shows the truncation. Its own province, because the
/// test truncates the hub's chain for good.
/// </summary>
[TestFixture]
public sealed class EvidenceAnchorTests : ProvinceFixture
{
    private const string Sender = SampleDirectory.HomeAffairs;
    private const string Recipient = SampleDirectory.PhucXaWard;

    private async Task<Guid> SendDeliveredAsync(string subject)
    {
        var metadata = new DocumentMetadata([Recipient], $"{subject} {Guid.NewGuid():N}", CodeNotation: "SNV-TEST", PromulgationPlace: "Hà Nội");
        var answer = await Client(Sender).SendDocumentAsync(metadata, [("van-ban.txt", "text/plain; charset=utf-8", "Nội dung văn bản"u8.ToArray())]);
        Assert.That((await WaitForOutcomeAsync(Sender, answer.EnvelopeId)).State, Is.EqualTo("delivered"));
        return answer.EnvelopeId;
    }

    private NpgsqlConnection Connect() => new(Province.HubConnectionString);

    private async Task WaitForSealingAsync(params Guid[] envelopes) =>
        await Eventually(async () =>
        {
            await using var connection = Connect();
            await connection.OpenAsync();
            return (await EvidenceChainStore.LoadBundleAsync(connection, envelopes)).Ready;
        }, "the evidence to be sealed and covered by a signed checkpoint", TimeSpan.FromSeconds(30));

    private async Task<long> NewestHubCheckpointAsync()
    {
        await using var connection = Connect();
        await connection.OpenAsync();
        return (await EvidenceChainStore.NewestCheckpointAsync(connection))?.Checkpoint.ChainIndex ?? 0;
    }

    private async Task<ChainAnchor?> GatewayAnchorAsync()
    {
        await using var db = Province.CreateGatewayDb(Sender);
        return await HubCheckpoints.NewestAsync(db, Sender, CancellationToken.None);
    }

    private string HubSealSha256
    {
        get
        {
            using var certificate = X509CertificateLoader.LoadCertificateFromFile(Province.Pki.HubSealCertificatePath);
            return Digests.Sha256Hex(certificate.RawData);
        }
    }

    /// <summary>What `exchange audit verify-log [--anchor FILE]` does, against this province's hub database (the hub's
    /// newest RFC 3161 timestamp included).</summary>
    private Task<ChainReport> VerifyLogAsync(params ChainAnchor[] anchors)
    {
        var trust = Province.Pki.CreateTrustStore();
        var checkpoints = new CheckpointVerifier(new SignatureVerifier(trust), [HubSealSha256]);
        return AuditCommand.VerifyChainAsync(Province.HubConnectionString, checkpoints,
            new ChainVerifierOptions { Anchors = anchors, TimestampAnchors = trust.Anchors, TimestampIntermediates = trust.Intermediates }, null, CancellationToken.None);
    }

    private async Task<StoredTimestamp?> NewestTimestampAsync()
    {
        await using var connection = Connect();
        await connection.OpenAsync();
        return await CheckpointTimestampStore.NewestAsync(connection);
    }

    /// <summary>Runs SQL as the database's owner could, with every append-only trigger of the evidence switched off.</summary>
    private async Task AsOwnerAsync(string sql, long from)
    {
        await using var connection = Connect();
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"""
            alter table hub.evidence disable trigger evidence_append_only;
            alter table hub.evidence_checkpoints disable trigger evidence_checkpoints_append_only;
            alter table hub.evidence_checkpoint_timestamps disable trigger evidence_checkpoint_timestamps_append_only;
            {sql};
            alter table hub.evidence enable trigger evidence_append_only;
            alter table hub.evidence_checkpoints enable trigger evidence_checkpoints_append_only;
            alter table hub.evidence_checkpoint_timestamps enable trigger evidence_checkpoint_timestamps_append_only;
            """, connection);
        command.Parameters.AddWithValue("from", from);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>Runs `exchange gateway …` or `exchange audit …` in process against this province; returns the exit code.</summary>
    private async Task<int> CliAsync(params string[] args)
    {
        var previous = Environment.GetEnvironmentVariable("EXCHANGE_PREFIX");
        Environment.SetEnvironmentVariable("EXCHANGE_PREFIX", Province.Names.Prefix);
        try
        {
            return await new System.CommandLine.RootCommand { GatewayCommand.Create(), AuditCommand.Create(), EvidenceCommand.Create() }.Parse(args).InvokeAsync();
        }
        finally
        {
            Environment.SetEnvironmentVariable("EXCHANGE_PREFIX", previous);
        }
    }

    /// <summary>`exchange audit verify-log --json` with this province's trust anchor, CRLs and sealing certificate.</summary>
    private Task<int> VerifyLogCliAsync(params string[] anchorFiles) =>
        CliAsync([
            "audit", "verify-log", "--json", "--trust-anchor", Province.Pki.RootCertificatePath, "--crl", Province.Pki.CrlPath,
            "--hub-certificate", Province.Pki.HubSealCertificatePath, .. anchorFiles.SelectMany(f => new[] { "--anchor", f }),
        ]);

    /// <summary>`exchange evidence verify FILE` with this province's trust anchor, CRLs and sealing certificate.</summary>
    private Task<int> VerifyBundleCliAsync(string bundle, params string[] anchorFiles) =>
        CliAsync([
            "evidence", "verify", bundle, "--trust-anchor", Province.Pki.RootCertificatePath, "--crl", Province.Pki.CrlPath,
            "--hub-certificate", Province.Pki.HubSealCertificatePath, .. anchorFiles.SelectMany(f => new[] { "--anchor", f }),
        ]);

    [Test]
    [Order(1)]
    public async Task A_bundle_older_than_the_checkpoint_a_gateway_kept_is_refused_until_exported_again()
    {
        // 1. It works: a delivered letter's bundle, exported now, verifies offline.
        var envelope = await SendDeliveredAsync("Công văn gói chứng cứ");
        await WaitForSealingAsync(envelope);
        var older = Path.Combine(PkiFolder, "bundle-older.zip");
        Assert.That(await CliAsync("evidence", "export", "--envelope", envelope.ToString(), "--out", older), Is.EqualTo(ExitCodes.Ok));
        var exportedAt = await NewestHubCheckpointAsync();
        Assert.That(await VerifyBundleCliAsync(older), Is.EqualTo(ExitCodes.Ok));

        // 2. Later letters move the chain on, and the sending gateway keeps a checkpoint newer than the bundle's: the
        //    bundle cannot show that nothing of the envelope was sealed since (a status, a late delivery).
        //    (The hub signs a checkpoint after a second without new evidence, and shows it with the next acceptance.)
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (((await GatewayAnchorAsync())?.Checkpoint.Checkpoint.ChainIndex ?? 0) <= exportedAt && DateTime.UtcNow < deadline)
        {
            await SendDeliveredAsync("Công văn sau khi xuất gói");
            await Task.Delay(TimeSpan.FromSeconds(1.5));
        }

        var gatewayFile = Path.Combine(PkiFolder, "gateway-checkpoint-newer.json");
        Assert.That(await CliAsync("gateway", "checkpoint", "export", "--agency", Sender, "--out", gatewayFile), Is.EqualTo(ExitCodes.Ok));
        var anchor = ChainAnchor.Parse(await File.ReadAllTextAsync(gatewayFile), "gateway-checkpoint-newer.json");
        Assert.That(anchor.Checkpoint.Checkpoint.ChainIndex, Is.GreaterThan(exportedAt));

        // 3. The old bundle against the gateway's checkpoint is refused, naming both; exported again, it verifies.
        Assert.That(await VerifyBundleCliAsync(older, gatewayFile), Is.EqualTo(ExitCodes.Refused));
        var report = new EvidenceBundleVerifier(new EvidenceBundleVerifierOptions
        {
            TrustAnchors = [Province.Pki.RootCertificate], SealCertificateSha256 = [HubSealSha256], Anchors = [anchor],
        }).Verify(older);
        Assert.That(report.Problems.Select(p => p.Kind), Is.EqualTo(new[] { EvidenceProblemKind.OlderThanAnchor }), string.Join("\n", report.Problems));

        var again = Path.Combine(PkiFolder, "bundle-again.zip");
        Assert.That(await CliAsync("evidence", "export", "--envelope", envelope.ToString(), "--out", again), Is.EqualTo(ExitCodes.Ok));
        Assert.That(await VerifyBundleCliAsync(again, gatewayFile), Is.EqualTo(ExitCodes.Ok));
    }

    private static string Describe(ChainReport report) => string.Join("\n", report.Problems.Select(p => p.ToString()).Concat(report.Warnings));

    [Test]
    public async Task Deleting_the_newest_records_with_their_checkpoints_is_caught_by_the_checkpoint_a_gateway_kept()
    {
        // 1. It works: letters are sealed; the next acceptance shows the gateway the newest checkpoint, which it keeps
        //    (a few letters, since the checkpoint covering one is signed a moment after its acceptance).
        var envelopes = new List<Guid> { await SendDeliveredAsync("Công văn neo chuỗi") };
        await WaitForSealingAsync([.. envelopes]);
        var covering = await NewestHubCheckpointAsync();
        for (var i = 0; i < 5 && ((await GatewayAnchorAsync())?.Checkpoint.Checkpoint.ChainIndex ?? 0) < covering; i++)
        {
            envelopes.Add(await SendDeliveredAsync("Công văn tiếp theo"));
            await Task.Delay(500);
        }

        await WaitForSealingAsync([.. envelopes]);
        await Eventually(async () => (await NewestTimestampAsync())?.Checkpoint.Checkpoint.ChainIndex >= covering,
            "the development timestamp authority to stamp the checkpoint (is Router:Evidence:TimestampUrl set by LocalDeployment?)", TimeSpan.FromSeconds(30));
        var kept = await GatewayAnchorAsync();
        Assert.That(kept, Is.Not.Null, "the sending gateway keeps the hub's newest checkpoint it was shown");
        Assert.That(kept!.Checkpoint.Checkpoint.ChainIndex, Is.GreaterThanOrEqualTo(covering));

        // What `exchange gateway checkpoint export` writes and `verify-log --anchor` reads.
        var anchor = ChainAnchor.Parse(kept.ToJson(), "gateway.json");
        Assert.That(anchor.Checkpoint.Checkpoint, Is.EqualTo(kept.Checkpoint.Checkpoint));
        // The same through the CLI: what an auditor runs with the files a gateway and the hub hand out.
        var gatewayFile = Path.Combine(PkiFolder, "gateway-checkpoint.json");
        var hubFile = Path.Combine(PkiFolder, "hub-anchor.json");
        Assert.That(await CliAsync("gateway", "checkpoint", "export", "--agency", Sender, "--out", gatewayFile), Is.EqualTo(ExitCodes.Ok));
        Assert.That(await CliAsync("audit", "anchor", "--out", hubFile), Is.EqualTo(ExitCodes.Ok));
        Assert.That(ChainAnchor.Parse(await File.ReadAllTextAsync(gatewayFile), "gateway-checkpoint.json").Checkpoint.Checkpoint, Is.EqualTo(kept.Checkpoint.Checkpoint));
        Assert.That(await VerifyLogCliAsync(gatewayFile, hubFile), Is.EqualTo(ExitCodes.Ok));

        var intact = await VerifyLogAsync(anchor);
        Assert.That(intact.Intact, Is.True, Describe(intact));
        Assert.That(intact.AnchorsChecked, Is.EqualTo(2), "the gateway's checkpoint and the hub's newest timestamp");
        Assert.That(intact.NewestTimestamp, Is.Not.Null, Describe(intact));
        Assert.That(intact.NewestTimestamp!.Authority, Does.Contain("Timestamp Authority"));
        Assert.That(intact.NewestTimestamp.ChainIndex, Is.GreaterThanOrEqualTo(covering));

        // 2. The attack: the database's owner deletes the newest records and every checkpoint that signs them, from
        //    the index the gateway's checkpoint signs on (the append-only triggers off, as an owner can).
        //    The router stops first (sealing its last records), so that nothing appended afterwards blurs the picture.
        await Province.StopRouterAsync();
        var from = anchor.Checkpoint.Checkpoint.ChainIndex;
        var stamp = (await NewestTimestampAsync())!.Checkpoint.Checkpoint.ChainIndex;
        await AsOwnerAsync("delete from hub.evidence where chain_index >= @from; delete from hub.evidence_checkpoints where chain_index >= @from", Math.Min(from, stamp));
        from = Math.Min(from, stamp);

        // 3a. An owner who left the timestamps is caught by the newest one, with nothing from outside.
        var byTimestamp = await VerifyLogAsync();
        Assert.That(byTimestamp.Problems.Select(p => p.Kind), Does.Contain(EvidenceProblemKind.ChainTruncated), Describe(byTimestamp));
        Assert.That(byTimestamp.Problems.Single(p => p.Kind == EvidenceProblemKind.ChainTruncated).ChainIndex, Is.EqualTo(from));

        // A timestamp token that is not over its checkpoint's signature is refused (timestamp-invalid).
        var stored = (await NewestTimestampAsync())!;
        var otherToken = new ChainAnchor(anchor.Checkpoint with { Signature = [.. anchor.Checkpoint.Signature] }, "swapped-token.json", stored.Token);
        if (stored.Checkpoint.Checkpoint.ChainIndex != anchor.Checkpoint.Checkpoint.ChainIndex)
        {
            var swapped = await VerifyLogAsync(otherToken);
            Assert.That(swapped.Problems.Select(p => p.Kind), Does.Contain(EvidenceProblemKind.TimestampInvalid), Describe(swapped));
        }

        // The owner deletes the timestamps as well: now the hub's own data cannot tell; the shorter chain is valid.
        await AsOwnerAsync("delete from hub.evidence_checkpoint_timestamps where chain_index >= @from", from);
        var alone = await VerifyLogAsync();
        Assert.That(alone.Intact, Is.True, Describe(alone));
        Assert.That(alone.LastChainIndex, Is.EqualTo(from - 1));

        Assert.That(await VerifyLogCliAsync(), Is.EqualTo(ExitCodes.Ok), "verify-log alone sees a valid chain");

        // 3. With the gateway's checkpoint it fails for the right reason: the chain ends before an index the hub signed.
        Assert.That(await VerifyLogCliAsync(gatewayFile), Is.EqualTo(ExitCodes.Refused));
        var truncated = await VerifyLogAsync(anchor);
        Assert.That(truncated.Intact, Is.False);
        var problem = truncated.Problems.Single(p => p.Kind == EvidenceProblemKind.ChainTruncated);
        Assert.That(problem.Code, Is.EqualTo("chain-truncated"));
        Assert.That(problem.ChainIndex, Is.EqualTo(from), Describe(truncated));
        Assert.That(problem.Reason, Does.Contain("gateway.json"));

        // 4. An anchor anyone could write (the signed hash changed) proves nothing: refused, not counted.
        var forged = anchor with { Checkpoint = anchor.Checkpoint with { Checkpoint = anchor.Checkpoint.Checkpoint with { ChainIndex = from + 1000 } } };
        var refused = await VerifyLogAsync(forged);
        Assert.That(refused.AnchorsChecked, Is.EqualTo(alone.AnchorsChecked), "the forged anchor adds nothing to the hub's own (older) timestamps");
        Assert.That(refused.Problems.Select(p => p.Kind), Is.EqualTo(new[] { EvidenceProblemKind.CheckpointSignature }), Describe(refused));
    }
}
