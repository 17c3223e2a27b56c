using Exchange.Cli;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.Gateway;
using Exchange.Persistence.Hub;
using Exchange.Signing;
using Microsoft.EntityFrameworkCore;

namespace Exchange.IntegrationTests;

/// <summary>The walking skeleton's promises, on real RabbitMQ and PostgreSQL with real CMS signatures.</summary>
[TestFixture]
public sealed class PathTests : ProvinceFixture
{
    private const string Sender = SampleDirectory.HomeAffairs;
    private const string Recipient = SampleDirectory.PhucXaWard;

    private static DocumentMetadata Letter(params string[] to) =>
        new(to, $"Công văn kiểm thử {Guid.NewGuid():N}", CodeNotation: "SNV-TEST", PromulgationPlace: "Hà Nội");

    private static (string, string, byte[])[] File(string text = "Nội dung văn bản") =>
        [("van-ban.txt", "text/plain; charset=utf-8", System.Text.Encoding.UTF8.GetBytes(text))];

    private async Task<int> InboxCountAsync(string agency, Guid envelopeId)
    {
        await using var db = Province.CreateGatewayDb(agency);
        return await db.Inbox.CountAsync(i => i.EnvelopeId == envelopeId);
    }

    private async Task<List<EvidenceRow>> EvidenceAsync(Guid envelopeId)
    {
        await using var db = Province.CreateHubDb();
        return await db.Evidence.AsNoTracking().Where(e => e.EnvelopeId == envelopeId).OrderBy(e => e.Seq).ToListAsync();
    }

    [Test]
    public async Task Delivers_a_genuine_letter_once_with_a_verified_signed_receipt()
    {
        var answer = await Client(Sender).SendDocumentAsync(Letter(Recipient), File());

        var state = await WaitForOutcomeAsync(Sender, answer.EnvelopeId);

        Assert.That(state.State, Is.EqualTo("delivered"));
        Assert.That(state.Recipients.Single().ReceiptId, Is.Not.Null);
        Assert.That(await InboxCountAsync(Recipient, answer.EnvelopeId), Is.EqualTo(1));
        var evidence = await EvidenceAsync(answer.EnvelopeId);
        Assert.That(evidence.Select(e => e.Kind), Is.EqualTo(new[] { nameof(EvidenceKind.SubmissionAcceptance), nameof(EvidenceKind.ContentConsignment) }));

        // The receipt the hub kept verifies offline and is signed by the recipient's registered certificate.
        await using var hub = Province.CreateHubDb();
        var delivery = await hub.Deliveries.SingleAsync(d => d.EnvelopeId == answer.EnvelopeId);
        var verifier = new SignatureVerifier(TrustStore.Load(new TrustOptions { TrustAnchorFiles = [Province.Pki.RootCertificatePath], CrlFiles = [Province.Pki.CrlPath] }));
        var receiptCheck = verifier.Verify(delivery.Receipt, delivery.ReceiptSignature);
        Assert.That(receiptCheck.Reason, Is.EqualTo(ReasonCode.Ok), receiptCheck.Detail);
        Assert.That(Province.Directory.IsBound(Recipient, receiptCheck.ValidSigners.Single().CertificateSha256), Is.True);
        Assert.That(DeliveryReceipt.TryParse(delivery.Receipt)!.PackageSha256, Is.EqualTo(evidence[0].PackageSha256));
    }

    [Test]
    public async Task Records_handover_once_when_the_recipient_system_fetches_the_package()
    {
        var answer = await Client(Sender).SendDocumentAsync(Letter(Recipient), File());
        Assert.That((await WaitForOutcomeAsync(Sender, answer.EnvelopeId)).State, Is.EqualTo("delivered"));

        var http = Province.Gateways[Recipient].Http;
        var first = await http.GetByteArrayAsync(new Uri($"/api/inbox/{answer.EnvelopeId}/package", UriKind.Relative));
        await http.GetByteArrayAsync(new Uri($"/api/inbox/{answer.EnvelopeId}/package", UriKind.Relative));
        await Eventually(async () => (await EvidenceAsync(answer.EnvelopeId)).Any(e => e.Kind == nameof(EvidenceKind.ContentHandover)), "handover evidence");
        await Task.Delay(TimeSpan.FromSeconds(1));

        var evidence = await EvidenceAsync(answer.EnvelopeId);
        Assert.That(evidence.Count(e => e.Kind == nameof(EvidenceKind.ContentHandover)), Is.EqualTo(1));
        Assert.That(evidence.Single(e => e.Kind == nameof(EvidenceKind.ContentHandover)).PackageSha256, Is.EqualTo(Digests.Sha256Hex(first)));
    }

