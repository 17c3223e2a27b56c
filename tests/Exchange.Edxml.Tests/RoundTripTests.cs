using System.Text;
using Exchange.Core;

namespace Exchange.Edxml.Tests;

public class RoundTripTests
{
    private static readonly TimeSpan Vietnam = TimeSpan.FromHours(7);

    internal static EdxmlPackage VietnameseDirective(int secondAttachmentBytes = 100_000)
    {
        var zip = new byte[] { 0x50, 0x4B, 0x03, 0x04, 0x14, 0x00, 0x08, 0x08, 0x08, 0x00 }
            .Concat(Enumerable.Range(0, 3000).Select(i => (byte)(i * 7)))
            .ToArray();
        var random = new byte[secondAttachmentBytes];
        new Random(20160101).NextBytes(random);

        var header = new EdxmlHeader
        {
            From = new EdxmlOrganisation(
                "000.00.00.H29", "UBND Thành phố Hà Nội", "UBND Thành phố Hà Nội", "Số 79 Đinh Tiên Hoàng, Hoàn Kiếm, Hà Nội",
                "vanthu@hanoi.gov.vn", "024 3825 3536", "024 3825 3537", "https://hanoi.gov.vn"),
            To =
            [
                new EdxmlOrganisation("000.00.41.H29", "UBND quận Ba Đình"),
                new EdxmlOrganisation("000.01.41.H29", "UBND phường Phúc Xá", OrganizationInCharge: "UBND quận Ba Đình"),
            ],
            DocumentId = EdxmlDocumentId.Format("000.00.00.H29", new DateOnly(2024, 3, 15), "123/UBND-KGVX"),
            CodeNumber = "123",
            CodeNotation = "UBND-KGVX",
            Subject = "V/v triển khai gửi, nhận văn bản điện tử có ký số trên Trục liên thông",
            Content = "Đề nghị các đơn vị khẩn trương triển khai.\r\nBáo cáo kết quả trước ngày 30/4.",
            DocumentTypeCode = 1,
            DocumentTypeDetail = 0,
            DocumentTypeName = "Công văn",
            PromulgationPlace = "Hà Nội",
            PromulgationDate = new DateOnly(2024, 3, 15),
            SignerCompetence = "KT. CHỦ TỊCH",
            SignerPosition = "Phó Chủ tịch",
            SignerFullName = "Nguyễn Văn Ấn",
            DueDate = new DateOnly(2024, 4, 30),
            ToPlaces = ["Như trên", "Lưu: VT, KGVX"],
            Priority = 2,
            SphereOfPromulgation = "Lưu hành nội bộ",
            TyperNotation = "NVA",
            PromulgationAmount = 5,
            PageAmount = 3,
            Direction = true,
            Appendixes = ["Phụ lục I: Danh sách đơn vị", "Phụ lục II: Biểu mẫu"],
            SteeringType = 1,
            BusinessDocType = BusinessDocType.Update,
            BusinessDocReason = "Cập nhật danh sách nơi nhận",
            BusinessDocumentId = "000.00.00.H29,2024/03/01,100/UBND-KGVX",
            Paper = 1,
            Staff = new EdxmlStaffInfo("Văn phòng UBND", "Trần Thị Bích", "bich@hanoi.gov.vn", "0912345678"),
            Update = new EdxmlBusinessUpdate(1, 1, [new EdxmlReceiver("000.00.41.H29", 0), new EdxmlReceiver("000.01.41.H29", 1)]),
            Replacements = [new EdxmlReplacement("000.00.00.H29,2024/01/02,1/UBND-KGVX", ["000.00.41.H29"])],
            ResponseForOrganId = "000.00.00.G22",
            ResponseForCode = "7816/VPCP-TTĐT",
            ResponseForPromulgationDate = new DateOnly(2015, 9, 30),
            ResponseForDocumentId = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT",
            Trace = [new EdxmlTraceEntry("000.00.00.H29", new DateTimeOffset(2024, 3, 15, 9, 30, 0, Vietnam))],
        };

        return new EdxmlPackage(
            header,
            [
                new EdxmlAttachment("Công văn 123.zip", "application/zip", zip, "Văn bản ký số") { ContentId = "cid:van-ban" },
                new EdxmlAttachment("Phụ lục đính kèm.bin", "application/octet-stream", random),
            ]);
    }

