using Exchange.Cli;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.Gateway;
using Microsoft.EntityFrameworkCore;

namespace Exchange.IntegrationTests;

/// <summary>Document statuses (edXML status packages) and recalls, end to end through the hub.</summary>
[TestFixture]
public sealed class StatusTests : ProvinceFixture
{
    private const string Sender = SampleDirectory.HomeAffairs;
    private const string Recipient = SampleDirectory.PhucXaWard;

    private async Task<SubmissionAnswer> DeliverAsync(DocumentMetadata metadata)
    {
        var answer = await Client(Sender).SendDocumentAsync(metadata, [("a.txt", "text/plain", "nội dung"u8.ToArray())]);
        Assert.That((await WaitForOutcomeAsync(Sender, answer.EnvelopeId)).State, Is.EqualTo("delivered"));
        return answer;
    }

    private async Task<DocumentState> WaitForStatusesAsync(Guid envelopeId, params string[] codes)
    {
        DocumentState? state = null;
        await Eventually(async () =>
        {
            state = await Client(Sender).GetDocumentAsync(envelopeId);
            return codes.All(c => state!.Statuses.Any(s => s.Direction == "received" && s.Code == c));
        }, $"statuses {string.Join(", ", codes)} at the sender");
        return state!;
    }

    [Test]
    public async Task Statuses_travel_back_to_the_sender_as_signed_packages_with_evidence()
    {
        var answer = await DeliverAsync(new DocumentMetadata([Recipient], "Công văn cần báo cáo tình trạng", CodeNotation: "SNV-ST"));

        foreach (var code in new[] { 1, 3, 6 })
        {
            await Client(Recipient).ReportStatusAsync(answer.EnvelopeId, new StatusReport(code, $"Trạng thái {code:00}", StaffName: "Lê Văn Thư"));
        }

        var state = await WaitForStatusesAsync(answer.EnvelopeId, "01", "03", "06");
        Assert.That(state.Statuses.Where(s => s.Direction == "received").Select(s => s.ReporterCode), Has.All.EqualTo(Recipient));

        // The reporter's own copies are acknowledged by the hub; each status is evidence.
        await Eventually(async () => (await Client(Recipient).GetInboxItemAsync(answer.EnvelopeId))!.Statuses!.All(s => s.State == "accepted"), "the hub's acknowledgements");
        await using var hub = Province.CreateHubDb();
        var evidence = await hub.Evidence.AsNoTracking().Where(e => e.EnvelopeId == answer.EnvelopeId && e.Kind == nameof(EvidenceKind.StatusReport)).CountAsync();
        Assert.That(evidence, Is.EqualTo(3));

        // What the sender received is the signed package, readable as edXML.
        await using var gateway = Province.CreateGatewayDb(Sender);
        var done = await gateway.Statuses.AsNoTracking().SingleAsync(s => s.EnvelopeId == answer.EnvelopeId && s.StatusCode == 6);
        var package = EdxmlStatusReader.Read(done.Package);
        Assert.That(package.Code, Is.EqualTo(StatusCode.Done));
        Assert.That(package.ResponseForDocumentId, Is.EqualTo(answer.DocumentId));
    }

