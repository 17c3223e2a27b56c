using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Exchange.Core;
using Exchange.Signing.Tests.Support;

namespace Exchange.Signing.Tests;

/// <summary>CRL checking (RFC 5280 §6.3) and the cached verdicts that depend on it.</summary>
public class RevocationTests
{
    private static (byte[] Content, byte[] Signature, X509Certificate2 Leaf) Signed(string name, LeafOptions? options = null, DateTimeOffset? signingTime = null)
    {
        var leaf = Pki.Issuing.Leaf(name, options);
        var content = Pki.Document();
        using var signer = new CmsSigner(leaf, Pki.Chain);
        return (content, signer.SignDetached(content, signingTime ?? DateTimeOffset.UtcNow), leaf);
    }

    [Test]
    public void Rejects_signature_from_revoked_certificate()
    {
        var (content, signature, leaf) = Signed("Revoked agency");
        Pki.Issuing.Revoke(leaf);

        var result = Pki.Verifier().Verify(content, signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.CertificateRevoked), result.Detail);
        Assert.That(result.Detail, Does.Contain("keyCompromise"));
    }

    [Test]
    public void Rejects_signature_below_a_revoked_issuing_ca()
    {
        var root = TestCa.Root("Root with revoked CA");
        var issuing = root.Intermediate("Revoked issuing CA");
        var leaf = issuing.Leaf("Agency below a revoked CA");
        root.Revoke(issuing.Public, reason: X509RevocationReason.CACompromise);
        var content = Pki.Document();
        using var signer = new CmsSigner(leaf, [issuing.Public]);
        var signature = signer.SignDetached(content);
        var verifier = new SignatureVerifier(TrustStore.FromCertificates([root.Public], crls: [issuing.Crl(), root.Crl()]));

        var result = verifier.Verify(content, signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.CertificateRevoked));
        Assert.That(result.Detail, Does.Contain("Revoked issuing CA"));
    }

    [Test]
    public void Refuses_when_no_crl_is_known_for_the_issuer()
    {
        var (content, signature, _) = Signed("Agency without CRL");
        var verifier = new SignatureVerifier(TrustStore.FromCertificates([Pki.Root.Public], crls: [Pki.Root.Crl()]));

        var result = verifier.Verify(content, signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.RevocationUnknown), result.Detail);
        Assert.That(result.Detail, Does.Contain("Test Issuing CA"));
    }

    [Test]
    public void Accepts_unknown_revocation_with_a_warning_when_configured()
    {
        var (content, signature, _) = Signed("Agency accepted without CRL");
        var options = new TrustOptions { AcceptUnknownRevocation = true };
        var verifier = new SignatureVerifier(TrustStore.FromCertificates([Pki.Root.Public], options: options));

        var result = verifier.Verify(content, signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.Ok), result.Detail);
        Assert.That(result.Detail, Does.Contain("warning"));
        Assert.That(result.Signers.Single().Warnings, Has.Count.EqualTo(2), "one for the issuing CA, one for the agency");
    }

    [Test]
    public void Refuses_when_the_only_crl_has_passed_its_next_update()
    {
        var (content, signature, _) = Signed("Agency with stale CRL");
        var now = DateTimeOffset.UtcNow;
        var store = TrustStore.FromCertificates([Pki.Root.Public], crls: [Pki.Issuing.Crl(now.AddHours(1)), Pki.Root.Crl()]);
        var clock = new FixedClock(now);
        var verifier = new SignatureVerifier(store, clock);

        Assert.That(verifier.Verify(content, signature).Reason, Is.EqualTo(ReasonCode.Ok));

        clock.Now = now.AddHours(2);
        var result = verifier.Verify(content, signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.RevocationUnknown));
        Assert.That(result.Detail, Does.Contain("expired"));
    }

    [Test]
    public void Refuses_when_the_crl_is_not_signed_by_the_issuing_ca()
    {
        // A CA with the same name but another key publishes a CRL: it must not count as the issuing CA's.
        var (content, signature, _) = Signed("Agency with forged CRL");
        var impostor = TestCa.Root("Test Issuing CA");
        var verifier = new SignatureVerifier(TrustStore.FromCertificates([Pki.Root.Public], crls: [impostor.Crl(), Pki.Root.Crl()]));

        Assert.That(verifier.Verify(content, signature).Reason, Is.EqualTo(ReasonCode.RevocationUnknown));
    }

    [Test]
    public void Revocation_added_after_a_cached_verdict_takes_effect_immediately()
    {
        // 1. Verify once: the chain and "not revoked" are now cached for this certificate.
        var (content, signature, leaf) = Signed("Agency revoked while cached");
        var verifier = Pki.Verifier();
        Assert.That(verifier.Verify(content, signature).Reason, Is.EqualTo(ReasonCode.Ok));

        // 2. The CA revokes it and the new CRL is added to the running store.
        Pki.Issuing.Revoke(leaf);
        verifier.Trust.AddCrl(Pki.Issuing.Crl());

        // 3. The very next verification refuses.
        Assert.That(verifier.Verify(content, signature).Reason, Is.EqualTo(ReasonCode.CertificateRevoked));
    }

    [Test]
    public void Loads_crl_in_pem_form()
    {
        var (content, signature, leaf) = Signed("Agency with PEM CRL");
        var store = TrustStore.FromCertificates([Pki.Root.Public], crls: [Pki.Root.Crl()]);
        store.AddCrl(System.Text.Encoding.ASCII.GetBytes(System.Security.Cryptography.PemEncoding.WriteString("X509 CRL", Pki.Issuing.Crl())));

        Assert.That(new SignatureVerifier(store).Verify(content, signature).Reason, Is.EqualTo(ReasonCode.Ok));
        Assert.That(leaf, Is.Not.Null);
    }

    [Test]
    public void Archive_accepts_document_signed_before_a_superseded_certificate_was_revoked()
    {
        var now = DateTimeOffset.UtcNow;
        var (content, signature, leaf) = Signed("Agency superseded", signingTime: now.AddDays(-10));
        Pki.Issuing.Revoke(leaf, now.AddDays(-1), X509RevocationReason.Superseded);
        var verifier = Pki.Verifier();

        var archive = verifier.Verify(content, signature, SignaturePolicy.Archive);
        var submission = verifier.Verify(content, signature, SignaturePolicy.Submission);

        Assert.That(archive.Reason, Is.EqualTo(ReasonCode.Ok), archive.Detail);
        Assert.That(archive.Detail, Does.Contain("superseded"));
        Assert.That(submission.Reason, Is.EqualTo(ReasonCode.CertificateRevoked));
    }

    [Test]
    public void Archive_refuses_document_from_a_certificate_revoked_for_key_compromise()
    {
        var now = DateTimeOffset.UtcNow;
        var (content, signature, leaf) = Signed("Agency compromised", signingTime: now.AddDays(-10));
        Pki.Issuing.Revoke(leaf, now.AddDays(-1), X509RevocationReason.KeyCompromise);

        Assert.That(Pki.Verifier().Verify(content, signature, SignaturePolicy.Archive).Reason, Is.EqualTo(ReasonCode.CertificateRevoked));
    }

    [Test]
    public void Fetches_crl_from_the_distribution_point_when_enabled()
    {
        var port = FreePort();
        var url = $"http://127.0.0.1:{port}/issuing.crl";
        var (content, signature, leaf) = Signed("Agency with CDP", new LeafOptions { CrlDistributionPoint = url });
        Pki.Issuing.Revoke(leaf);
        var crl = Pki.Issuing.Crl();
        var requests = 0;
        using var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{port}/");
        listener.Start();
        _ = Task.Run(async () =>
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (HttpListenerException)
                {
                    return;
                }
                catch (ObjectDisposedException)
                {
                    return;
                }

                Interlocked.Increment(ref requests);
                context.Response.ContentType = "application/pkix-crl";
                await context.Response.OutputStream.WriteAsync(crl);
                context.Response.Close();
            }
        });

        var options = new TrustOptions { FetchCrlDistributionPoints = true };
        var verifier = new SignatureVerifier(TrustStore.FromCertificates([Pki.Root.Public], crls: [Pki.Root.Crl()], options: options));

        var first = verifier.Verify(content, signature);
        var second = verifier.Verify(content, signature);

        Assert.That(first.Reason, Is.EqualTo(ReasonCode.CertificateRevoked), first.Detail);
        Assert.That(second.Reason, Is.EqualTo(ReasonCode.CertificateRevoked));
        Assert.That(requests, Is.EqualTo(1), "the fetched CRL is kept until its nextUpdate");
    }

    [Test]
    public void Does_not_fetch_crls_unless_enabled()
    {
        var (content, signature, _) = Signed("Agency with unreachable CDP", new LeafOptions { CrlDistributionPoint = "http://127.0.0.1:9/never.crl" });
        var verifier = new SignatureVerifier(TrustStore.FromCertificates([Pki.Root.Public], crls: [Pki.Root.Crl()]));

        var result = verifier.Verify(content, signature);

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.RevocationUnknown));
        Assert.That(result.Detail, Does.Not.Contain("download"));
    }

    [Test]
    public void Loads_trust_from_pem_and_der_files()
    {
        var folder = Directory.CreateTempSubdirectory("exchange-trust-").FullName;
        try
        {
            var anchor = Path.Combine(folder, "root.pem");
            File.WriteAllText(anchor, Pki.Root.Public.ExportCertificatePem());
            var issuing = Path.Combine(folder, "issuing.cer");
            File.WriteAllBytes(issuing, Pki.Issuing.Public.RawData);
            var crl1 = Path.Combine(folder, "issuing.crl");
            File.WriteAllBytes(crl1, Pki.Issuing.Crl());
            var crl2 = Path.Combine(folder, "root.crl.pem");
            File.WriteAllText(crl2, System.Security.Cryptography.PemEncoding.WriteString("X509 CRL", Pki.Root.Crl()));

            var store = TrustStore.Load(new TrustOptions { TrustAnchorFiles = [anchor], IntermediateFiles = [issuing], CrlFiles = [crl1, crl2] });

            Assert.That(store.Anchors.Single().Thumbprint, Is.EqualTo(Pki.Root.Certificate.Thumbprint));
            Assert.That(store.Intermediates, Has.Count.EqualTo(1));
            Assert.That(store.Crls, Has.Count.EqualTo(2));
            Assert.That(() => TrustStore.Load(new TrustOptions { TrustAnchorFiles = [Path.Combine(folder, "missing.pem")] }),
                Throws.InstanceOf<FileNotFoundException>().With.Message.Contains("missing.pem"));
        }
        finally
        {
            Directory.Delete(folder, true);
        }
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }
}
