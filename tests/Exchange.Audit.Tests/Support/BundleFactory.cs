using System.IO.Compression;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.Signing;
using Exchange.Signing.Evidence;

namespace Exchange.Audit.Tests.Support;

/// <summary>
/// An evidence bundle built from in-memory data as the hub would store it: Sở Nội vụ signs a letter to UBND phường
/// Phúc Xá, the hub accepts it (record 3), the ward's gateway stores it and signs a receipt (record 9), its document
/// system takes it (record 17), other envelopes' records sit in between, and the hub signs checkpoints at 6, 11 and 18.
/// </summary>
internal sealed class BundleFactory
{
    public BundleFactory(bool accepted = true)
    {
        EnvelopeId = Guid.CreateVersion7();
        Package = BuildPackage();
        string senderCertificate;
        using (var sender = TestPki.Pki.AgencySigner(TestPki.Sender))
        {
            Signature = sender.SignDetached(Package);
            senderCertificate = sender.CertificateSha256;
            if (!accepted)
            {
                Package[^20] ^= 0x01; // a package changed after signing, which the hub refused
            }
        }

        var sha = Digests.Sha256Hex(Package);
        using var hub = TestPki.Pki.HubSigner();
        var chain = new ChainBuilder();
        chain.AppendOthers(2);
        chain.Append(ChainBuilder.Unsealed(
            accepted ? EvidenceKind.SubmissionAcceptance : EvidenceKind.SubmissionRejection, EnvelopeId, packageSha256: sha,
            reason: accepted ? "ok" : "signature-invalid", detail: accepted ? "Signed by Sở Nội vụ; 1 signer(s) reported. Directory version 1." : "the signature does not match the content"));
        chain.AppendOthers(3);
        chain.Checkpoint(hub);
        chain.AppendOthers(2);

        var deliveries = new List<BundleDelivery>();
        if (accepted)
        {
            var receivedAt = EvidenceChain.Normalize(DateTimeOffset.UtcNow);
            var receipt = new DeliveryReceipt(Guid.CreateVersion7(), EnvelopeId, TestPki.Sender, TestPki.Recipient, sha, receivedAt);
            var receiptBytes = receipt.ToBytes();
            using var recipient = TestPki.Pki.AgencySigner(TestPki.Recipient);
            deliveries.Add(new BundleDelivery(TestPki.Recipient, "delivered", receivedAt.AddSeconds(-1), receivedAt, receipt.ReceiptId, receiptBytes, recipient.SignDetached(receiptBytes), null));
            chain.Append(ChainBuilder.Unsealed(EvidenceKind.ContentConsignment, EnvelopeId, TestPki.Recipient, sha,
                detail: $"Stored in the recipient's inbox; receipt {receipt.ReceiptId} verified."));
        }
        else
        {
            chain.AppendOthers(1);
        }

        chain.AppendOthers(2);
        chain.Checkpoint(hub);
        chain.AppendOthers(5);
        if (accepted)
        {
            // Later, the ward's document system takes the document (record 17, checkpoint 18).
            chain.Append(ChainBuilder.Unsealed(EvidenceKind.ContentHandover, EnvelopeId, TestPki.Recipient, sha, detail: "Handed over to the document system."));
            chain.AppendOthers(1);
            chain.Checkpoint(hub);
        }

        Chain = chain;

        var now = EvidenceChain.Normalize(DateTimeOffset.UtcNow);
        var envelope = new BundleEnvelope(
            // The hub reads the header only of a package whose signature verified: a rejected one has no DocumentId or subject.
            EnvelopeId, TestPki.Sender, accepted ? "000.00.01.H29,2027/03/01,12/SNV-TCBC" : null, accepted ? "Công văn về việc rà soát biên chế" : null, accepted ? "accepted" : "rejected",
            accepted ? "ok" : "signature-invalid", "", Package, Signature, sha, accepted ? senderCertificate : null,
            1, now.AddSeconds(-2), now.AddSeconds(-1), deliveries);
        var (links, checkpoints) = Links(chain);
        var newest = chain.Checkpoints[^1];
        Source = new EvidenceBundleSource([envelope], links, [.. checkpoints.Where(c => c != newest), newest], [chain.HeadProof(EnvelopeId, newest.Checkpoint.ChainIndex)]);
    }