    [Test]
    public async Task Recipient_that_finished_a_document_refuses_its_recall_and_the_sender_sees_it()
    {
        var original = await DeliverAsync(new DocumentMetadata([Recipient], "Quyết định cần thu hồi", CodeNotation: "QĐ-SNV"));
        await Client(Recipient).ReportStatusAsync(original.EnvelopeId, new StatusReport(6, "Đã xử lý xong"));
        await WaitForStatusesAsync(original.EnvelopeId, "06");

        // The sender asks for a recall (13) and sends the recall document (BussinessDocType 1) naming the original.
        await Client(Sender).ReportStatusAsync(original.EnvelopeId, new StatusReport(13, "Đề nghị thu hồi"), asSender: true);
        await Eventually(async () => (await Client(Recipient).GetInboxItemAsync(original.EnvelopeId))!.Statuses!.Any(s => s.Code == "13" && s.Direction == "received"), "status 13 at the recipient");
        var recall = await DeliverAsync(new DocumentMetadata([Recipient], "Thu hồi quyết định", CodeNotation: "TH-SNV",
            BusinessDocType: BusinessDocType.Revocation, BusinessDocReason: "Ban hành nhầm", BusinessDocumentId: original.DocumentId));

        await using (var inbox = Province.CreateGatewayDb(Recipient))
        {
            var header = EdxmlReader.ReadHeader((await inbox.Inbox.AsNoTracking().SingleAsync(i => i.EnvelopeId == recall.EnvelopeId)).Package);
            Assert.That(header.BusinessDocType, Is.EqualTo(BusinessDocType.Revocation));
            Assert.That(header.BusinessDocumentId, Is.EqualTo(original.DocumentId));
        }

        // The recipient already finished the document, so it refuses the recall (16); the sender sees that.
        await Client(Recipient).ReportStatusAsync(recall.EnvelopeId, new StatusReport(16, "Văn bản đã thực hiện xong, không thể thu hồi"));
        var state = await WaitForStatusesAsync(recall.EnvelopeId, "16");
        Assert.That(state.Statuses.Single(s => s.Code == "16").Description, Does.Contain("không thể thu hồi"));
    }

    [TestCase(BusinessDocType.Update)]
    [TestCase(BusinessDocType.Replacement)]
    public async Task Update_or_replacement_reaches_the_recipient_naming_the_original_and_its_agreement_reaches_the_sender(BusinessDocType kind)
    {
        var original = await DeliverAsync(new DocumentMetadata([Recipient], "Kế hoạch cần sửa đổi", CodeNotation: "KH-SNV"));

        var change = await DeliverAsync(new DocumentMetadata([Recipient], "Văn bản sửa đổi, thay thế", CodeNotation: "SĐ-SNV",
            BusinessDocType: kind, BusinessDocReason: "Điều chỉnh thời hạn", BusinessDocumentId: original.DocumentId));

        await using (var inbox = Province.CreateGatewayDb(Recipient))
        {
            var header = EdxmlReader.ReadHeader((await inbox.Inbox.AsNoTracking().SingleAsync(i => i.EnvelopeId == change.EnvelopeId)).Package);
            Assert.That(header.BusinessDocType, Is.EqualTo(kind));
            Assert.That(header.BusinessDocumentId, Is.EqualTo(original.DocumentId));
        }

        await Client(Recipient).ReportStatusAsync(change.EnvelopeId, new StatusReport(15, "Đồng ý"));
        Assert.That((await WaitForStatusesAsync(change.EnvelopeId, "15")).Statuses.Single(s => s.Code == "15").ReporterCode, Is.EqualTo(Recipient));
    }

    [Test]
    public async Task Status_from_an_agency_that_is_not_a_party_is_rejected_with_evidence()
    {
        var answer = await DeliverAsync(new DocumentMetadata([Recipient], "Văn bản riêng", CodeNotation: "SNV-RI"));
        const string stranger = SampleDirectory.HangBuomWard;
        var package = EdxmlStatusWriter.Write(new EdxmlStatus
        {
            From = new EdxmlOrganisation(stranger),
            ResponseForOrganId = Sender,
            ResponseForDocumentId = answer.DocumentId,
            Code = StatusCode.Accepted,
            Timestamp = DateTimeOffset.UtcNow,
        });
        var status = new SubmitStatus(Guid.CreateVersion7(), answer.EnvelopeId, stranger, Sender, package,
            Province.Pki.AgencySigner(stranger).SignDetached(package), DateTimeOffset.UtcNow);

        await SendToHubAsync(status);
        await Eventually(async () =>
        {
            await using var db = Province.CreateHubDb();
            return await db.Evidence.AnyAsync(e => e.EnvelopeId == answer.EnvelopeId && e.Kind == nameof(EvidenceKind.StatusRejection));
        }, "status rejection evidence");

        await using var hub = Province.CreateHubDb();
        Assert.That((await hub.Statuses.AsNoTracking().SingleAsync(s => s.StatusId == status.StatusId)).Reason, Is.EqualTo("recipient-mismatch"));
        Assert.That((await Client(Sender).GetDocumentAsync(answer.EnvelopeId))!.Statuses, Is.Empty);
    }
}
