using System.IO.Compression;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.ServiceDefaults.Broker;
using RabbitMQ.Client;
using static Exchange.IntegrationTests.Hostile.HostileWorld;

namespace Exchange.IntegrationTests.Hostile;

/// <summary>
/// The hostile corpus (issue #6): one row per input, with where it enters, the reason code it must get and how it
/// is built. Every row is run by <see cref="HostileInputTests"/>, which also checks that nothing was accepted or
/// delivered, and that every host still answers. The hosts run with small limits (<see cref="HostileInputTests.Limits"/>)
/// so that "over the limit" inputs stay a few megabytes. docs/security.md lists what is refused and why.
/// </summary>
public static class HostileCorpus
{
    private static string MadeUpCode => MadeUp[0];

    private static string OtherMadeUpCode => MadeUp[1];

    public static IEnumerable<HostileCase> Cases =>
    [
        // ---- Signatures: forged, tampered, revoked, expired, weak (straight to the hub's queue) ----------------
        Bus("Forged: signed by a certificate of the trusted CA that no agency registers", "signer-not-bound",
            w => Signed(w, Package(), w.Signers.Rogue)),
        Bus("Forged: signed by another agency's genuine registered certificate", "signer-not-bound",
            w => Signed(w, Package(), p => w.Sign(p, Finance))),
        Bus("Forged: signed by a self-signed certificate", "untrusted-chain",
            w => Signed(w, Package(), w.Signers.SelfSigned)),
        Bus("Tampered: one byte of the signed package changed", "signature-invalid", w =>
        {
            var package = Package(subject: "Kinh phí 100 triệu đồng");
            var signature = w.Sign(package);
            return w.SubmitAsync(Envelope(Edit(package, x => x.Replace("100 triệu", "900 triệu", StringComparison.Ordinal)), signature));
        }),
        Bus("Tampered: a genuine signature of another package", "signature-invalid",
            w => w.SubmitAsync(Envelope(Package(), w.Sign(Package())))),
        Bus("Revoked: the sender's own registered certificate is on the CRL", "certificate-revoked", w =>
        {
            var package = Package(from: Revoked);
            return w.SubmitAsync(Envelope(package, w.Sign(package, Revoked), sender: Revoked));
        }),
        Bus("Expired: a certificate whose validity ended a minute ago", "certificate-expired",
            w => Signed(w, Package(), w.Signers.Expired)),
        Bus("Not yet valid: a certificate valid from tomorrow", "certificate-expired",
            w => Signed(w, Package(), w.Signers.NotYetValid)),
        Bus("Weak: an RSA key of 1024 bits", "weak-algorithm",
            w => Signed(w, Package(), w.Signers.Rsa1024)),
        Bus("Weak: SHA-1 digest by the sender's own registered key", "weak-algorithm",
            w => Signed(w, Package(), p => w.Signers.SignWithSignedCms(Sender, p, sha1: true))),
        Bus("Key usage: a certificate for key encipherment only", "key-usage",
            w => Signed(w, Package(), w.Signers.EnciphermentOnly)),
        Bus("Malformed: an empty signature", "malformed",
            w => Signed(w, Package(), _ => [])),
        Bus("Malformed: random bytes for a signature", "malformed",
            w => Signed(w, Package(), _ => RandomNumberGenerator.GetBytes(512))),
        Bus("Malformed: a certificate in place of a signature", "malformed",
            w => Signed(w, Package(), _ => w.Pki.AgencyCertificate(Sender).RawData)),
        Bus("A CMS that carries no certificate", "no-signer-certificate",
            w => Signed(w, Package(), p => w.Signers.SignWithSignedCms(Sender, p, withoutCertificates: true))),
        Bus("A signature over Router:MaxSignatureBytes", "too-large",
            w => Signed(w, Package(), _ => RandomNumberGenerator.GetBytes(HostileInputTests.MaxSignatureBytes + 1))),

        // ---- Spoofing and replays -----------------------------------------------------------------------------
        Bus("Sender spoofing: the bus message names Sở Nội vụ, the signed package is Sở Tài chính's", "sender-mismatch", w =>
        {
            var package = Package(from: Finance);
            return w.SubmitAsync(Envelope(package, w.Sign(package, Finance), sender: Sender));
        }),
        Agency("Sender spoofing: Sở Nội vụ's genuine package sent with Sở Tài chính's broker login", "sender-mismatch", w =>
        {
            var package = Package();
            return w.SubmitAsync(Envelope(package, w.Sign(package)), asAgency: Finance);
        }),
        Agency("A recipient re-sends a package it received, with its own broker login", "sender-mismatch",
            w => w.SubmitAsync(w.Delivered with { EnvelopeId = Guid.CreateVersion7() }, asAgency: Recipient)),
        Bus("Recipient spoofing: the bus message names recipients the package does not", "recipient-mismatch", w =>
        {
            var package = Package();
            return w.SubmitAsync(Envelope(package, w.Sign(package), recipients: [Stranger]));
        }),
        Bus("Replayed envelope id with other bytes", "duplicate-envelope-id", w =>
        {
            var package = Package();
            return w.SubmitAsync(Envelope(package, w.Sign(package), id: w.Delivered.EnvelopeId));
        }),
        Bus("Replayed old signature under a new envelope id", "replayed-signature",
            w => w.SubmitAsync(w.Delivered with { EnvelopeId = Guid.CreateVersion7() })),
        Bus("Replayed old signature re-wrapped in a re-encoded CMS", "replayed-signature",
            w => w.SubmitAsync(w.Delivered with { EnvelopeId = Guid.CreateVersion7(), Signature = w.Signers.Rewrap(w.Delivered.Package, w.Delivered.Signature) })),
        Agency("Replayed old signature with the sender's own broker login", "replayed-signature",
            w => w.SubmitAsync(w.Delivered with { EnvelopeId = Guid.CreateVersion7() }, asAgency: Sender)),

        // ---- Sizes and counts ---------------------------------------------------------------------------------
        Bus("A package over Router:MaxPackageBytes, not stored", "too-large", async w =>
        {
            var package = Package(attachments: [new EdxmlAttachment("lon.bin", "application/octet-stream", RandomNumberGenerator.GetBytes(3 * 1024 * 1024))]);
            Assert.That(package, Has.Length.GreaterThan(HostileInputTests.MaxPackageBytes));
            var envelope = Envelope(package, w.Sign(package));
            var outcome = await w.SubmitAsync(envelope);
            Assert.That((await w.HubEnvelopeAsync(envelope.EnvelopeId))!.Package, Is.Empty, "the refused bytes are not kept");
            return outcome;
        }),
        Bus("An attachment over Router:MaxAttachmentBytes", "too-large",
            w => Signed(w, Package(attachments: [new EdxmlAttachment("lon.bin", "application/octet-stream", RandomNumberGenerator.GetBytes(HostileInputTests.MaxAttachmentBytes + 1))]), p => w.Sign(p))),
        Bus("101 attachments", "too-large",
            w => Signed(w, Package(attachments: Enumerable.Range(1, 101).Select(i => new EdxmlAttachment($"tep-{i}.txt", "text/plain", "x"u8.ToArray())).ToList()), p => w.Sign(p))),
        Bus("Ten thousand recipients, refused at once with no delivery made", "too-large", async w =>
        {
            var codes = TenThousandCodes();
            var package = Package(to: codes);
            var envelope = Envelope(package, w.Sign(package), recipients: codes);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var outcome = await w.SubmitAsync(envelope);
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "refused quickly");
            Assert.That(outcome.Detail, Does.Contain("MaxRecipients"));
            return outcome;
        }),
        Bus("Ten thousand made-up recipients named on the bus message only", "recipient-mismatch", w =>
        {
            var package = Package();
            return w.SubmitAsync(Envelope(package, w.Sign(package), recipients: TenThousandCodes(level1: "Z98")));
        }),
        Bus("A megabyte-long sender code on the bus message", "sender-mismatch", async w =>
        {
            var package = Package();
            var envelope = Envelope(package, w.Sign(package), sender: new string('9', 1024 * 1024));
            var outcome = await w.SubmitAsync(envelope);
            Assert.That((await w.EvidenceAsync(envelope.EnvelopeId)).Single().Detail, Has.Length.LessThan(1000), "what the evidence quotes is clipped");
            return outcome;
        }),

