using System.Globalization;

namespace Exchange.Edxml.Tests;

public class ValueTests
{
    private static string Package => Samples.Text("vdxp-2019-5-852e179c.edxml");

    [TestCase("2019/05/17 18:16:33", "2019-05-17T18:16:33+07:00")]
    [TestCase("2019-05-17 18:16:33", "2019-05-17T18:16:33+07:00")]
    [TestCase("2019-05-17T18:16:33", "2019-05-17T18:16:33+07:00")]
    [TestCase("2019-05-17T18:16:33.250", "2019-05-17T18:16:33.250+07:00")]
    [TestCase("2019-05-17T11:16:33Z", "2019-05-17T18:16:33+07:00")]
    [TestCase("2019-05-17T18:16:33+07:00", "2019-05-17T18:16:33+07:00")]
    [TestCase("2019-05-17T13:16:33.5+02:00", "2019-05-17T18:16:33.5+07:00")]
    public void Reads_timestamps_in_the_forms_senders_use_as_Vietnam_time_when_no_offset_is_given(string text, string instant)
    {
        var xml = Package.Replace("2019/05/17 18:16:33", text, StringComparison.Ordinal);

        var header = EdxmlReader.ReadHeader(Samples.Utf8(xml));

        Assert.That(header.Trace[1].Timestamp, Is.EqualTo(DateTimeOffset.Parse(instant, CultureInfo.InvariantCulture)));
    }

    [TestCase("2019/01/17")]
    [TestCase("2019-01-17")]
    [TestCase(" 2019/01/17 ")]
    public void Reads_dates_with_slashes_or_dashes(string text)
    {
        var xml = Package.Replace("<edXML:PromulgationDate>2019/01/17<", $"<edXML:PromulgationDate>{text}<", StringComparison.Ordinal);

        Assert.That(EdxmlReader.ReadHeader(Samples.Utf8(xml)).PromulgationDate, Is.EqualTo(new DateOnly(2019, 1, 17)));
    }

    [Test]
    public void Reads_a_package_that_starts_with_a_byte_order_mark()
    {
        var bytes = new byte[] { 0xEF, 0xBB, 0xBF }.Concat(Samples.Bytes("vdxp-2019-5-852e179c.edxml")).ToArray();

        Assert.That(EdxmlReader.ReadHeader(bytes).Subject, Is.EqualTo("Văn bản liên thông chỉ đạo - 190701"));
    }

    [Test]
    public void Reads_elements_without_a_namespace_prefix()
    {
        var xml = Package
            .Replace("<edXML:Subject>", "<Subject>", StringComparison.Ordinal)
            .Replace("</edXML:Subject>", "</Subject>", StringComparison.Ordinal);

        Assert.That(EdxmlReader.ReadHeader(Samples.Utf8(xml)).Subject, Is.EqualTo("Văn bản liên thông chỉ đạo - 190701"));
    }

    [Test]
    public void Reads_the_business_block_spelled_correctly_too()
    {
        var xml = Samples.Text("edoc_revocation.edxml")
            .Replace("Bussiness", "Business", StringComparison.Ordinal);

        Assert.That(EdxmlReader.ReadHeader(Samples.Utf8(xml)).BusinessDocType, Is.EqualTo(BusinessDocType.Revocation));
    }

    [Test]
    public void Formats_the_document_identity_as_the_samples_do()
    {
        var id = EdxmlDocumentId.Format("000.00.00.G22", new DateOnly(2015, 9, 30), EdxmlDocumentId.Code("7816", "VPCP-TTĐT")!);

        Assert.Multiple(() =>
        {
            Assert.That(id, Is.EqualTo("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"));
            Assert.That(EdxmlDocumentId.Code("7816", null), Is.EqualTo("7816"));
            Assert.That(EdxmlDocumentId.Code(null, null), Is.Null);
        });
    }
}
