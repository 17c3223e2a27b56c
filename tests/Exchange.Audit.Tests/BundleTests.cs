using System.IO.Compression;
using System.Text;
using Exchange.Audit.Tests.Support;
using Exchange.Core;
using Exchange.Signing.Evidence;

namespace Exchange.Audit.Tests;

/// <summary>
/// Evidence bundles verify offline, and any change to any file makes them fail with a reason. Tamper tests follow
/// the steps: 1. the untouched bundle verifies; 2. one change; 3. it fails, naming the file or record.
/// </summary>
[TestFixture]
public sealed class BundleTests
{
    private BundleFactory _factory = null!;
    private byte[] _zip = null!;

    [OneTimeSetUp]
    public void Build()
    {
        _factory = new BundleFactory();
        _zip = _factory.Write();
    }

    private static string Problems(BundleReport report) => string.Join("\n", report.Problems);

    [Test]
    public void Untouched_bundle_is_valid()
    {
        var report = BundleFactory.Verify(_zip);

        Assert.That(report.Valid, Is.True, Problems(report));
        Assert.That(report.Warnings, Is.Empty);
        var envelope = report.Envelopes.Single();
        Assert.That(envelope.EnvelopeId, Is.EqualTo(_factory.EnvelopeId));
        Assert.That(envelope.PackageSignature, Is.EqualTo("valid"));
        Assert.That(envelope.Evidence.Select(e => e.Kind), Is.EqualTo(new[]
        {
            nameof(EvidenceKind.SubmissionAcceptance), nameof(EvidenceKind.ContentConsignment), nameof(EvidenceKind.ContentHandover),
        }));
        Assert.That(envelope.Evidence.Select(e => e.CheckpointIndex), Is.EqualTo(new long?[] { 6, 11, 18 }));
        Assert.That(envelope.Receipts.Single().RecipientCode, Is.EqualTo(TestPki.Recipient));
        Assert.That((envelope.SenderCode, envelope.Subject), Is.EqualTo((TestPki.Sender, "Công văn về việc rà soát biên chế")), "read from the signed package");
        Assert.That(envelope.EvidenceThrough, Does.StartWith("checkpoint 18 sealed at "));
    }

    [Test]
    public void Holds_the_package_and_its_signature_exactly_as_stored()
    {
        var files = BundleFactory.Unzip(_zip);

        Assert.That(files[EvidenceBundleLayout.Package(_factory.EnvelopeId)], Is.EqualTo(_factory.Package));
        Assert.That(files[EvidenceBundleLayout.PackageSignature(_factory.EnvelopeId)], Is.EqualTo(_factory.Signature));
    }

    [Test]
    public void Holds_the_links_from_each_record_up_to_the_next_checkpoint_and_nothing_after()
    {
        var files = BundleFactory.Unzip(_zip);

        var records = files.Keys.Where(k => k.StartsWith("chain/", StringComparison.Ordinal) && k.EndsWith(".jcs", StringComparison.Ordinal)).ToList();
        Assert.That(records, Is.EqualTo(new long[] { 3, 4, 5, 6, 9, 10, 11, 17, 18 }.Select(EvidenceBundleLayout.Record)));
        Assert.That(files.Keys.Where(k => k.StartsWith("checkpoints/", StringComparison.Ordinal)), Is.EqualTo(new[]
        {
            EvidenceBundleLayout.Checkpoint(6), EvidenceBundleLayout.CheckpointSignature(6), EvidenceBundleLayout.Checkpoint(11), EvidenceBundleLayout.CheckpointSignature(11),
            EvidenceBundleLayout.Checkpoint(18), EvidenceBundleLayout.CheckpointSignature(18),
        }));
    }

    [Test]
    public void A_record_file_hashes_to_the_next_records_prev_hash_with_sha256sum_alone()
    {
        // What an auditor does by hand: sha256sum chain/…0009.jcs equals prev_hash in chain/…0010.jcs.
        var files = BundleFactory.Unzip(_zip);

        var hash = Digests.Sha256Hex(files[EvidenceBundleLayout.Record(9)]);

        Assert.That(Encoding.UTF8.GetString(files[EvidenceBundleLayout.Record(10)]), Does.Contain($"\"prev_hash\":\"{hash}\""));
    }