        // ---- XML and encodings ----------------------------------------------------------------------------------
        Bus("XML with a DTD", "package-invalid",
            w => Signed(w, Edit(Package(), x => x.Replace("?>", "?><!DOCTYPE edXML [<!ENTITY co \"Sở Nội vụ\">]>", StringComparison.Ordinal)), p => w.Sign(p))),
        Bus("XML with an external entity (XXE)", "package-invalid",
            w => Signed(w, Edit(Package(), x => x.Replace("?>", "?><!DOCTYPE edXML [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>", StringComparison.Ordinal)
                .Replace("HOSTILE-SUBJECT", "&xxe;", StringComparison.Ordinal)), p => w.Sign(p))),
        Bus("XML entity expansion (billion laughs)", "package-invalid",
            w => Signed(w, Edit(Package(), x => x.Replace("?>", "?>" + BillionLaughs, StringComparison.Ordinal).Replace("HOSTILE-SUBJECT", "&lol9;", StringComparison.Ordinal)), p => w.Sign(p))),
        Bus("Broken base64 in an attachment", "package-invalid",
            w => Signed(w, Edit(Package(), x => ReplaceBase64(x, "UEsDB$$$")), p => w.Sign(p))),
        Bus("Truncated base64 in an attachment", "package-invalid",
            w => Signed(w, Edit(Package(), x => ReplaceBase64(x, "TuG7mWkgZHVuZw")), p => w.Sign(p))),
        Bus("Invalid UTF-8 in the subject", "package-invalid",
            w => Signed(w, InvalidUtf8(Package()), p => w.Sign(p))),
        Bus("A control character (ESC) in the subject", "package-invalid",
            w => Signed(w, Edit(Package(), x => x.Replace("HOSTILE-SUBJECT", "Báo cáo\u001B[2J", StringComparison.Ordinal)), p => w.Sign(p))),
        Bus("A character reference to a control character in the subject", "package-invalid",
            w => Signed(w, Edit(Package(), x => x.Replace("HOSTILE-SUBJECT", "Báo cáo&#x1;", StringComparison.Ordinal)), p => w.Sign(p))),
        Bus("An attachment named ../../etc/cron.d/x (path traversal)", "package-invalid",
            w => Signed(w, Edit(Package(), x => x.Replace("van-ban.txt", "../../etc/cron.d/x", StringComparison.Ordinal)), p => w.Sign(p))),
        Bus("XML that is not edXML (a SOAP envelope)", "package-invalid",
            w => Signed(w, "<?xml version=\"1.0\"?><soap:Envelope xmlns:soap=\"http://schemas.xmlsoap.org/soap/envelope/\"><soap:Body/></soap:Envelope>"u8.ToArray(), p => w.Sign(p))),
        Bus("An element QCVN 102:2016 does not define, in the edXML namespace", "package-invalid",
            w => Signed(w, Edit(Package(), x => x.Replace("<edXML:Subject>", "<edXML:Foo>x</edXML:Foo><edXML:Subject>", StringComparison.Ordinal)), p => w.Sign(p))),
        Bus("A decoy Subject in another namespace inside MessageHeader (namespace-blind readers downstream would read it)", "package-invalid",
            w => Signed(w, Edit(Package(), x => x.Replace("<edXML:Subject>", "<x:Subject xmlns:x=\"urn:other\">decoy</x:Subject><edXML:Subject>", StringComparison.Ordinal)), p => w.Sign(p))),
        Bus("JSON where an edXML package belongs", "package-invalid",
            w => Signed(w, "{\"edXML\":{\"From\":\"000.00.01.H29\",\"To\":[\"000.01.21.H29\"]}}"u8.ToArray(), p => w.Sign(p))),
        Bus("An empty package", "package-invalid",
            w => Signed(w, [], p => w.Sign(p))),
        Bus("A status package sent as a document", "package-invalid",
            w => Signed(w, w.Status(Sender, Recipient, StatusCode.RecallRequested, w.Delivered.EnvelopeId, DocumentIdOf(w.Delivered)).Package, p => w.Sign(p))),
        Bus("Members missing from the bus message (null package and signature)", "malformed",
            w => w.SubmitAsync(new SubmitEnvelope(Guid.CreateVersion7(), Sender, null!, null!, null!, DateTimeOffset.UtcNow))),

