namespace Exchange.Cli.Tests;

/// <summary>`exchange bench`: settings that cannot make a measurement are refused before any server is touched.</summary>
public sealed class BenchCommandTests
{
    [TestCase("large", "--size-mb", "0", "--size-mb")]
    [TestCase("throughput", "--routers", "0", "--routers")]
    [TestCase("throughput", "--routers", "9", "--routers")]
    [TestCase("latency", "--count", "0", "--count")]
    public void Refuses_settings_that_cannot_measure_with_exit_2(string scenario, string option, string value, string named)
    {
        var run = CliHome.Run("bench", scenario, option, value, "--json");

        Assert.That(run.ExitCode, Is.EqualTo(2), run.ToString());
        Assert.That(run.Error, Does.Contain(named));
        Assert.That(run.Output, Does.Not.Contain("\"scenario\""), "no result line");
    }
}