    [Test]
    public void Lists_every_file_in_the_manifest_with_its_sha256()
    {
        var files = BundleFactory.Unzip(_zip);
        var manifest = Encoding.UTF8.GetString(files[EvidenceBundleLayout.Manifest]);

        foreach (var (name, bytes) in files.Where(f => f.Key != EvidenceBundleLayout.Manifest))
        {
            Assert.That(manifest, Does.Contain($"\"path\": \"{name}\",\n      \"sha256\": \"{Digests.Sha256Hex(bytes)}\""), name);
        }
    }

    private static IEnumerable<int> Positions(int length, int seed)
    {
        var random = new Random(seed);
        return new[] { 0, 1, length / 4, length / 2, 3 * length / 4, length - 2, length - 1 }
            .Concat(Enumerable.Range(0, 6).Select(_ => random.Next(length)))
            .Where(p => p >= 0 && p < length)
            .Distinct();
    }

    [Test]
    public void Any_single_changed_byte_in_any_file_makes_it_fail_with_a_reason()
    {
        // 1. It verifies untouched.
        var files = BundleFactory.Unzip(_zip);
        Assert.That(BundleFactory.Verify(_zip).Valid, Is.True);
        var escaped = new List<string>();
        var checkedCount = 0;
        foreach (var (name, bytes) in files)
        {
            foreach (var position in Positions(bytes.Length, name.Length))
            {
                foreach (var mask in new byte[] { 0x01, 0x80 })
                {
                    // 2. One byte of one file changes, and the zip is rebuilt around it.
                    var copy = bytes.ToArray();
                    copy[position] ^= mask;
                    var tampered = new SortedDictionary<string, byte[]>(files, StringComparer.Ordinal) { [name] = copy };

                    // 3. It fails, and (but for the manifest itself) a problem names the file.
                    var report = BundleFactory.Verify(BundleFactory.Zip(tampered));
                    checkedCount++;
                    if (report.Valid)
                    {
                        escaped.Add($"{name} byte {position} ^ 0x{mask:x2}: still valid");
                    }
                    else if (report.Problems.Any(p => string.IsNullOrWhiteSpace(p.Reason)))
                    {
                        escaped.Add($"{name} byte {position}: a problem without a reason");
                    }
                    else if (name != EvidenceBundleLayout.Manifest && !report.Problems.Any(p => p.File == name))
                    {
                        escaped.Add($"{name} byte {position}: no problem names the file ({Problems(report)})");
                    }
                }
            }
        }

        Assert.That(escaped, Is.Empty);
        Assert.That(checkedCount, Is.GreaterThan(files.Count * 10));
    }

    [TestCase("chain/0000000000000009.jcs")]
    [TestCase("checkpoints/0000000000000011.jcs")]
    public void Every_byte_of_a_record_and_a_checkpoint_matters(string name)
    {
        var files = BundleFactory.Unzip(_zip);
        var bytes = files[name];
        var escaped = new List<int>();
        for (var position = 0; position < bytes.Length; position++)
        {
            var copy = bytes.ToArray();
            copy[position] ^= 0x01;
            var tampered = new SortedDictionary<string, byte[]>(files, StringComparer.Ordinal) { [name] = copy };
            if (BundleFactory.Verify(BundleFactory.Zip(tampered)).Valid)
            {
                escaped.Add(position);
            }
        }

        Assert.That(escaped, Is.Empty);
    }

    /// <summary>Changes a file and writes the manifest to match, as someone who knows the format but not the hub's
    /// key would: the manifest no longer helps, so the signatures and the chain must catch it.</summary>
    private static BundleReport Forge(SortedDictionary<string, byte[]> files)
    {
        var listed = files.Where(f => f.Key != EvidenceBundleLayout.Manifest)
            .Select(f => $"    {{\n      \"path\": \"{f.Key}\",\n      \"sha256\": \"{Digests.Sha256Hex(f.Value)}\",\n      \"size\": {f.Value.Length}\n    }}");
        var manifest = Encoding.UTF8.GetString(files[EvidenceBundleLayout.Manifest]);
        var head = manifest[..manifest.IndexOf("\"files\": [", StringComparison.Ordinal)];
        files[EvidenceBundleLayout.Manifest] = Encoding.UTF8.GetBytes(head + "\"files\": [\n" + string.Join(",\n", listed) + "\n  ]\n}\n");
        return BundleFactory.Verify(BundleFactory.Zip(files));
    }

    [Test]
    public void A_forged_manifest_is_in_the_writers_form()
    {
        // Guards the forgery tests below: an untouched bundle with a rewritten manifest still verifies.
        var report = Forge(BundleFactory.Unzip(_zip));

        Assert.That(report.Valid, Is.True, Problems(report));
    }

