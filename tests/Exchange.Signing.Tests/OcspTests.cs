using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Exchange.Core;
using Exchange.Signing.Tests.Support;
using Org.BouncyCastle.Asn1.Ocsp;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Ocsp;
using Org.BouncyCastle.Security;

namespace Exchange.Signing.Tests;

/// <summary>
/// OCSP (RFC 6960) when no CRL covers a certificate. The responder is BouncyCastle's OCSP response generator behind
/// a loopback HttpListener, signing with the issuing CA's key (or another key, for the forged case).
/// </summary>
public class OcspTests
{
    private static (byte[] Content, byte[] Signature, X509Certificate2 Leaf) Signed(string name)
    {
        var leaf = Pki.Issuing.Leaf(name);
        var content = Pki.Document();
        using var signer = new CmsSigner(leaf, Pki.Chain);
        return (content, signer.SignDetached(content), leaf);
    }

    /// <summary>Only the root's CRL: the agency certificate's status must come from OCSP.</summary>
    private static SignatureVerifier Verifier(string url) =>
        new(TrustStore.FromCertificates([Pki.Root.Public], crls: [Pki.Root.Crl()], options: new TrustOptions { OcspResponderUrl = url }));

    [Test]
    public void Accepts_certificate_the_configured_ocsp_responder_reports_good()
    {
        var (content, signature, _) = Signed("Agency good by OCSP");
        using var responder = new Responder(Pki.Issuing.Certificate);

        var result = Verifier(responder.Url).Verify(content, signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.Ok), result.Detail);
        Assert.That(responder.Requests, Is.EqualTo(1));
    }

    [Test]
    public void Rejects_certificate_the_ocsp_responder_reports_revoked()
    {
        var (content, signature, leaf) = Signed("Agency revoked by OCSP");
        using var responder = new Responder(Pki.Issuing.Certificate);
        responder.Revoked.Add(leaf.SerialNumber);

        var result = Verifier(responder.Url).Verify(content, signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.CertificateRevoked), result.Detail);
        Assert.That(result.Detail, Does.Contain("keyCompromise"));
    }

    [Test]
    public void Refuses_ocsp_answer_signed_by_a_key_the_ca_did_not_authorise()
    {
        var (content, signature, _) = Signed("Agency with forged OCSP");
        var impostor = TestCa.Root("Test Issuing CA");
        using var responder = new Responder(impostor.Certificate);

        var result = Verifier(responder.Url).Verify(content, signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.RevocationUnknown));
        Assert.That(result.Detail, Does.Contain("not signed by"));
    }

    [Test]
    public void Asks_the_responder_once_per_certificate_until_the_answer_expires()
    {
        var (content, signature, _) = Signed("Agency asked once");
        using var responder = new Responder(Pki.Issuing.Certificate);
        var verifier = Verifier(responder.Url);

        for (var i = 0; i < 5; i++)
        {
            Assert.That(verifier.Verify(content, signature).Valid, Is.True);
        }

        verifier.Trust.AddCrl(Pki.Root.Crl());
        Assert.That(verifier.Verify(content, signature).Valid, Is.True);
        Assert.That(responder.Requests, Is.EqualTo(1), "cached until nextUpdate, even when the store changes");
    }

    [Test]
    public void Refuses_when_the_responder_is_unreachable()
    {
        var (content, signature, _) = Signed("Agency with dead responder");

        var result = Verifier($"http://127.0.0.1:{FreePort()}/ocsp").Verify(content, signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.RevocationUnknown));
        Assert.That(result.Detail, Does.Contain("OCSP"));
    }

    [Test]
    public void Ocsp_answer_that_drops_the_nonce_is_no_longer_accepted()
    {
        var (content, signature, _) = Signed("Agency with replayed OCSP");

        // 1. An answer that echoes the nonce is accepted.
        using (var honest = new Responder(Pki.Issuing.Certificate))
        {
            Assert.That(Verifier(honest.Url).Verify(content, signature).Reason, Is.EqualTo(ReasonCode.Ok));
        }

        // 2. The attack: a "good" answer without the request's nonce, as a replayed recorded answer would be.
        using var replaying = new Responder(Pki.Issuing.Certificate) { EchoNonce = false };
        var result = Verifier(replaying.Url).Verify(content, signature);

        // 3. Not evidence of good standing: the status stays unknown, and the detail says why.
        Assert.That(result.Reason, Is.EqualTo(ReasonCode.RevocationUnknown), result.Detail);
        Assert.That(result.Detail, Does.Contain("nonce"));
    }

    [Test]
    public void Ocsp_answer_without_next_update_is_no_longer_accepted_however_old()
    {
        var (content, signature, _) = Signed("Agency with stale OCSP");

        // 1. A fresh answer without nextUpdate is accepted.
        using (var fresh = new Responder(Pki.Issuing.Certificate) { Validity = null })
        {
            Assert.That(Verifier(fresh.Url).Verify(content, signature).Reason, Is.EqualTo(ReasonCode.Ok));
        }

        // 2. The attack: an answer without nextUpdate, used three hours after it was made (the default bound is one hour).
        using var stale = new Responder(Pki.Issuing.Certificate) { Validity = null };
        var later = new FixedClock(DateTimeOffset.UtcNow.AddHours(3));
        var result = new SignatureVerifier(Verifier(stale.Url).Trust, later).Verify(content, signature);

        // 3. Refused as unknown revocation status, saying the answer is too old.
        Assert.That(result.Reason, Is.EqualTo(ReasonCode.RevocationUnknown), result.Detail);
        Assert.That(result.Detail, Does.Contain("no nextUpdate"));
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    /// <summary>A minimal OCSP responder: good for every serial except those in <see cref="Revoked"/>; echoes the nonce.</summary>
    private sealed class Responder : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly Org.BouncyCastle.Crypto.AsymmetricKeyParameter _key;
        private readonly Org.BouncyCastle.X509.X509Certificate _certificate;
        private int _requests;

        public Responder(X509Certificate2 signerWithKey)
        {
            _certificate = new Org.BouncyCastle.X509.X509CertificateParser().ReadCertificate(signerWithKey.RawData);
            _key = DotNetUtilities.GetRsaKeyPair(signerWithKey.GetRSAPrivateKey()!.ExportParameters(true)).Private;
            var port = FreePort();
            Url = $"http://127.0.0.1:{port}/ocsp";
            _listener.Prefixes.Add($"http://127.0.0.1:{port}/");
            _listener.Start();
            _ = Task.Run(ServeAsync);
        }

        public string Url { get; }

        public HashSet<string> Revoked { get; } = new(StringComparer.OrdinalIgnoreCase);

        /// <summary>Echo the request's nonce (RFC 6960 §4.4.1).</summary>
        public bool EchoNonce { get; set; } = true;

        /// <summary>nextUpdate after thisUpdate; null: none given.</summary>
        public TimeSpan? Validity { get; set; } = TimeSpan.FromMinutes(61);

        public int Requests => Volatile.Read(ref _requests);

        public void Dispose() => _listener.Close();

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
                {
                    return;
                }

                Interlocked.Increment(ref _requests);
                using var body = new MemoryStream();
                await context.Request.InputStream.CopyToAsync(body);
                var request = new OcspReq(body.ToArray());
                var generator = new BasicOcspRespGenerator(new RespID(_certificate.SubjectDN));
                var now = DateTime.UtcNow;
                foreach (var item in request.GetRequestList())
                {
                    var id = item.GetCertID();
                    var serial = Convert.ToHexString(id.SerialNumber.ToByteArrayUnsigned());
                    CertificateStatus status = Revoked.Contains(serial)
                        ? new RevokedStatus(now.AddMinutes(-10), CrlReason.KeyCompromise)
                        : CertificateStatus.Good;
                    var thisUpdate = now.AddMinutes(-1);
                    if (Validity is { } validity)
                    {
                        generator.AddResponse(id, status, thisUpdate, thisUpdate + validity, null);
                    }
                    else
                    {
                        // No nextUpdate: this overload stamps thisUpdate with the responder's clock now.
                        generator.AddResponse(id, status, null);
                    }
                }

                var nonce = request.RequestExtensions?.GetExtension(OcspObjectIdentifiers.PkixOcspNonce);
                if (nonce is not null && EchoNonce)
                {
                    generator.SetResponseExtensions(new X509Extensions(
                        new Dictionary<Org.BouncyCastle.Asn1.DerObjectIdentifier, Org.BouncyCastle.Asn1.X509.X509Extension> { [OcspObjectIdentifiers.PkixOcspNonce] = nonce }));
                }

                var basic = generator.Generate(new Asn1SignatureFactory("SHA256WITHRSA", _key), [_certificate], now);
                var response = new OCSPRespGenerator().Generate(OCSPRespGenerator.Successful, basic).GetEncoded();
                context.Response.ContentType = "application/ocsp-response";
                await context.Response.OutputStream.WriteAsync(response);
                context.Response.Close();
            }
        }
    }
}
