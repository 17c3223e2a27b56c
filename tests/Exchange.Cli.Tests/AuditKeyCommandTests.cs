using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Exchange.Cli.Tests;

/// <summary>`exchange audit key create`: a fresh key printed once, with the configuration lines that hold only its hash.</summary>
public sealed partial class AuditKeyCommandTests
{
    [GeneratedRegex(@"^API key .*: (exk_[A-Za-z0-9_-]{43})$", RegexOptions.Multiline)]
    private static partial Regex KeyLine();

    [Test]
    public void Prints_a_key_and_the_configuration_lines_with_its_sha256()
    {
        var run = CliHome.Run("audit", "key", "create", "--role", "agency", "--agency", "00.01.H29", "--index", "2");

        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        var key = KeyLine().Match(run.Output).Groups[1].Value;
        var sha = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));
        Assert.That(key, Is.Not.Empty, run.ToString());
        Assert.That(run.Output, Does.Contain($"Audit:Keys:2:Sha256={sha}"));
        Assert.That(run.Output, Does.Contain("Audit:Keys:2:Role=agency"));
        Assert.That(run.Output, Does.Contain("Audit:Keys:2:Agency=000.00.01.H29"), "the agency code normalised to four groups");
        Assert.That(Regex.Matches(run.Output, Regex.Escape(key)), Has.Count.EqualTo(1), "the key is printed once");
    }

    [Test]
    public void Two_runs_make_two_different_keys()
    {
        var first = KeyLine().Match(CliHome.Run("audit", "key", "create", "--role", "auditor").Output).Groups[1].Value;
        var second = KeyLine().Match(CliHome.Run("audit", "key", "create", "--role", "auditor").Output).Groups[1].Value;

        Assert.That(first, Is.Not.Empty);
        Assert.That(second, Is.Not.EqualTo(first));
    }

    [TestCase("--role", "agency")]
    [TestCase("--role", "auditor", "--agency", "000.00.01.H29")]
    [TestCase("--role", "agency", "--agency", "H29")]
    [TestCase("--role", "admin")]
    public void Refuses_a_key_that_could_not_work_with_exit_2(params string[] options)
    {
        var run = CliHome.Run(["audit", "key", "create", .. options]);

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Output, Does.Not.Contain("exk_"));
    }
}