        // ---- Agency codes and addressing ------------------------------------------------------------------------
        Bus("An invalid agency code in To", "invalid-agency-code",
            w => Signed(w, Package(to: ["vxp.saas.03"]), p => w.Sign(p), recipients: ["vxp.saas.03"])),
        Bus("An invalid agency code in From", "invalid-agency-code",
            w => Signed(w, Package(from: "null"), p => w.Sign(p), sender: "null")),
        Bus("An unknown agency code in To", "unknown-recipient",
            w => Signed(w, Package(to: [MadeUpCode]), p => w.Sign(p), recipients: [MadeUpCode])),
        Bus("An unknown sender signing with a certificate of the trusted CA", "unknown-sender",
            w => Signed(w, Package(from: OtherMadeUpCode), w.Signers.Rogue, sender: OtherMadeUpCode)),
        Bus("The same recipient twice", "duplicate-recipient",
            w => Signed(w, Package(to: [Recipient, Recipient]), p => w.Sign(p))),
        Bus("The same recipient twice in its three-group form", "duplicate-recipient",
            w => Signed(w, Package(to: ["01.21.H29", "01.21.H29"]), p => w.Sign(p))),
        Bus("The sender as its own recipient", "recipient-is-sender",
            w => Signed(w, Package(to: [Sender]), p => w.Sign(p), recipients: [Sender])),

        // ---- Compressed bombs: carried unopened, never inflated ---------------------------------------------------
        Carried("A gzip bomb (512 MiB of zeros) as an attachment is carried unopened", Channel.BusAsAdmin, async w =>
        {
            var package = Package(attachments: [new EdxmlAttachment("so-lieu.csv.gz", "application/gzip", Bomb(512, zip: false))]);
            var envelope = Envelope(package, w.Sign(package));
            var outcome = await w.SubmitAsync(envelope);
            await Eventually(async () => await w.HubDeliveryStateAsync(envelope.EnvelopeId, Recipient) == "delivered", "the bomb's delivery");
            return outcome;
        }),
        Carried("A zip bomb (1 GiB of zeros) as a file is carried unopened", Channel.DocumentsApi,
            w => w.PostAsync(Sender, "/api/documents", DocumentForm(Metadata([Recipient]), ("ho-so.zip", "application/zip", Bomb(1024, zip: true))))),

        // ---- Delivery receipts --------------------------------------------------------------------------------
        Bus("A receipt signed by a different agency than the recipient", "signer-not-bound",
            w => w.ReceiptAsync(w.Receipt(w.Waiting, Silent, w.Pki.AgencySigner(Stranger)))),
        Bus("A receipt that names another envelope", "receipt-mismatch",
            w => w.ReceiptAsync(w.Receipt(w.Waiting, Silent, w.Pki.AgencySigner(Silent), receiptEnvelope: w.Delivered.EnvelopeId))),
        Bus("A receipt with another package's digest", "receipt-mismatch",
            w => w.ReceiptAsync(w.Receipt(w.Waiting, Silent, w.Pki.AgencySigner(Silent), packageSha256: new string('0', 64)))),
        Bus("A receipt signed by a certificate no agency registers", "signer-not-bound",
            w => w.ReceiptAsync(w.Receipt(w.Waiting, Silent, w.Signers.Rogue))),
        Bus("A receipt with random bytes for a signature", "malformed",
            w => w.ReceiptAsync(w.Receipt(w.Waiting, Silent, w.Pki.AgencySigner(Silent)) with { ReceiptSignature = RandomNumberGenerator.GetBytes(300) })),
        Bus("A receipt that is not a receipt document", "package-invalid", w =>
        {
            var bytes = "<receipt>đã nhận</receipt>"u8.ToArray();
            return w.ReceiptAsync(new SubmitDeliveryReceipt(w.Waiting.EnvelopeId, Silent, Guid.CreateVersion7(), bytes, w.Sign(bytes, Silent)));
        }),
        Bus("A receipt for an envelope the hub never sent", "not-found",
            w => w.ReceiptAsync(w.Receipt(w.Waiting with { EnvelopeId = Guid.CreateVersion7() }, Silent, w.Pki.AgencySigner(Silent)))),
        Bus("A receipt naming a made-up recipient", "not-found",
            w => w.ReceiptAsync(w.Receipt(w.Waiting, MadeUpCode, w.Signers.Rogue))),
        Idempotent("A replayed receipt: the same message again", Channel.BusAsAdmin,
            w => w.RepeatAsync(w.DeliveredReceipt)),
        Bus("A replayed receipt under a new receipt id", "receipt-mismatch",
            w => w.ReceiptAsync(w.DeliveredReceipt with { ReceiptId = Guid.CreateVersion7() })),
        Agency("A receipt sent with another agency's broker login", "sender-mismatch",
            w => w.ReceiptAsync(w.Receipt(w.Waiting, Silent, w.Pki.AgencySigner(Silent)), asAgency: Stranger)),