    public Guid EnvelopeId { get; }

    public byte[] Package { get; }

    public byte[] Signature { get; }

    public ChainBuilder Chain { get; }

    public EvidenceBundleSource Source { get; }

    public static string HubCertificateSha256
    {
        get
        {
            using var certificate = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(TestPki.Pki.HubSealCertificatePath);
            return Digests.Sha256Hex(certificate.RawData);
        }
    }

    public static IReadOnlyList<byte[]> Crls => [File.ReadAllBytes(TestPki.Pki.CrlPath)];

    public byte[] Write(IEnumerable<byte[]>? crls = null)
    {
        using var output = new MemoryStream();
        EvidenceBundleWriter.Write(Source, output, crls ?? Crls);
        return output.ToArray();
    }

    public static EvidenceBundleVerifierOptions Options(BundleLimits? limits = null) => new()
    {
        TrustAnchors = [TestPki.Pki.RootCertificate],
        SealCertificateSha256 = [HubCertificateSha256],
        Limits = limits ?? new BundleLimits(),
    };

    public static BundleReport Verify(byte[] zip, EvidenceBundleVerifierOptions? options = null)
    {
        using var stream = new MemoryStream(zip);
        return new EvidenceBundleVerifier(options ?? Options()).Verify(stream);
    }

    public static SortedDictionary<string, byte[]> Unzip(byte[] zip)
    {
        var files = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        foreach (var entry in archive.Entries)
        {
            using var stream = entry.Open();
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            files[entry.FullName] = buffer.ToArray();
        }

        return files;
    }

    public static byte[] Zip(IEnumerable<KeyValuePair<string, byte[]>> files)
    {
        using var output = new MemoryStream();
        using (var archive = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, bytes) in files)
            {
                using var stream = archive.CreateEntry(name, CompressionLevel.Fastest).Open();
                stream.Write(bytes);
            }
        }

        return output.ToArray();
    }

    /// <summary>What the hub's store puts in a bundle: from each of the envelope's records up to the next checkpoint,
    /// and those checkpoints (the newest checkpoint and the heads proof are added by the constructor).</summary>
    private (SealedEvidence[] Records, SignedCheckpoint[] Checkpoints) Links(ChainBuilder chain)
    {
        var wanted = new SortedSet<long>();
        var ends = new SortedSet<long>();
        foreach (var own in chain.Records.Where(r => r.Record.EnvelopeId == EnvelopeId))
        {
            var end = chain.Checkpoints.Select(c => c.Checkpoint.ChainIndex).First(c => c >= own.Record.ChainIndex);
            ends.Add(end);
            for (var i = own.Record.ChainIndex; i <= end; i++)
            {
                wanted.Add(i);
            }
        }

        return (chain.Records.Where(r => wanted.Contains(r.Record.ChainIndex)).ToArray(), chain.Checkpoints.Where(c => ends.Contains(c.Checkpoint.ChainIndex)).ToArray());
    }

    private static byte[] BuildPackage()
    {
        var today = new DateOnly(2027, 3, 1);
        return EdxmlWriter.Write(new EdxmlPackage(new EdxmlHeader
        {
            From = new EdxmlOrganisation(TestPki.Sender, "Sở Nội vụ"),
            To = [new EdxmlOrganisation(TestPki.Recipient, "UBND phường Phúc Xá")],
            DocumentId = EdxmlDocumentId.Format(TestPki.Sender, today, "12/SNV-TCBC"),
            CodeNumber = "12",
            CodeNotation = "SNV-TCBC",
            Subject = "Công văn về việc rà soát biên chế",
            PromulgationDate = today,
        }, [new EdxmlAttachment("van-ban.txt", "text/plain", "Nội dung văn bản"u8.ToArray())]));
    }
}
