using System.Text;
using System.Text.RegularExpressions;
using Exchange.Core;

namespace Exchange.Edxml.Tests;

/// <summary>
/// What a carrier (the hub, a gateway taking a ready package) checks before it passes a package on unopened:
/// <see cref="EdxmlReader.Validate"/> checks every attachment's base64 and size without keeping it, and attachment
/// names are file names, not paths. The parser's refusals of DTDs, entities, broken base64, invalid UTF-8 and
/// control characters are in <see cref="RefusalTests"/>.
/// </summary>
public class CarrierCheckTests
{
    private static string Package => Samples.Text("vdxp-2019-5-852e179c.edxml");

    private static byte[] WithContent(string content) =>
        Samples.Utf8(Regex.Replace(Package, "(<edXML:ContentTransferEncoded[^>]*>)[^<]*", "${1}" + content));

    private static byte[] WithAttachmentName(string name) =>
        Samples.Utf8(Package.Replace(
            "<AttachmentName>GUIDE_INSTALL OPENVPN.SIGNED.PDF</AttachmentName>",
            $"<AttachmentName>{System.Security.SecurityElement.Escape(name)}</AttachmentName>",
            StringComparison.Ordinal));

    [Test]
    public void Validate_refuses_broken_base64_that_reading_the_header_skips()
    {
        var bytes = WithContent("UEsDB$$$");

        // 1. Reading the header for routing does not look inside attachments.
        Assert.That(EdxmlReader.ReadHeader(bytes).Subject, Is.Not.Empty);

        // 2. Validation does, and refuses for the right reason.
        var e = Assert.Throws<EdxmlException>(() => EdxmlReader.Validate(bytes))!;
        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.Contain("ContentTransferEncoded").And.Contain("not valid base64"));
        });
    }

    [Test]
    public void Validate_accepts_every_sample_whose_attachments_decode()
    {
        foreach (var file in Samples.DocumentFiles.Where(f => f != "edoc.edxml"))
        {
            var bytes = Samples.Bytes(file);
            Assert.That(EdxmlReader.Validate(bytes).DocumentId, Is.EqualTo(EdxmlReader.ReadHeader(bytes).DocumentId), file);
        }

        // edoc.edxml carries a JMeter expression where its base64 belongs (see SamplePackageTests).
        Assert.That(Assert.Throws<EdxmlException>(() => EdxmlReader.Validate(Samples.Bytes("edoc.edxml")))!.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
    }

    [Test]
    public void Refuses_an_attachment_over_the_size_limit_when_validating_and_when_decoding()
    {
        var bytes = WithContent(Convert.ToBase64String(new byte[100_001]));
        var limits = new EdxmlLimits { MaxAttachmentBytes = 100_000 };

        var validating = Assert.Throws<EdxmlException>(() => EdxmlReader.Validate(bytes, limits))!;
        var decoding = Assert.Throws<EdxmlException>(() => EdxmlReader.Read(bytes, limits))!;

        Assert.Multiple(() =>
        {
            Assert.That(validating.Reason, Is.EqualTo(ReasonCode.TooLarge));
            Assert.That(validating.Message, Does.Contain("MaxAttachmentBytes"));
            Assert.That(decoding.Reason, Is.EqualTo(ReasonCode.TooLarge));
            Assert.That(EdxmlReader.Validate(WithContent(Convert.ToBase64String(new byte[100_000])), limits), Is.Not.Null);
        });
    }

    [Test]
    public void Validates_a_large_attachment_without_keeping_it()
    {
        // 24 MB of attachment: decoding keeps 24 MB, validating reuses one 48 KB block.
        var bytes = Encoding.UTF8.GetBytes(Regex.Replace(Package, "(<edXML:ContentTransferEncoded[^>]*>)[^<]*", "${1}" + Convert.ToBase64String(new byte[24 * 1024 * 1024])));
        EdxmlReader.Validate(bytes);

        var before = GC.GetAllocatedBytesForCurrentThread();
        EdxmlReader.Validate(bytes);
        var validating = GC.GetAllocatedBytesForCurrentThread() - before;

        before = GC.GetAllocatedBytesForCurrentThread();
        EdxmlReader.Read(bytes);
        var decoding = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.That(validating, Is.LessThan(1024 * 1024), $"validating allocated {validating} bytes, decoding {decoding}");
        Assert.That(decoding, Is.GreaterThan(24 * 1024 * 1024));
    }

    [TestCase("../../etc/passwd", "directory separator")]
    [TestCase("..\\..\\Windows\\System32\\drivers\\etc\\hosts", "directory separator")]
    [TestCase("/etc/passwd", "directory separator")]
    [TestCase("C:\\autoexec.bat", "directory separator")]
    [TestCase("..", "names a folder")]
    [TestCase("báo cáo\tquý 3.pdf", "control character")]
    public void Refuses_an_attachment_name_that_is_a_path(string name, string says)
    {
        var e = Assert.Throws<EdxmlException>(() => EdxmlReader.ReadHeader(WithAttachmentName(name)))!;

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.Contain("AttachmentName").And.Contain("not a plain file name").And.Contain(says));
        });
    }

    [Test]
    public void Refuses_an_attachment_name_longer_than_a_file_name()
    {
        var e = Assert.Throws<EdxmlException>(() => EdxmlReader.ReadHeader(WithAttachmentName(new string('a', 256) + ".pdf")))!;

        Assert.That(e.Message, Does.Contain("longer than 255 characters"));
    }

    [Test]
    public void Keeps_an_ordinary_name_with_spaces_dots_and_vietnamese()
    {
        var package = EdxmlReader.Read(WithAttachmentName("Quyết định số 12. QĐ-UBND (bản ký).pdf"));

        Assert.That(package.Attachments.Single().Name, Is.EqualTo("Quyết định số 12. QĐ-UBND (bản ký).pdf"));
    }

    [TestCase("../../etc/cron.d/x")]
    [TestCase("a\\b.txt")]
    public void Writer_refuses_what_the_reader_would(string name)
    {
        var header = EdxmlReader.ReadHeader(Samples.Bytes("vdxp-2019-5-852e179c.edxml"));

        var e = Assert.Throws<EdxmlException>(() => EdxmlWriter.Write(new EdxmlPackage(header, [new EdxmlAttachment(name, "text/plain", "x"u8.ToArray())])))!;

        Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
    }

    [Test]
    public void Does_not_name_an_attachment_after_a_content_id_that_is_a_path()
    {
        var xml = Package
            .Replace("<AttachmentName>GUIDE_INSTALL OPENVPN.SIGNED.PDF</AttachmentName>", string.Empty, StringComparison.Ordinal)
            .Replace("<edXML:AttachmentName>GUIDE_INSTALL OPENVPN.SIGNED.PDF</edXML:AttachmentName>", string.Empty, StringComparison.Ordinal);
        xml = Regex.Replace(xml, "<(edXML:)?ContentId>[^<]*</(edXML:)?ContentId>", "<$1ContentId>cid:../../x.sh</$2ContentId>");

        var package = EdxmlReader.Read(Samples.Utf8(xml));

        Assert.That(package.Attachments.Single().Name, Is.EqualTo("attachment-1"));
    }

    [Test]
    public void Skips_deeply_nested_elements_inside_the_signature_without_running_out_of_stack()
    {
        // The XML-DSig Signature in edXMLHeader is skipped whole, whatever it holds (elements of other namespaces
        // anywhere else are refused at the first one, see ShapeTests); the nested ones inherit the outer one's namespace.
        const int depth = 100_000;
        var nested = "<x xmlns=\"urn:example:other\">" + string.Concat(Enumerable.Repeat("<x>", depth - 1))
            + string.Concat(Enumerable.Repeat("</x>", depth));
        var xml = Package.Replace("<SignedInfo>", "<SignedInfo>" + nested, StringComparison.Ordinal);
        Assert.That(xml, Does.Contain(nested), "the edit's anchor is in the sample");

        Assert.That(EdxmlReader.ReadHeader(Samples.Utf8(xml)).Subject, Does.Contain("190701"));
    }
}