    [Test]
    public async Task Delivers_a_directive_to_every_commune_of_the_district()
    {
        var communes = Province.Directory.ChildrenOf(SampleDirectory.BaDinhDistrict).Select(a => a.Code).ToArray();
        var answer = await Client(SampleDirectory.Province).SendDocumentAsync(Letter(communes), File("Chỉ thị"));

        var state = await WaitForOutcomeAsync(SampleDirectory.Province, answer.EnvelopeId);

        Assert.That(state.State, Is.EqualTo("delivered"));
        Assert.That(state.Recipients.Select(r => r.Code), Is.EquivalentTo(communes));
        foreach (var commune in communes)
        {
            Assert.That(await InboxCountAsync(commune, answer.EnvelopeId), Is.EqualTo(1), commune);
        }
    }

    [Test]
    public async Task Same_envelope_submitted_five_times_at_once_is_delivered_once()
    {
        var package = TestPackages.Letter(Sender, Recipient);
        var signature = Province.Pki.AgencySigner(Sender).SignDetached(package);
        var envelope = new SubmitEnvelope(Guid.CreateVersion7(), Sender, [Recipient], package, signature, DateTimeOffset.UtcNow);

        await SendToHubAsync(envelope, envelope, envelope, envelope, envelope);
        await Eventually(async () => await InboxCountAsync(Recipient, envelope.EnvelopeId) == 1 && await DeliveredAsync(envelope.EnvelopeId), "the delivery");
        // Let any duplicate that would slip through arrive, then resubmit once more after delivery.
        await SendToHubAsync(envelope);
        await Task.Delay(TimeSpan.FromSeconds(3));

        Assert.That(await InboxCountAsync(Recipient, envelope.EnvelopeId), Is.EqualTo(1));
        var evidence = await EvidenceAsync(envelope.EnvelopeId);
        Assert.That(evidence.Count(e => e.Kind == nameof(EvidenceKind.SubmissionAcceptance)), Is.EqualTo(1));
        Assert.That(evidence.Count(e => e.Kind == nameof(EvidenceKind.ContentConsignment)), Is.EqualTo(1));
    }

    [Test]
    public async Task Rejects_forged_sender_as_signer_not_bound_and_the_sender_reads_why()
    {
        var rogue = CmsSigner.FromPkcs12(Province.Pki.IssueRogueCertificate("Kẻ mạo danh"), Province.Pki.Password);
        var package = TestPackages.Letter(Sender, Recipient);

        var answer = await Client(Sender).SendPackageAsync(package, rogue.SignDetached(package));
        var state = await WaitForOutcomeAsync(Sender, answer.EnvelopeId);

        Assert.That(state.State, Is.EqualTo("rejected"));
        Assert.That(state.Reason, Is.EqualTo("signer-not-bound"));
        Assert.That((await EvidenceAsync(answer.EnvelopeId)).Single().Reason, Is.EqualTo("signer-not-bound"));
        Assert.That(await InboxCountAsync(Recipient, answer.EnvelopeId), Is.Zero);
    }

    [Test]
    public async Task Rejects_tampered_package_as_signature_invalid()
    {
        // 1. A genuine signature over the package as written.
        var package = TestPackages.Letter(Sender, Recipient, subject: "Kinh phí 100 triệu đồng");
        var signature = Province.Pki.AgencySigner(Sender).SignDetached(package);
        // 2. One changed byte in the signed content: "100" becomes "900".
        var at = IndexOf(package, "100 triệu"u8.ToArray());
        package[at] = (byte)'9';

        var answer = await Client(Sender).SendPackageAsync(package, signature);
        var state = await WaitForOutcomeAsync(Sender, answer.EnvelopeId);

        // 3. The hub refuses it for the right reason.
        Assert.That(state.State, Is.EqualTo("rejected"));
        Assert.That(state.Reason, Is.EqualTo("signature-invalid"));
        Assert.That((await EvidenceAsync(answer.EnvelopeId)).Single().Kind, Is.EqualTo(nameof(EvidenceKind.SubmissionRejection)));
    }

