using System.Data;
using System.Security.Cryptography.X509Certificates;
using Exchange.Cli;
using Exchange.Core;
using Exchange.Gateway;
using Exchange.Persistence.Evidence;
using Exchange.Signing;
using Exchange.Signing.Evidence;
using Npgsql;

namespace Exchange.IntegrationTests;

/// <summary>
/// The tamper-evident evidence log and the evidence bundle (issue #5), on the real PostgreSQL with the hub's own
/// sealer: records edited, deleted or reordered with SQL are found and named, and a bundle exported from the hub
/// verifies offline. Each tamper is undone before the next, so that each detection is of that change alone.
/// </summary>
[TestFixture]
public sealed class EvidenceTests : ProvinceFixture
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

    private async Task<BundleLoad> LoadBundleAsync(params Guid[] envelopes)
    {
        await using var connection = Connect();
        await connection.OpenAsync();
        return await EvidenceChainStore.LoadBundleAsync(connection, envelopes);
    }

    /// <summary>Waits until the hub's sealer has chained the envelopes' evidence and signed a checkpoint over it.</summary>
    private async Task<BundleLoad> WaitForSealingAsync(params Guid[] envelopes)
    {
        BundleLoad load = new(null, "not read yet");
        await Eventually(async () => (load = await LoadBundleAsync(envelopes)).Ready, "the evidence to be sealed and covered by a signed checkpoint "
            + "(does the router run AddEvidenceSealer, and does LocalDeployment set Router:SealPkcs12Path?)", TimeSpan.FromSeconds(30));
        return load;
    }

    private string HubSealSha256
    {
        get
        {
            using var certificate = X509CertificateLoader.LoadCertificateFromFile(Province.Pki.HubSealCertificatePath);
            return Digests.Sha256Hex(certificate.RawData);
        }
    }

    /// <summary>What `exchange audit verify-log` does, against this province's hub database.</summary>
    private async Task<ChainReport> VerifyLogAsync()
    {
        await using var connection = Connect();
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead);
        var unsealed = await EvidenceChainStore.CountUnsealedAsync(connection, transaction);
        var checkpoints = new CheckpointVerifier(new SignatureVerifier(Province.Pki.CreateTrustStore()), [HubSealSha256]);
        return await EvidenceChainVerifier.VerifyAsync(EvidenceChainStore.ReadChainAsync(connection, transaction), checkpoints, unsealed: unsealed);
    }

    /// <summary>Runs SQL as the database's owner would, with the append-only trigger switched off for the change.</summary>
    private async Task TamperAsync(string sql, params (string Name, object Value)[] parameters)
    {
        await using var connection = Connect();
        await connection.OpenAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        await using (var off = new NpgsqlCommand("alter table hub.evidence disable trigger evidence_append_only", connection, transaction))
        {
            await off.ExecuteNonQueryAsync();
        }

        await using (var change = new NpgsqlCommand(sql, connection, transaction))
        {
            foreach (var (name, value) in parameters)
            {
                change.Parameters.AddWithValue(name, value);
            }

            await change.ExecuteNonQueryAsync();
        }

        await using (var on = new NpgsqlCommand("alter table hub.evidence enable trigger evidence_append_only", connection, transaction))
        {
            await on.ExecuteNonQueryAsync();
        }

        await transaction.CommitAsync();
    }

    private static string Describe(ChainReport report) => string.Join("\n", report.Problems.Select(p => p.ToString()).Concat(report.Warnings));

    [Test]
    public async Task Verify_log_names_the_record_edited_deleted_or_reordered_with_sql()
    {
        // Two letters, so that the records tampered with sit inside the chain, not at its end.
        var first = await SendDeliveredAsync("Công văn thứ nhất");
        var second = await SendDeliveredAsync("Công văn thứ hai");
        var load = await WaitForSealingAsync(first, second);
        var consignment = load.Source!.ChainRecords.Single(r => r.Record.EnvelopeId == first && r.Record.Kind == nameof(EvidenceKind.ContentConsignment)).Record;
        var next = load.Source.ChainRecords.Single(r => r.Record.ChainIndex == consignment.ChainIndex + 1).Record;

        // 1. The untouched chain is intact.
        var intact = await VerifyLogAsync();
        Assert.That(intact.Intact, Is.True, Describe(intact));
        Assert.That(intact.Checkpoints, Is.GreaterThan(0));

        // 2. The hub itself cannot change sealed evidence: the append-only trigger refuses.
        await using (var connection = Connect())
        {
            await connection.OpenAsync();
            await using var update = new NpgsqlCommand("update hub.evidence set detail = 'x' where evidence_id = @id", connection);
            update.Parameters.AddWithValue("id", consignment.EvidenceId);
            var refused = Assert.ThrowsAsync<PostgresException>(() => update.ExecuteNonQueryAsync());
            Assert.That(refused!.SqlState, Is.EqualTo(PostgresErrorCodes.InsufficientPrivilege));
        }

        // 3. An owner edits the consignment's detail: verify-log names that record.
        await TamperAsync("update hub.evidence set detail = detail || ' (đã sửa)' where evidence_id = @id", ("id", consignment.EvidenceId));
        var edited = await VerifyLogAsync();
        Assert.That(edited.Intact, Is.False);
        Assert.That(edited.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.RecordChanged), Describe(edited));
        Assert.That(edited.FirstProblem.ChainIndex, Is.EqualTo(consignment.ChainIndex));
        Assert.That(edited.FirstProblem.EvidenceId, Is.EqualTo(consignment.EvidenceId));
        await TamperAsync("update hub.evidence set detail = @detail where evidence_id = @id", ("detail", consignment.Detail), ("id", consignment.EvidenceId));
        Assert.That((await VerifyLogAsync()).Intact, Is.True, "undoing the edit restores the chain");

        // 4. An owner deletes it: verify-log names its chain index.
        await TamperAsync("delete from hub.evidence where evidence_id = @id", ("id", consignment.EvidenceId));
        var deleted = await VerifyLogAsync();
        Assert.That(deleted.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.RecordRemoved), Describe(deleted));
        Assert.That(deleted.FirstProblem.ChainIndex, Is.EqualTo(consignment.ChainIndex));
        await RestoreAsync(consignment);
        Assert.That((await VerifyLogAsync()).Intact, Is.True, "putting the row back restores the chain");

        // 5. An owner swaps two records' places in the chain: verify-log names the reordering.
        await TamperAsync("""
            update hub.evidence set chain_index = -chain_index where evidence_id in (@a, @b);
            update hub.evidence set chain_index = case when evidence_id = @a then @bi else @ai end where evidence_id in (@a, @b);
            """, ("a", consignment.EvidenceId), ("b", next.EvidenceId), ("ai", consignment.ChainIndex), ("bi", next.ChainIndex));
        var reordered = await VerifyLogAsync();
        Assert.That(reordered.FirstProblem!.Kind, Is.EqualTo(EvidenceProblemKind.RecordReordered), Describe(reordered));
        Assert.That(reordered.FirstProblem.ChainIndex, Is.EqualTo(consignment.ChainIndex));
        await TamperAsync("""
            update hub.evidence set chain_index = -chain_index where evidence_id in (@a, @b);
            update hub.evidence set chain_index = case when evidence_id = @a then @ai else @bi end where evidence_id in (@a, @b);
            """, ("a", consignment.EvidenceId), ("b", next.EvidenceId), ("ai", consignment.ChainIndex), ("bi", next.ChainIndex));
        Assert.That((await VerifyLogAsync()).Intact, Is.True, "swapping back restores the chain");
    }

    /// <summary>Puts a deleted record back exactly as it was (seq included).</summary>
    private async Task RestoreAsync(EvidenceRecord record)
    {
        await using var connection = Connect();
        await connection.OpenAsync();
        await using var insert = new NpgsqlCommand("""
            insert into hub.evidence (seq, evidence_id, kind, envelope_id, recipient_code, reason, detail, package_sha256, issuer, issued_at, chain_index, prev_hash, record_hash, envelope_prev_hash)
            overriding system value
            values ((select coalesce(max(seq), 0) + 1000000 from hub.evidence), @id, @kind, @envelope, @recipient, @reason, @detail, @sha, @issuer, @at, @index, @prev, @hash, @envelopePrev)
            """, connection);
        insert.Parameters.AddWithValue("id", record.EvidenceId);
        insert.Parameters.AddWithValue("kind", record.Kind);
        insert.Parameters.AddWithValue("envelope", record.EnvelopeId);
        insert.Parameters.AddWithValue("recipient", (object?)record.RecipientCode ?? DBNull.Value);
        insert.Parameters.AddWithValue("reason", record.Reason);
        insert.Parameters.AddWithValue("detail", record.Detail);
        insert.Parameters.AddWithValue("sha", (object?)record.PackageSha256 ?? DBNull.Value);
        insert.Parameters.AddWithValue("envelopePrev", (object?)record.EnvelopePrevHash ?? DBNull.Value);
        insert.Parameters.AddWithValue("issuer", record.Issuer);
        insert.Parameters.AddWithValue("at", record.IssuedAt);
        insert.Parameters.AddWithValue("index", record.ChainIndex);
        insert.Parameters.AddWithValue("prev", record.PrevHash);
        insert.Parameters.AddWithValue("hash", EvidenceChain.Hash(record));
        await insert.ExecuteNonQueryAsync();
    }

    [Test]
    public async Task Exported_bundle_verifies_offline_and_fails_when_a_byte_changes()
    {
        var envelopeId = await SendDeliveredAsync("Công văn xuất hồ sơ chứng cứ");
        await WaitForSealingAsync(envelopeId);

        // Export by the edXML DocumentId, as `exchange evidence export --document ID` does.
        string documentId;
        await using (var connection = Connect())
        {
            await connection.OpenAsync();
            await using var select = new NpgsqlCommand("select document_id from hub.envelopes where envelope_id = @id", connection);
            select.Parameters.AddWithValue("id", envelopeId);
            documentId = (string)(await select.ExecuteScalarAsync())!;
        }

        IReadOnlyList<Guid> envelopes;
        await using (var connection = Connect())
        {
            await connection.OpenAsync();
            envelopes = await EvidenceChainStore.FindEnvelopesAsync(connection, null, documentId);
        }

        Assert.That(envelopes, Is.EqualTo(new[] { envelopeId }));
        var load = await LoadBundleAsync([.. envelopes]);
        var path = Path.Combine(PkiFolder, $"bundle-{envelopeId:N}.zip");
        await using (var output = File.Create(path))
        {
            EvidenceBundleWriter.Write(load.Source!, output, [await File.ReadAllBytesAsync(Province.Pki.CrlPath)]);
        }

        // Offline: only the bundle, the trust anchor and the hub's sealing certificate.
        var verifier = new EvidenceBundleVerifier(new EvidenceBundleVerifierOptions
        {
            TrustAnchors = [Province.Pki.RootCertificate],
            SealCertificateSha256 = [HubSealSha256],
        });
        var report = verifier.Verify(path);
        Assert.That(report.Valid, Is.True, string.Join("\n", report.Problems));
        var envelope = report.Envelopes.Single();
        Assert.That(envelope.Evidence.Select(e => e.Kind), Is.EqualTo(new[] { nameof(EvidenceKind.SubmissionAcceptance), nameof(EvidenceKind.ContentConsignment) }));
        Assert.That(envelope.Receipts.Single().RecipientCode, Is.EqualTo(Recipient));
        // The hub's heads proof (its SQL buckets) leads to the newest checkpoint's root as the verifier computes it.
        var newest = load.Source!.Checkpoints.Max(c => c.Checkpoint.ChainIndex);
        Assert.That(envelope.EvidenceThrough, Does.StartWith($"checkpoint {newest} "));

        // One changed byte in the receipt makes it fail, naming the file.
        var zip = await File.ReadAllBytesAsync(path);
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        using (var archive = new System.IO.Compression.ZipArchive(new MemoryStream(zip)))
        {
            foreach (var entry in archive.Entries)
            {
                using var stream = entry.Open();
                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer);
                files[entry.FullName] = buffer.ToArray();
            }
        }

        var receipt = files.Keys.Single(k => k.Contains("/receipts/", StringComparison.Ordinal) && k.EndsWith(".json", StringComparison.Ordinal));
        files[receipt][10] ^= 0x01;
        using var tampered = new MemoryStream();
        using (var archive = new System.IO.Compression.ZipArchive(tampered, System.IO.Compression.ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, bytes) in files)
            {
                await using var stream = archive.CreateEntry(name).Open();
                await stream.WriteAsync(bytes);
            }
        }

        tampered.Position = 0;
        var refused = verifier.Verify(tampered);
        Assert.That(refused.Valid, Is.False);
        Assert.That(refused.Problems.Select(p => p.File), Does.Contain(receipt));
    }
}