        // ---- Statuses -------------------------------------------------------------------------------------------
        Bus("A status about an envelope the reporter never received", "recipient-mismatch",
            w => w.StatusAsync(w.Status(Stranger, Sender, StatusCode.Accepted, w.Delivered.EnvelopeId, DocumentIdOf(w.Delivered)))),
        Bus("A status about an envelope that does not exist", "not-found",
            w => w.StatusAsync(w.Status(Recipient, Sender, StatusCode.Accepted, Guid.CreateVersion7(), DocumentIdOf(w.Delivered)))),
        Bus("A status whose bus reporter disagrees with the signed package", "sender-mismatch",
            w => w.StatusAsync(w.Status(Recipient, Sender, StatusCode.Accepted, w.Delivered.EnvelopeId, DocumentIdOf(w.Delivered), busReporter: Stranger))),
        Bus("A status signed by a certificate no agency registers", "signer-not-bound",
            w => w.StatusAsync(w.Status(Recipient, Sender, StatusCode.Accepted, w.Delivered.EnvelopeId, DocumentIdOf(w.Delivered), w.Signers.Rogue))),
        Bus("A status from a made-up agency", "signer-not-bound",
            w => w.StatusAsync(w.Status(MadeUpCode, Sender, StatusCode.Accepted, w.Delivered.EnvelopeId, DocumentIdOf(w.Delivered), w.Signers.Rogue))),
        Bus("A replayed status signature under a new status id", "replayed-signature",
            w => w.StatusAsync(w.AcceptedStatus with { StatusId = Guid.CreateVersion7() })),
        Bus("A recall (13) requested by a recipient, not the sender", "recipient-mismatch",
            w => w.StatusAsync(w.Status(Recipient, Sender, StatusCode.RecallRequested, w.Delivered.EnvelopeId, DocumentIdOf(w.Delivered)))),
        Bus("A status about another document than the envelope's", "package-invalid",
            w => w.StatusAsync(w.Status(Recipient, Sender, StatusCode.Accepted, w.Delivered.EnvelopeId, "000.00.01.H29,2020/01/01,1/KHAC"))),
        Bus("A document package sent as a status", "package-invalid", w =>
        {
            var package = Package(from: Recipient, to: [Sender]);
            return w.StatusAsync(new SubmitStatus(Guid.CreateVersion7(), w.Delivered.EnvelopeId, Recipient, Sender, package, w.Sign(package, Recipient), DateTimeOffset.UtcNow));
        }),
        Agency("A status sent with another agency's broker login", "sender-mismatch",
            w => w.StatusAsync(w.Status(Recipient, Sender, StatusCode.Accepted, w.Delivered.EnvelopeId, DocumentIdOf(w.Delivered)), asAgency: Stranger)),

        // ---- Unsigned reports: the broker login is their only authentication ---------------------------------------
        Agency("A delivery failure reported for another agency's delivery", "sender-mismatch", async w =>
        {
            var outcome = await w.UnsignedReportAsync(new ReportDeliveryFailure(w.Waiting.EnvelopeId, Silent, "package-invalid", "giả mạo"), Stranger);
            Assert.That(await w.HubDeliveryStateAsync(w.Waiting.EnvelopeId, Silent), Is.EqualTo("forwarded"), "the delivery is untouched");
            return outcome;
        }),
        Agency("A handover reported for another agency's delivery", "sender-mismatch", async w =>
        {
            var outcome = await w.UnsignedReportAsync(new ReportHandover(w.Waiting.EnvelopeId, Silent, DateTimeOffset.UtcNow), Stranger);
            Assert.That((await w.EvidenceAsync(w.Waiting.EnvelopeId)).Select(e => e.Kind), Has.None.EqualTo(nameof(EvidenceKind.ContentHandover)));
            return outcome;
        }),

