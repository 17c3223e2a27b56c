using Exchange.Core;

namespace Exchange.Edxml.Tests;

public class SampleStatusTests
{
    [TestCase("status.edxml", StatusCode.Arrived, "000.00.00.H41", "000.00.00.G22", "2018-09-28T17:25:11+07:00", "Văn thư - Phòng Văn thư - Lưu trữ: Đã đến")]
    [TestCase("status_inbox_01.edxml", StatusCode.Arrived, "000.00.00.H41", "000.00.00.G22", "2015-09-20T11:08:36+07:00", "Văn thư - Phòng Văn thư - Lưu trữ: Đã đến")]
    [TestCase("status_rejection_02.edxml", StatusCode.Refused, "000.00.00.H41", "000.00.00.G22", "2015-09-20T11:08:36+07:00", "Từ chối không tiếp nhận")]
    [TestCase("status_acceptance_03.edxml", StatusCode.Accepted, "000.00.00.H41", "000.00.00.G22", "2015-09-20T11:08:36+07:00", "vào sổ văn bản đến")]
    [TestCase("status_assignment_04.edxml", StatusCode.Assigned, "000.00.00.H41", "000.00.00.G22", "2015-09-20T11:08:36+07:00", "Phân công xử lý")]
    [TestCase("status_processing_05.edxml", StatusCode.InProgress, "000.00.00.H41", "000.00.00.G22", "2015-09-20T11:08:36+07:00", "Đang xử lý")]
    [TestCase("status_finish_06.edxml", StatusCode.Done, "000.00.00.H41", "000.00.00.G22", "2015-09-20T11:08:36+07:00", "hoàn thành xử lý")]
    [TestCase("status_cancellation_13.edxml", StatusCode.RecallRequested, "000.00.00.G22", "000.00.00.H41", "2015-09-20T11:08:36+07:00", "lấy lại văn bản")]
    [TestCase("status_change-acceptance_15.edxml", StatusCode.RecallAgreed, "000.00.00.H41", "000.00.00.G22", "2015-09-20T11:08:36+07:00", "đồng ý")]
    [TestCase("status_change-rejection_16.edxml", StatusCode.RecallRefused, "000.00.00.H41", "000.00.00.G22", "2015-09-20T11:08:36+07:00", "từ chối")]
    public void Reads_every_status_sample(string file, StatusCode code, string from, string addressedTo, string timestamp, string description)
    {
        var status = EdxmlStatusReader.Read(Samples.Bytes(file));

        Assert.Multiple(() =>
        {
            Assert.That(status.Code, Is.EqualTo(code));
            Assert.That(status.From.OrganId, Is.EqualTo(from));
            Assert.That(status.ResponseForOrganId, Is.EqualTo(addressedTo));
            Assert.That(status.ResponseForDocumentId, Is.EqualTo("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"));
            Assert.That(status.ResponseForCode, Is.EqualTo("7816/VPCP-TTĐT"));
            Assert.That(status.Timestamp, Is.EqualTo(DateTimeOffset.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(status.Timestamp.Offset, Is.EqualTo(TimeSpan.FromHours(7)), "no offset in the text means Vietnam time");
            Assert.That(status.Description, Does.Contain(description));
            Assert.That(status.Staff?.Mobile, Is.EqualTo("84912000001"));
            Assert.That(EdxmlReader.GetKind(Samples.Bytes(file)), Is.EqualTo(EdxmlPackageKind.Status));
        });
    }

    [Test]
    public void Reads_the_status_staff_and_response_for_date()
    {
        var status = EdxmlStatusReader.Read(Samples.Bytes("status.edxml"));

        Assert.Multiple(() =>
        {
            Assert.That(status.Staff, Is.EqualTo(new EdxmlStaffInfo("Văn thư văn phòng", "Nguyễn Thị Ngọc Trâm", "vanthuvanphong@gov.vn", "84912000001")));
            Assert.That(status.ResponseForPromulgationDate, Is.EqualTo(new DateOnly(2018, 9, 28)));
            Assert.That(status.From.OrganName, Is.EqualTo("UBND Tỉnh Nghệ An"));
        });
    }

    [Test]
    public void Derives_the_document_id_of_a_status_without_one_from_the_response_for()
    {
        var xml = Samples.Text("status_finish_06.edxml")
            .Replace("<edXML:DocumentId>000.00.00.G22,2015/09/30,7816/VPCP-TTĐT</edXML:DocumentId>", string.Empty, StringComparison.Ordinal);

        var status = EdxmlStatusReader.Read(Samples.Utf8(xml));

        Assert.That(status.ResponseForDocumentId, Is.EqualTo("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"));
    }

    [Test]
    public void Derives_the_document_id_of_a_recall_request_from_its_sender()
    {
        // Status 13 goes from the document's sender (From) to a recipient (ResponseFor/OrganId).
        var xml = Samples.Text("status_cancellation_13.edxml")
            .Replace("<edXML:DocumentId>000.00.00.G22,2015/09/30,7816/VPCP-TTĐT</edXML:DocumentId>", string.Empty, StringComparison.Ordinal);

        var status = EdxmlStatusReader.Read(Samples.Utf8(xml));

        Assert.That(status.ResponseForDocumentId, Is.EqualTo("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"));
    }

    [Test]
    public void Refuses_a_status_package_read_as_a_document()
    {
        var e = Assert.Throws<EdxmlException>(() => EdxmlReader.ReadHeader(Samples.Bytes("status_inbox_01.edxml")));

        Assert.Multiple(() =>
        {
            Assert.That(e!.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.Contain("status package").And.Contain("StatusCode 01"));
        });
    }

    [Test]
    public void Refuses_a_document_package_read_as_a_status()
    {
        var e = Assert.Throws<EdxmlException>(() => EdxmlStatusReader.Read(Samples.Bytes("vdxp-2019-5-852e179c.edxml")));

        Assert.Multiple(() =>
        {
            Assert.That(e!.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.Contain("no StatusCode"));
        });
    }

    [TestCase("07")]
    [TestCase("14")]
    [TestCase("1a")]
    [TestCase("")]
    public void Refuses_a_status_code_edxml_does_not_define(string code)
    {
        var xml = Samples.Text("status_inbox_01.edxml")
            .Replace("<edXML:StatusCode>01</edXML:StatusCode>", $"<edXML:StatusCode>{code}</edXML:StatusCode>", StringComparison.Ordinal);

        var e = Assert.Throws<EdxmlException>(() => EdxmlStatusReader.Read(Samples.Utf8(xml)));

        Assert.Multiple(() =>
        {
            Assert.That(e!.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.Contain("MessageHeader/StatusCode"));
        });
    }

    [Test]
    public void Refuses_a_status_that_names_nobody_to_send_it_to()
    {
        var xml = Samples.Text("status_inbox_01.edxml")
            .Replace("<edXML:OrganId>000.00.00.G22</edXML:OrganId>", "<edXML:OrganId></edXML:OrganId>", StringComparison.Ordinal);

        var e = Assert.Throws<EdxmlException>(() => EdxmlStatusReader.Read(Samples.Utf8(xml)));

        Assert.That(e!.Message, Does.Contain("ResponseFor/OrganId"));
    }

    [Test]
    public void Refuses_a_status_without_a_timestamp()
    {
        var xml = Samples.Text("status_inbox_01.edxml")
            .Replace("<edXML:Timestamp>2015/09/20 11:08:36</edXML:Timestamp>", string.Empty, StringComparison.Ordinal);

        var e = Assert.Throws<EdxmlException>(() => EdxmlStatusReader.Read(Samples.Utf8(xml)));

        Assert.That(e!.Message, Does.Contain("Timestamp"));
    }
}