    [Test]
    public void An_edited_record_with_a_matching_manifest_breaks_the_chain()
    {
        var files = BundleFactory.Unzip(_zip);
        var path = EvidenceBundleLayout.Record(9);
        files[path] = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(files[path]).Replace("000.01.21.H29", "000.02.22.H29", StringComparison.Ordinal));
        files.Remove(EvidenceBundleLayout.RecordView(9));

        var report = Forge(files);

        Assert.That(report.Valid, Is.False);
        Assert.That(report.Problems.Select(p => p.Kind), Does.Contain(EvidenceProblemKind.LinkBroken));
        Assert.That(report.Problems.First(p => p.Kind == EvidenceProblemKind.LinkBroken).ChainIndex, Is.EqualTo(10));
    }

    [Test]
    public void A_removed_receipt_with_a_matching_manifest_is_missed()
    {
        var files = BundleFactory.Unzip(_zip);
        foreach (var receipt in files.Keys.Where(k => k.Contains("/receipts/", StringComparison.Ordinal)).ToList())
        {
            files.Remove(receipt);
        }

        var report = Forge(files);

        Assert.That(report.Valid, Is.False);
        Assert.That(report.Problems.Select(p => p.Kind), Does.Contain(EvidenceProblemKind.FileMissing).Or.Contain(EvidenceProblemKind.EvidenceIncomplete));
    }

    [Test]
    public void A_removed_consignment_record_with_a_matching_manifest_is_missed()
    {
        var files = BundleFactory.Unzip(_zip);
        files.Remove(EvidenceBundleLayout.Record(9));
        files.Remove(EvidenceBundleLayout.RecordView(9));

        var report = Forge(files);

        Assert.That(report.Valid, Is.False);
    }

    // Issue #16, item 1: the offline verifier trusted the bundle's own summary (envelope.json). Each attack below verified
    // as VALID before: envelope.json edited and the manifest recomputed in the writer's own format.

    private static string EnvelopeJson(SortedDictionary<string, byte[]> files, Guid envelopeId) =>
        Encoding.UTF8.GetString(files[EvidenceBundleLayout.Envelope(envelopeId)]);

    private static void SetEnvelopeJson(SortedDictionary<string, byte[]> files, Guid envelopeId, string json) =>
        files[EvidenceBundleLayout.Envelope(envelopeId)] = Encoding.UTF8.GetBytes(json);

    [Test]
    public void A_summary_naming_another_sender_and_subject_is_refused()
    {
        // 1. It works: the untouched bundle names the sender and subject the signed package does (Untouched_bundle_is_valid).
        // 2. The attack: envelope.json says Finance sent a letter about something else.
        var files = BundleFactory.Unzip(_zip);
        var json = EnvelopeJson(files, _factory.EnvelopeId)
            .Replace($"\"sender_code\": \"{TestPki.Sender}\"", "\"sender_code\": \"000.00.02.H29\"", StringComparison.Ordinal)
            .Replace("rà soát biên chế", "cấp kinh phí", StringComparison.Ordinal);
        SetEnvelopeJson(files, _factory.EnvelopeId, json);

        var report = Forge(files);

        // 3. Refused, and what it reports still comes from the package.
        Assert.That(report.Valid, Is.False);
        Assert.That(report.Problems.Where(p => p.Kind == EvidenceProblemKind.EnvelopeMismatch).Select(p => p.Reason),
            Has.Some.Contains("the signed package is from '000.00.01.H29'").And.Some.Contains("subject"));
        Assert.That(report.Envelopes.Single().SenderCode, Is.EqualTo(TestPki.Sender));
    }

    [Test]
    public void A_delivery_hidden_with_its_consignment_run_and_receipt_is_refused()
    {
        // 1. It works: the delivery's consignment is record 9, in the run 9–11 up to checkpoint 11, with its receipt.
        // 2. The attack: the run, its checkpoint and the receipt are removed, and envelope.json shows the delivery as never made.
        var files = BundleFactory.Unzip(_zip);
        foreach (var index in new long[] { 9, 10, 11 })
        {
            files.Remove(EvidenceBundleLayout.Record(index));
            files.Remove(EvidenceBundleLayout.RecordView(index));
        }

        files.Remove(EvidenceBundleLayout.Checkpoint(11));
        files.Remove(EvidenceBundleLayout.CheckpointSignature(11));
        foreach (var receipt in files.Keys.Where(k => k.Contains("/receipts/", StringComparison.Ordinal)).ToList())
        {
            files.Remove(receipt);
        }

        var json = EnvelopeJson(files, _factory.EnvelopeId);
        json = System.Text.RegularExpressions.Regex.Replace(json, "\"state\": \"delivered\"", "\"state\": \"forwarded\"");
        json = System.Text.RegularExpressions.Regex.Replace(json, "\"delivered_at\": \"[^\"]+\"", "\"delivered_at\": null");
        json = System.Text.RegularExpressions.Regex.Replace(json, "\"receipt_id\": \"[^\"]+\"", "\"receipt_id\": null");
        json = System.Text.RegularExpressions.Regex.Replace(json, "\\{\\s*\"chain_index\": 9,[^}]*\\},\\s*", string.Empty);
        SetEnvelopeJson(files, _factory.EnvelopeId, json);

        var report = Forge(files);

        // 3. The handover (record 17) links to the envelope's record before it, the consignment, which is not there.
        Assert.That(report.Valid, Is.False);
        var problem = report.Problems.Single(p => p.Kind == EvidenceProblemKind.EvidenceIncomplete);
        Assert.That((problem.ChainIndex, problem.Reason), Is.EqualTo((17L, problem.Reason)));
        Assert.That(problem.Reason, Does.Contain("a record between them was left out"));
    }

    /// <summary>The handover (record 17) is the envelope's last record: removes it with its run (17–18) and its place
    /// in envelope.json, as if the document system had never taken the document.</summary>
    private SortedDictionary<string, byte[]> WithoutTheLastRecord()
    {
        var files = BundleFactory.Unzip(_zip);
        foreach (var index in new long[] { 17, 18 })
        {
            files.Remove(EvidenceBundleLayout.Record(index));
            files.Remove(EvidenceBundleLayout.RecordView(index));
        }

        var json = EnvelopeJson(files, _factory.EnvelopeId);
        json = System.Text.RegularExpressions.Regex.Replace(json, ",\\s*\\{\\s*\"chain_index\": 17,[^}]*\\}", string.Empty);
        SetEnvelopeJson(files, _factory.EnvelopeId, json);
        return files;
    }

    [Test]
    public void A_delivery_that_came_last_cut_with_its_run_is_refused()
    {
        // 1. It works: the heads proof shows checkpoint 18 naming the handover (record 17) as the envelope's newest record.
        Assert.That(BundleFactory.Verify(_zip).Envelopes.Single().EvidenceThrough, Does.StartWith("checkpoint 18 "));

        // 2. The attack: the handover and its run are removed; no record after the remaining ones links back to them.
        var report = Forge(WithoutTheLastRecord());

        // 3. Refused: the signed checkpoint names another newest record than the bundle's last.
        Assert.That(report.Valid, Is.False);
        var problem = report.Problems.Single(p => p.Kind == EvidenceProblemKind.EvidenceIncomplete);
        Assert.That(problem.Reason, Does.Contain("but the bundle's last record of it is 9").And.Contain("records sealed after it were left out"));
    }

    [Test]
    public void A_delivery_that_came_last_cut_with_its_heads_proof_is_refused()
    {
        // 1. It works (A_delivery_that_came_last_cut_with_its_run_is_refused, step 1).
        // 2. The attack: the heads proof and the newest checkpoint go too.
        var files = WithoutTheLastRecord();
        files.Remove(EvidenceBundleLayout.HeadProof(_factory.EnvelopeId));
        files.Remove(EvidenceBundleLayout.Checkpoint(18));
        files.Remove(EvidenceBundleLayout.CheckpointSignature(18));

        var report = Forge(files);

        // 3. Refused: without the proof the bundle does not show it holds the envelope's newest records.
        Assert.That(report.Valid, Is.False);
        Assert.That(report.Problems.Select(p => p.Kind), Is.EqualTo(new[] { EvidenceProblemKind.HeadsUnproven }));
    }

    [Test]
    public void A_bundle_cut_back_to_an_earlier_checkpoint_is_refused_with_a_newer_anchor()
    {
        // 1. It works: a bundle exported when checkpoint 11 was the newest proves the envelope's records up to 11 only,
        //    and says so.
        // 2. The attack: the handover is cut and the heads proof replaced by the one as of checkpoint 11 (which an older
        //    export held): nothing in the bundle contradicts that.
        var files = WithoutTheLastRecord();
        files.Remove(EvidenceBundleLayout.Checkpoint(18));
        files.Remove(EvidenceBundleLayout.CheckpointSignature(18));
        files[EvidenceBundleLayout.HeadProof(_factory.EnvelopeId)] = BundleJsonOf(_factory.Chain.HeadProof(_factory.EnvelopeId, 11));
        var alone = Forge(files);
        Assert.That(alone.Valid, Is.True, Problems(alone));
        Assert.That(alone.Envelopes.Single().EvidenceThrough, Does.StartWith("checkpoint 11 "));

        // 3. A checkpoint kept outside the hub (a gateway's anchor) is newer: refused, naming both checkpoints.
        var anchor = new ChainAnchor(_factory.Chain.Checkpoints[^1], "gateway 000.00.01.H29");
        var report = BundleFactory.Verify(BundleFactory.Zip(files), BundleFactory.Options() with { Anchors = [anchor] });
        Assert.That(report.Valid, Is.False);
        var problem = report.Problems.Single();
        Assert.That(problem.Kind, Is.EqualTo(EvidenceProblemKind.OlderThanAnchor));
        Assert.That(problem.Reason, Does.Contain("up to checkpoint 11").And.Contain("is checkpoint 18"));

        // The untouched bundle satisfies the same anchor.
        Assert.That(BundleFactory.Verify(_zip, BundleFactory.Options() with { Anchors = [anchor] }).Valid, Is.True);
    }

    private static byte[] BundleJsonOf(EnvelopeHeadProof proof)
    {
        var source = new EvidenceBundleSource([], [], [], [proof]);
        using var output = new MemoryStream();
        EvidenceBundleWriter.Write(source, output, []);
        return BundleFactory.Unzip(output.ToArray())[EvidenceBundleLayout.HeadProof(proof.EnvelopeId)];
    }

    [Test]
    public void A_moved_delivery_time_is_refused()
    {
        // 1. It works: envelope.json's delivered_at is the signed receipt's time.
        // 2. The attack: the delivery is shown a day later (a deadline missed that was met).
        var files = BundleFactory.Unzip(_zip);
        var json = EnvelopeJson(files, _factory.EnvelopeId);
        var deliveredAt = System.Text.RegularExpressions.Regex.Match(json, "\"delivered_at\": \"([^\"]+)\"").Groups[1].Value;
        Assert.That(EvidenceChain.TryParseTime(deliveredAt, out var time), Is.True, deliveredAt);
        SetEnvelopeJson(files, _factory.EnvelopeId, json.Replace(deliveredAt, EvidenceChain.FormatTime(time.AddDays(1)), StringComparison.Ordinal));

        var report = Forge(files);

        // 3. Refused: the signed receipt says otherwise.
        Assert.That(report.Valid, Is.False);
        Assert.That(report.Problems.Single().Kind, Is.EqualTo(EvidenceProblemKind.EnvelopeMismatch));
        Assert.That(report.Problems.Single().Reason, Does.Contain("its signed receipt says"));
    }

    [Test]
    public void A_replaced_package_with_a_matching_manifest_fails_its_digest_and_signature()
    {
        var files = BundleFactory.Unzip(_zip);
        var path = EvidenceBundleLayout.Package(_factory.EnvelopeId);
        files[path] = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(files[path]).Replace("biên chế", "kinh phí", StringComparison.Ordinal));

        var report = Forge(files);

        Assert.That(report.Problems.Select(p => p.Kind), Does.Contain(EvidenceProblemKind.PackageDigest));
        Assert.That(report.Problems.Select(p => p.Kind), Does.Contain(EvidenceProblemKind.PackageSignature));
    }

    [Test]
    public void Refuses_checkpoints_against_another_trust_anchor()
    {
        var other = Path.Combine(Path.GetTempPath(), $"exchange-audit-other-{Guid.NewGuid():N}");
        try
        {
            var pki = Exchange.Signing.DevPki.LoadOrCreate(other, []);
            var report = BundleFactory.Verify(_zip, BundleFactory.Options() with { TrustAnchors = [pki.RootCertificate] });

            Assert.That(report.Valid, Is.False);
            Assert.That(report.Problems.Select(p => p.Kind), Does.Contain(EvidenceProblemKind.CheckpointSignature));
            Assert.That(report.Problems.Select(p => p.Kind), Does.Contain(EvidenceProblemKind.PackageSignature));
        }
        finally
        {
            Directory.Delete(other, recursive: true);
        }
    }

    [Test]
    public void Refuses_checkpoints_not_signed_by_the_pinned_hub_certificate()
    {
        var report = BundleFactory.Verify(_zip, BundleFactory.Options() with { SealCertificateSha256 = [new string('a', 64)] });

        Assert.That(report.Problems.Select(p => p.Kind), Does.Contain(EvidenceProblemKind.CheckpointSigner));
    }

    [Test]
    public void Without_crls_revocation_is_unknown_and_accepted_with_a_warning()
    {
        var report = BundleFactory.Verify(_factory.Write(crls: []));

        Assert.That(report.Valid, Is.True, Problems(report));
        Assert.That(report.Warnings, Is.Not.Empty);
    }

    [Test]
    public void A_rejected_envelope_with_a_bad_signature_verifies_as_evidence_of_the_rejection()
    {
        var rejected = new BundleFactory(accepted: false);

        var report = BundleFactory.Verify(rejected.Write());

        Assert.That(report.Valid, Is.True, Problems(report));
        Assert.That(report.Envelopes.Single().PackageSignature, Does.StartWith("signature-invalid"));
        Assert.That(report.Warnings, Has.Some.Contains("consistent with the hub's rejection"));
    }

    [Test]
    public void Refuses_a_file_that_is_not_a_zip()
    {
        var report = BundleFactory.Verify("not a zip"u8.ToArray());

        Assert.That(report.Problems.Single().Kind, Is.EqualTo(EvidenceProblemKind.BundleUnreadable));
    }

    [Test]
    public void Refuses_an_entry_that_climbs_out_of_the_bundle()
    {
        var files = BundleFactory.Unzip(_zip);
        files["../../etc/passwd"] = "x"u8.ToArray();

        var report = BundleFactory.Verify(BundleFactory.Zip(files));

        Assert.That(report.Problems.Single().Kind, Is.EqualTo(EvidenceProblemKind.BundleUnreadable));
    }

    [Test]
    public void Stops_reading_an_entry_that_decompresses_past_the_limit()
    {
        // 64 MB of zeros compresses to about 64 KB: a small zip bomb.
        var files = BundleFactory.Unzip(_zip);
        files["envelopes/bomb.bin"] = new byte[64 * 1024 * 1024];
        var zip = BundleFactory.Zip(files);
        Assert.That(zip.Length, Is.LessThan(1024 * 1024));

        var report = BundleFactory.Verify(zip, BundleFactory.Options(new BundleLimits { MaxEntryBytes = 8 * 1024 * 1024, MaxTotalBytes = 16 * 1024 * 1024 }));

        Assert.That(report.Problems.Single().Kind, Is.EqualTo(EvidenceProblemKind.LimitExceeded));
    }

    [Test]
    public void Refuses_a_bundle_with_too_many_entries()
    {
        var files = BundleFactory.Unzip(_zip);
        for (var i = 0; i < 50; i++)
        {
            files[$"extra/{i}"] = [];
        }

        var report = BundleFactory.Verify(BundleFactory.Zip(files), BundleFactory.Options(new BundleLimits { MaxEntries = 40 }));

        Assert.That(report.Problems.Single().Kind, Is.EqualTo(EvidenceProblemKind.LimitExceeded));
    }

    [Test]
    public void Names_an_extra_file()
    {
        var files = BundleFactory.Unzip(_zip);
        files["notes.txt"] = "thêm"u8.ToArray();

        var report = Forge(files);

        Assert.That(report.Problems.Single().Kind, Is.EqualTo(EvidenceProblemKind.FileUnexpected));
        Assert.That(report.Problems.Single().File, Is.EqualTo("notes.txt"));
    }

    [Test]
    public void Refuses_a_bundle_written_from_a_damaged_chain()
    {
        var damaged = _factory.Source with
        {
            ChainRecords = _factory.Source.ChainRecords.Select(r => r.Record.ChainIndex == 9 ? r with { Record = r.Record with { Detail = "sửa" } } : r).ToList(),
        };

        Assert.Throws<InvalidDataException>(() => EvidenceBundleWriter.Write(damaged, new MemoryStream()));
    }

    [Test]
    public void Zip_entries_are_compressed_and_named_in_sorted_order()
    {
        using var archive = new ZipArchive(new MemoryStream(_zip), ZipArchiveMode.Read);
        var names = archive.Entries.Select(e => e.FullName).ToList();

        Assert.That(names[0], Is.EqualTo(EvidenceBundleLayout.Manifest));
        Assert.That(names.Skip(1), Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal));
    }
}