        // ---- Around the way to the hub: the broker's permissions name resources, not routes (issue #16, item 3) ----
        Agency("A handover for another agency's delivery, sent through an exchange the agency bound to its way to the hub", "sender-mismatch", async w =>
        {
            // 1. Sent the way a gateway sends (its .to-hub exchange, its login stamped as user_id), it is refused: the row above.
            // 2. The attack: the agency binds its own _skipped exchange (read is allowed: its queue's companion) to its
            //    .to-hub exchange (write is allowed: it sends there), and publishes to _skipped without a user_id. The
            //    hub, which trusted the exchange a message was published to, saw one that "came another way" and
            //    recorded Silent's document as handed over.
            // 3. Refused as sender-mismatch: published to an agency's exchange without that agency's user_id.
            var own = w.Province.Names.AgencyQueue(Stranger);
            var source = own + BrokerNames.SkippedSuffix;
            var outcome = await w.AroundReportAsync(new ReportHandover(w.Waiting.EnvelopeId, Silent, DateTimeOffset.UtcNow), Stranger,
                async c =>
                {
                    await c.ExchangeDeclareAsync(source, ExchangeType.Fanout, durable: true);
                    await c.ExchangeBindAsync(BrokerNames.OutboundExchange(own), source, string.Empty);
                },
                new Uri($"exchange:{source}"),
                c => c.ExchangeUnbindAsync(BrokerNames.OutboundExchange(own), source, string.Empty));
            Assert.That((await w.EvidenceAsync(w.Waiting.EnvelopeId)).Select(e => e.Kind), Has.None.EqualTo(nameof(EvidenceKind.ContentHandover)));
            return outcome;
        }),
        Agency("A delivery failure for another agency's delivery, sent to an exchange whose alternate exchange is the agency's way to the hub", "sender-mismatch", async w =>
        {
            // 1. As above, the way a gateway sends is refused.
            // 2. The attack: the agency declares its own _error exchange again (configure is allowed) with its .to-hub
            //    exchange as alternate exchange (write is allowed), and publishes to it without a user_id: unroutable
            //    there, the broker hands it to .to-hub and on to the hub, which marked Silent's delivery failed.
            // 3. Refused as sender-mismatch, and the delivery is untouched.
            var own = w.Province.Names.AgencyQueue(Stranger);
            var error = own + BrokerNames.ErrorSuffix;
            var outcome = await w.AroundReportAsync(new ReportDeliveryFailure(w.Waiting.EnvelopeId, Silent, "package-invalid", "giả mạo"), Stranger,
                async c => await c.ExchangeDeleteAsync(error),
                new Uri($"exchange:{error}?alternateexchange={Uri.EscapeDataString(BrokerNames.OutboundExchange(own))}"),
                async c =>
                {
                    // Put the exchange back as MassTransit declares it, bound to the _error queue if there is one.
                    await c.ExchangeDeleteAsync(error);
                    await c.ExchangeDeclareAsync(error, ExchangeType.Fanout, durable: true);
                    if (await w.QueueExistsAsync(error))
                    {
                        await c.QueueBindAsync(error, error, string.Empty);
                    }
                });
            Assert.That(await w.HubDeliveryStateAsync(w.Waiting.EnvelopeId, Silent), Is.EqualTo("forwarded"), "the delivery is untouched");
            return outcome;
        }),

        // ---- Not a message at all -------------------------------------------------------------------------------
        DeadLettered("Random bytes on the hub's queue",
            w => w.PublishGarbageAsync(RandomNumberGenerator.GetBytes(2048), "application/octet-stream")),
        DeadLettered("JSON that is not a MassTransit envelope on the hub's queue",
            w => w.PublishGarbageAsync("{\"envelopeId\":1,\"package\":\"@@@\"}"u8.ToArray(), "application/vnd.masstransit+json")),

