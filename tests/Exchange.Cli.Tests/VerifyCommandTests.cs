using System.Globalization;
using Exchange.Signing;

namespace Exchange.Cli.Tests;

/// <summary>
/// `exchange verify` through the real program: exit 0 for a valid signature, 1 for a refusal (with the reason code in
/// <c>--json</c>), 2 for a usage or I/O error. Trust comes from the test home's development PKI unless
/// <c>--trust-anchor</c> is given.
/// </summary>
public class VerifyCommandTests
{
    [Test]
    public void Exits_0_for_a_valid_signature()
    {
        var run = CliHome.Run("verify", "--content", CliHome.Document, "--signature", CliHome.Signature);

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(run.Output, Does.Contain("VALID"), run.ToString());
    }

    [Test]
    public void Json_last_line_reports_the_verdict_and_each_signer()
    {
        var run = CliHome.Run("verify", "--content", CliHome.Document, "--signature", CliHome.Signature, "--json");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var json = run.LastJsonLine();
        using var certificate = DevPki.Load(CliHome.Pki).AgencyCertificate(CliHome.Agency);
        var serial = Convert.ToHexString(certificate.SerialNumberBytes.Span.TrimStart((byte)0));
        Assert.Multiple(() =>
        {
            Assert.That(json.GetProperty("valid").GetBoolean(), Is.True);
            Assert.That(json.GetProperty("reason").GetString(), Is.EqualTo("ok"));
            var signer = json.GetProperty("signers").EnumerateArray().Single();
            Assert.That(signer.GetProperty("subject").GetString(), Does.Contain(CliHome.AgencyName).And.Contain(CliHome.Agency));
            Assert.That(signer.GetProperty("issuer").GetString(), Does.Contain("Exchange Development Issuing CA"));
            Assert.That(signer.GetProperty("serial").GetString(), Is.EqualTo(serial).IgnoreCase);
            Assert.That(signer.GetProperty("algorithm").GetString(), Is.EqualTo("sha256WithRSAEncryption"));
            Assert.That(DateTimeOffset.Parse(signer.GetProperty("signingTime").GetString()!, CultureInfo.InvariantCulture),
                Is.EqualTo(DateTimeOffset.UtcNow).Within(TimeSpan.FromMinutes(10)));
            Assert.That(signer.GetProperty("verdict").GetString(), Is.EqualTo("ok"));
        });
    }

    [Test]
    public void Exits_1_with_signature_invalid_when_one_byte_of_the_document_changes()
    {
        // 1. The document as signed verifies (Exits_0_for_a_valid_signature runs the same command).
        var content = File.ReadAllBytes(CliHome.Document);
        Assert.That(CliHome.Run("verify", "--content", CliHome.Document, "--signature", CliHome.Signature).ExitCode, Is.Zero);

        // 2. Change one byte of a copy.
        content[content.Length / 2] ^= 0x01;
        var tampered = Path.Combine(CliHome.Folder, "document-tampered.xml");
        File.WriteAllBytes(tampered, content);

        // 3. Refused for the right reason.
        var run = CliHome.Run("verify", "--content", tampered, "--signature", CliHome.Signature, "--json");
        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
        var json = run.LastJsonLine();
        Assert.That(json.GetProperty("valid").GetBoolean(), Is.False);
        Assert.That(json.GetProperty("reason").GetString(), Is.EqualTo("signature-invalid"), run.ToString());
    }

    [Test]
    public void Exits_1_with_certificate_revoked_after_pki_revoke()
    {
        var content = "<edXML><Subject>Báo cáo tài chính quý I</Subject></edXML>"u8.ToArray();
        var document = Path.Combine(CliHome.Folder, "revoked.xml");
        var signature = Path.Combine(CliHome.Folder, "revoked.p7s");
        File.WriteAllBytes(document, content);
        File.WriteAllBytes(signature, CliHome.Sign(CliHome.RevokedAgency, content));

        // 1. Verifies while the certificate is good.
        var before = CliHome.Run("verify", "--content", document, "--signature", signature);
        Assert.That(before.ExitCode, Is.Zero, before.ToString());

        // 2. Revoke it.
        var revoke = CliHome.Run("pki", "revoke", CliHome.RevokedAgency);
        Assert.That(revoke.ExitCode, Is.Zero, revoke.ToString());

        // 3. The same signature is now refused, and the signer's verdict says why.
        var after = CliHome.Run("verify", "--content", document, "--signature", signature, "--json");
        Assert.That(after.ExitCode, Is.EqualTo(1), after.ToString());
        var json = after.LastJsonLine();
        Assert.Multiple(() =>
        {
            Assert.That(json.GetProperty("reason").GetString(), Is.EqualTo("certificate-revoked"), after.ToString());
            Assert.That(json.GetProperty("signers")[0].GetProperty("verdict").GetString(), Is.EqualTo("certificate-revoked"));
        });
    }

    [Test]
    public void Exits_1_with_untrusted_chain_under_another_trust_anchor()
    {
        var run = CliHome.Run("verify", "--content", CliHome.Document, "--signature", CliHome.Signature, "--trust-anchor", CliHome.OtherRoot, "--json");

        Assert.That(run.ExitCode, Is.EqualTo(1), run.ToString());
        Assert.That(run.LastJsonLine().GetProperty("reason").GetString(), Is.EqualTo("untrusted-chain"), run.ToString());
    }

    [TestCase("missing content file", "--content", "{home}/no-such-document.xml", "--signature", "{signature}")]
    [TestCase("missing signature file", "--content", "{document}", "--signature", "{home}/no-such-signature.p7s")]
    [TestCase("no --signature", "--content", "{document}")]
    [TestCase("unknown option", "--content", "{document}", "--signature", "{signature}", "--no-such-option")]
    [TestCase("bad --policy", "--content", "{document}", "--signature", "{signature}", "--policy", "lenient")]
    public void Exits_2_for_a_usage_error(string what, params string[] arguments)
    {
        var run = CliHome.Run(["verify", .. arguments.Select(Expand)]);

        Assert.That(run.ExitCode, Is.EqualTo(2), $"{what}: {run}");
        Assert.That(run.Error, Is.Not.Empty, $"{what}: says what is wrong on standard error");
    }

    [Test]
    public void Usage_error_with_json_ends_with_an_error_object()
    {
        var run = CliHome.Run("verify", "--content", CliHome.Document, "--signature", CliHome.Signature, "--policy", "lenient", "--json");

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        var json = run.LastJsonLine();
        Assert.That(json.GetProperty("valid").GetBoolean(), Is.False);
        Assert.That(json.GetProperty("error").GetString(), Does.Contain("--policy"));
    }

    private static string Expand(string argument) => argument
        .Replace("{home}", CliHome.Folder, StringComparison.Ordinal)
        .Replace("{document}", CliHome.Document, StringComparison.Ordinal)
        .Replace("{signature}", CliHome.Signature, StringComparison.Ordinal);
}
