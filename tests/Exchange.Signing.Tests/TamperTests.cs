using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Exchange.Core;
using Exchange.Signing.Tests.Support;

namespace Exchange.Signing.Tests;

/// <summary>
/// The tamper corpus. Each case starts from a detached signature made at test time by our <see cref="CmsSigner"/>
/// (RSA-2048, SHA-256, signed attributes, signer and issuing CA certificates), in numbered steps: 1. prove it
/// verifies, 2. change one byte (or cut the input), 3. prove it fails for the right reason.
/// </summary>
public class TamperTests
{
    private static readonly DateTimeOffset SigningTime = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddHours(-1).ToUnixTimeSeconds());

    private byte[] _content = [];
    private byte[] _signature = [];
    private SignatureVerifier _verifier = null!;

    [SetUp]
    public void SignFreshDocument()
    {
        _content = Pki.Document(10_000, seed: 7);
        using var signer = new CmsSigner(Pki.Agency, Pki.Chain);
        _signature = signer.SignDetached(_content, SigningTime);
        _verifier = Pki.Verifier();

        // Step 1 of every case: the untouched signature verifies.
        Assert.That(_verifier.Verify(_content, _signature).Reason, Is.EqualTo(ReasonCode.Ok));
    }

    [Test]
    public void Rejects_content_with_one_flipped_byte()
    {
        // 2. Flip one bit in the middle of the document.
        var content = Tamper.FlipAt(_content, _content.Length / 2);

        // 3. The message-digest attribute no longer matches.
        var result = _verifier.Verify(content, _signature);
        Assert.That(result.Reason, Is.EqualTo(ReasonCode.SignatureInvalid));
        Assert.That(result.Detail, Does.Contain("message-digest"));
    }

    [Test]
    public void Rejects_signed_attributes_with_a_changed_message_digest()
    {
        // 2. Flip one bit of the message-digest attribute's value (inside the signed attributes).
        var at = Tamper.Find(_signature, SHA256.HashData(_content));
        var signature = Tamper.FlipAt(_signature, at + 5);

        // 3. It matches neither the content nor the signature.
        Assert.That(_verifier.Verify(_content, signature).Reason, Is.EqualTo(ReasonCode.SignatureInvalid));
    }

    [Test]
    public void Rejects_signed_attributes_with_a_changed_signing_time()
    {
        // 2. Change one digit of the signing-time attribute (UTCTime yyMMddHHmmssZ, RFC 5652 §11.3).
        var utcTime = Encoding.ASCII.GetBytes(SigningTime.UtcDateTime.ToString("yyMMddHHmmss", CultureInfo.InvariantCulture) + "Z");
        var at = Tamper.Find(_signature, utcTime);
        var signature = Tamper.FlipAt(_signature, at + 11);

        // 3. The digest still matches the content, the signature over the attributes does not.
        var result = _verifier.Verify(_content, signature);
        Assert.That(result.Reason, Is.EqualTo(ReasonCode.SignatureInvalid));
        Assert.That(result.Detail, Does.Contain("signature value"));
    }

    [Test]
    public void Rejects_signature_value_with_one_flipped_byte()
    {
        // 2. The SignerInfo's signature OCTET STRING is the last field of the encoding (no unsigned attributes).
        var signature = Tamper.FlipAt(_signature, _signature.Length - 1);

        // 3.
        var result = _verifier.Verify(_content, signature);
        Assert.That(result.Reason, Is.EqualTo(ReasonCode.SignatureInvalid));
        Assert.That(result.Detail, Does.Contain("signature value"));
    }

    [Test]
    public void Rejects_signer_certificate_whose_ca_signature_was_changed()
    {
        // 2. Flip the last byte of the signer certificate (its CA signature): the key and serial stay the same.
        var at = Tamper.Find(_signature, Pki.Agency.RawData);
        var signature = Tamper.FlipAt(_signature, at + Pki.Agency.RawData.Length - 1);

        // 3. The CMS signature still checks with the key, but the certificate no longer chains to the root.
        var result = _verifier.Verify(_content, signature);
        Assert.That(result.Reason, Is.EqualTo(ReasonCode.UntrustedChain));
        Assert.That(result.Detail, Does.Contain("does not verify"));
    }

    [Test]
    public void Rejects_truncated_der()
    {
        // 2. Cut the last 100 bytes.
        var signature = _signature[..^100];

        // 3.
        Assert.That(_verifier.Verify(_content, signature).Reason, Is.EqualTo(ReasonCode.Malformed));
    }

    [Test]
    public void Rejects_der_with_trailing_garbage()
    {
        // 2. Append bytes after the ContentInfo.
        byte[] signature = [.. _signature, 0x00, 0x01];

        // 3.
        Assert.That(_verifier.Verify(_content, signature).Reason, Is.EqualTo(ReasonCode.Malformed));
    }

    [Test]
    public void Rejects_empty_input()
    {
        // 2. Nothing at all.
        var result = _verifier.Verify(_content, []);

        // 3.
        Assert.That(result.Reason, Is.EqualTo(ReasonCode.Malformed));
        Assert.That(result.Detail, Does.Contain("empty"));
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void Rejects_random_garbage(int seed)
    {
        // 2. Random bytes of a plausible size, once starting with a SEQUENCE tag to get past the first check.
        var garbage = new byte[1500];
        new Random(seed).NextBytes(garbage);
        if (seed == 3)
        {
            garbage[0] = 0x30;
            garbage[1] = 0x82;
            garbage[2] = 0x05;
            garbage[3] = 0xD8;
        }

        // 3.
        Assert.That(_verifier.Verify(_content, garbage).Reason, Is.EqualTo(ReasonCode.Malformed));
    }

    [Test]
    public void Refuses_every_single_flipped_byte_except_in_the_unsigned_digest_algorithm_hint()
    {
        // 2. Every byte of the encoding in turn (the content stays intact), each with a fresh verifier so that no
        //    cached chain hides a damaged CA certificate.
        var store = Pki.Store();
        var hint = DigestAlgorithmsSet(_signature);
        var accepted = new List<int>();
        for (var i = 0; i < _signature.Length; i++)
        {
            var result = new SignatureVerifier(store).Verify(_content, Tamper.FlipAt(_signature, i));
            if (result.Valid && !hint.Contains(i))
            {
                accepted.Add(i);
            }
        }

        // 3. No exception escaped, and only the SignedData.digestAlgorithms set, which RFC 5652 §5.1 makes a hint
        //    for one-pass processing (it may even be empty) and nothing signs, may change without a refusal.
        Assert.That(accepted, Is.Empty, $"accepted after flipping offsets {string.Join(", ", accepted.Take(20))}");
    }

    /// <summary>Offsets of the digestAlgorithms SET's contents in ContentInfo → [0] → SignedData.</summary>
    private static HashSet<int> DigestAlgorithmsSet(byte[] der)
    {
        var contentInfo = new System.Formats.Asn1.AsnReader(der, System.Formats.Asn1.AsnEncodingRules.DER).ReadSequence();
        contentInfo.ReadObjectIdentifier();
        var signedData = contentInfo.ReadSequence(new System.Formats.Asn1.Asn1Tag(System.Formats.Asn1.TagClass.ContextSpecific, 0, true)).ReadSequence();
        signedData.ReadInteger();
        var set = signedData.PeekEncodedValue();
        Assert.That(System.Runtime.InteropServices.MemoryMarshal.TryGetArray(set, out var segment), Is.True);
        return [.. Enumerable.Range(segment.Offset + 2, set.Length - 2)];
    }
}
