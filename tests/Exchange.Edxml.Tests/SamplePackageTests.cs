using Exchange.Core;

namespace Exchange.Edxml.Tests;

public class SamplePackageTests
{
    [Test]
    public void Every_sample_file_is_covered_by_these_tests()
    {
        var onDisk = Directory.GetFiles(Samples.Folder, "*.edxml").Select(Path.GetFileName).Order(StringComparer.Ordinal);
        var known = Samples.DocumentFiles.Concat(Samples.StatusFiles).Order(StringComparer.Ordinal);

        Assert.That(onDisk, Is.EqualTo(known), "a sample was added or removed: give it a test");
    }

    // From/OrganId, first To/OrganId, To count, Subject, DocumentId, BussinessDocType of each document sample.
    [TestCase("edoc.edxml", "002.00.20.H13", "000.00.15.H51", 1, "Văn bản liên thông chỉ đạo - 190701", "9fbfbad2-f1f8-4256-a2eb-50fb1061cddb", BusinessDocType.New)]
    [TestCase("edoc_new.edxml", "002.00.20.H13", "28.22.H17", 1, "V/v kết nối, liên thông phần mềm quản lý văn bản", "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT", BusinessDocType.New)]
    [TestCase("edoc_replacement.edxml", "000.00.00.G22", "000.00.00.H41", 3, "V/v kết nối, liên thông phần mềm quản lý văn bản", "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT", BusinessDocType.Replacement)]
    [TestCase("edoc_revocation.edxml", "000.00.00.G22", "000.00.00.H41", 3, "V/v kết nối, liên thông phần mềm quản lý văn bản", "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT", BusinessDocType.Revocation)]
    [TestCase("edoc_update.edxml", "000.00.00.G22", "000.00.00.H41", 3, "V/v kết nối, liên thông phần mềm quản lý văn bản", "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT", BusinessDocType.Update)]
    [TestCase("vdxp-2019-5-852e179c.edxml", "000.00.15.H51", "000.00.15.H51", 1, "Văn bản liên thông chỉ đạo - 190701", "9fbfbad2-f1f8-4256-a2eb-50fb1061cddb", BusinessDocType.New)]
    [TestCase("vdxp-2025-10-874e0f18.edxml", "vxp.saas.03", "vxp.saas.03", 1, "Binary fix test", "5e515fca-3627-4f2e-b517-7169acdc8bda", BusinessDocType.New)]
    [TestCase("vdxp-2025-10-9e272474.edxml", "vxp.saas.03", "vxp.saas.03", 1, "Gộp 3 file", "efa170d6-eca4-47e1-aef7-a6dafce24e9e", BusinessDocType.New)]
    public void Reads_the_header_of_every_document_sample(
        string file, string from, string firstTo, int toCount, string subject, string documentId, BusinessDocType type)
    {
        var header = EdxmlReader.ReadHeader(Samples.Bytes(file));

        Assert.Multiple(() =>
        {
            Assert.That(header.From.OrganId, Is.EqualTo(from));
            Assert.That(header.To[0].OrganId, Is.EqualTo(firstTo));
            Assert.That(header.To, Has.Count.EqualTo(toCount));
            Assert.That(header.Subject, Is.EqualTo(subject));
            Assert.That(header.DocumentId, Is.EqualTo(documentId));
            Assert.That(header.BusinessDocType, Is.EqualTo(type));
            Assert.That(EdxmlReader.GetKind(Samples.Bytes(file)), Is.EqualTo(EdxmlPackageKind.Document));
        });
    }

