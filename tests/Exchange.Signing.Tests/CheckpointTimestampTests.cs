using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using Exchange.Core;
using Exchange.Signing.Evidence;

namespace Exchange.Signing.Tests;

/// <summary>
/// RFC 3161 timestamps of evidence checkpoints (issue #16 item 12): the development PKI's timestamp authority, and
/// the check verify-log makes of a token, offline.
/// </summary>
public class CheckpointTimestampTests
{
    private string _folder = string.Empty;
    private DevPki _pki = null!;
    private DevTimestampAuthority _authority = null!;

    [OneTimeSetUp]
    public void CreatePki()
    {
        _folder = Path.Combine(Directory.CreateTempSubdirectory("exchange-tsa-").FullName, "pki");
        _pki = DevPki.LoadOrCreate(_folder, [("000.00.01.H29", "Sở Nội vụ")]);
        _authority = new DevTimestampAuthority(_pki);
    }

    [OneTimeTearDown]
    public void RemovePki() => Directory.Delete(Path.GetDirectoryName(_folder)!, recursive: true);

    private byte[] Stamp(byte[] data)
    {
        var request = Rfc3161TimestampRequest.CreateFromData(data, HashAlgorithmName.SHA256, nonce: RandomNumberGenerator.GetBytes(8), requestSignerCertificates: true);
        var token = request.ProcessResponse(_authority.Respond(request.Encode())!, out _);
        return token.AsSignedCms().Encode();
    }

    private IReadOnlyList<X509Certificate2> Anchors => [_pki.RootCertificate];

    [Test]
    public void The_timestamp_authority_certificate_has_only_the_critical_time_stamping_usage()
    {
        // RFC 3161 §2.3: "The corresponding certificate MUST contain only one instance of the extended key usage field
        // extension ... with KeyPurposeID having value id-kp-timeStamping. This extension MUST be critical."
        using var tsa = X509CertificateLoader.LoadCertificateFromFile(_pki.TimestampCertificatePath);
        var usage = tsa.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single();
        Assert.That(usage.Critical, Is.True);
        Assert.That(usage.EnhancedKeyUsages.Cast<Oid>().Select(o => o.Value), Is.EqualTo(new[] { CheckpointTimestamps.TimeStampingOid }));
    }

    [Test]
    public void A_token_over_a_checkpoint_signature_verifies_and_names_its_time_and_authority()
    {
        var signature = RandomNumberGenerator.GetBytes(300);
        var check = CheckpointTimestamps.Verify(Stamp(signature), signature, Anchors);
        Assert.That(check.Valid, Is.True, check.Problem);
        Assert.That(check.Authority, Does.Contain("Timestamp Authority"));
        Assert.That(check.GenTime!.Value, Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(1)));
    }

    [Test]
    public void A_token_moved_to_another_checkpoint_is_refused()
    {
        // 1. A token for one checkpoint's signature verifies for it.
        var signature = RandomNumberGenerator.GetBytes(300);
        var token = Stamp(signature);
        Assert.That(CheckpointTimestamps.Verify(token, signature, Anchors).Valid, Is.True);

        // 2. The attack: present it as the timestamp of another checkpoint (a rewritten one).
        var other = RandomNumberGenerator.GetBytes(300);

        // 3. Refused: its message imprint is the SHA-256 of the first signature.
        var check = CheckpointTimestamps.Verify(token, other, Anchors);
        Assert.That(check.Valid, Is.False);
        Assert.That(check.Problem, Does.Contain("not over this checkpoint's signature"));
    }

    [Test]
    public void A_token_from_an_authority_outside_the_trust_anchors_is_refused()
    {
        var signature = RandomNumberGenerator.GetBytes(300);
        using var key = RSA.Create(2048);
        using var stranger = new CertificateRequest("CN=Someone else's root", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
            .CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        var check = CheckpointTimestamps.Verify(Stamp(signature), signature, [stranger]);
        Assert.That(check.Valid, Is.False);
        Assert.That(check.Problem, Does.Contain("does not chain to a trust anchor"));
    }

    [Test]
    public void Garbage_is_not_a_token()
    {
        var check = CheckpointTimestamps.Verify([0x30, 0x03, 0x02, 0x01, 0x00], [1, 2, 3], Anchors);
        Assert.That(check.Valid, Is.False);
        Assert.That(check.Problem, Is.EqualTo("not an RFC 3161 timestamp token"));
    }

    [Test]
    public void An_anchor_file_round_trips_the_exact_signed_bytes_and_refuses_other_formats()
    {
        var sealedAt = new DateTimeOffset(2027, 3, 1, 8, 15, 10, TimeSpan.Zero).AddTicks(10);
        var anchor = new ChainAnchor(new SignedCheckpoint(new EvidenceCheckpoint(42, new string('a', 64), sealedAt), [1, 2, 3], [4, 5]), "gateway X", [9, 9]);
        var parsed = ChainAnchor.Parse(anchor.ToJson(), "file.json");
        Assert.That(parsed.Checkpoint.Checkpoint, Is.EqualTo(anchor.Checkpoint.Checkpoint));
        Assert.That(parsed.Checkpoint.Signature, Is.EqualTo(anchor.Checkpoint.Signature));
        Assert.That(parsed.TimestampToken, Is.EqualTo(anchor.TimestampToken));
        Assert.That(parsed.Source, Is.EqualTo("file.json (gateway X)"));
        Assert.Throws<FormatException>(() => ChainAnchor.Parse("""{"format":"something-else"}""", "x"));
        Assert.Throws<FormatException>(() => ChainAnchor.Parse("not json", "x"));
    }
}
