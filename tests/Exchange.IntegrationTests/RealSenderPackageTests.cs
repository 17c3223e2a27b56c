using System.Text;
using Exchange.Cli;
using Exchange.Core;
using Microsoft.EntityFrameworkCore;

namespace Exchange.IntegrationTests;

/// <summary>
/// A package another document system wrote, with the quirks real senders produce (QCVN 102:2016 packages as the national
/// axis delivers them), goes through <c>POST /api/packages</c>, the hub and the recipients' gateways byte for byte.
/// </summary>
[TestFixture]
public sealed class RealSenderPackageTests : ProvinceFixture
{
    private const string Sender = SampleDirectory.HomeAffairs;
    private const string Recipient = SampleDirectory.PhucXaWard;          // 000.01.21.H29
    private const string RecipientThreeGroups = "01.21.H29";              // the same agency in the older form
    private const string OtherRecipient = SampleDirectory.HangBuomWard;

    protected override IReadOnlyCollection<string> GatewayAgencies => [Sender, Recipient, OtherRecipient];

    /// <summary>
    /// The quirks together, in the shape of the shared samples (vdxp-2019-5-852e179c.edxml, edoc_new.edxml): stray bytes
    /// before <c>&lt;?xml</c>; one agency under its three-group and four-group codes plus another agency; a DocumentId
    /// issued under another agency's code (G22); a trace hop whose OrganId is <c>null</c> and one without OrganId; a
    /// <c>Bussiness</c> block inside TraceHeaderList; an XML-DSig Signature (rsa-sha1) in the edXML namespace with a
    /// truncated certificate; a manifest content type that disagrees with the attachment's; a 5 MiB attachment.
    /// </summary>
    private static byte[] QuirkyPackage(string code, byte[] attachment) => Encoding.UTF8.GetBytes($"""
        1212<?xml version="1.0" encoding="UTF-8"?>
        <edXML xmlns="http://www.mic.gov.vn/TBT/QCVN_102_2016">
          <edXML:edXMLEnvelope xmlns:edXML="http://www.mic.gov.vn/TBT/QCVN_102_2016">
            <edXML:edXMLHeader>
              <edXML:MessageHeader>
                <edXML:From>
                  <edXML:OrganId>{Sender}</edXML:OrganId>
                  <edXML:OrganName>Sở Nội vụ</edXML:OrganName>
                </edXML:From>
                <edXML:To>
                  <edXML:OrganId>{RecipientThreeGroups}</edXML:OrganId>
                  <edXML:OrganName>UBND phường Phúc Xá (mã cũ)</edXML:OrganName>
                </edXML:To>
                <edXML:To>
                  <edXML:OrganId>{Recipient}</edXML:OrganId>
                  <edXML:OrganName>UBND phường Phúc Xá</edXML:OrganName>
                </edXML:To>
                <edXML:To>
                  <edXML:OrganId>{OtherRecipient}</edXML:OrganId>
                </edXML:To>
                <edXML:DocumentId>000.00.00.G22,2026/12/07,{code}/VPCP-TTĐT</edXML:DocumentId>
                <edXML:Code>
                  <edXML:CodeNumber>{code}</edXML:CodeNumber>
                  <edXML:CodeNotation>SNV-VP</edXML:CodeNotation>
                </edXML:Code>
                <edXML:PromulgationInfo>
                  <edXML:Place>Hà Nội</edXML:Place>
                  <edXML:PromulgationDate>2026/12/07</edXML:PromulgationDate>
                </edXML:PromulgationInfo>
                <edXML:DocumentType>
                  <edXML:Type>1</edXML:Type>
                  <edXML:TypeName>Công văn</edXML:TypeName>
                </edXML:DocumentType>
                <edXML:Subject>Công văn từ phần mềm quản lý văn bản khác {code}</edXML:Subject>
                <edXML:OtherInfo>
                  <edXML:Priority>0</edXML:Priority>
                </edXML:OtherInfo>
              </edXML:MessageHeader>
              <edXML:TraceHeaderList>
                <edXML:TraceHeader>
                  <edXML:OrganId>null</edXML:OrganId>
                  <edXML:Timestamp>2026/12/07 08:00:00</edXML:Timestamp>
                </edXML:TraceHeader>
                <edXML:TraceHeader>
                  <edXML:Timestamp>2026/12/07 08:00:01</edXML:Timestamp>
                </edXML:TraceHeader>
                <edXML:Bussiness>
                  <edXML:BussinessDocType>0</edXML:BussinessDocType>
                  <edXML:BussinessDocReason>Văn bản điện tử mới</edXML:BussinessDocReason>
                  <edXML:Paper>0</edXML:Paper>
                </edXML:Bussiness>
              </edXML:TraceHeaderList>
              <Signature>
                <SignedInfo>
                  <CanonicalizationMethod Algorithm="http://www.w3.org/TR/2001/REC-xml-c14n-20010315" />
                  <SignatureMethod Algorithm="http://www.w3.org/2000/09/xmldsig#rsa-sha1" />
                  <Reference URI="">
                    <Transforms>
                      <Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature" />
                    </Transforms>
                    <DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1" />
                    <DigestValue>PrlYKdD8sksgnxFvUVtPIQ0pAqM=</DigestValue>
                  </Reference>
                </SignedInfo>
                <SignatureValue>GbVb8n9+qFxz466Ag0sbpVdLPs2R0+9JBekp12UyarAZjoG0W/kPZZJ1auRZDcNc</SignatureValue>
                <KeyInfo>
                  <X509Data>
                    <X509Certificate>MIIGADCCA+igAwIBAgIQVAH4uWORyglxBTvoeSDvJTANBgkqhkiG9w0BAQUFADBp</X509Certificate>
                  </X509Data>
                </KeyInfo>
              </Signature>
            </edXML:edXMLHeader>
            <edXML:edXMLBody>
              <edXML:edXMLManifest version="1.0">
                <edXML:Reference>
                  <edXML:ContentId>cid:1</edXML:ContentId>
                  <edXML:ContentType>application/pdf</edXML:ContentType>
                  <edXML:AttachmentName>ho-so.zip</edXML:AttachmentName>
                </edXML:Reference>
              </edXML:edXMLManifest>
            </edXML:edXMLBody>
          </edXML:edXMLEnvelope>
          <AttachmentEncoded>
            <Attachment>
              <ContentId>cid:1</ContentId>
              <AttachmentName>ho-so.zip</AttachmentName>
              <ContentType>application/zip</ContentType>
              <edXML:ContentTransferEncoded>{Convert.ToBase64String(attachment, Base64FormattingOptions.InsertLineBreaks)}</edXML:ContentTransferEncoded>
            </Attachment>
          </AttachmentEncoded>
        </edXML>
        """);