    // Attachment count, name, content type, decoded length and first bytes of each sample whose attachment is base64.
    [TestCase("edoc_new.edxml", "1896_QD-TTg_m_294779.doc", "application/zip", 270823, "PK")]
    [TestCase("edoc_replacement.edxml", "1896_QD-TTg_m_294779.doc", "application/zip", 270823, "PK")]
    [TestCase("edoc_revocation.edxml", "1896_QD-TTg_m_294779.doc", "application/zip", 270823, "PK")]
    [TestCase("edoc_update.edxml", "1896_QD-TTg_m_294779.doc", "application/zip", 270823, "PK")]
    [TestCase("vdxp-2019-5-852e179c.edxml", "GUIDE_INSTALL OPENVPN.SIGNED.PDF", "application/zip", 214, "PK")]
    [TestCase("vdxp-2025-10-874e0f18.edxml", "1761211722949_TestTrucLienThong.pdf", "application/pdf", 10689, "PK")]
    [TestCase("vdxp-2025-10-9e272474.edxml", "1761209178887_TestTrucLienThong.pdf", "application/pdf", 18839, "%PDF")]
    public void Reads_the_attachment_of_every_sample_byte_for_byte(string file, string name, string contentType, int length, string magic)
    {
        var package = EdxmlReader.Read(Samples.Bytes(file));

        Assert.That(package.Attachments, Has.Count.EqualTo(1));
        var attachment = package.Attachments[0];
        Assert.Multiple(() =>
        {
            Assert.That(attachment.Name, Is.EqualTo(name));
            Assert.That(attachment.ContentType, Is.EqualTo(contentType));
            Assert.That(attachment.Content, Has.Length.EqualTo(length));
            Assert.That(attachment.Content.AsSpan(0, magic.Length).ToArray(), Is.EqualTo(System.Text.Encoding.ASCII.GetBytes(magic)));
            Assert.That(Structural.Difference(EdxmlReader.ReadHeader(Samples.Bytes(file)), package.Header), Is.Null, "Read and ReadHeader agree");
        });
    }

    [Test]
    public void Reads_edoc_new_despite_stray_bytes_before_the_xml_declaration()
    {
        var bytes = Samples.Bytes("edoc_new.edxml");
        Assert.That(System.Text.Encoding.ASCII.GetString(bytes, 0, 9), Is.EqualTo("1212<?xml"), "the quirk this test is about");

        var package = EdxmlReader.Read(bytes);
        var h = package.Header;

        Assert.Multiple(() =>
        {
            Assert.That(h.From.OrganName, Is.EqualTo("UBND xã Hòa Tiến - UBND huyện Hòa Vang - Thành phố Đà Nẵng"));
            Assert.That(h.From.Fax, Is.EqualTo("048989898789"));
            Assert.That(h.To[0].OrganizationInCharge, Is.EqualTo("UBND xã Hòa Sơn - UBND huyện Hòa Vang - Thành phố Đà Nẵng"), "trimmed");
            Assert.That(h.CodeNumber, Is.EqualTo("74fass22"));
            Assert.That(h.CodeNotation, Is.EqualTo("VPCP-TTĐT"));
            Assert.That(h.PromulgationPlace, Is.EqualTo("Hà Nội"));
            Assert.That(h.PromulgationDate, Is.EqualTo(new DateOnly(2019, 1, 16)));
            Assert.That(h.DocumentTypeCode, Is.EqualTo(1));
            Assert.That(h.DocumentTypeDetail, Is.EqualTo(0));
            Assert.That(h.DocumentTypeName, Is.EqualTo("Công văn"));
            Assert.That(h.Content, Is.EqualTo("V/v kết nối, liên thông phần mềm quản lý văn bản"));
            Assert.That(h.SignerCompetence, Is.EqualTo("TL. BO TRUONG"));
            Assert.That(h.SignerPosition, Is.EqualTo("Cuc truong cuc ung dung cong nghe thong tin"));
            Assert.That(h.SignerFullName, Is.EqualTo("Nguyen Thanh Phuc"));
            Assert.That(h.DueDate, Is.EqualTo(new DateOnly(2018, 9, 28)));
            Assert.That(h.Priority, Is.Zero);
            Assert.That(h.SphereOfPromulgation, Is.EqualTo("Liên thông văn bản quốc gia"));
            Assert.That(h.TyperNotation, Is.EqualTo("TVC"));
            Assert.That(h.PromulgationAmount, Is.EqualTo(2));
            Assert.That(h.PageAmount, Is.EqualTo(22));
            Assert.That(h.Direction, Is.False);
            Assert.That(h.Appendixes, Is.EqualTo(new[] { "Công văn về việc kết nối, liên thông phần mềm quản lý văn bản" }));
            Assert.That(h.SteeringType, Is.EqualTo(1));
            Assert.That(h.ToPlaces, Is.EqualTo(new[] { "Cac bo va co quan ngang bo", "Uy ban nhan dan cac tinh, TP" }));
            Assert.That(h.ResponseForDocumentId, Is.Null);
            Assert.That(h.Trace, Is.EqualTo(new[] { new EdxmlTraceEntry("000.00.00.G22", new DateTimeOffset(2018, 9, 28, 0, 0, 0, TimeSpan.FromHours(7))) }));
            Assert.That(h.BusinessDocumentId, Is.EqualTo("000.00.00.G22,2014/02/30,7806/VPCP-TTĐT"), "kept as text, even with its 30 February");
            Assert.That(h.BusinessDocReason, Is.EqualTo("Văn bản điện tử mới"));
            Assert.That(h.Paper, Is.Zero);
            Assert.That(h.Staff, Is.EqualTo(new EdxmlStaffInfo("Văn thư văn phòng", "Nguyễn Thị Ngọc Trâm", "vanthuvanphong@gov.vn", "84912000001")));
            Assert.That(package.Attachments[0].ContentId, Is.EqualTo("cid:209"));
            Assert.That(package.Attachments[0].Description, Is.EqualTo("1896_QD-TTg_m_294779.doc"));
        });
    }

