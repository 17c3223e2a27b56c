using System.Text.RegularExpressions;
using Exchange.Core;

namespace Exchange.Edxml.Tests;

/// <summary>
/// A package must have QCVN 102:2016's shape: in the edXML namespace only the elements the standard defines, each in its
/// place; elements of other namespaces are refused, but for the XML-DSig Signature in edXMLHeader. Every variant here is vdxp-2019-5-852e179c.edxml (or a status sample)
/// with one text edit, named in the test case.
/// </summary>
public class ShapeTests
{
    private static string Package => Samples.Text("vdxp-2019-5-852e179c.edxml");

    private static string Edit(string from, string to)
    {
        Assert.That(Package, Does.Contain(from), "the edit's anchor is in the sample");
        return Package.Replace(from, to, StringComparison.Ordinal);
    }

    private static EdxmlException Refused(string xml) =>
        Assert.Throws<EdxmlException>(() => EdxmlReader.ReadHeader(Samples.Utf8(xml)))!;

    // Each case inserts <Foo> (or another element) right after the anchor; the path is where it lands.
    [TestCase("</edXML:Subject>", "<edXML:Foo>x</edXML:Foo>", "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Foo")]
    [TestCase("<edXML:MessageHeader>", "<Urgency>high</Urgency>", "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Urgency")]
    [TestCase("<edXML:edXMLHeader>", "<edXML:Foo/>", "/edXML/edXMLEnvelope/edXMLHeader/Foo")]
    [TestCase("<edXML:edXMLBody>", "<edXML:Foo/>", "/edXML/edXMLEnvelope/edXMLBody/Foo")]
    [TestCase("<edXML:edXMLManifest version=\"1.0\">", "<edXML:Foo/>", "/edXML/edXMLEnvelope/edXMLBody/edXMLManifest/Foo")]
    [TestCase("<edXML:From>", "<edXML:Foo/>", "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From/Foo")]
    [TestCase("<edXML:TraceHeader>", "<edXML:Foo/>", "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/TraceHeader/Foo")]
    [TestCase("<edXML:OtherInfo>", "<edXML:Foo/>", "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/OtherInfo/Foo")]
    [TestCase("<Attachment>", "<Foo/>", "/edXML/AttachmentEncoded/Attachment[1]/Foo")]
    [TestCase("<AttachmentEncoded>", "<Foo/>", "/edXML/AttachmentEncoded/Foo")]
    [TestCase("</edXML:edXMLEnvelope>", "<Foo/>", "/edXML/Foo")]
    [TestCase("</edXML:Subject>", "<Foo xmlns=\"\">x</Foo>", "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Foo")]
    public void Refuses_an_undefined_element_in_the_edxml_namespace_and_names_its_path(string anchor, string inserted, string path)
    {
        var e = Refused(Edit(anchor, anchor + inserted));

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.StartWith(path + " at line ").And.Contain("QCVN 102:2016"));
        });
    }

    // An Attachment anywhere but under AttachmentEncoded would be carried but never decoded, checked or delivered as a file.
    [TestCase("<edXML:edXMLBody>", "/edXML/edXMLEnvelope/edXMLBody/Attachment")]
    [TestCase("<edXML:edXMLManifest version=\"1.0\">", "/edXML/edXMLEnvelope/edXMLBody/edXMLManifest/Attachment")]
    [TestCase("<edXML:edXMLHeader>", "/edXML/edXMLEnvelope/edXMLHeader/Attachment")]
    [TestCase("</edXML:edXMLEnvelope>", "/edXML/Attachment")]
    public void Refuses_an_attachment_outside_AttachmentEncoded_and_names_its_path(string anchor, string path)
    {
        const string attachment = "<Attachment><ContentId>x</ContentId><AttachmentName>x.txt</AttachmentName>"
            + "<ContentType>text/plain</ContentType><ContentTransferEncoded>eA==</ContentTransferEncoded></Attachment>";

        var e = Refused(Edit(anchor, anchor + attachment));

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.StartWith(path + " at line "));
        });
    }

    // Elements the standard defines, but elsewhere: each is refused where it is misplaced.
    [TestCase("<edXML:From>", "<edXML:Subject>x</edXML:Subject>", "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From/Subject")]
    [TestCase("<edXML:edXMLHeader>", "<edXML:Subject>x</edXML:Subject>", "/edXML/edXMLEnvelope/edXMLHeader/Subject")]
    [TestCase("<edXML:edXMLEnvelope xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">", "<AttachmentEncoded/>", "/edXML/edXMLEnvelope/AttachmentEncoded")]
    [TestCase("<edXML:MessageHeader>", "<edXML:Signature/>", "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Signature")]
    [TestCase("<edXML:MessageHeader>", "<edXML:Bussiness/>", "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Bussiness")]
    public void Refuses_an_edxml_element_outside_its_place(string anchor, string inserted, string path)
    {
        var e = Refused(Edit(anchor, anchor + inserted));

        Assert.That(e.Message, Does.StartWith(path + " at line "));
    }

    [Test]
    public void Names_the_first_offending_element_when_there_are_several()
    {
        var xml = Edit("<edXML:MessageHeader>", "<edXML:MessageHeader><edXML:First/>")
            .Replace("<edXML:edXMLBody>", "<edXML:edXMLBody><edXML:Second/>", StringComparison.Ordinal);

        var e = Refused(xml);

        Assert.That(e.Message, Does.StartWith("/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/First "));
    }

    [Test]
    public void Refuses_an_element_inside_a_text_field_and_names_the_field()
    {
        var e = Refused(Edit("Văn bản liên thông chỉ đạo - 190701", "Văn bản <edXML:b>liên thông</edXML:b>"));

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.StartWith("/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Subject holds an element <edXML:b>"));
        });
    }

    // Regression: an element of another namespace was skipped by the hub but read by the namespace-blind readers of the
    // recipients' document systems, so a decoy OrganId, Subject or attachment body went through unchecked.
    [TestCase("<edXML:From>", "<x:OrganId xmlns:x=\"urn:other\">000.00.00.H01</x:OrganId>", "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From/x:OrganId")]
    [TestCase("</edXML:Subject>", "<x:Subject xmlns:x=\"urn:other\">decoy</x:Subject>", "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/x:Subject")]
    [TestCase("<edXML:To>", "<x:OrganId xmlns:x=\"urn:other\">000.00.00.H01</x:OrganId>", "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/To/x:OrganId")]
    [TestCase("</edXML:Subject>", "<x:Note xmlns:x=\"urn:example:vendor\"><x:Foo>1</x:Foo></x:Note>", "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/x:Note")]
    [TestCase("<edXML:TraceHeader>", "<x:OrganId xmlns:x=\"urn:other\">000.00.00.H01</x:OrganId>", "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/TraceHeader/x:OrganId")]
    [TestCase("<edXML:edXMLHeader>", "<x:MessageHeader xmlns:x=\"urn:other\"/>", "/edXML/edXMLEnvelope/edXMLHeader/x:MessageHeader")]
    [TestCase("<edXML:edXMLEnvelope xmlns:edXML=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">", "<Extra xmlns=\"urn:example:vendor\"><Attachment/></Extra>", "/edXML/edXMLEnvelope/Extra")]
    [TestCase("<Attachment>", "<x:ContentTransferEncoded xmlns:x=\"urn:other\">eA==</x:ContentTransferEncoded>", "/edXML/AttachmentEncoded/Attachment[1]/x:ContentTransferEncoded")]
    [TestCase("</edXML:TraceHeaderList>", "<ds:Object xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/>", "/edXML/edXMLEnvelope/edXMLHeader/ds:Object")]
    [TestCase("<edXML:MessageHeader>", "<ds:Signature xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\"/>", "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/ds:Signature")]
    public void Refuses_an_element_of_another_namespace_as_a_decoy_and_names_its_path(string anchor, string inserted, string path)
    {
        // 1. The sample reads.
        Assert.That(EdxmlReader.Read(Samples.Utf8(Package)).Header.Subject, Is.EqualTo("Văn bản liên thông chỉ đạo - 190701"));

        // 2. The same with one element of another namespace inserted.
        var e = Refused(Edit(anchor, anchor + inserted));

        // 3. Refused as not QCVN 102:2016's shape, at the decoy's path.
        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.StartWith(path + " at line ").And.Contain("QCVN 102:2016"));
        });
    }

    [TestCase("http://www.w3.org/2000/09/xmldsig#")]
    [TestCase("http://www.mic.gov.vn/TBT/QCVN_102_2016")]
    public void Accepts_an_xml_dsig_signature_in_edXMLHeader_in_either_namespace(string ns)
    {
        var xml = Regex.Replace(Package, "<Signature>.*?</Signature>", string.Empty, RegexOptions.Singleline)
            .Replace("</edXML:TraceHeaderList>", $"</edXML:TraceHeaderList><ds:Signature xmlns:ds=\"{ns}\"><ds:SignedInfo><x:Any xmlns:x=\"urn:other\"/></ds:SignedInfo></ds:Signature>", StringComparison.Ordinal);

        var package = EdxmlReader.Read(Samples.Utf8(xml));

        Assert.Multiple(() =>
        {
            Assert.That(package.Header.Subject, Is.EqualTo("Văn bản liên thông chỉ đạo - 190701"));
            Assert.That(package.Attachments, Has.Count.EqualTo(1));
        });
    }

    [Test]
    public void Refuses_an_element_of_another_namespace_in_a_status_package_too()
    {
        var xml = Samples.Text("status_inbox_01.edxml")
            .Replace("<edXML:StatusCode>", "<x:StatusCode xmlns:x=\"urn:other\">06</x:StatusCode><edXML:StatusCode>", StringComparison.Ordinal);

        var e = Assert.Throws<EdxmlException>(() => EdxmlStatusReader.Read(Samples.Utf8(xml)))!;

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.StartWith("/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/x:StatusCode at line "));
        });
    }

    [Test]
    public void Refuses_an_undefined_element_in_a_status_package_too()
    {
        var xml = Samples.Text("status_inbox_01.edxml")
            .Replace("<edXML:StatusCode>", "<edXML:Reason>late</edXML:Reason><edXML:StatusCode>", StringComparison.Ordinal);

        var e = Assert.Throws<EdxmlException>(() => EdxmlStatusReader.Read(Samples.Utf8(xml)))!;

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.StartWith("/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Reason at line "));
        });
    }

    // Not well-formed: the message names the element open where the XML broke, and the line and position.
    [TestCase("</edXML:Subject>", "</edXML:Subjekt>", "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/Subject")]
    [TestCase("<edXML:Timestamp>2019/05/17 18:16:33</edXML:Timestamp>", "<edXML:Timestamp>2019/05/17 18:16:33</edXML:Timestamp><", "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/TraceHeader")]
    [TestCase("<edXML:Timestamp>2019/05/17 18:16:33</edXML:Timestamp>", "<edXML:Timestamp>2019/05/17 18:16:33", "/edXML/edXMLEnvelope/edXMLHeader/TraceHeaderList/TraceHeader/Timestamp")]
    [TestCase("<DigestValue>", "<DigestValue a=\"1\" a=\"2\">", "/edXML/edXMLEnvelope/edXMLHeader/Signature")]
    [TestCase("</edXML:OrganName>", "</edXML:OrganName>&nbsp;", "/edXML/edXMLEnvelope/edXMLHeader/MessageHeader/From")]
    public void Refuses_XML_that_is_not_well_formed_naming_the_open_element_and_the_line(string from, string to, string path)
    {
        var e = Refused(Edit(from, to));

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.Match(@"^The package is not well-formed XML at line \d+, position \d+ \(inside " + Regex.Escape(path) + @"\): "));
        });
    }

    [Test]
    public void Accepts_every_sample_under_the_shape_rule()
    {
        // The rule was drawn from these: a sample refused would mean a QCVN 102:2016 element is missing from it.
        var refused = new List<string>();
        foreach (var file in Samples.DocumentFiles)
        {
            try
            {
                EdxmlReader.ReadHeader(Samples.Bytes(file));
            }
            catch (EdxmlException e)
            {
                refused.Add($"{file}: {e.Message}");
            }
        }

        foreach (var file in Samples.StatusFiles)
        {
            try
            {
                EdxmlStatusReader.Read(Samples.Bytes(file));
            }
            catch (EdxmlException e)
            {
                refused.Add($"{file}: {e.Message}");
            }
        }

        Assert.That(refused, Is.Empty);
    }
}
