using System.Security.Cryptography;

namespace Exchange.Cli.Tests;

/// <summary>`exchange pki init` through the real program, in the test home (EXCHANGE_HOME). `pki revoke` is tested
/// with `verify` in <see cref="VerifyCommandTests"/>.</summary>
public class PkiCommandTests
{
    [Test]
    public void Init_creates_the_development_pki_layout()
    {
        // CliHome ran `exchange pki init --agency 000.00.01.H29=… --agency 000.00.02.H29=…` in an empty home.
        Assert.That(CliHome.Init.ExitCode, Is.Zero, CliHome.Init.ToString());
        Assert.That(CliHome.Init.Output, Does.Contain("Creating a development PKI").And.Contain(CliHome.Pki));

        var expected = new[]
        {
            "password", "root-ca.pem", "root-ca.p12", "issuing-ca.pem", "issuing-ca.p12", "root-ca.crl", "issuing-ca.crl", "crls.pem",
            "hub-seal.pem", "hub-seal.p12",
            $"agencies/{CliHome.Agency}.pem", $"agencies/{CliHome.Agency}.p12",
            $"agencies/{CliHome.RevokedAgency}.pem", $"agencies/{CliHome.RevokedAgency}.p12",
        };
        Assert.That(expected.Where(f => !File.Exists(Path.Combine(CliHome.Pki, f))), Is.Empty, "missing from the PKI folder");
        if (!OperatingSystem.IsWindows())
        {
            Assert.That(File.GetUnixFileMode(Path.Combine(CliHome.Pki, "password")), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
        }
    }

    [Test]
    public void A_second_init_changes_nothing()
    {
        var before = Snapshot();

        var run = CliHome.Run("pki", "init");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        Assert.That(run.Output, Does.Not.Contain("Creating").And.Not.Contain("Issuing the organisation certificate"), run.ToString());
        Assert.That(Snapshot(), Is.EqualTo(before));
    }

    [Test]
    public void Revoking_an_agency_without_a_certificate_exits_2()
    {
        var run = CliHome.Run("pki", "revoke", "000.00.99.H29");

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Error, Does.Contain("000.00.99.H29"));
    }

    /// <summary>Every file of the PKI folder (the lock file aside) with the SHA-256 of its bytes.</summary>
    private static Dictionary<string, string> Snapshot() =>
        Directory.EnumerateFiles(CliHome.Pki, "*", SearchOption.AllDirectories)
            .Where(f => Path.GetFileName(f) != ".lock")
            .ToDictionary(f => Path.GetRelativePath(CliHome.Pki, f), f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))), StringComparer.Ordinal);
}
