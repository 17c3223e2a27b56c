using System.IO.Compression;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Exchange.Core;
using Exchange.Signing.Internal;

namespace Exchange.Signing.Evidence;

/// <summary>
/// The layout of an evidence bundle (a zip; docs/evidence.md has the full description):
/// <code>
/// manifest.json                                   every other file with its SHA-256 and size
/// envelopes/ENVELOPE/package.edxml                the signed package, exactly as the hub stored it
/// envelopes/ENVELOPE/package.p7s                  its detached CMS signature, exactly as stored
/// envelopes/ENVELOPE/envelope.json                the hub's row: sender, state, deliveries, evidence list
/// envelopes/ENVELOPE/receipts/RECEIPT.json        a recipient's delivery receipt, exactly as signed
/// envelopes/ENVELOPE/receipts/RECEIPT.p7s         its detached CMS signature
/// chain/NNNNNNNNNNNNNNNN.jcs                      a record's canonical bytes (RFC 8785); sha256sum = record_hash
/// chain/NNNNNNNNNNNNNNNN.json                     the same record, indented, with its record_hash
/// checkpoints/NNNNNNNNNNNNNNNN.jcs                a checkpoint's canonical bytes
/// checkpoints/NNNNNNNNNNNNNNNN.p7s                the hub's detached CMS over them
/// heads/ENVELOPE.json                             the envelope's newest record as of the newest checkpoint, with
///                                                 the Merkle proof to its envelope_heads_root (EnvelopeHeads)
/// certificates/SHA256.pem                         the hub's sealing certificate and the CAs its signatures carry
/// crls/SHA256.crl                                 CRLs (DER) for offline revocation checks, when exported with them
/// </code>
/// Chain indexes are written with 16 digits so that files sort in chain order.
/// </summary>
public static class EvidenceBundleLayout
{
    /// <summary>Format 2 adds heads/ (issue #16, item 1); a format 1 bundle cannot prove it is complete: export it again.</summary>
    public const string Format = "exchange-evidence-bundle/2";
    public const string Manifest = "manifest.json";

    public static string Envelope(Guid envelopeId) => $"envelopes/{envelopeId:D}/envelope.json";

    public static string Package(Guid envelopeId) => $"envelopes/{envelopeId:D}/package.edxml";

    public static string PackageSignature(Guid envelopeId) => $"envelopes/{envelopeId:D}/package.p7s";

    public static string Receipt(Guid envelopeId, Guid receiptId) => $"envelopes/{envelopeId:D}/receipts/{receiptId:D}.json";

    public static string ReceiptSignature(Guid envelopeId, Guid receiptId) => $"envelopes/{envelopeId:D}/receipts/{receiptId:D}.p7s";

    public static string Record(long chainIndex) => $"chain/{chainIndex:D16}.jcs";

    public static string RecordView(long chainIndex) => $"chain/{chainIndex:D16}.json";

    public static string Checkpoint(long chainIndex) => $"checkpoints/{chainIndex:D16}.jcs";

    public static string CheckpointSignature(long chainIndex) => $"checkpoints/{chainIndex:D16}.p7s";

    public static string HeadProof(Guid envelopeId) => $"heads/{envelopeId:D}.json";

    public static string Certificate(string sha256) => $"certificates/{sha256}.pem";

    public static string Crl(string sha256) => $"crls/{sha256}.crl";
}

/// <summary>What a written bundle holds.</summary>
public sealed record EvidenceBundleSummary(int Envelopes, int Records, int Checkpoints, int Receipts, int Files);

