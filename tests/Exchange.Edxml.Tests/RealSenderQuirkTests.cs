using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;
using Exchange.Core;

namespace Exchange.Edxml.Tests;

/// <summary>
/// What other document systems write, as the national axis delivers it, is read (and so carried byte for byte). Each
/// variant is vdxp-2019-5-852e179c.edxml with the text edit named in the test; the edits that make a quirk are the only
/// ones, so a failure points at that quirk.
/// </summary>
public class RealSenderQuirkTests
{
    private const string SampleFile = "vdxp-2019-5-852e179c.edxml";

    private static string Package => Samples.Text(SampleFile);

    private static string Edit(string xml, string from, string to)
    {
        Assert.That(xml, Does.Contain(from), "the edit's anchor is in the sample");
        return xml.Replace(from, to, StringComparison.Ordinal);
    }

    private static EdxmlPackage ReadAndValidate(string xml)
    {
        var bytes = Samples.Utf8(xml);
        EdxmlReader.Validate(bytes);
        using var stream = new MemoryStream(bytes);
        EdxmlReader.Validate(stream);
        return EdxmlReader.Read(bytes);
    }

    [Test]
    public void Accepts_a_Bussiness_block_inside_TraceHeaderList()
    {
        // Edit: a Bussiness block (the shape of edoc_update.edxml's) after the two trace hops.
        var xml = Edit(Package, "</edXML:TraceHeaderList>", """
                    <edXML:Bussiness>
                      <edXML:BussinessDocType>2</edXML:BussinessDocType>
                      <edXML:BussinessDocReason>Cập nhật văn bản điện tử</edXML:BussinessDocReason>
                      <edXML:Paper>1</edXML:Paper>
                    </edXML:Bussiness>
                  </edXML:TraceHeaderList>
            """);

        var header = ReadAndValidate(xml).Header;

        Assert.Multiple(() =>
        {
            Assert.That(header.BusinessDocType, Is.EqualTo(BusinessDocType.Update));
            Assert.That(header.BusinessDocReason, Is.EqualTo("Cập nhật văn bản điện tử"));
            Assert.That(header.Paper, Is.EqualTo(1));
            Assert.That(header.Trace, Has.Count.EqualTo(2));
        });
    }

    [Test]
    public void Accepts_trace_hops_without_an_OrganId_or_with_the_literal_null()
    {
        // Edits: the first hop loses its OrganId, the second's becomes the text "null".
        var xml = Edit(Package, "<edXML:OrganId>01.02.G22</edXML:OrganId>", string.Empty);
        xml = Edit(xml, "<edXML:OrganId>001.00.20.TT2</edXML:OrganId>", "<edXML:OrganId>null</edXML:OrganId>");

        var header = ReadAndValidate(xml).Header;

        Assert.That(header.Trace.Select(t => t.OrganId), Is.EqualTo(new[] { string.Empty, "null" }));
    }

    [Test]
    public void Keeps_one_agency_under_its_three_group_and_four_group_codes_and_addressing_counts_it_once()
    {
        // Edits: the one To (the sample sends to itself, 000.00.15.H51) becomes 000.00.17.H51, and is preceded by the
        // same agency in the three-group form 00.17.H51 and by another agency.
        var xml = Regex.Replace(Package, @"(<edXML:To>\s*<edXML:OrganId>)000\.00\.15\.H51", "${1}000.00.17.H51");
        xml = Edit(xml, "<edXML:To>", """
            <edXML:To><edXML:OrganId>00.17.H51</edXML:OrganId><edXML:OrganName>Trung tâm test (mã cũ)</edXML:OrganName></edXML:To>
            <edXML:To><edXML:OrganId>000.00.16.H51</edXML:OrganId></edXML:To>
            <edXML:To>
            """);

        var header = ReadAndValidate(xml).Header;
        var ok = Addressing.TryCheck(header.From.OrganId, header.To.Select(t => t.OrganId), out var reason, out var detail);

        Assert.Multiple(() =>
        {
            Assert.That(header.To.Select(t => t.OrganId), Is.EqualTo(new[] { "00.17.H51", "000.00.16.H51", "000.00.17.H51" }), "every To as written");
            Assert.That(ok, Is.True, detail);
            Assert.That(reason, Is.EqualTo(ReasonCode.Ok));
            Assert.That(header.To.Select(t => AgencyCode.Parse(t.OrganId)).Distinct().Count(), Is.EqualTo(2), "two agencies");
        });
    }

