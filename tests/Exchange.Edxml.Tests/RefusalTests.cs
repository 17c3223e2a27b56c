using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Exchange.Core;

namespace Exchange.Edxml.Tests;

/// <summary>Bad input ends in an <see cref="EdxmlException"/> with a stable reason and a message that says what is wrong.</summary>
public class RefusalTests
{
    private const string Declaration = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>";

    private static string Status => Samples.Text("status_inbox_01.edxml");

    private static string Package => Samples.Text("vdxp-2019-5-852e179c.edxml");

    private static EdxmlException Refused(byte[] bytes, EdxmlLimits? limits = null) =>
        Assert.Throws<EdxmlException>(() => EdxmlReader.ReadHeader(bytes, limits))!;

    private static EdxmlException RefusedWhenDecoding(byte[] bytes) =>
        Assert.Throws<EdxmlException>(() => EdxmlReader.Read(bytes))!;

    private static string WithPackage(string from, string to) => Package.Replace(from, to, StringComparison.Ordinal);

    [Test]
    public void Refuses_a_package_with_a_DTD()
    {
        var xml = Package.Replace(Declaration, Declaration + "\n<!DOCTYPE edXML [<!ENTITY agency \"000.00.00.G22\">]>", StringComparison.Ordinal);

        var e = Refused(Samples.Utf8(xml));

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.Contain("DTD"));
        });
    }

    [Test]
    public void Refuses_an_external_entity()
    {
        var xml = Package
            .Replace(Declaration, Declaration + "\n<!DOCTYPE edXML [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>", StringComparison.Ordinal)
            .Replace("Văn bản liên thông chỉ đạo - 190701", "&xxe;", StringComparison.Ordinal);

        var e = Refused(Samples.Utf8(xml));

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.Contain("DTD"));
        });
    }

    [Test]
    public void Refuses_billion_laughs_at_once()
    {
        var entities = new StringBuilder("<!ENTITY lol0 \"lol\">");
        for (var i = 1; i <= 9; i++)
        {
            entities.Append(CultureInvariant($"<!ENTITY lol{i} \"{string.Concat(Enumerable.Repeat($"&lol{i - 1};", 10))}\">"));
        }

        var xml = $"{Declaration}<!DOCTYPE edXML [{entities}]><edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\">&lol9;</edXML>";
        var clock = Stopwatch.StartNew();

        var e = Refused(Samples.Utf8(xml));

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(1)));
        });
    }

    [TestCase("")]
    [TestCase("hello, this is not XML")]
    [TestCase("%PDF-1.4 not a package")]
    [TestCase("{\"edXML\": {}}")]
    [TestCase("   ")]
    public void Refuses_what_is_not_XML(string text)
    {
        var e = Refused(Samples.Utf8(text));

        Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
    }

    [TestCase("<foo xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"/>", "<foo>")]
    [TestCase("<edXML/>", "no namespace")]
    [TestCase("<edXML xmlns=\"urn:example:other\"/>", "urn:example:other")]
    [TestCase("<soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"/>", "soap:Envelope")]
    public void Refuses_a_wrong_root_element(string root, string named)
    {
        var e = Refused(Samples.Utf8(Declaration + root));

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.Contain("root element").And.Contain(named));
        });
    }

    [Test]
    public void Refuses_a_package_without_an_envelope()
    {
        var e = Refused(Samples.Utf8(Declaration + "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"></edXML>"));

        Assert.That(e.Message, Does.Contain("no edXMLEnvelope"));
    }

    [TestCase(0.1)]
    [TestCase(0.5)]
    [TestCase(0.9)]
    [TestCase(0.999)]
    public void Refuses_a_truncated_package(double keep)
    {
        var bytes = Samples.Bytes("vdxp-2019-5-852e179c.edxml");
        var truncated = bytes.AsSpan(0, (int)(bytes.Length * keep)).ToArray();

        Assert.Multiple(() =>
        {
            Assert.That(Refused(truncated).Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(RefusedWhenDecoding(truncated).Reason, Is.EqualTo(ReasonCode.PackageInvalid));
        });
    }

    [Test]
    public void Refuses_a_truncated_package_even_when_only_the_attachments_are_missing()
    {
        var bytes = Samples.Bytes("edoc_new.edxml");
        var truncated = bytes.AsSpan(0, bytes.Length - 1000).ToArray();

        var e = Refused(truncated);

        Assert.That(e.Message, Does.Contain("not well-formed"));
    }

    [Test]
    public void Refuses_a_package_over_the_size_limit()
    {
        var bytes = Samples.Bytes("edoc_new.edxml");

        var e = Refused(bytes, new EdxmlLimits { MaxPackageBytes = 100_000 });

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.TooLarge));
            Assert.That(e.Message, Does.Contain("367857 bytes").And.Contain("MaxPackageBytes"));
        });
    }

    [Test]
    public void Refuses_more_recipients_than_the_limit()
    {
        var e = Refused(Samples.Bytes("edoc_update.edxml"), new EdxmlLimits { MaxRecipients = 2 });

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.TooLarge));
            Assert.That(e.Message, Does.Contain("MessageHeader has more than 2 To elements"));
        });
    }

    [Test]
    public void Refuses_more_attachments_than_the_limit()
    {
        var e = Refused(Samples.Bytes("edoc_update.edxml"), new EdxmlLimits { MaxAttachments = 0 });

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.TooLarge));
            Assert.That(e.Message, Does.Contain("MaxAttachments"));
        });
    }

    [Test]
    public void Refuses_a_field_longer_than_the_limit()
    {
        var xml = WithPackage("Văn bản liên thông chỉ đạo - 190701", new string('x', 5000));

        var e = Refused(Samples.Utf8(xml));

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.TooLarge));
            Assert.That(e.Message, Does.Contain("MessageHeader/Subject is longer than 4000 characters"));
        });
    }

    [TestCase("UEsDB$$$", "not valid base64")]
    [TestCase("UEsDBBQ", "not a multiple of 4")]
    [TestCase("UEs=UEsD", "not valid base64")]
    [TestCase("UEs= UEsD", "not valid base64")]
    [TestCase("UEsDBB<b/>QA", "must hold only base64")]
    public void Refuses_broken_base64(string content, string says)
    {
        var xml = Regex.Replace(Package, "(<edXML:ContentTransferEncoded[^>]*>)[^<]*", "${1}" + content);

        var e = RefusedWhenDecoding(Samples.Utf8(xml));

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.Contain("ContentTransferEncoded").And.Contain(says));
        });
    }

    [Test]
    public void Refuses_base64_data_after_the_padding()
    {
        // 49151 bytes encode to exactly 65536 characters ending in '=': the padding closes a decoding block.
        var padded = Convert.ToBase64String(new byte[49151]);
        var xml = Regex.Replace(Package, "(<edXML:ContentTransferEncoded[^>]*>)[^<]*", "${1}" + padded + "\n QUJD");

        var e = RefusedWhenDecoding(Samples.Utf8(xml));

        Assert.That(e.Message, Does.Contain("after the '=' padding"));
    }

    [Test]
    public void Refuses_invalid_utf8()
    {
        var bytes = Samples.Bytes("vdxp-2019-5-852e179c.edxml");
        var subject = bytes.AsSpan().IndexOf("190701"u8);
        bytes[subject] = 0xC3; // a lead byte followed by '(' is not UTF-8
        bytes[subject + 1] = 0x28;

        var e = Refused(bytes);

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.Contain("encoding"));
        });
    }

    [TestCase("Báo cáo\u0001tháng 3")]
    [TestCase("Báo cáo&#1;tháng 3")]
    [TestCase("Báo cáo&#xFFFE;tháng 3")]
    [TestCase("Báo cáo\u001Btháng 3")]
    public void Refuses_control_characters_in_a_field(string subject)
    {
        var e = Refused(Samples.Utf8(WithPackage("Văn bản liên thông chỉ đạo - 190701", subject)));

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.Contain("invalid character"));
            Assert.That(e.Message, Does.Contain("MessageHeader/Subject"));
        });
    }

    [TestCase("<edXML:PromulgationDate>2019/01/17</edXML:PromulgationDate>", "<edXML:PromulgationDate>2019/02/30</edXML:PromulgationDate>", "PromulgationInfo/PromulgationDate '2019/02/30' is not a date")]
    [TestCase("<edXML:Priority>0</edXML:Priority>", "<edXML:Priority>urgent</edXML:Priority>", "OtherInfo/Priority 'urgent' is not a whole number")]
    [TestCase("<edXML:Timestamp>2019/05/17 18:16:33</edXML:Timestamp>", "<edXML:Timestamp>17/05/2019</edXML:Timestamp>", "TraceHeader/Timestamp '17/05/2019' is not a timestamp")]
    [TestCase("<edXML:Direction>false</edXML:Direction>", "<edXML:Direction>maybe</edXML:Direction>", "OtherInfo/Direction 'maybe' is not true or false")]
    public void Refuses_a_value_of_the_wrong_type_and_names_the_element(string from, string to, string says)
    {
        var e = Refused(Samples.Utf8(WithPackage(from, to)));

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Does.Contain(says));
        });
    }

    [Test]
    public void Refuses_a_business_doc_type_outside_0_to_3()
    {
        var xml = Samples.Text("edoc_update.edxml")
            .Replace("<edXML:BussinessDocType>2</edXML:BussinessDocType>", "<edXML:BussinessDocType>7</edXML:BussinessDocType>", StringComparison.Ordinal);

        var e = Refused(Samples.Utf8(xml));

        Assert.That(e.Message, Does.Contain("Bussiness/BussinessDocType '7'"));
    }

    [Test]
    public void Refuses_an_element_that_may_appear_once_appearing_twice()
    {
        var xml = WithPackage("<edXML:Subject>", "<edXML:Subject>Một chủ đề khác</edXML:Subject><edXML:Subject>");

        var e = Refused(Samples.Utf8(xml));

        Assert.That(e.Message, Does.Contain("MessageHeader/Subject appears more than once"));
    }

    [Test]
    public void Refuses_a_package_without_recipients()
    {
        var xml = Regex.Replace(Package, "<edXML:To>.*?</edXML:To>", string.Empty, RegexOptions.Singleline);

        var e = Refused(Samples.Utf8(xml));

        Assert.That(e.Message, Does.Contain("no To"));
    }

    [Test]
    public void Refuses_a_package_without_a_sender()
    {
        var xml = Regex.Replace(Package, "<edXML:From>.*?</edXML:From>", string.Empty, RegexOptions.Singleline);

        var e = Refused(Samples.Utf8(xml));

        Assert.That(e.Message, Does.Contain("no From"));
    }

    [Test]
    public void Refuses_a_manifest_entry_whose_attachment_is_missing()
    {
        var xml = Regex.Replace(Package, "<AttachmentEncoded>.*?</AttachmentEncoded>", string.Empty, RegexOptions.Singleline);

        var e = Refused(Samples.Utf8(xml));

        Assert.That(e.Message, Does.Contain("GUIDE_INSTALL OPENVPN.SIGNED.PDF").And.Contain("no Attachment has that ContentId"));
    }

    [Test]
    public void Refuses_text_after_the_root_element()
    {
        var e = Refused(Samples.Utf8(Package + "<edXML xmlns=\"http://www.mic.gov.vn/TBT/QCVN_102_2016\"/>"));

        Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
    }

    [Test]
    public void Refuses_a_package_without_document_id_it_cannot_derive()
    {
        var xml = WithPackage("<edXML:DocumentId>9fbfbad2-f1f8-4256-a2eb-50fb1061cddb</edXML:DocumentId>", string.Empty)
            .Replace("<edXML:PromulgationDate>2019/01/17</edXML:PromulgationDate>", string.Empty, StringComparison.Ordinal);

        var e = Refused(Samples.Utf8(xml));

        Assert.That(e.Message, Does.Contain("no DocumentId").And.Contain("PromulgationDate is missing"));
    }

    [Test]
    public void Derives_the_document_id_from_sender_date_and_code_when_the_package_has_none()
    {
        var xml = WithPackage("<edXML:DocumentId>9fbfbad2-f1f8-4256-a2eb-50fb1061cddb</edXML:DocumentId>", string.Empty);

        var header = EdxmlReader.ReadHeader(Samples.Utf8(xml));

        Assert.That(header.DocumentId, Is.EqualTo("000.00.15.H51,2019/01/17,1223412/PRO-TEST-CASE1"));
    }

    [Test]
    public void Never_throws_anything_but_an_edxml_exception_for_damaged_packages()
    {
        // Deterministic damage to two small samples: byte flips, deletions and truncations at many places.
        var random = new Random(102_2016);
        var failures = new List<string>();
        foreach (var file in new[] { "vdxp-2019-5-852e179c.edxml", "status.edxml" })
        {
            var original = Samples.Bytes(file);
            for (var round = 0; round < 1500; round++)
            {
                var damaged = original.ToList();
                var at = random.Next(damaged.Count);
                switch (round % 3)
                {
                    case 0:
                        damaged[at] = (byte)random.Next(256);
                        break;
                    case 1:
                        damaged.RemoveRange(at, Math.Min(random.Next(1, 20), damaged.Count - at));
                        break;
                    default:
                        damaged.RemoveRange(at, damaged.Count - at);
                        break;
                }

                var bytes = damaged.ToArray();
                foreach (var read in new Action[]
                {
                    () => EdxmlReader.Read(bytes),
                    () => EdxmlReader.ReadHeader(bytes),
                    () => EdxmlStatusReader.Read(bytes),
                })
                {
                    try
                    {
                        read();
                    }
                    catch (EdxmlException e) when (e.Reason is ReasonCode.PackageInvalid or ReasonCode.TooLarge)
                    {
                    }
                    catch (Exception e)
                    {
                        failures.Add($"{file} round {round}: {e.GetType().Name}: {e.Message}");
                    }
                }
            }
        }

        Assert.That(failures, Is.Empty);
    }

    private static string CultureInvariant(FormattableString text) => FormattableString.Invariant(text);
}