/// <summary>Writes an evidence bundle from what the hub stored (see <see cref="EvidenceBundleLayout"/>).</summary>
public static class EvidenceBundleWriter
{
    /// <param name="crls">CRLs (PEM or DER, several per input allowed) to include for offline revocation checks.</param>
    /// <exception cref="InvalidDataException">A record does not hash to its stored record_hash (the chain is damaged:
    /// run <c>exchange audit verify-log</c>), or a CRL cannot be read.</exception>
    public static EvidenceBundleSummary Write(
        EvidenceBundleSource source, Stream output, IEnumerable<byte[]>? crls = null, DateTimeOffset? createdAt = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(output);
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        var records = source.ChainRecords.DistinctBy(r => r.Record.ChainIndex).OrderBy(r => r.Record.ChainIndex).ToList();
        var receipts = 0;

        foreach (var envelope in source.Envelopes)
        {
            var id = envelope.EnvelopeId;
            files[EvidenceBundleLayout.Package(id)] = envelope.Package;
            files[EvidenceBundleLayout.PackageSignature(id)] = envelope.Signature;
            var own = records.Where(r => r.Record.EnvelopeId == id).Select(r => r.Record).ToList();
            files[EvidenceBundleLayout.Envelope(id)] = BundleJson.Serialize(BundleJson.EnvelopeView(envelope, own));
            foreach (var delivery in envelope.Deliveries)
            {
                if (delivery is { ReceiptId: { } receiptId, Receipt: { } receipt, ReceiptSignature: { } signature })
                {
                    files[EvidenceBundleLayout.Receipt(id, receiptId)] = receipt;
                    files[EvidenceBundleLayout.ReceiptSignature(id, receiptId)] = signature;
                    receipts++;
                }
            }
        }

        foreach (var sealedRecord in records)
        {
            var canonical = EvidenceChain.Canonical(sealedRecord.Record);
            var hash = EvidenceChain.Hash(canonical);
            if (hash != sealedRecord.RecordHash)
            {
                throw new InvalidDataException(
                    $"Record {sealedRecord.Record.ChainIndex} (evidence {sealedRecord.Record.EvidenceId}) does not hash to its stored record_hash: the chain is damaged; run `exchange audit verify-log`.");
            }

            files[EvidenceBundleLayout.Record(sealedRecord.Record.ChainIndex)] = canonical;
            files[EvidenceBundleLayout.RecordView(sealedRecord.Record.ChainIndex)] = BundleJson.Serialize(BundleJson.RecordView(sealedRecord.Record, hash));
        }

        foreach (var proof in source.HeadProofs)
        {
            files[EvidenceBundleLayout.HeadProof(proof.EnvelopeId)] = BundleJson.Serialize(BundleJson.HeadProofView(proof));
        }

        var certificates = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var checkpoint in source.Checkpoints.DistinctBy(c => c.Checkpoint.ChainIndex))
        {
            var index = checkpoint.Checkpoint.ChainIndex;
            files[EvidenceBundleLayout.Checkpoint(index)] = EvidenceChain.Canonical(checkpoint.Checkpoint);
            files[EvidenceBundleLayout.CheckpointSignature(index)] = checkpoint.Signature;
            certificates[Sha256(checkpoint.Certificate)] = checkpoint.Certificate;
            foreach (var ca in CarriedCaCertificates(checkpoint.Signature))
            {
                certificates[Sha256(ca)] = ca;
            }
        }

        foreach (var (sha, der) in certificates)
        {
            files[EvidenceBundleLayout.Certificate(sha)] = BundleJson.Pem("CERTIFICATE", der);
        }

        foreach (var input in crls ?? [])
        {
            foreach (var der in SplitCrls(input))
            {
                files[EvidenceBundleLayout.Crl(Sha256(der))] = der;
            }
        }

        var manifest = BundleJson.Serialize(BundleJson.Manifest(
            source.Envelopes.Select(e => e.EnvelopeId),
            files.Select(f => (f.Key, Sha256(f.Value), (long)f.Value.Length))));

        var time = createdAt ?? DateTimeOffset.UtcNow;
        using (var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            Add(zip, EvidenceBundleLayout.Manifest, manifest, time);
            foreach (var (path, bytes) in files)
            {
                Add(zip, path, bytes, time);
            }
        }

        return new EvidenceBundleSummary(source.Envelopes.Count, records.Count, source.Checkpoints.Count, receipts, files.Count + 1);
    }

    internal static string Sha256(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(SHA256.HashData(data));

    internal static List<byte[]> SplitCrls(byte[] input)
    {
        try
        {
            var blocks = Der.PemOrDer(input, "X509 CRL");
            foreach (var block in blocks)
            {
                RevocationList.Parse(block);
            }

            return blocks;
        }
        catch (Exception e) when (e is CryptographicException or System.Formats.Asn1.AsnContentException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"Not a CRL (PEM or DER): {e.Message}", e);
        }
    }

    /// <summary>The CA certificates a CMS carries (the issuing CAs of its signers; the root stays with the verifier).</summary>
    private static IEnumerable<byte[]> CarriedCaCertificates(byte[] cms)
    {
        CmsMessage message;
        try
        {
            message = CmsMessage.Parse(cms);
        }
        catch (Exception e) when (e is CryptographicException or System.Formats.Asn1.AsnContentException)
        {
            yield break;
        }

        foreach (var der in message.Certificates)
        {
            CertificateInfo? info = null;
            try
            {
                info = CertificateInfo.Parse(der.ToArray());
            }
            catch (Exception e) when (e is CryptographicException or System.Formats.Asn1.AsnContentException or FormatException)
            {
                // An unreadable certificate in the CMS is the verifier's business, not the bundle's.
            }

            if (info is { IsCa: true })
            {
                yield return info.Der;
            }
        }
    }

    private static void Add(ZipArchive zip, string path, byte[] bytes, DateTimeOffset time)
    {
        var entry = zip.CreateEntry(path, CompressionLevel.Optimal);
        entry.LastWriteTime = time;
        using var stream = entry.Open();
        stream.Write(bytes);
    }
}