    [Test]
    public void Reads_several_To_elements_and_the_update_receivers()
    {
        var h = EdxmlReader.ReadHeader(Samples.Bytes("edoc_update.edxml"));

        Assert.Multiple(() =>
        {
            Assert.That(h.To.Select(t => t.OrganId), Is.EqualTo(new[] { "000.00.00.H41", "000.00.00.H14", "000.00.00.G17" }));
            Assert.That(h.To.Select(t => t.OrganName), Is.EqualTo(new[] { "UBND Tỉnh Nghệ An", "UBND Tỉnh Cao Bằng", "Sở Thông tin truyền thông Hải Phòng" }));
            Assert.That(h.BusinessDocReason, Is.EqualTo("Cập nhật văn bản điện tử"));
            Assert.That(h.Update, Is.Not.Null);
            Assert.That(h.Update!.DocumentInfo, Is.EqualTo(1));
            Assert.That(h.Update.DocumentReceiver, Is.EqualTo(1));
            Assert.That(h.Update.Receivers, Is.EqualTo(new[] { new EdxmlReceiver("000.00.00.H41", 0), new EdxmlReceiver("000.00.00.H14", 1) }));
        });
    }

    [Test]
    public void Reads_the_response_for_of_a_revocation()
    {
        var h = EdxmlReader.ReadHeader(Samples.Bytes("edoc_revocation.edxml"));

        Assert.Multiple(() =>
        {
            Assert.That(h.BusinessDocType, Is.EqualTo(BusinessDocType.Revocation));
            Assert.That(h.BusinessDocReason, Is.EqualTo("Thu hồi văn bản điện tử"));
            Assert.That(h.ResponseForOrganId, Is.EqualTo("000.00.00.H14"));
            Assert.That(h.ResponseForCode, Is.EqualTo("267/VPCP-TTĐT"));
            Assert.That(h.ResponseForPromulgationDate, Is.EqualTo(new DateOnly(2018, 9, 28)));
            Assert.That(h.ResponseForDocumentId, Is.EqualTo("000.00.04.G14,2012/08/06,267/VPCP-TTĐT"));
        });
    }

    [Test]
    public void Reads_the_documents_a_replacement_replaces()
    {
        var h = EdxmlReader.ReadHeader(Samples.Bytes("edoc_replacement.edxml"));

        Assert.That(h.Replacements, Has.Count.EqualTo(2));
        Assert.Multiple(() =>
        {
            Assert.That(h.Replacements[0].DocumentId, Is.EqualTo("000.00.00.G22,2014/01/30,7806/VPCP-TTĐT"));
            Assert.That(h.Replacements[0].OrganIds, Is.EqualTo(new[] { "000.00.00.H41", "000.00.00.H14" }));
            Assert.That(h.BusinessDocReason, Is.EqualTo("Văn bản thay thế"));
        });
    }

    [Test]
    public void Reads_edoc_header_despite_undeclared_prefixes_and_an_empty_response_for()
    {
        // edoc.edxml writes xlink:href without declaring xlink, uses edXML:AttachmentEncoded outside the scope of
        // xmlns:edXML, puts DocumentId after SteeringType and has a ResponseFor whose children are all empty.
        var h = EdxmlReader.ReadHeader(Samples.Bytes("edoc.edxml"));

        Assert.Multiple(() =>
        {
            Assert.That(h.From.OrganizationInCharge, Is.EqualTo("Văn phòng Chính phủ"));
            Assert.That(h.To[0].OrganizationInCharge, Is.Null);
            Assert.That(h.To[0].Website, Is.EqualTo("http://www.ict-hanoi.gov.vn"));
            Assert.That(h.CodeNumber, Is.EqualTo("12234555512"));
            Assert.That(h.DocumentTypeName, Is.EqualTo("Thông tư"));
            Assert.That(h.PromulgationDate, Is.EqualTo(new DateOnly(2019, 1, 17)));
            Assert.That(h.SignerFullName, Is.EqualTo("Trương Minh Tu\u00E2\u0301n"), "kept as written: â + combining acute, not NFC");
            Assert.That(h.SignerFullName!.Normalize(), Is.EqualTo("Trương Minh Tuấn"));
            Assert.That(h.ToPlaces, Is.EqualTo(new[] { "Các bộ" }));
            Assert.That(h.ResponseForDocumentId, Is.Null);
            Assert.That(h.ResponseForOrganId, Is.Null);
            Assert.That(h.Trace, Is.EqualTo(new[] { new EdxmlTraceEntry("01.02.G22", new DateTimeOffset(2018, 6, 20, 16, 35, 56, TimeSpan.FromHours(7))) }));
        });
    }

