using System.Security.Cryptography;
using Exchange.Cli;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.Gateway;
using Exchange.Persistence;
using Exchange.Persistence.Hub;
using Microsoft.EntityFrameworkCore;

namespace Exchange.IntegrationTests;

/// <summary>
/// Packages over the inline limit travel as chunks ahead of their envelope and are stored once per host, read back as
/// streams (docs/performance.md, "Large documents"). The limit is lowered to 64 KiB here so that a 1 MiB attachment
/// takes that path in several chunks; `exchange bench large` runs the same path with 200 MiB.
/// </summary>
[TestFixture]
public sealed class LargePackageTests : ProvinceFixture
{
    private const string Sender = SampleDirectory.HomeAffairs;
    private const string Recipient = SampleDirectory.PhucXaWard;

    protected override IReadOnlyCollection<string> GatewayAgencies => [Sender, Recipient];

    protected override IReadOnlyDictionary<string, string?> HostSettings => new Dictionary<string, string?>
    {
        ["Gateway:InlinePackageBytes"] = "65536",
    };

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        new Random(length).NextBytes(bytes);
        return bytes;
    }

    [Test]
    public async Task A_document_over_the_inline_limit_is_stored_in_chunks_at_every_host_and_arrives_intact()
    {
        var attachment = RandomBytes(1024 * 1024 + 7);
        var answer = await Client(Sender).SendDocumentAsync(
            new DocumentMetadata([Recipient], "Hồ sơ có tệp lớn", CodeNotation: "SNV-LON"),
            [("ho-so.bin", "application/octet-stream", attachment)]);

        var state = await WaitForOutcomeAsync(Sender, answer.EnvelopeId);
        Assert.That(state.State, Is.EqualTo("delivered"), state.Detail);

        await using (var sender = Province.CreateGatewayDb(Sender))
        {
            var row = await sender.Outbox.AsNoTracking().SingleAsync(o => o.EnvelopeId == answer.EnvelopeId);
            Assert.That(row.Package, Is.Empty, "the outbox keeps the package in chunks, not in its row");
            Assert.That(row.PackageChunks, Is.GreaterThan(20), "1 MiB of base64 in 48 KiB chunks");
            Assert.That(row.PackageLength, Is.GreaterThan(attachment.Length * 4 / 3));
        }

        await using (var hub = Province.CreateHubDb())
        {
            var envelope = await hub.Envelopes.AsNoTracking().SingleAsync(e => e.EnvelopeId == answer.EnvelopeId);
            Assert.That(envelope.State, Is.EqualTo(EnvelopeStates.Accepted));
            Assert.That(envelope.Package, Is.Empty);
            Assert.That(envelope.PackageChunks, Is.Not.Null);
        }

        await using (var recipient = Province.CreateGatewayDb(Recipient))
        {
            var inbox = await recipient.Inbox.AsNoTracking().SingleAsync(i => i.EnvelopeId == answer.EnvelopeId);
            Assert.That(inbox.Package, Is.Empty);
            Assert.That(inbox.PackageChunks, Is.Not.Null);
        }

        // The document system downloads the exact signed bytes, streamed from the chunks, and the attachment is in them.
        var package = await Province.Gateways[Recipient].Http.GetByteArrayAsync(new Uri($"/api/inbox/{answer.EnvelopeId}/package", UriKind.Relative));
        await using (var sender = Province.CreateGatewayDb(Sender))
        {
            var sent = await sender.Outbox.AsNoTracking().Where(o => o.EnvelopeId == answer.EnvelopeId).Select(o => o.PackageSha256).SingleAsync();
            Assert.That(Digests.Sha256Hex(package), Is.EqualTo(sent));
        }

        var read = EdxmlReader.Read(package, new EdxmlLimits { MaxAttachmentBytes = 64L * 1024 * 1024 });
        Assert.That(read.Attachments.Single().Content, Is.EqualTo(attachment));
    }

    [Test]
    public async Task A_ready_package_over_the_inline_limit_is_delivered_and_its_evidence_bundle_verifies_offline()
    {
        var package = EdxmlWriter.Write(new EdxmlPackage(
            new EdxmlHeader
            {
                From = new EdxmlOrganisation(Sender, "Sở Nội vụ"),
                To = [new EdxmlOrganisation(Recipient)],
                DocumentId = EdxmlDocumentId.Format(Sender, new DateOnly(2026, 12, 5), "9/SNV-LON"),
                CodeNumber = "9",
                CodeNotation = "SNV-LON",
                Subject = "Gói tin lớn",
                PromulgationDate = new DateOnly(2026, 12, 5),
            },
            [new EdxmlAttachment("phu-luc.bin", "application/octet-stream", RandomBytes(300 * 1024))]));

        var answer = await Client(Sender).SendPackageAsync(package, null);
        var state = await WaitForOutcomeAsync(Sender, answer.EnvelopeId);
        Assert.That(state.State, Is.EqualTo("delivered"), state.Detail);

        // The bundle joins the chunks back into the exact signed package, which the offline verifier checks.
        var (source, bundle) = await VerifyBundleOfflineAsync(answer.EnvelopeId);
        Assert.That(source.Envelopes.Single().Package, Is.EqualTo(package));
        Assert.That(bundle.Valid, Is.True, string.Join("\n", bundle.Problems));
    }

    [Test]
    public async Task Chunks_that_are_not_the_announced_package_are_refused_as_incomplete_and_removed()
    {
        var envelopeId = Guid.CreateVersion7();
        var bytes = RandomBytes(100_000);
        await SendToHubAsync(new PackageChunk(envelopeId, 0, 2, bytes[..60_000], Sender), new PackageChunk(envelopeId, 1, 2, bytes[60_000..], Sender));
        await SendToHubAsync(new SubmitEnvelope(envelopeId, Sender, [Recipient], [], [0x30, 0x00], DateTimeOffset.UtcNow,
            new StoredPackage(bytes.Length, 2, Convert.ToHexStringLower(SHA256.HashData("other bytes"u8)))));

        EnvelopeRow? envelope = null;
        await Eventually(async () =>
        {
            await using var hub = Province.CreateHubDb();
            envelope = await hub.Envelopes.AsNoTracking().SingleOrDefaultAsync(e => e.EnvelopeId == envelopeId);
            return envelope is not null;
        }, "the hub to record the submission");
        Assert.That(envelope!.State, Is.EqualTo(EnvelopeStates.Rejected));
        Assert.That(envelope.Reason, Is.EqualTo("package-incomplete"));
        Assert.That(envelope.Detail, Does.Contain("announced"));

        var store = new PackageStore(Province.HubConnectionString, HubDbContext.Schema);
        await using (store)
        {
            Assert.That(await store.CountChunksAsync(envelopeId, CancellationToken.None), Is.Zero, "refused chunks are not kept");
        }
    }

    [Test]
    public async Task The_store_reads_back_what_it_wrote_and_stores_a_chunk_sent_twice_once()
    {
        await using var store = new PackageStore(Province.HubConnectionString, HubDbContext.Schema);
        var id = Guid.NewGuid();
        var bytes = RandomBytes(PackageStore.ChunkBytes * 2 + 123);

        var stored = await store.WriteAsync(id, Sender, new MemoryStream(bytes), CancellationToken.None);

        Assert.That(stored, Is.EqualTo(new StoredPackage(bytes.Length, 3, Digests.Sha256Hex(bytes))));
        using (var reader = store.OpenRead(id, stored.Chunks))
        using (var copy = new MemoryStream())
        {
            await reader.CopyToAsync(copy);
            Assert.That(copy.ToArray(), Is.EqualTo(bytes));
            Assert.That(reader.Sha256Hex, Is.EqualTo(stored.Sha256));
        }

        Assert.That(await store.AddChunkAsync(id, Sender, 0, 3, new byte[] { 1, 2, 3 }, CancellationToken.None), Is.Null, "a chunk already stored");
        Assert.That(await store.CountChunksAsync(id, CancellationToken.None), Is.EqualTo(3));
        using (var again = store.OpenRead(id, stored.Chunks))
        {
            Assert.That(again.ReadToEndAndHash(), Is.EqualTo(stored.Sha256), "the first copy of a chunk stays");
        }
    }

    [Test]
    public async Task The_sweep_deletes_old_chunks_no_envelope_claims_and_nothing_else()
    {
        await using var store = new PackageStore(Province.HubConnectionString, HubDbContext.Schema);
        var (orphan, young, claimed) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());
        foreach (var id in new[] { orphan, young, claimed })
        {
            Assert.That(await store.AddChunkAsync(id, Sender, 0, 1, new byte[] { 1, 2, 3 }, CancellationToken.None), Is.Null);
        }

        await using (var hub = Province.CreateHubDb())
        {
            await hub.Database.ExecuteSqlRawAsync("update hub.package_chunks set received_at = now() - interval '2 days' where package_id = any({0})",
                new[] { orphan, claimed });
            hub.Envelopes.Add(new EnvelopeRow
            {
                EnvelopeId = claimed, SenderCode = Sender, Package = [], Signature = [], PackageSha256 = "00", State = EnvelopeStates.Rejected,
                Reason = "package-incomplete", Detail = "test", PackageLength = 3, PackageChunks = 1,
            });
            await hub.SaveChangesAsync();
        }

        var deleted = await store.SweepOrphansAsync(HubDbContext.PackageOwners, TimeSpan.FromDays(1), CancellationToken.None);

        Assert.That(deleted, Is.EqualTo(1));
        Assert.That(await store.CountChunksAsync(orphan, CancellationToken.None), Is.Zero);
        Assert.That(await store.CountChunksAsync(young, CancellationToken.None), Is.EqualTo(1), "a chunk whose envelope may still come");
        Assert.That(await store.CountChunksAsync(claimed, CancellationToken.None), Is.EqualTo(1), "an envelope's package");
    }
}