    [Test]
    public void Accepts_a_manifest_content_type_that_disagrees_with_the_attachment_and_keeps_the_attachment_s_own()
    {
        // Edit: the manifest's application/pdf (the attachment says application/zip) becomes text/html.
        var xml = Edit(Package, "<edXML:ContentType>application/pdf</edXML:ContentType>", "<edXML:ContentType>text/html</edXML:ContentType>");

        var package = ReadAndValidate(xml);

        Assert.That(package.Attachments.Single().ContentType, Is.EqualTo("application/zip"));
    }

    public enum SignatureVariant
    {
        /// <summary>The sample's own: an edXML-namespace Signature, rsa-sha1, its certificate cut short.</summary>
        TruncatedCertificate,

        /// <summary>Edit: the certificate replaced by a whole one (made here, self-signed, trusted by nobody).</summary>
        FullCertificate,

        /// <summary>Edit: KeyInfo removed, so no certificate at all.</summary>
        NoCertificate,

        /// <summary>Edit: the whole Signature removed: it is never required.</summary>
        NoSignature,
    }

    [Test]
    public void Carries_an_xml_dsig_signature_in_the_edxml_namespace_without_trusting_or_requiring_it([Values] SignatureVariant variant)
    {
        var xml = variant switch
        {
            SignatureVariant.TruncatedCertificate => Package,
            SignatureVariant.FullCertificate => Regex.Replace(Package, "<X509Certificate>[^<]*</X509Certificate>", $"<X509Certificate>{WholeCertificate()}</X509Certificate>"),
            SignatureVariant.NoCertificate => Regex.Replace(Package, "<KeyInfo>.*?</KeyInfo>", string.Empty, RegexOptions.Singleline),
            _ => Regex.Replace(Package, "<Signature>.*?</Signature>", string.Empty, RegexOptions.Singleline),
        };
        Assert.That(xml.Contains("<Signature>", StringComparison.Ordinal), Is.EqualTo(variant != SignatureVariant.NoSignature), "the variant is what it says");
        Assert.That(xml.Contains("<X509Certificate>", StringComparison.Ordinal), Is.EqualTo(variant is SignatureVariant.TruncatedCertificate or SignatureVariant.FullCertificate));

        var package = ReadAndValidate(xml);

        // Nothing of the signature reaches the model: the header is the one read without any signature.
        var unsigned = EdxmlReader.Read(Samples.Utf8(Regex.Replace(Package, "<Signature>.*?</Signature>", string.Empty, RegexOptions.Singleline)));
        Assert.That(Structural.Difference(unsigned, package), Is.Null);
    }

    [Test]
    public void Accepts_an_attachment_of_several_megabytes_byte_for_byte()
    {
        // Edit: the attachment's base64 replaced by 6 MiB of random bytes, wrapped at 76 characters as MIME does.
        var content = new byte[6 * 1024 * 1024];
        new Random(102_2016).NextBytes(content);
        var base64 = Convert.ToBase64String(content, Base64FormattingOptions.InsertLineBreaks);
        var xml = Regex.Replace(Package, "(<edXML:ContentTransferEncoded[^>]*>)[^<]*", m => m.Groups[1].Value + base64);

        var package = ReadAndValidate(xml);

        Assert.That(package.Attachments.Single().Content.AsSpan().SequenceEqual(content), Is.True);
    }

    [Test]
    public void Keeps_a_DocumentId_whose_first_part_is_not_the_sender_s_code()
    {
        // Edit: the GUID DocumentId becomes one issued under another agency's code (edoc_new.edxml does this too).
        var xml = Edit(Package, "<edXML:DocumentId>9fbfbad2-f1f8-4256-a2eb-50fb1061cddb</edXML:DocumentId>",
            "<edXML:DocumentId>000.00.00.G22,2015/09/30,7816/VPCP-TTĐT</edXML:DocumentId>");

        var header = ReadAndValidate(xml).Header;

        Assert.Multiple(() =>
        {
            Assert.That(header.From.OrganId, Is.EqualTo("000.00.15.H51"));
            Assert.That(header.DocumentId, Is.EqualTo("000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"));
        });
    }

    [TestCase("1212")]
    [TestCase("\r\n\r\n")]
    [TestCase("garbage from a mail client ")]
    public void Accepts_stray_bytes_before_the_xml_declaration(string stray)
    {
        // Edit: text before <?xml, as edoc_new.edxml starts with 1212.
        var header = ReadAndValidate(stray + Package).Header;

        Assert.That(header.Subject, Is.EqualTo("Văn bản liên thông chỉ đạo - 190701"));
    }

    private static string WholeCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=Văn thư, O=UBND tỉnh, C=VN", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        return Convert.ToBase64String(certificate.RawData);
    }
}