    [Test]
    public void Round_trips_a_package_with_Vietnamese_text_and_two_attachments()
    {
        var package = VietnameseDirective();

        var read = EdxmlReader.Read(EdxmlWriter.Write(package));

        var expected = package with
        {
            Attachments = [package.Attachments[0], package.Attachments[1] with { ContentId = "cid:2" }],
        };
        Assert.That(Structural.Difference(expected, read), Is.Null);
    }

    [Test]
    public void Writes_the_same_bytes_for_the_same_package()
    {
        var first = EdxmlWriter.Write(VietnameseDirective());
        var second = EdxmlWriter.Write(VietnameseDirective());

        Assert.That(second, Is.EqualTo(first));
    }

    [Test]
    public void Writes_utf8_without_bom_in_the_shape_of_the_samples()
    {
        var bytes = EdxmlWriter.Write(VietnameseDirective(secondAttachmentBytes: 10));
        var xml = Encoding.UTF8.GetString(bytes);

        Assert.Multiple(() =>
        {
            Assert.That(bytes.AsSpan(0, 3).ToArray(), Is.Not.EqualTo(new byte[] { 0xEF, 0xBB, 0xBF }));
            Assert.That(xml, Does.StartWith("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">"));
            Assert.That(xml, Does.Contain("<edXML:edXMLEnvelope xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">"));
            Assert.That(xml, Does.Contain("<edXML:DocumentId>000.00.00.H29,2024/03/15,123/UBND-KGVX</edXML:DocumentId>"));
            Assert.That(xml, Does.Contain("<edXML:PromulgationDate>2024/03/15</edXML:PromulgationDate>"));
            Assert.That(xml, Does.Contain("<edXML:Timestamp>2024/03/15 09:30:00</edXML:Timestamp>"));
            Assert.That(xml, Does.Contain("<edXML:Bussiness>"));
            Assert.That(xml, Does.Contain("<edXML:BussinessDocType>2</edXML:BussinessDocType>"));
            Assert.That(xml, Does.Contain("<edXML:edXMLManifest version=\"1.0\">"));
            Assert.That(xml, Does.Contain("<AttachmentEncoded>"));
            Assert.That(xml, Does.Contain("<ContentId>cid:van-ban</ContentId>"));
            Assert.That(xml, Does.Contain("<edXML:ContentTransferEncoded xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">UEsDB"));
            Assert.That(xml, Does.Contain("Đề nghị các đơn vị khẩn trương triển khai.&#xD;\nBáo cáo"));
        });
    }

    [Test]
    public void Writes_timestamps_in_Vietnam_time()
    {
        var package = VietnameseDirective(10);
        package = package with
        {
            Header = package.Header with { Trace = [new EdxmlTraceEntry("000.00.00.H29", new DateTimeOffset(2024, 3, 15, 2, 30, 0, TimeSpan.Zero))] },
        };

        var xml = Encoding.UTF8.GetString(EdxmlWriter.Write(package));

        Assert.That(xml, Does.Contain("<edXML:Timestamp>2024/03/15 09:30:00</edXML:Timestamp>"));
    }

    [Test]
    public void Rewriting_a_sample_keeps_every_field()
    {
        foreach (var file in Samples.DocumentFiles.Where(f => f != "edoc.edxml"))
        {
            var original = EdxmlReader.Read(Samples.Bytes(file));

            var rewritten = EdxmlReader.Read(EdxmlWriter.Write(original));

            Assert.That(Structural.Difference(original, rewritten), Is.Null, file);
        }
    }

    [Test]
    public void Reads_base64_wrapped_in_lines()
    {
        var package = VietnameseDirective(secondAttachmentBytes: 5000);
        var xml = Encoding.UTF8.GetString(EdxmlWriter.Write(package));
        var single = Convert.ToBase64String(package.Attachments[1].Content);
        var wrapped = Convert.ToBase64String(package.Attachments[1].Content, Base64FormattingOptions.InsertLineBreaks);
        Assert.That(xml, Does.Contain(single));

        var read = EdxmlReader.Read(Samples.Utf8(xml.Replace(single, "\r\n" + wrapped + "\r\n", StringComparison.Ordinal)));

        Assert.That(read.Attachments[1].Content, Is.EqualTo(package.Attachments[1].Content));
    }

    [Test]
    public void Reads_an_empty_attachment()
    {
        var package = VietnameseDirective() with { Attachments = [new EdxmlAttachment("empty.txt", "text/plain", [])] };

        var read = EdxmlReader.Read(EdxmlWriter.Write(package));

        Assert.That(read.Attachments[0].Content, Is.Empty);
    }

    [Test]
    public void Writes_a_package_without_attachments()
    {
        var package = VietnameseDirective() with { Attachments = [] };

        var read = EdxmlReader.Read(EdxmlWriter.Write(package));

        Assert.That(read.Attachments, Is.Empty);
    }

    [Test]
    public void Round_trips_every_status_code()
    {
        foreach (var code in Enum.GetValues<StatusCode>())
        {
            var status = new EdxmlStatus
            {
                From = new EdxmlOrganisation("000.01.41.H29", "UBND phường Phúc Xá"),
                ResponseForOrganId = "000.00.00.H29",
                ResponseForCode = "123/UBND-KGVX",
                ResponseForPromulgationDate = new DateOnly(2024, 3, 15),
                ResponseForDocumentId = "000.00.00.H29,2024/03/15,123/UBND-KGVX",
                Code = code,
                Description = "Văn thư: đã vào sổ văn bản đến",
                Timestamp = new DateTimeOffset(2024, 3, 16, 8, 0, 5, Vietnam),
                Staff = new EdxmlStaffInfo("Văn thư", "Lê Thị Hoa", "hoa@phucxa.hanoi.gov.vn", "0987654321"),
            };

            var bytes = EdxmlStatusWriter.Write(status);

            Assert.That(Structural.Difference(status, EdxmlStatusReader.Read(bytes)), Is.Null, code.ToString());
            Assert.That(Encoding.UTF8.GetString(bytes), Does.Contain($"<edXML:StatusCode>{(int)code:D2}</edXML:StatusCode>"));
        }
    }

    [Test]
    public void Rewriting_a_status_sample_gives_back_the_same_status()
    {
        foreach (var file in Samples.StatusFiles)
        {
            var original = EdxmlStatusReader.Read(Samples.Bytes(file));

            Assert.That(Structural.Difference(original, EdxmlStatusReader.Read(EdxmlStatusWriter.Write(original))), Is.Null, file);
        }
    }

    [Test]
    public void Writer_refuses_a_control_character_in_a_field()
    {
        var package = VietnameseDirective(10);
        package = package with { Header = package.Header with { Subject = "Báo cáo\u0001tháng 3" } };

        var e = Assert.Throws<EdxmlException>(() => EdxmlWriter.Write(package));

        Assert.Multiple(() =>
        {
            Assert.That(e!.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.Contain("Subject").And.Contain("U+0001"));
        });
    }

    [Test]
    public void Writer_refuses_a_package_without_recipients()
    {
        var package = VietnameseDirective(10);
        package = package with { Header = package.Header with { To = [] } };

        var e = Assert.Throws<EdxmlException>(() => EdxmlWriter.Write(package));

        Assert.That(e!.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
    }

    [Test]
    public void Writer_refuses_two_attachments_with_one_content_id()
    {
        var package = VietnameseDirective(10);
        package = package with { Attachments = [package.Attachments[0], package.Attachments[1] with { ContentId = "cid:van-ban" }] };

        var e = Assert.Throws<EdxmlException>(() => EdxmlWriter.Write(package));

        Assert.That(e!.Message, Does.Contain("cid:van-ban"));
    }

    [Test]
    public void Writer_refuses_what_the_reader_would_refuse_under_the_same_limits()
    {
        var package = VietnameseDirective(10_000);

        Assert.Multiple(() =>
        {
            Assert.That(
                Assert.Throws<EdxmlException>(() => EdxmlWriter.Write(package, new EdxmlLimits { MaxPackageBytes = 5000 }))!.Reason,
                Is.EqualTo(ReasonCode.TooLarge));
            Assert.That(
                Assert.Throws<EdxmlException>(() => EdxmlWriter.Write(package, new EdxmlLimits { MaxAttachments = 1 }))!.Reason,
                Is.EqualTo(ReasonCode.TooLarge));
            Assert.That(
                Assert.Throws<EdxmlException>(() => EdxmlWriter.Write(package, new EdxmlLimits { MaxRecipients = 1 }))!.Reason,
                Is.EqualTo(ReasonCode.TooLarge));
            Assert.That(
                Assert.Throws<EdxmlException>(() => EdxmlWriter.Write(package, new EdxmlLimits { MaxFieldLength = 20 }))!.Reason,
                Is.EqualTo(ReasonCode.TooLarge));
            Assert.That(EdxmlWriter.Write(package, new EdxmlLimits()), Is.EqualTo(EdxmlWriter.Write(package)));
        });
    }
}