    [Test]
    public async Task Delivers_a_package_with_real_sender_quirks_once_to_each_agency_byte_for_byte()
    {
        var attachment = new byte[5 * 1024 * 1024];
        new Random(102_2016).NextBytes(attachment);
        var package = QuirkyPackage(Guid.NewGuid().ToString("N")[..8], attachment);
        Assert.That(Encoding.ASCII.GetString(package, 0, 9), Is.EqualTo("1212<?xml"), "the stray bytes are in what is sent");

        // The gateway signs it (CMS, detached) since no signature is given.
        var answer = await Client(Sender).SendPackageAsync(package, signature: null);
        var state = await WaitForOutcomeAsync(Sender, answer.EnvelopeId);

        Assert.That(state.State, Is.EqualTo("delivered"), state.Detail);
        Assert.That(state.Recipients.Select(r => r.Code), Is.EquivalentTo(new[] { Recipient, OtherRecipient }), "one agency under two codes is one recipient");

        await using (var hub = Province.CreateHubDb())
        {
            var deliveries = await hub.Deliveries.AsNoTracking().Where(d => d.EnvelopeId == answer.EnvelopeId).Select(d => d.RecipientCode).ToListAsync();
            Assert.That(deliveries, Is.EquivalentTo(new[] { Recipient, OtherRecipient }), "one delivery per agency");
        }

        foreach (var agency in new[] { Recipient, OtherRecipient })
        {
            await using (var db = Province.CreateGatewayDb(agency))
            {
                Assert.That(await db.Inbox.CountAsync(i => i.EnvelopeId == answer.EnvelopeId), Is.EqualTo(1), $"{agency}'s inbox holds it once");
            }

            var received = await Province.Gateways[agency].Http.GetByteArrayAsync(new Uri($"/api/inbox/{answer.EnvelopeId}/package", UriKind.Relative));
            Assert.That(received.AsSpan().SequenceEqual(package), Is.True, $"{agency} got the exact bytes ({received.Length} of {package.Length}; sha256 {Digests.Sha256Hex(received)} vs {Digests.Sha256Hex(package)})");
        }
    }
}
