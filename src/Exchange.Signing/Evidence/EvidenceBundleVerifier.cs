using System.IO.Compression;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using Exchange.Core;
using Exchange.Signing.Internal;

namespace Exchange.Signing.Evidence;

/// <summary>How much of a bundle a verifier is willing to read (a zip bomb guard: entries are counted and sizes
/// measured while decompressing, not taken from the zip's headers).</summary>
public sealed record BundleLimits
{
    public int MaxEntries { get; init; } = 100_000;

    /// <summary>Largest single file; at least the hub's largest package (64 MB by default).</summary>
    public long MaxEntryBytes { get; init; } = 256L * 1024 * 1024;

    public long MaxTotalBytes { get; init; } = 1024L * 1024 * 1024;
}

/// <summary>Settings of an offline bundle verification.</summary>
public sealed record EvidenceBundleVerifierOptions
{
    /// <summary>The trust anchors every signature must chain to (the bundle's own certificates are never trusted).</summary>
    public required IReadOnlyList<X509Certificate2> TrustAnchors { get; init; }

    /// <summary>CRLs supplied by the auditor, in addition to those in the bundle.</summary>
    public IReadOnlyList<byte[]> Crls { get; init; } = [];

    /// <summary>SHA-256 (hex) of the hub sealing certificates the checkpoints must be signed with; empty: any
    /// certificate chaining to the anchors, with a warning.</summary>
    public IReadOnlyCollection<string> SealCertificateSha256 { get; init; } = [];

    /// <summary>False (offline default): a certificate whose revocation status no CRL answers is accepted with a
    /// warning. True: refused (use with CRLs the auditor trusts to be current).</summary>
    public bool RequireRevocation { get; init; }

    public BundleLimits Limits { get; init; } = new();

    public TimeProvider? Clock { get; init; }

    /// <summary>Signed checkpoints kept outside the hub (a gateway's, an auditor's): a bundle must prove its envelopes'
    /// records up to the newest of them, or it may leave out records sealed since (docs/evidence.md, "Anchors").</summary>
    public IReadOnlyList<ChainAnchor> Anchors { get; init; } = [];
}

/// <summary>A record of the bundle as the verifier read it.</summary>
public sealed record BundleRecordReport(long ChainIndex, Guid EvidenceId, string Kind, string? Recipient, string Reason, string IssuedAt, string Issuer, string Detail, long? CheckpointIndex);

/// <summary>A receipt as the verifier read it.</summary>
public sealed record BundleReceiptReport(Guid ReceiptId, string RecipientCode, string ReceivedAt, string Signer, bool Valid);

/// <summary>
/// One envelope of the bundle: what was sent, by whom, and its evidence. Sender, DocumentId and subject are read from the
/// package itself (its signature's verdict is <see cref="PackageSignature"/>), never from envelope.json.
/// <see cref="EvidenceThrough"/> is the checkpoint the bundle proves the envelope's records up to (its newest checkpoint,
/// whose envelope_heads_root names the envelope's last record in the bundle): every record of the envelope sealed up to
/// it is in the bundle; records sealed after it are not covered.
/// </summary>
public sealed record BundleEnvelopeReport(
    Guid EnvelopeId, string? SenderCode, string? DocumentId, string? Subject, string? PackageSha256, string PackageSignature,
    IReadOnlyList<string> PackageSigners, IReadOnlyList<BundleRecordReport> Evidence, IReadOnlyList<BundleReceiptReport> Receipts,
    string? EvidenceThrough = null);

/// <summary>The verdict on a bundle. <see cref="Valid"/> only when there is no problem at all.</summary>
public sealed record BundleReport(
    IReadOnlyList<BundleEnvelopeReport> Envelopes,
    int Files,
    int Records,
    int Checkpoints,
    IReadOnlyList<EvidenceProblem> Problems,
    IReadOnlyList<string> Warnings)
{
    public bool Valid => Problems.Count == 0;
}

/// <summary>
/// Verifies an evidence bundle offline, with no database: the manifest (every file's SHA-256 and size, and the
/// manifest's own canonical form), every record's canonical form and its link to the record before it up to a
/// signed checkpoint, every checkpoint's signature (CMS, archive policy) and signer, the package's signature and
/// that the sealed evidence names its SHA-256, every receipt's signature and what it names, that every sealed
/// record of an envelope in the bundle's chain segments is listed, that every consignment has its receipt, and
/// that every derived file (views, PEM) is exactly what the verifier would write. Any single changed byte in any
/// file makes at least one of these fail. See docs/evidence.md.
/// </summary>
public sealed partial class EvidenceBundleVerifier
{
    private readonly EvidenceBundleVerifierOptions _options;