        // ---- POST /api/documents --------------------------------------------------------------------------------
        Documents("JSON body instead of multipart", "invalid-request", 415,
            w => w.PostAsync(Sender, "/api/documents", new StringContent(Metadata([Recipient]), Encoding.UTF8, "application/json"))),
        Documents("Multipart without a metadata part", "invalid-request", 400,
            w => w.PostAsync(Sender, "/api/documents", DocumentForm(null, ("a.txt", "text/plain", "x"u8.ToArray())))),
        Documents("Metadata that is not JSON", "invalid-request", 400,
            w => w.PostAsync(Sender, "/api/documents", DocumentForm("<metadata/>"))),
        Documents("Metadata without a subject", "invalid-request", 400,
            w => w.PostAsync(Sender, "/api/documents", DocumentForm(JsonSerializer.Serialize(new { to = new[] { Recipient } })))),
        Documents("An empty body", "invalid-request", 400,
            w => w.PostAsync(Sender, "/api/documents", Multipart([]))),
        Documents("A gzip-compressed body (not inflated by the gateway)", "invalid-request", 400, w =>
        {
            var content = Multipart(Gzip(RawForm(Metadata([Recipient]))));
            content.Headers.ContentEncoding.Add("gzip");
            return w.PostAsync(Sender, "/api/documents", content);
        }),
        Documents("Invalid UTF-8 in the metadata", "invalid-request", 400,
            w => w.PostAsync(Sender, "/api/documents", Multipart(RawForm(Metadata([Recipient]), invalidUtf8: true)))),
        Documents("An invalid agency code in 'to'", "invalid-agency-code", 422,
            w => w.PostAsync(Sender, "/api/documents", DocumentForm(Metadata(["vxp.saas.03"])))),
        Documents("An unknown agency code in 'to'", "unknown-recipient", 202,
            w => w.PostAsync(Sender, "/api/documents", DocumentForm(Metadata([OtherMadeUpCode]), ("a.txt", "text/plain", "x"u8.ToArray())))),
        Documents("Ten thousand recipients", "too-large", 413, async w =>
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var outcome = await w.PostAsync(Sender, "/api/documents", DocumentForm(Metadata(TenThousandCodes())));
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "refused quickly");
            return outcome;
        }),
        Documents("The same recipient twice", "duplicate-recipient", 422,
            w => w.PostAsync(Sender, "/api/documents", DocumentForm(Metadata([Recipient, Recipient])))),
        Documents("The sender as its own recipient", "recipient-is-sender", 422,
            w => w.PostAsync(Sender, "/api/documents", DocumentForm(Metadata([Sender])))),
        Documents("A file named ../../etc/passwd (path traversal)", "package-invalid", 422,
            w => w.PostAsync(Sender, "/api/documents", DocumentForm(Metadata([Recipient]), ("../../etc/passwd", "text/plain", "x"u8.ToArray())))),
        Documents("A file named C:\\Windows\\win.ini", "package-invalid", 422,
            w => w.PostAsync(Sender, "/api/documents", DocumentForm(Metadata([Recipient]), ("C:\\Windows\\win.ini", "text/plain", "x"u8.ToArray())))),
        Documents("A control character in the subject", "package-invalid", 422,
            w => w.PostAsync(Sender, "/api/documents", DocumentForm(Metadata([Recipient], subject: "Báo cáo\u0001tháng 3")))),
        Documents("A subject of 100,000 characters", "too-large", 413,
            w => w.PostAsync(Sender, "/api/documents", DocumentForm(Metadata([Recipient], subject: new string('á', 100_000))))),
        Documents("101 files", "too-large", 413,
            w => w.PostAsync(Sender, "/api/documents", DocumentForm(Metadata([Recipient]), Enumerable.Range(1, 101).Select(i => ($"tep-{i}.txt", "text/plain", "x"u8.ToArray())).ToArray()))),
        Documents("Two thousand files (over the form's entry limit)", "too-large", 413,
            w => w.PostAsync(Sender, "/api/documents", DocumentForm(Metadata([Recipient]), Enumerable.Range(1, 2000).Select(i => ($"tep-{i}.txt", "text/plain", "x"u8.ToArray())).ToArray()))),
        Documents("One file over Gateway:MaxAttachmentBytes", "too-large", 413,
            w => w.PostAsync(Sender, "/api/documents", DocumentForm(Metadata([Recipient]), ("lon.bin", "application/octet-stream", new byte[HostileInputTests.MaxAttachmentBytes + 1])))),
        Documents("Files that together exceed Gateway:MaxPackageBytes", "too-large", 413,
            w => w.PostAsync(Sender, "/api/documents", DocumentForm(Metadata([Recipient]), Enumerable.Range(1, 3).Select(i => ($"phan-{i}.bin", "application/octet-stream", new byte[HostileInputTests.MaxPackageBytes * 3 / 8])).ToArray()))),
        Documents("A part header of 100 KB", "too-large", 413,
            w => w.PostAsync(Sender, "/api/documents", Multipart(RawForm(Metadata([Recipient]), extraHeader: "X-Padding: " + new string('a', 100 * 1024))))),
        Documents("An unknown businessDocType", "invalid-request", 400,
            w => w.PostAsync(Sender, "/api/documents", DocumentForm(JsonSerializer.Serialize(new { to = new[] { Recipient }, subject = "Công văn", businessDocType = 9 })))),

        // ---- POST /api/packages ---------------------------------------------------------------------------------
        Packages("Multipart without a package part", "invalid-request", 400,
            w => w.PostAsync(Sender, "/api/packages", new MultipartFormDataContent { { new ByteArrayContent(w.Sign(Package())), "signature", "p.p7s" } })),
        Packages("The package as a form field, not a file", "invalid-request", 400,
            w => w.PostAsync(Sender, "/api/packages", new MultipartFormDataContent { { new StringContent(Encoding.UTF8.GetString(Package())), "package" } })),
        Packages("Two signature parts", "invalid-request", 400, w =>
        {
            var package = Package();
            var form = PackageForm(package, w.Sign(package));
            form.Add(new ByteArrayContent(w.Sign(package)), "signature", "b.p7s");
            return w.PostAsync(Sender, "/api/packages", form);
        }),
        Packages("A package from another agency", "sender-mismatch", 422,
            w => w.PostAsync(Sender, "/api/packages", PackageForm(Package(from: Finance), null))),
        Packages("JSON where an edXML package belongs", "package-invalid", 422,
            w => w.PostAsync(Sender, "/api/packages", PackageForm("{\"from\":\"000.00.01.H29\"}"u8.ToArray(), null))),
        Packages("XML with a DTD", "package-invalid", 422,
            w => w.PostAsync(Sender, "/api/packages", PackageForm(Edit(Package(), x => x.Replace("?>", "?><!DOCTYPE edXML SYSTEM \"http://example.invalid/edxml.dtd\">", StringComparison.Ordinal)), null))),
        Packages("An attachment outside AttachmentEncoded", "package-invalid", 422,
            w => w.PostAsync(Sender, "/api/packages", PackageForm(Edit(Package(), x => x.Replace("<edXML:edXMLBody>",
                "<edXML:edXMLBody><Attachment><ContentId>x</ContentId><AttachmentName>x.txt</AttachmentName><ContentType>text/plain</ContentType>"
                + "<ContentTransferEncoded>eA==</ContentTransferEncoded></Attachment>", StringComparison.Ordinal)), null))),
        Packages("Broken base64 in an attachment", "package-invalid", 422,
            w => w.PostAsync(Sender, "/api/packages", PackageForm(Edit(Package(), x => ReplaceBase64(x, "UEsDB$$$")), null))),
        Packages("Invalid UTF-8 in the subject", "package-invalid", 422,
            w => w.PostAsync(Sender, "/api/packages", PackageForm(InvalidUtf8(Package()), null))),
        Packages("Ten thousand recipients", "too-large", 413,
            w => w.PostAsync(Sender, "/api/packages", PackageForm(Package(to: TenThousandCodes()), null))),
        Packages("The same recipient twice", "duplicate-recipient", 422,
            w => w.PostAsync(Sender, "/api/packages", PackageForm(Package(to: [Recipient, Recipient]), null))),
        Packages("A package over Gateway:MaxPackageBytes", "too-large", 413,
            w => w.PostAsync(Sender, "/api/packages", PackageForm(new byte[HostileInputTests.MaxPackageBytes + 1], null))),
        Packages("A signature over Gateway:MaxSignatureBytes", "too-large", 413,
            w => w.PostAsync(Sender, "/api/packages", PackageForm(Package(), new byte[HostileInputTests.MaxSignatureBytes + 1]))),
        Packages("A forged signature, refused by the hub", "signer-not-bound", 202, w =>
        {
            var package = Package();
            return w.PostAsync(Sender, "/api/packages", PackageForm(package, w.Signers.Rogue.SignDetached(package)));
        }),
        Packages("A tampered package, refused by the hub", "signature-invalid", 202, w =>
        {
            var package = Package(subject: "Kinh phí 100 triệu đồng");
            var signature = w.Sign(package);
            return w.PostAsync(Sender, "/api/packages", PackageForm(Edit(package, x => x.Replace("100 triệu", "900 triệu", StringComparison.Ordinal)), signature));
        }),
        Packages("A package and signature already delivered, posted again", "replayed-signature", 202,
            w => w.PostAsync(Sender, "/api/packages", PackageForm(w.Delivered.Package, w.Delivered.Signature))),

        // ---- Status endpoints and reads ---------------------------------------------------------------------------
        Status("A status about an envelope the agency never received", "not-found", 404,
            w => w.PostAsync(Stranger, $"/api/inbox/{w.ThroughGateway.EnvelopeId}/status", StatusBody(3))),
        Status("A status about an envelope that does not exist", "not-found", 404,
            w => w.PostAsync(Recipient, $"/api/inbox/{Guid.CreateVersion7()}/status", StatusBody(3))),
        Status("A status code edXML does not define", "package-invalid", 422,
            w => w.PostAsync(Recipient, $"/api/inbox/{w.ThroughGateway.EnvelopeId}/status", StatusBody(99))),
        Status("A status body that is not JSON", "invalid-request", 400,
            w => w.PostAsync(Recipient, $"/api/inbox/{w.ThroughGateway.EnvelopeId}/status", new StringContent("code=3", Encoding.UTF8, "application/json"))),
        Status("A status body as text/plain", "invalid-request", 415,
            w => w.PostAsync(Recipient, $"/api/inbox/{w.ThroughGateway.EnvelopeId}/status", new StringContent("{\"code\":3}", Encoding.UTF8, "text/plain"))),
        Status("A status description over the field limit", "too-large", 413,
            w => w.PostAsync(Recipient, $"/api/inbox/{w.ThroughGateway.EnvelopeId}/status", StatusBody(3, new string('x', 5000)))),
        Status("A control character in a status description", "package-invalid", 422,
            w => w.PostAsync(Recipient, $"/api/inbox/{w.ThroughGateway.EnvelopeId}/status", StatusBody(3, "Đã nhận\u0007"))),
        Status("A recall addressed to an agency that is not a recipient", "recipient-mismatch", 422,
            w => w.PostAsync(Sender, $"/api/documents/{w.ThroughGateway.EnvelopeId}/status", JsonBody(new { code = 13, to = new[] { Stranger } }))),
        Status("A recall requested through the recipient's inbox", "package-invalid", 422,
            w => w.PostAsync(Recipient, $"/api/inbox/{w.ThroughGateway.EnvelopeId}/status", StatusBody(13))),
        Status("Reading a document that does not exist", "not-found", 404,
            w => w.SendHttpAsync(Sender, new HttpRequestMessage(HttpMethod.Get, new Uri($"/api/documents/{Guid.CreateVersion7()}", UriKind.Relative)))),
        Status("Reading a document id that is not a GUID", "not-found", 404,
            w => w.SendHttpAsync(Sender, new HttpRequestMessage(HttpMethod.Get, new Uri("/api/documents/..%2F..%2Fetc%2Fpasswd", UriKind.Relative)))),
        Status("Reading the inbox with limit=abc", "invalid-request", 400,
            w => w.SendHttpAsync(Recipient, new HttpRequestMessage(HttpMethod.Get, new Uri("/api/inbox?limit=abc", UriKind.Relative)))),
        Status("DELETE on a document", "invalid-request", 405,
            w => w.SendHttpAsync(Sender, new HttpRequestMessage(HttpMethod.Delete, new Uri($"/api/documents/{w.ThroughGateway.EnvelopeId}", UriKind.Relative)))),

        // ---- Raw HTTP: what a well-behaved client does not send -----------------------------------------------
        Raw("A Content-Length of ten gigabytes", "too-large", 413,
            w => w.RawHttpAsync(Sender, "POST /api/documents HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: 10000000000")),
        Raw("A negative Content-Length (answered by Kestrel before the gateway)", null, 400,
            w => w.RawHttpAsync(Sender, "POST /api/documents HTTP/1.1\r\nHost: {host}\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: -1")),
        Raw("A request header of 100 KB (answered by Kestrel before the gateway)", null, 431, w =>
        {
            var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/api/documents/{w.ThroughGateway.EnvelopeId}", UriKind.Relative));
            request.Headers.Add("X-Padding", new string('a', 100 * 1024));
            return w.SendHttpAsync(Sender, request);
        }),
    ];

    private static HostileCase Bus(string name, string? reason, Func<HostileWorld, Task<Outcome>> run) => new(name, Channel.BusAsAdmin, reason, run);

    private static HostileCase Agency(string name, string reason, Func<HostileWorld, Task<Outcome>> run) => new(name, Channel.BusAsAgency, reason, run);

    private static HostileCase Documents(string name, string reason, int status, Func<HostileWorld, Task<Outcome>> run) => new(name, Channel.DocumentsApi, reason, run) { Status = status };

    private static HostileCase Packages(string name, string reason, int status, Func<HostileWorld, Task<Outcome>> run) => new(name, Channel.PackagesApi, reason, run) { Status = status };

    private static HostileCase Status(string name, string reason, int status, Func<HostileWorld, Task<Outcome>> run) => new(name, Channel.StatusApi, reason, run) { Status = status };

    private static HostileCase Raw(string name, string? reason, int status, Func<HostileWorld, Task<Outcome>> run) => new(name, Channel.RawHttp, reason, run) { Status = status };

    private static HostileCase Carried(string name, Channel channel, Func<HostileWorld, Task<Outcome>> run) => new(name, channel, "ok", run) { Expect = Expect.Carried };

    private static HostileCase Idempotent(string name, Channel channel, Func<HostileWorld, Task<Outcome>> run) => new(name, channel, "ok", run) { Expect = Expect.Idempotent };

    private static HostileCase DeadLettered(string name, Func<HostileWorld, Task<Outcome>> run) => new(name, Channel.BusAsAdmin, null, run) { Expect = Expect.DeadLettered };

    private static Task<Outcome> Signed(HostileWorld w, byte[] package, Exchange.Signing.CmsSigner signer, string sender = Sender, IReadOnlyList<string>? recipients = null) =>
        Signed(w, package, p => signer.SignDetached(p), sender, recipients);

    /// <summary>Signs <paramref name="package"/> as told and submits it on the bus as the administrator.</summary>
    private static Task<Outcome> Signed(HostileWorld w, byte[] package, Func<byte[], byte[]> sign, string sender = Sender, IReadOnlyList<string>? recipients = null) =>
        w.SubmitAsync(Envelope(package, sign(package), sender, recipients));

    /// <summary>Ten thousand distinct, well-formed codes (000.NN.NN.H29 and so on); most are in no directory.</summary>
    private static string[] TenThousandCodes(string level1 = "H29") =>
        Enumerable.Range(0, 10_000).Select(i => $"{i / 10_000:000}.{i / 100 % 100:00}.{i % 100:00}.{level1}").ToArray();

    private static string BillionLaughs =>
        "<!DOCTYPE edXML [<!ENTITY lol0 \"lol\">"
        + string.Concat(Enumerable.Range(1, 9).Select(i => $"<!ENTITY lol{i} \"{string.Concat(Enumerable.Repeat($"&lol{i - 1};", 10))}\">"))
        + "]>";

    /// <summary>The subject marker with a UTF-8 lead byte followed by '(' (not UTF-8).</summary>
    private static byte[] InvalidUtf8(byte[] package)
    {
        var bytes = package.ToArray();
        var at = bytes.AsSpan().IndexOf("HOSTILE-SUBJECT"u8);
        bytes[at] = 0xC3;
        bytes[at + 1] = 0x28;
        return bytes;
    }

    /// <summary>
    /// <paramref name="mebibytes"/> of zeros compressed (about a thousand to one): as a zip archive with one entry, or
    /// as gzip. Made block by block, so building it costs no more memory than the result.
    /// </summary>
    private static byte[] Bomb(int mebibytes, bool zip)
    {
        using var output = new MemoryStream();
        var zeros = new byte[1024 * 1024];
        if (zip)
        {
            using var archive = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
            using var entry = archive.CreateEntry("so-lieu.bin", CompressionLevel.Optimal).Open();
            for (var i = 0; i < mebibytes; i++)
            {
                entry.Write(zeros);
            }
        }
        else
        {
            using var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true);
            for (var i = 0; i < mebibytes; i++)
            {
                gzip.Write(zeros);
            }
        }

        return output.ToArray();
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }

    private static string Metadata(IReadOnlyList<string> to, string subject = "Công văn kiểm thử đầu vào") =>
        JsonSerializer.Serialize(new { to, subject, codeNotation = "HOSTILE" }, JsonSerializerOptions.Web);

    /// <summary>A document form as a document system sends it; a null metadata leaves the part out.</summary>
    private static MultipartFormDataContent DocumentForm(string? metadata, params (string Name, string Type, byte[] Content)[] files)
    {
        var form = new MultipartFormDataContent();
        if (metadata is not null)
        {
            form.Add(new StringContent(metadata, Encoding.UTF8, "application/json"), "metadata");
        }

        foreach (var (name, type, content) in files)
        {
            var part = new ByteArrayContent(content);
            part.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
            // Set by hand: MultipartFormDataContent would quote and encode the name, and a hostile client does not.
            part.Headers.ContentDisposition = new ContentDispositionHeaderValue("form-data") { Name = "\"files\"", FileName = $"\"{name.Replace("\\", "\\\\", StringComparison.Ordinal)}\"" };
            form.Add(part);
        }

        return form;
    }

    private static MultipartFormDataContent PackageForm(byte[] package, byte[]? signature)
    {
        var form = new MultipartFormDataContent { { new ByteArrayContent(package), "package", "package.edxml" } };
        if (signature is not null)
        {
            form.Add(new ByteArrayContent(signature), "signature", "package.p7s");
        }

        return form;
    }

    /// <summary>
    /// Multipart bytes written by hand (boundary <c>b</c>), as a hostile client sends them: with an extra part header,
    /// or with the metadata's "HOSTILE" made invalid UTF-8 (a lead byte followed by '(').
    /// </summary>
    private static byte[] RawForm(string metadata, bool invalidUtf8 = false, string? extraHeader = null)
    {
        var head = Encoding.ASCII.GetBytes($"--b\r\nContent-Disposition: form-data; name=\"metadata\"\r\n{(extraHeader is null ? string.Empty : extraHeader + "\r\n")}\r\n");
        var body = Encoding.UTF8.GetBytes(metadata);
        if (invalidUtf8)
        {
            var at = body.AsSpan().IndexOf("HOSTILE"u8);
            body[at] = 0xC3;
            body[at + 1] = (byte)'(';
        }

        return [.. head, .. body, .. "\r\n--b--\r\n"u8];
    }

    private static ByteArrayContent Multipart(byte[] bytes)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=b");
        return content;
    }

    private static StringContent StatusBody(int code, string? description = null) => JsonBody(new { code, description });

    private static StringContent JsonBody(object body) => new(JsonSerializer.Serialize(body, JsonSerializerOptions.Web), Encoding.UTF8, "application/json");
}
