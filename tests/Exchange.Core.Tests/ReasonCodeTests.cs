using Exchange.Core;

namespace Exchange.Core.Tests;

public sealed class ReasonCodeTests
{
    [TestCase(ReasonCode.Ok, "ok")]
    [TestCase(ReasonCode.NoSignerCertificate, "no-signer-certificate")]
    [TestCase(ReasonCode.SignerNotBound, "signer-not-bound")]
    [TestCase(ReasonCode.InvalidAgencyCode, "invalid-agency-code")]
    [TestCase(ReasonCode.DuplicateEnvelopeId, "duplicate-envelope-id")]
    [TestCase(ReasonCode.ProcessingFailed, "processing-failed")]
    [TestCase(ReasonCode.MessageResent, "message-resent")]
    [TestCase(ReasonCode.MessageDiscarded, "message-discarded")]

    [TestCase(ReasonCode.ReplayedSignature, "replayed-signature")]
    [TestCase(ReasonCode.DuplicateRecipient, "duplicate-recipient")]
    [TestCase(ReasonCode.RecipientIsSender, "recipient-is-sender")]
    [TestCase(ReasonCode.ReceiptMismatch, "receipt-mismatch")]
    public void Has_a_stable_kebab_case_form(ReasonCode code, string text)
    {
        Assert.That(code.ToCode(), Is.EqualTo(text));
        Assert.That(ReasonCodes.Parse(text), Is.EqualTo(code));
    }

    [Test]
    public void Every_code_round_trips_and_is_distinct()
    {
        var all = Enum.GetValues<ReasonCode>();

        Assert.That(all.Select(c => c.ToCode()).Distinct().Count(), Is.EqualTo(all.Length));
        Assert.That(all.Select(c => ReasonCodes.Parse(c.ToCode())), Is.EqualTo(all));
    }

    [Test]
    public void Refuses_unknown_text()
    {
        Assert.That(ReasonCodes.TryParse("Signature-Invalid", out _), Is.False);
        Assert.That(ReasonCodes.TryParse(null, out _), Is.False);
    }

    /// <summary>Issue #3 names these codes; evidence, HTTP problems and the CLI depend on them.</summary>
    [Test]
    public void Includes_every_code_the_trust_specification_names()
    {
        string[] required = ["ok", "malformed", "no-signer-certificate", "signature-invalid", "untrusted-chain", "certificate-expired",
            "certificate-revoked", "revocation-unknown", "key-usage", "weak-algorithm", "signer-not-bound"];

        Assert.That(ReasonCodes.All, Is.SupersetOf(required));
    }
}