    public EvidenceBundleVerifier(EvidenceBundleVerifierOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    public BundleReport Verify(string path)
    {
        using var stream = File.OpenRead(path);
        return Verify(stream);
    }

    public BundleReport Verify(Stream zip)
    {
        ArgumentNullException.ThrowIfNull(zip);
        var run = new Run(_options);
        return run.Execute(zip);
    }

    [GeneratedRegex("^envelopes/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/(envelope\\.json|package\\.edxml|package\\.p7s)$")]
    private static partial Regex EnvelopeFile();

    [GeneratedRegex("^envelopes/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/receipts/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\\.(json|p7s)$")]
    private static partial Regex ReceiptFile();

    [GeneratedRegex("^chain/([0-9]{16})\\.(jcs|json)$")]
    private static partial Regex RecordFile();

    [GeneratedRegex("^checkpoints/([0-9]{16})\\.(jcs|p7s)$")]
    private static partial Regex CheckpointFile();

    [GeneratedRegex("^certificates/([0-9a-f]{64})\\.pem$")]
    private static partial Regex CertificateFile();

    [GeneratedRegex("^crls/([0-9a-f]{64})\\.crl$")]
    private static partial Regex CrlFile();

    /// <summary>One verification: the files read, the problems found so far.</summary>
    private sealed class Run(EvidenceBundleVerifierOptions options)
    {
        private const int MaxProblems = 200;
        private readonly Dictionary<string, byte[]> _files = new(StringComparer.Ordinal);
        private readonly HashSet<string> _explained = new(StringComparer.Ordinal) { EvidenceBundleLayout.Manifest };
        private readonly List<EvidenceProblem> _problems = [];
        private readonly SortedSet<string> _warnings = new(StringComparer.Ordinal);
        private readonly SortedDictionary<long, EvidenceRecord> _records = [];
        private readonly SortedDictionary<long, EvidenceCheckpoint> _checkpoints = [];
        private readonly Dictionary<long, long> _coveredBy = [];
        private readonly HashSet<string> _cmsCertificates = new(StringComparer.Ordinal);
        private readonly HashSet<string> _sealCertificates = new(StringComparer.Ordinal);
        private readonly Dictionary<Guid, EvidenceCheckpoint> _provenThrough = [];
        private SignatureVerifier _signatures = null!;

        public BundleReport Execute(Stream zip)
        {
            if (!Read(zip))
            {
                return Report([]);
            }

            CheckManifest();
            if (!BuildVerifier())
            {
                return Report([]);
            }

            CheckRecords();
            CheckCheckpoints();
            CheckLinks();
            var envelopes = CheckEnvelopes();
            CheckCheckpointsUsed();
            CheckAnchors();
            CheckCertificates();
            foreach (var path in _files.Keys.Where(p => !_explained.Contains(p)).Order(StringComparer.Ordinal))
            {
                Problem(EvidenceProblemKind.FileUnexpected, "a file the bundle layout does not know", path);
            }

            return Report(envelopes);
        }

        private BundleReport Report(IReadOnlyList<BundleEnvelopeReport> envelopes) =>
            new(envelopes, _files.Count, _records.Count, _checkpoints.Count, _problems.ToList(), _warnings.ToList());

        private void Problem(EvidenceProblemKind kind, string reason, string? file = null, long? index = null, Guid? evidence = null)
        {
            if (_problems.Count < MaxProblems)
            {
                _problems.Add(new EvidenceProblem(kind, reason, index, evidence, file));
            }
        }

        // ---- zip ----------------------------------------------------------------------------------------------

        private bool Read(Stream zip)
        {
            var limits = options.Limits;
            try
            {
                using var archive = new ZipArchive(zip, ZipArchiveMode.Read, leaveOpen: true);
                if (archive.Entries.Count > limits.MaxEntries)
                {
                    Problem(EvidenceProblemKind.LimitExceeded, $"the bundle has {archive.Entries.Count} entries; the limit is {limits.MaxEntries}");
                    return false;
                }

                long total = 0;
                foreach (var entry in archive.Entries)
                {
                    var name = entry.FullName;
                    if (name.Length == 0 || name.Length > 512 || name.Contains('\\', StringComparison.Ordinal) || name.StartsWith('/')
                        || name.Split('/').Any(s => s is "" or "." or ".."))
                    {
                        Problem(EvidenceProblemKind.BundleUnreadable, $"unsafe entry name '{name}'");
                        return false;
                    }

                    if (entry.Length > limits.MaxEntryBytes || total + entry.Length > limits.MaxTotalBytes)
                    {
                        Problem(EvidenceProblemKind.LimitExceeded, $"entry '{name}' declares {entry.Length} bytes: over the limit ({limits.MaxEntryBytes} per file, {limits.MaxTotalBytes} in all)");
                        return false;
                    }

                    // Sizes are measured while decompressing: a zip's declared sizes are not to be trusted.
                    var bytes = ReadBounded(entry, Math.Min(limits.MaxEntryBytes, limits.MaxTotalBytes - total));
                    if (bytes is null)
                    {
                        Problem(EvidenceProblemKind.LimitExceeded, $"entry '{name}' decompresses past the limit ({limits.MaxEntryBytes} per file, {limits.MaxTotalBytes} in all)");
                        return false;
                    }

                    total += bytes.Length;
                    if (!_files.TryAdd(name, bytes))
                    {
                        Problem(EvidenceProblemKind.BundleUnreadable, $"entry '{name}' appears twice");
                        return false;
                    }
                }

                return true;
            }
            catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException)
            {
                Problem(EvidenceProblemKind.BundleUnreadable, $"not a readable zip: {e.Message}");
                return false;
            }
        }

        private static byte[]? ReadBounded(ZipArchiveEntry entry, long limit)
        {
            using var stream = entry.Open();
            using var buffer = new MemoryStream(entry.Length is > 0 and < 64 * 1024 * 1024 ? (int)entry.Length : 0);
            var chunk = new byte[81920];
            int read;
            while ((read = stream.Read(chunk)) > 0)
            {
                if (buffer.Length + read > limit)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }

        // ---- manifest -----------------------------------------------------------------------------------------

        private void CheckManifest()
        {
            const string path = EvidenceBundleLayout.Manifest;
            if (!_files.TryGetValue(path, out var bytes))
            {
                Problem(EvidenceProblemKind.ManifestInvalid, "the bundle has no manifest.json", path);
                return;
            }

            var manifest = BundleJson.Deserialize<ManifestView>(bytes, out var error);
            if (manifest is null)
            {
                Problem(EvidenceProblemKind.ManifestInvalid, $"not a valid manifest: {error}", path);
                return;
            }

            if (manifest.Format != EvidenceBundleLayout.Format)
            {
                Problem(EvidenceProblemKind.ManifestInvalid, $"format is '{manifest.Format}', not '{EvidenceBundleLayout.Format}'", path);
            }

            var listed = new Dictionary<string, ManifestFile>(StringComparer.Ordinal);
            foreach (var file in manifest.Files)
            {
                if (!listed.TryAdd(file.Path, file))
                {
                    Problem(EvidenceProblemKind.ManifestInvalid, $"lists '{file.Path}' twice", path);
                }
            }

            foreach (var (name, content) in _files.Where(f => f.Key != path).OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                if (!listed.TryGetValue(name, out var entry))
                {
                    Problem(EvidenceProblemKind.FileUnexpected, "in the bundle but not in the manifest", name);
                    continue;
                }

                var sha = EvidenceBundleWriter.Sha256(content);
                if (entry.Sha256 != sha || entry.Size != content.Length)
                {
                    Problem(EvidenceProblemKind.FileDigestMismatch,
                        $"SHA-256 {sha} ({content.Length} bytes), but the manifest lists {entry.Sha256} ({entry.Size} bytes): the file was changed", name);
                }
            }

            if (listed.ContainsKey(path))
            {
                Problem(EvidenceProblemKind.ManifestInvalid, "the manifest lists itself", path);
            }

            foreach (var name in listed.Keys.Where(n => n != path && !_files.ContainsKey(n)).Order(StringComparer.Ordinal))
            {
                Problem(EvidenceProblemKind.FileMissing, "listed in the manifest but not in the bundle", name);
            }

            var folders = _files.Keys.Select(k => EnvelopeFile().Match(k)).Where(m => m.Success).Select(m => Guid.Parse(m.Groups[1].Value)).ToHashSet();
            if (!folders.SetEquals(manifest.Envelopes) || manifest.Envelopes.Count != folders.Count)
            {
                Problem(EvidenceProblemKind.ManifestInvalid, "its envelope list differs from the envelopes in the bundle", path);
            }

            // Everything above matched field by field; the bytes must also be exactly what a writer produces.
            var expected = BundleJson.Serialize(BundleJson.Manifest(manifest.Envelopes, manifest.Files.Select(f => (f.Path, f.Sha256, f.Size))));
            if (!expected.AsSpan().SequenceEqual(bytes))
            {
                Problem(EvidenceProblemKind.ManifestInvalid, "not in its canonical form (sorted, indented with two spaces, \\n line ends)", path);
            }
        }

        // ---- trust --------------------------------------------------------------------------------------------

        private bool BuildVerifier()
        {
            var crls = new List<byte[]>();
            foreach (var crl in options.Crls)
            {
                try
                {
                    crls.AddRange(EvidenceBundleWriter.SplitCrls(crl));
                }
                catch (InvalidDataException e)
                {
                    Problem(EvidenceProblemKind.FileInvalid, $"a CRL given to the verifier cannot be read: {e.Message}");
                    return false;
                }
            }

            foreach (var (path, bytes) in _files.Where(f => f.Key.StartsWith("crls/", StringComparison.Ordinal)))
            {
                var match = CrlFile().Match(path);
                if (!match.Success)
                {
                    continue;
                }

                _explained.Add(path);
                if (EvidenceBundleWriter.Sha256(bytes) != match.Groups[1].Value)
                {
                    Problem(EvidenceProblemKind.FileInvalid, "the CRL's SHA-256 is not its file name", path);
                    continue;
                }

                try
                {
                    RevocationList.Parse(bytes);
                    crls.Add(bytes);
                }
                catch (Exception e) when (e is CryptographicException or System.Formats.Asn1.AsnContentException or FormatException or ArgumentException)
                {
                    Problem(EvidenceProblemKind.FileInvalid, $"not a DER CRL: {e.Message}", path);
                }
            }

            var store = TrustStore.FromCertificates(options.TrustAnchors, [], crls, new TrustOptions { AcceptUnknownRevocation = !options.RequireRevocation });
            _signatures = new SignatureVerifier(store, options.Clock);
            return true;
        }

        private VerificationResult VerifySignature(byte[] content, byte[] signature)
        {
            var result = _signatures.Verify(content, signature, SignaturePolicy.Archive);
            try
            {
                foreach (var der in CmsMessage.Parse(signature).Certificates)
                {
                    _cmsCertificates.Add(EvidenceBundleWriter.Sha256(der.Span));
                }
            }
            catch (Exception e) when (e is CryptographicException or System.Formats.Asn1.AsnContentException)
            {
                // Already reported by the signature verdict.
            }

            return result;
        }

        // ---- chain --------------------------------------------------------------------------------------------

        private void CheckRecords()
        {
            foreach (var (path, bytes) in _files.Where(f => f.Key.StartsWith("chain/", StringComparison.Ordinal)).OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                var match = RecordFile().Match(path);
                if (!match.Success || match.Groups[2].Value != "jcs")
                {
                    continue;
                }

                _explained.Add(path);
                var index = long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (!EvidenceChain.TryParseRecord(bytes, out var record, out var error))
                {
                    Problem(EvidenceProblemKind.FileInvalid, $"not a canonical evidence record: {error}", path, index);
                    continue;
                }

                if (record!.ChainIndex != index)
                {
                    Problem(EvidenceProblemKind.RecordReordered, $"the file is named for index {index} but the record says chain_index {record.ChainIndex}", path, index, record.EvidenceId);
                    continue;
                }

                _records[index] = record;
                var viewPath = EvidenceBundleLayout.RecordView(index);
                _explained.Add(viewPath);
                if (!_files.TryGetValue(viewPath, out var view))
                {
                    Problem(EvidenceProblemKind.FileMissing, $"the JSON view of record {index} is missing", viewPath, index, record.EvidenceId);
                }
                else if (!view.AsSpan().SequenceEqual(BundleJson.Serialize(BundleJson.RecordView(record, EvidenceChain.Hash(bytes)))))
                {
                    Problem(EvidenceProblemKind.FileInvalid, $"the JSON view of record {index} differs from its canonical bytes", viewPath, index, record.EvidenceId);
                }
            }
        }

        private void CheckCheckpoints()
        {
            foreach (var (path, bytes) in _files.Where(f => f.Key.StartsWith("checkpoints/", StringComparison.Ordinal)).OrderBy(f => f.Key, StringComparer.Ordinal))
            {
                var match = CheckpointFile().Match(path);
                if (!match.Success || match.Groups[2].Value != "jcs")
                {
                    continue;
                }

                _explained.Add(path);
                var index = long.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
                if (!EvidenceChain.TryParseCheckpoint(bytes, out var checkpoint, out var error))
                {
                    Problem(EvidenceProblemKind.FileInvalid, $"not a canonical checkpoint: {error}", path, index);
                    continue;
                }

                if (checkpoint!.ChainIndex != index)
                {
                    Problem(EvidenceProblemKind.FileInvalid, $"the file is named for index {index} but the checkpoint says chain_index {checkpoint.ChainIndex}", path, index);
                    continue;
                }

                var signaturePath = EvidenceBundleLayout.CheckpointSignature(index);
                _explained.Add(signaturePath);
                if (!_files.TryGetValue(signaturePath, out var signature))
                {
                    Problem(EvidenceProblemKind.FileMissing, $"checkpoint {index} has no signature", signaturePath, index);
                    continue;
                }

                var result = VerifySignature(bytes, signature);
                if (!result.Valid)
                {
                    Problem(EvidenceProblemKind.CheckpointSignature, $"the hub's signature of checkpoint {index} does not verify: {result.Reason.ToCode()}: {result.Detail}", signaturePath, index);
                    continue;
                }

                var signer = result.ValidSigners.First();
                _sealCertificates.Add(signer.CertificateSha256);
                if (options.SealCertificateSha256.Count > 0 && !options.SealCertificateSha256.Contains(signer.CertificateSha256, StringComparer.OrdinalIgnoreCase))
                {
                    Problem(EvidenceProblemKind.CheckpointSigner, $"checkpoint {index} is signed by '{signer.Subject}' (sha256 {signer.CertificateSha256}), not a pinned hub sealing certificate", signaturePath, index);
                    continue;
                }

                if (options.SealCertificateSha256.Count == 0)
                {
                    _warnings.Add($"checkpoints signed by '{signer.Subject}' (sha256 {signer.CertificateSha256}); pass --hub-certificate to require the hub's sealing certificate");
                }

                Warn("checkpoint signature", result);
                _checkpoints[index] = checkpoint;
            }
        }

        /// <summary>Every record links to the one before it, runs of records end at a valid checkpoint, and each
        /// checkpoint commits to the hash of the record at its index.</summary>
        private void CheckLinks()
        {
            long? runStart = null;
            long previous = 0;
            string? previousHash = null;
            var pending = new List<long>();
            foreach (var (index, record) in _records)
            {
                if (runStart is null || index != previous + 1)
                {
                    CloseRun(pending, null);
                    runStart = index;
                }
                else if (record.PrevHash != previousHash)
                {
                    Problem(EvidenceProblemKind.LinkBroken,
                        $"record {index} names prev_hash {record.PrevHash}, but record {previous} hashes to {previousHash}: one of them was changed",
                        EvidenceBundleLayout.Record(index), index, record.EvidenceId);
                }

                var hash = EvidenceChain.Hash(EvidenceChain.Canonical(record));
                pending.Add(index);
                if (_checkpoints.TryGetValue(index, out var checkpoint))
                {
                    if (checkpoint.RecordHash != hash)
                    {
                        Problem(EvidenceProblemKind.CheckpointMismatch,
                            $"checkpoint {index} commits to record_hash {checkpoint.RecordHash}, but record {index} hashes to {hash}: the record (or one before it in its run) was changed",
                            EvidenceBundleLayout.Record(index), index, record.EvidenceId);
                    }
                    else
                    {
                        CloseRun(pending, index);
                    }
                }

                previous = index;
                previousHash = hash;
            }

            CloseRun(pending, null);
        }

        /// <summary>A checkpoint either ends a run of records or is the one a heads proof leads to (the newest, whose record
        /// belongs to other envelopes); anything else is a checkpoint whose record was taken out.</summary>
        private void CheckCheckpointsUsed()
        {
            var proofs = _provenThrough.Values.Select(c => c.ChainIndex).ToHashSet();
            foreach (var index in _checkpoints.Keys.Where(i => !_records.ContainsKey(i) && !proofs.Contains(i)))
            {
                Problem(EvidenceProblemKind.FileMissing, $"checkpoint {index} is in the bundle but the record it signs is not", EvidenceBundleLayout.Record(index), index);
            }
        }

        private void CloseRun(List<long> pending, long? checkpoint)
        {
            foreach (var index in pending)
            {
                if (checkpoint is { } c)
                {
                    _coveredBy[index] = c;
                }
                else
                {
                    Problem(EvidenceProblemKind.ChainUncovered,
                        $"record {index} is not linked to a valid signed checkpoint in the bundle (the records after it up to a checkpoint are missing or broken)",
                        EvidenceBundleLayout.Record(index), index, _records[index].EvidenceId);
                }
            }

            pending.Clear();
        }

        // ---- envelopes ----------------------------------------------------------------------------------------

        private List<BundleEnvelopeReport> CheckEnvelopes()
        {
            var ids = _files.Keys.Select(k => EnvelopeFile().Match(k)).Where(m => m.Success).Select(m => Guid.Parse(m.Groups[1].Value))
                .Concat(_files.Keys.Select(k => ReceiptFile().Match(k)).Where(m => m.Success).Select(m => Guid.Parse(m.Groups[1].Value)))
                .Distinct().OrderBy(id => id.ToString("D"), StringComparer.Ordinal).ToList();
            if (ids.Count == 0)
            {
                Problem(EvidenceProblemKind.FileMissing, "the bundle holds no envelope");
            }

            return ids.Select(CheckEnvelope).ToList();
        }

        private BundleEnvelopeReport CheckEnvelope(Guid id)
        {
            var envelopePath = EvidenceBundleLayout.Envelope(id);
            var packagePath = EvidenceBundleLayout.Package(id);
            var signaturePath = EvidenceBundleLayout.PackageSignature(id);
            _explained.UnionWith([envelopePath, packagePath, signaturePath]);
            var records = _records.Values.Where(r => r.EnvelopeId == id).ToList();
            var evidence = records.Select(r => new BundleRecordReport(
                r.ChainIndex, r.EvidenceId, r.Kind, r.RecipientCode, r.Reason, EvidenceChain.FormatTime(r.IssuedAt), r.Issuer, r.Detail,
                _coveredBy.TryGetValue(r.ChainIndex, out var c) ? c : null)).ToList();
            if (records.Count == 0)
            {
                Problem(EvidenceProblemKind.EvidenceIncomplete, $"envelope {id} has no sealed evidence record in the bundle", envelopePath);
            }

            EnvelopeView? view = null;
            if (!_files.TryGetValue(envelopePath, out var viewBytes))
            {
                Problem(EvidenceProblemKind.FileMissing, "envelope.json is missing", envelopePath);
            }
            else if ((view = BundleJson.Deserialize<EnvelopeView>(viewBytes, out var error)) is null)
            {
                Problem(EvidenceProblemKind.FileInvalid, $"not a valid envelope.json: {error}", envelopePath);
            }
            else if (!BundleJson.Serialize(view).AsSpan().SequenceEqual(viewBytes))
            {
                Problem(EvidenceProblemKind.FileInvalid, "not in its canonical form", envelopePath);
            }

            var hasPackage = _files.TryGetValue(packagePath, out var package);
            var hasSignature = _files.TryGetValue(signaturePath, out var signature);
            if (!hasPackage)
            {
                Problem(EvidenceProblemKind.FileMissing, "the package is missing", packagePath);
            }

            if (!hasSignature)
            {
                Problem(EvidenceProblemKind.FileMissing, "the package's signature is missing", signaturePath);
            }

            var packageSha = hasPackage ? EvidenceBundleWriter.Sha256(package) : null;
            var accepted = records.Any(r => r.Kind == nameof(EvidenceKind.SubmissionAcceptance));
            if (packageSha is not null)
            {
                if (accepted && records.Where(r => r.Kind == nameof(EvidenceKind.SubmissionAcceptance)).Any(r => r.PackageSha256 != packageSha))
                {
                    Problem(EvidenceProblemKind.PackageDigest, $"the package's SHA-256 is {packageSha}, but the sealed SubmissionAcceptance names another", packagePath);
                }
                else if (records.Count > 0 && !records.Any(r => r.PackageSha256 == packageSha))
                {
                    Problem(EvidenceProblemKind.PackageDigest, $"no sealed record of the envelope names the package's SHA-256 {packageSha}", packagePath);
                }
            }

            var packageVerdict = "missing";
            var signers = new List<string>();
            if (hasPackage && hasSignature)
            {
                var result = VerifySignature(package!, signature!);
                signers.AddRange(result.Signers.Select(s => $"{s.Subject} (sha256 {s.CertificateSha256}): {s.Verdict.ToCode()}"));
                packageVerdict = result.Valid ? "valid" : $"{result.Reason.ToCode()}: {result.Detail}";
                if (!result.Valid && accepted)
                {
                    Problem(EvidenceProblemKind.PackageSignature, $"the package's signature does not verify, yet the hub accepted it: {result.Reason.ToCode()}: {result.Detail}", signaturePath);
                }
                else if (!result.Valid)
                {
                    _warnings.Add($"envelope {id}: the package's signature does not verify ({result.Reason.ToCode()}), consistent with the hub's rejection");
                }

                Warn($"envelope {id} package signature", result);
                if (view?.SignerCertificateSha256 is { } bound && !result.ValidSigners.Any(s => s.CertificateSha256 == bound))
                {
                    Problem(EvidenceProblemKind.EnvelopeMismatch, $"envelope.json names signer certificate {bound}, which is not a valid signer of the package", envelopePath);
                }
            }

            if (view is not null)
            {
                CheckEnvelopeView(id, view, records, packageSha, envelopePath);
            }

            CheckEnvelopeLinks(id, records);
            CheckHeads(id, records);
            var header = hasPackage ? ReadHeader(package!) : null;
            var receipts = CheckReceipts(id, view, records, packageSha, out var receiptTimes);
            if (view is not null)
            {
                CheckViewAgainstSignedFacts(view, header, records, receiptTimes, envelopePath);
            }

            var through = _provenThrough.TryGetValue(id, out var proven)
                ? $"checkpoint {proven.ChainIndex} sealed at {EvidenceChain.FormatTime(proven.SealedAt)}"
                : null;
            return new BundleEnvelopeReport(
                id, header?.From.OrganId, header?.DocumentId, header?.Subject, packageSha, packageVerdict, signers, evidence, receipts, through);
        }

        /// <summary>
        /// Each format 2 record names the record_hash of its envelope's record before it (64 zeros for the first): the
        /// records of the envelope in the bundle must form that chain with nothing left out (a consignment cut from
        /// between the submission and a later record, say, with the run of the chain around it).
        /// </summary>
        private void CheckEnvelopeLinks(Guid id, List<EvidenceRecord> records)
        {
            var expected = EvidenceChain.GenesisHash;
            EvidenceRecord? previous = null;
            foreach (var record in records)
            {
                if (record.EnvelopePrevHash is { } named && named != expected)
                {
                    Problem(EvidenceProblemKind.EvidenceIncomplete, previous is null
                        ? $"record {record.ChainIndex} of envelope {id} follows an earlier record of the envelope (record_hash {named}) that the bundle does not hold: a record was left out"
                        : $"record {record.ChainIndex} of envelope {id} follows a record of the envelope hashing to {named}, not record {previous.ChainIndex} ({expected}): a record between them was left out",
                        EvidenceBundleLayout.Record(record.ChainIndex), record.ChainIndex, record.EvidenceId);
                }

                expected = EvidenceChain.Hash(EvidenceChain.Canonical(record));
                previous = record;
            }
        }

        /// <summary>
        /// The envelope's heads proof: a signed checkpoint of the bundle (its newest, as exported) names, through its
        /// envelope_heads_root, the envelope's newest record as of that checkpoint, and that must be the envelope's last
        /// record in the bundle. With the envelope links (<see cref="CheckEnvelopeLinks"/>) this proves that no record of
        /// the envelope sealed up to that checkpoint was left out, such as a delivery that came last.
        /// </summary>
        private void CheckHeads(Guid id, List<EvidenceRecord> records)
        {
            var path = EvidenceBundleLayout.HeadProof(id);
            _explained.Add(path);
            if (!_files.TryGetValue(path, out var bytes))
            {
                Problem(EvidenceProblemKind.HeadsUnproven, $"envelope {id} has no heads proof: the bundle does not show that it holds the envelope's newest records", path);
                return;
            }

            var view = BundleJson.Deserialize<HeadProofView>(bytes, out var error);
            if (view is null || !BundleJson.Serialize(view).AsSpan().SequenceEqual(bytes))
            {
                Problem(EvidenceProblemKind.FileInvalid, view is null ? $"not a valid heads proof: {error}" : "not in its canonical form", path);
                return;
            }

            var proof = view.ToProof();
            var entry = proof.Entries.Where(e => e.EnvelopeId == id).ToList();
            if (proof.EnvelopeId != id || proof.Bucket != EnvelopeHeads.BucketOf(id) || entry.Count != 1
                || proof.Entries.Any(e => EnvelopeHeads.BucketOf(e.EnvelopeId) != proof.Bucket))
            {
                Problem(EvidenceProblemKind.HeadsUnproven,
                    $"the heads proof is not for envelope {id} in its bucket {EnvelopeHeads.BucketOf(id)} (it names envelope {proof.EnvelopeId}, bucket {proof.Bucket}, and every entry must belong to that bucket)", path);
                return;
            }

            if (!_checkpoints.TryGetValue(proof.CheckpointIndex, out var checkpoint) || checkpoint.EnvelopeHeadsRoot is null)
            {
                Problem(EvidenceProblemKind.HeadsUnproven,
                    $"the heads proof refers to checkpoint {proof.CheckpointIndex}, which is not a validly signed checkpoint of format 2 in the bundle", path, proof.CheckpointIndex);
                return;
            }

            string root;
            try
            {
                root = proof.Root();
            }
            catch (ArgumentException e)
            {
                Problem(EvidenceProblemKind.HeadsUnproven, $"the heads proof is malformed: {e.Message}", path, proof.CheckpointIndex);
                return;
            }

            if (root != checkpoint.EnvelopeHeadsRoot)
            {
                Problem(EvidenceProblemKind.HeadsUnproven,
                    $"the heads proof leads to root {root}, but checkpoint {checkpoint.ChainIndex} signs envelope_heads_root {checkpoint.EnvelopeHeadsRoot}: an entry or sibling was changed", path, checkpoint.ChainIndex);
                return;
            }

            var head = entry[0].RecordHash;
            var last = records.Count > 0 ? records[^1] : null;
            var lastHash = last is null ? null : EvidenceChain.Hash(EvidenceChain.Canonical(last));
            if (head != lastHash)
            {
                Problem(EvidenceProblemKind.EvidenceIncomplete, last is null
                    ? $"checkpoint {checkpoint.ChainIndex} names record_hash {head} as envelope {id}'s newest record, and the bundle holds none of its records"
                    : $"checkpoint {checkpoint.ChainIndex} names record_hash {head} as envelope {id}'s newest record, but the bundle's last record of it is {last.ChainIndex} ({lastHash}): records sealed after it were left out",
                    path, checkpoint.ChainIndex);
                return;
            }

            _provenThrough[id] = checkpoint;
        }

        /// <summary>
        /// Each anchor must be a checkpoint the hub validly signed, and no newer than what the bundle proves every envelope
        /// up to: a bundle exported before the anchor's checkpoint (or cut back to an earlier one) may leave out records
        /// sealed since. At the same index, the anchor and the bundle's checkpoint must be the same checkpoint.
        /// </summary>
        private void CheckAnchors()
        {
            foreach (var anchor in options.Anchors)
            {
                var signed = anchor.Checkpoint;
                var index = signed.Checkpoint.ChainIndex;
                var result = VerifySignature(EvidenceChain.Canonical(signed.Checkpoint), signed.Signature);
                if (!result.Valid)
                {
                    Problem(EvidenceProblemKind.CheckpointSignature, $"the anchor from {anchor.Source} (checkpoint {index}) does not verify: {result.Reason.ToCode()}: {result.Detail}", index: index);
                    continue;
                }

                var signer = result.ValidSigners.First();
                if (options.SealCertificateSha256.Count > 0 && !options.SealCertificateSha256.Contains(signer.CertificateSha256, StringComparer.OrdinalIgnoreCase))
                {
                    Problem(EvidenceProblemKind.CheckpointSigner, $"the anchor from {anchor.Source} (checkpoint {index}) is signed by '{signer.Subject}', not a pinned hub sealing certificate", index: index);
                    continue;
                }

                if (_checkpoints.TryGetValue(index, out var same) && same != signed.Checkpoint)
                {
                    Problem(EvidenceProblemKind.CheckpointMismatch,
                        $"the anchor from {anchor.Source} and the bundle hold different checkpoints at index {index} (record_hash {signed.Checkpoint.RecordHash} against {same.RecordHash}): the hub signed two histories", index: index);
                }

                foreach (var (id, proven) in _provenThrough.Where(p => p.Value.ChainIndex < index).OrderBy(p => p.Key.ToString("D"), StringComparer.Ordinal))
                {
                    Problem(EvidenceProblemKind.OlderThanAnchor,
                        $"the bundle proves envelope {id}'s records up to checkpoint {proven.ChainIndex}, but the anchor from {anchor.Source} is checkpoint {index} sealed at {EvidenceChain.FormatTime(signed.Checkpoint.SealedAt)}: records sealed in between may be left out; export the bundle again",
                        EvidenceBundleLayout.HeadProof(id), index);
                }
            }
        }

        /// <summary>The package's own header (From, DocumentId, Subject), or null when it cannot be read as edXML.</summary>
        private static Edxml.EdxmlHeader? ReadHeader(byte[] package)
        {
            if (package.Length == 0)
            {
                return null;
            }

            try
            {
                return Edxml.EdxmlReader.ReadHeader(package);
            }
            catch (Edxml.EdxmlException)
            {
                return null;
            }
        }

        /// <summary>
        /// envelope.json is a summary for people, written by the hub and signed by nobody: every fact in it must agree with
        /// signed or sealed material, or the bundle is not valid. The sender of an accepted envelope is the package's From;
        /// the DocumentId and subject, when the hub recorded them, are the package's; the state agrees with the sealed
        /// submission record; a delivery shown delivered has its sealed consignment and its signed receipt, with the
        /// receipt's time; one with a sealed consignment is shown delivered.
        /// </summary>
        private void CheckViewAgainstSignedFacts(
            EnvelopeView view, Edxml.EdxmlHeader? header, List<EvidenceRecord> records, Dictionary<string, DateTimeOffset> receiptTimes, string path)
        {
            var accepted = records.Any(r => r.Kind == nameof(EvidenceKind.SubmissionAcceptance));
            if (accepted)
            {
                var from = header is null ? null : AgencyCode.TryParse(header.From.OrganId, out var code, out _) ? code.Value : header.From.OrganId;
                if (from != view.SenderCode)
                {
                    Problem(EvidenceProblemKind.EnvelopeMismatch, $"envelope.json names sender '{view.SenderCode}', but the signed package is from '{from ?? "(unreadable)"}'", path);
                }
            }

            if (view.DocumentId is not null && view.DocumentId != header?.DocumentId)
            {
                Problem(EvidenceProblemKind.EnvelopeMismatch, $"envelope.json names DocumentId '{view.DocumentId}', but the package's is '{header?.DocumentId ?? "(unreadable)"}'", path);
            }

            if (view.Subject is not null && view.Subject != header?.Subject)
            {
                Problem(EvidenceProblemKind.EnvelopeMismatch, "envelope.json's subject is not the package's", path);
            }

            if (accepted == (view.State == "rejected"))
            {
                Problem(EvidenceProblemKind.EnvelopeMismatch, $"envelope.json says the envelope was {view.State}, but the sealed evidence says it was {(accepted ? "accepted" : "not accepted")}", path);
            }

            var consigned = records.Where(r => r.Kind == nameof(EvidenceKind.ContentConsignment) && r.Reason == ReasonCode.Ok.ToCode() && r.RecipientCode is not null)
                .Select(r => r.RecipientCode!).ToHashSet(StringComparer.Ordinal);
            foreach (var delivery in view.Deliveries)
            {
                var shownDelivered = delivery.State == "delivered";
                if (consigned.Contains(delivery.RecipientCode) && !shownDelivered)
                {
                    Problem(EvidenceProblemKind.EnvelopeMismatch, $"envelope.json shows the delivery to {delivery.RecipientCode} as {delivery.State}, but a sealed ContentConsignment records it delivered", path);
                }
                else if (shownDelivered && !consigned.Contains(delivery.RecipientCode))
                {
                    Problem(EvidenceProblemKind.EnvelopeMismatch, $"envelope.json shows the delivery to {delivery.RecipientCode} as delivered, but no sealed ContentConsignment records it", path);
                }

                if (delivery.DeliveredAt is { } deliveredAt
                    && (!receiptTimes.TryGetValue(delivery.RecipientCode, out var signed) || deliveredAt != EvidenceChain.FormatTime(signed)))
                {
                    Problem(EvidenceProblemKind.EnvelopeMismatch,
                        $"envelope.json says {delivery.RecipientCode} got the document at {deliveredAt}, but its signed receipt says {(receiptTimes.TryGetValue(delivery.RecipientCode, out var t) ? EvidenceChain.FormatTime(t) : "nothing (no receipt)")}", path);
                }
            }
        }

        private void CheckEnvelopeView(Guid id, EnvelopeView view, List<EvidenceRecord> records, string? packageSha, string path)
        {
            if (view.EnvelopeId != id)
            {
                Problem(EvidenceProblemKind.EnvelopeMismatch, $"envelope.json names envelope {view.EnvelopeId}, but it sits in the folder of {id}", path);
            }

            if (packageSha is not null && view.PackageSha256 != packageSha)
            {
                Problem(EvidenceProblemKind.EnvelopeMismatch, $"envelope.json names package SHA-256 {view.PackageSha256}, but the package has {packageSha}", path);
            }

            var listed = view.Evidence.Select(e => (e.ChainIndex, e.EvidenceId, e.Kind)).ToList();
            var sealedRecords = records.Select(r => (r.ChainIndex, r.EvidenceId, r.Kind)).ToList();
            foreach (var missing in sealedRecords.Except(listed))
            {
                Problem(EvidenceProblemKind.EvidenceIncomplete, $"sealed record {missing.ChainIndex} ({missing.Kind}, evidence {missing.EvidenceId}) of this envelope is in the chain but not in envelope.json's evidence list", path, missing.ChainIndex, missing.EvidenceId);
            }

            foreach (var extra in listed.Except(sealedRecords))
            {
                Problem(EvidenceProblemKind.EvidenceIncomplete, $"envelope.json lists record {extra.ChainIndex} ({extra.Kind}, evidence {extra.EvidenceId}), which is not in the bundle's chain", path, extra.ChainIndex, extra.EvidenceId);
            }
        }

        private List<BundleReceiptReport> CheckReceipts(
            Guid id, EnvelopeView? view, List<EvidenceRecord> records, string? packageSha, out Dictionary<string, DateTimeOffset> receivedAt)
        {
            receivedAt = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
            var reports = new List<BundleReceiptReport>();
            var receiptIds = _files.Keys.Select(k => ReceiptFile().Match(k)).Where(m => m.Success && Guid.Parse(m.Groups[1].Value) == id)
                .Select(m => Guid.Parse(m.Groups[2].Value))
                .Concat(view?.Deliveries.Where(d => d.ReceiptId is not null).Select(d => d.ReceiptId!.Value) ?? [])
                .Distinct().OrderBy(r => r.ToString("D"), StringComparer.Ordinal).ToList();
            var confirmed = new HashSet<string>(StringComparer.Ordinal);
            foreach (var receiptId in receiptIds)
            {
                var receiptPath = EvidenceBundleLayout.Receipt(id, receiptId);
                var signaturePath = EvidenceBundleLayout.ReceiptSignature(id, receiptId);
                _explained.UnionWith([receiptPath, signaturePath]);
                if (!_files.TryGetValue(receiptPath, out var bytes) || !_files.TryGetValue(signaturePath, out var signature))
                {
                    Problem(EvidenceProblemKind.FileMissing, $"receipt {receiptId} or its signature is missing", _files.ContainsKey(receiptPath) ? signaturePath : receiptPath);
                    continue;
                }

                var result = VerifySignature(bytes, signature);
                var signer = result.ValidSigners.FirstOrDefault()?.Subject ?? "-";
                if (!result.Valid)
                {
                    Problem(EvidenceProblemKind.ReceiptSignature, $"the signature of receipt {receiptId} does not verify: {result.Reason.ToCode()}: {result.Detail}", signaturePath);
                }

                Warn($"receipt {receiptId} signature", result);
                var receipt = DeliveryReceipt.TryParse(bytes);
                if (receipt is null)
                {
                    Problem(EvidenceProblemKind.FileInvalid, "not a delivery receipt", receiptPath);
                    continue;
                }

                if (receipt.ReceiptId != receiptId || receipt.EnvelopeId != id || (packageSha is not null && receipt.PackageSha256 != packageSha))
                {
                    Problem(EvidenceProblemKind.ReceiptMismatch,
                        $"the receipt names receipt {receipt.ReceiptId}, envelope {receipt.EnvelopeId}, package {receipt.PackageSha256}; expected {receiptId}, {id}, {packageSha}", receiptPath);
                }

                if (view is not null && !view.Deliveries.Any(d => d.RecipientCode == receipt.RecipientCode && d.ReceiptId == receiptId))
                {
                    Problem(EvidenceProblemKind.EnvelopeMismatch, $"envelope.json has no delivery to {receipt.RecipientCode} confirmed by receipt {receiptId}", receiptPath);
                }

                if (!records.Any(r => r.Kind == nameof(EvidenceKind.ContentConsignment) && r.RecipientCode == receipt.RecipientCode))
                {
                    Problem(EvidenceProblemKind.EvidenceIncomplete, $"no sealed ContentConsignment record for {receipt.RecipientCode} stands behind receipt {receiptId}", receiptPath);
                }

                confirmed.Add(receipt.RecipientCode);
                if (result.Valid)
                {
                    receivedAt[receipt.RecipientCode] = receipt.ReceivedAt;
                }

                reports.Add(new BundleReceiptReport(receiptId, receipt.RecipientCode, EvidenceChain.FormatTime(receipt.ReceivedAt), signer, result.Valid));
            }

            foreach (var record in records.Where(r => r.Kind == nameof(EvidenceKind.ContentConsignment) && r.Reason == ReasonCode.Ok.ToCode()))
            {
                if (record.RecipientCode is null || !confirmed.Contains(record.RecipientCode))
                {
                    Problem(EvidenceProblemKind.EvidenceIncomplete, $"the sealed ContentConsignment for {record.RecipientCode} has no receipt in the bundle",
                        EvidenceBundleLayout.Record(record.ChainIndex), record.ChainIndex, record.EvidenceId);
                }
            }

            return reports;
        }

        // ---- certificates -------------------------------------------------------------------------------------

        private void CheckCertificates()
        {
            foreach (var (path, bytes) in _files.Where(f => f.Key.StartsWith("certificates/", StringComparison.Ordinal)))
            {
                var match = CertificateFile().Match(path);
                if (!match.Success)
                {
                    continue;
                }

                _explained.Add(path);
                byte[] der;
                try
                {
                    der = Der.PemOrDer(bytes, "CERTIFICATE").Single();
                    X509CertificateLoader.LoadCertificate(der).Dispose();
                }
                catch (Exception e) when (e is CryptographicException or FormatException or InvalidOperationException or ArgumentException)
                {
                    Problem(EvidenceProblemKind.FileInvalid, $"not one PEM certificate: {e.Message}", path);
                    continue;
                }

                var sha = EvidenceBundleWriter.Sha256(der);
                if (sha != match.Groups[1].Value)
                {
                    Problem(EvidenceProblemKind.FileInvalid, $"the certificate's SHA-256 is {sha}, not its file name", path);
                }
                else if (!BundleJson.Pem("CERTIFICATE", der).AsSpan().SequenceEqual(bytes))
                {
                    Problem(EvidenceProblemKind.FileInvalid, "not in its canonical PEM form", path);
                }
                else if (!_sealCertificates.Contains(sha) && !_cmsCertificates.Contains(sha))
                {
                    Problem(EvidenceProblemKind.FileUnexpected, "a certificate that no signature in the bundle uses or carries", path);
                }
            }
        }

        private void Warn(string what, VerificationResult result)
        {
            foreach (var warning in result.Signers.Where(s => s.Valid).SelectMany(s => s.Warnings))
            {
                _warnings.Add($"{what}: {warning}");
            }
        }
    }
}