/// <summary>The JSON files of a bundle: fixed serialisation, so that a verifier can regenerate and compare them.</summary>
internal static class BundleJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        WriteIndented = true,
        IndentSize = 2,
        NewLine = "\n",
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
        RespectNullableAnnotations = true,
        RespectRequiredConstructorParameters = true,
        MaxDepth = 8,
    };

    public static byte[] Serialize<T>(T value) => [.. JsonSerializer.SerializeToUtf8Bytes(value, Options), (byte)'\n'];

    public static T? Deserialize<T>(byte[] bytes, out string error)
        where T : class
    {
        error = string.Empty;
        try
        {
            return JsonSerializer.Deserialize<T>(bytes, Options);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or ArgumentException or FormatException or InvalidOperationException)
        {
            error = e.Message;
            return null;
        }
    }

    public static byte[] Pem(string label, byte[] der) => Encoding.ASCII.GetBytes(PemEncoding.WriteString(label, der) + "\n");

    public static ManifestView Manifest(IEnumerable<Guid> envelopes, IEnumerable<(string Path, string Sha256, long Size)> files) => new(
        EvidenceBundleLayout.Format,
        envelopes.Distinct().OrderBy(id => id.ToString("D"), StringComparer.Ordinal).ToList(),
        files.OrderBy(f => f.Path, StringComparer.Ordinal).Select(f => new ManifestFile(f.Path, f.Sha256, f.Size)).ToList());

    public static RecordView RecordView(EvidenceRecord r, string recordHash) => new(
        r.ChainIndex, r.EvidenceId, r.Kind, r.EnvelopeId, r.RecipientCode, r.Reason, r.Detail, r.PackageSha256, r.Issuer,
        EvidenceChain.FormatTime(r.IssuedAt), r.PrevHash, recordHash);

    public static HeadProofView HeadProofView(EnvelopeHeadProof p) => new(
        p.EnvelopeId, p.CheckpointIndex, p.Bucket,
        p.Entries.OrderBy(e => e.EnvelopeId.ToString("D"), StringComparer.Ordinal).Select(e => new HeadEntryView(e.EnvelopeId, e.RecordHash)).ToList(),
        p.Siblings.ToList());

    public static EnvelopeView EnvelopeView(BundleEnvelope e, IEnumerable<EvidenceRecord> evidence) => new(
        e.EnvelopeId, e.SenderCode, e.DocumentId, e.Subject, e.State, e.Reason, e.Detail, e.PackageSha256, e.SignerCertificateSha256,
        e.DirectoryVersion, EvidenceChain.FormatTime(e.SubmittedAt), EvidenceChain.FormatTime(e.ReceivedAt),
        e.Deliveries.OrderBy(d => d.RecipientCode, StringComparer.Ordinal).Select(d => new DeliveryView(
            d.RecipientCode, d.State, EvidenceChain.FormatTime(d.ForwardedAt), d.DeliveredAt is { } at ? EvidenceChain.FormatTime(at) : null,
            d.ReceiptId, d.FailureReason)).ToList(),
        evidence.OrderBy(r => r.ChainIndex).Select(r => new EvidenceReference(r.ChainIndex, r.EvidenceId, r.Kind)).ToList());
}

internal sealed record ManifestView(string Format, List<Guid> Envelopes, List<ManifestFile> Files);

internal sealed record ManifestFile(string Path, string Sha256, long Size);

internal sealed record RecordView(
    long ChainIndex, Guid EvidenceId, string Kind, Guid EnvelopeId, string? Recipient, string Reason, string Detail,
    string? PackageSha256, string Issuer, string IssuedAt, string PrevHash, string RecordHash);

internal sealed record EnvelopeView(
    Guid EnvelopeId, string SenderCode, string? DocumentId, string? Subject, string State, string Reason, string Detail,
    string PackageSha256, string? SignerCertificateSha256, long? DirectoryVersion, string SubmittedAt, string ReceivedAt,
    List<DeliveryView> Deliveries, List<EvidenceReference> Evidence);

internal sealed record HeadProofView(Guid EnvelopeId, long Checkpoint, int Bucket, List<HeadEntryView> Entries, List<string> Siblings)
{
    public EnvelopeHeadProof ToProof() => new(EnvelopeId, Checkpoint, Bucket, Entries.Select(e => new EnvelopeHead(e.EnvelopeId, e.RecordHash)).ToList(), Siblings);
}

internal sealed record HeadEntryView(Guid EnvelopeId, string RecordHash);

internal sealed record DeliveryView(string RecipientCode, string State, string ForwardedAt, string? DeliveredAt, Guid? ReceiptId, string? FailureReason);

internal sealed record EvidenceReference(long ChainIndex, Guid EvidenceId, string Kind);