    [Test]
    public async Task Rejects_unknown_recipient()
    {
        var answer = await Client(Sender).SendDocumentAsync(Letter("000.09.99.H29"), File());

        var state = await WaitForOutcomeAsync(Sender, answer.EnvelopeId);

        Assert.That(state.State, Is.EqualTo("rejected"));
        Assert.That(state.Reason, Is.EqualTo("unknown-recipient"));
    }

    [Test]
    public async Task Rejects_bus_message_whose_sender_disagrees_with_the_signed_package()
    {
        // Finance signs its own package correctly, but the bus message claims Home Affairs sent it.
        var package = TestPackages.Letter(SampleDirectory.Finance, Recipient);
        var signature = Province.Pki.AgencySigner(SampleDirectory.Finance).SignDetached(package);
        var envelope = new SubmitEnvelope(Guid.CreateVersion7(), Sender, [Recipient], package, signature, DateTimeOffset.UtcNow);

        await SendToHubAsync(envelope);
        await Eventually(async () => (await EvidenceAsync(envelope.EnvelopeId)).Count == 1, "rejection evidence");

        Assert.That((await EvidenceAsync(envelope.EnvelopeId)).Single().Reason, Is.EqualTo("sender-mismatch"));
        Assert.That(await InboxCountAsync(Recipient, envelope.EnvelopeId), Is.Zero);
    }

    [Test]
    public async Task Accepts_a_bus_sender_written_in_the_three_group_form_and_stores_the_four_group_code()
    {
        // 00.02.H29 is the older 3-group form of 000.00.02.H29 (QCVN 102:2016 alias).
        var package = TestPackages.Letter(SampleDirectory.Finance, Recipient);
        var signature = Province.Pki.AgencySigner(SampleDirectory.Finance).SignDetached(package);
        var envelope = new SubmitEnvelope(Guid.CreateVersion7(), "00.02.H29", [Recipient], package, signature, DateTimeOffset.UtcNow);

        await SendToHubAsync(envelope);
        await Eventually(async () => await InboxCountAsync(Recipient, envelope.EnvelopeId) == 1 && await DeliveredAsync(envelope.EnvelopeId), "the delivery");

        await using var hub = Province.CreateHubDb();
        Assert.That((await hub.Envelopes.AsNoTracking().SingleAsync(e => e.EnvelopeId == envelope.EnvelopeId)).SenderCode, Is.EqualTo(SampleDirectory.Finance));
    }

    [Test]
    public async Task Gateway_refuses_malformed_recipient_code_at_once()
    {
        var refusal = Assert.ThrowsAsync<GatewayRefusedException>(() => Client(Sender).SendDocumentAsync(Letter("vxp.saas.03"), File()));

        Assert.That(refusal!.Status, Is.EqualTo(422));
        Assert.That(refusal.Problem, Does.Contain("\"reason\":\"invalid-agency-code\""));
    }

    [Test]
    public async Task Router_stopped_while_documents_queue_loses_nothing()
    {
        await Province.StopRouterAsync();
        var sent = new List<Guid>();
        try
        {
            for (var i = 0; i < 20; i++)
            {
                sent.Add((await Client(Sender).SendDocumentAsync(Letter(Recipient), File($"Văn bản {i}"))).EnvelopeId);
            }

            // With the hub down, the documents wait on the bus.
            await Task.Delay(TimeSpan.FromSeconds(1));
            foreach (var id in sent)
            {
                Assert.That((await Client(Sender).GetDocumentAsync(id))!.State, Is.AnyOf("queued", "submitted"));
            }
        }
        finally
        {
            await Province.StartRouterAsync();
        }

        foreach (var id in sent)
        {
            Assert.That((await WaitForOutcomeAsync(Sender, id)).State, Is.EqualTo("delivered"));
            Assert.That(await InboxCountAsync(Recipient, id), Is.EqualTo(1));
        }
    }

    private async Task<bool> DeliveredAsync(Guid envelopeId)
    {
        await using var db = Province.CreateHubDb();
        return await db.Deliveries.AnyAsync(d => d.EnvelopeId == envelopeId && d.State == DeliveryStates.Delivered);
    }


    private static int IndexOf(byte[] haystack, byte[] needle) =>
        haystack.AsSpan().IndexOf(needle) is var i and >= 0 ? i : throw new InvalidOperationException("marker not found");
}