    [Test]
    public void Refuses_to_decode_the_edoc_sample_whose_attachment_is_a_test_template_placeholder()
    {
        // edoc.edxml's ContentTransferEncoded is the JMeter expression ${__StringFromFile(test.txt,,,)}, not base64:
        // the header reads (above), the attachment cannot.
        var e = Assert.Throws<EdxmlException>(() => EdxmlReader.Read(Samples.Bytes("edoc.edxml")));

        Assert.Multiple(() =>
        {
            Assert.That(e!.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.Contain("AttachmentEncoded/Attachment[1]/ContentTransferEncoded").And.Contain("not valid base64"));
        });
    }

    [Test]
    public void Keeps_odd_agency_ids_as_written_for_the_router_to_judge()
    {
        var gateway2019 = EdxmlReader.ReadHeader(Samples.Bytes("vdxp-2019-5-852e179c.edxml"));
        var gateway2025 = EdxmlReader.ReadHeader(Samples.Bytes("vdxp-2025-10-874e0f18.edxml"));

        Assert.Multiple(() =>
        {
            Assert.That(gateway2019.Trace.Select(t => t.OrganId), Is.EqualTo(new[] { "01.02.G22", "001.00.20.TT2" }));
            Assert.That(gateway2019.Trace[1].Timestamp, Is.EqualTo(new DateTimeOffset(2019, 5, 17, 18, 16, 33, TimeSpan.FromHours(7))));
            Assert.That(gateway2019.ResponseForDocumentId, Is.Null, "<ResponseFor />");
            Assert.That(gateway2025.From.OrganId, Is.EqualTo("vxp.saas.03"));
            Assert.That(gateway2025.From.OrganName, Is.Null);
            Assert.That(gateway2025.Trace.Select(t => t.OrganId), Is.EqualTo(new[] { "null", "" }), "literal null, then a missing OrganId");
            Assert.That(gateway2025.SignerFullName, Is.EqualTo("Gateway Auto"));
            Assert.That(gateway2025.DueDate, Is.Null);
            Assert.That(AgencyCode.TryParse(gateway2025.From.OrganId, out _, out _), Is.False, "the router refuses it, not the reader");
        });
    }

    [Test]
    public void Prefers_the_attachment_content_type_over_the_manifest()
    {
        // vdxp-2019: the manifest says application/pdf, the Attachment application/zip (and the bytes are a zip).
        var package = EdxmlReader.Read(Samples.Bytes("vdxp-2019-5-852e179c.edxml"));

        Assert.That(package.Attachments[0].ContentType, Is.EqualTo("application/zip"));
    }

    [Test]
    public void Reads_other_info_of_the_2025_gateway_package()
    {
        var h = EdxmlReader.ReadHeader(Samples.Bytes("vdxp-2025-10-9e272474.edxml"));

        Assert.Multiple(() =>
        {
            Assert.That(h.Priority, Is.EqualTo(1));
            Assert.That(h.SteeringType, Is.EqualTo(2));
            Assert.That(h.Direction, Is.True);
            Assert.That(h.DocumentTypeCode, Is.EqualTo(2));
            Assert.That(h.DocumentTypeName, Is.EqualTo("Báo cáo"));
            Assert.That(h.Appendixes, Is.EqualTo(new[] { "Phụ lục 1", "Phụ lục 2" }));
            Assert.That(h.PromulgationPlace, Is.EqualTo("Thành phố Đà Nẵng"));
            Assert.That(h.SignerPosition, Is.EqualTo("Chủ tịch UBND"));
            Assert.That(h.Staff, Is.Null, "no Bussiness block");
        });
    }
}
