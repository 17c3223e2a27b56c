namespace Exchange.Signing.Tests;

[NonParallelizable]
public class ExchangeHomeTests
{
    private string? _saved;

    [SetUp]
    public void SaveEnvironment() => _saved = Environment.GetEnvironmentVariable(ExchangeHome.EnvironmentVariable);

    [TearDown]
    public void RestoreEnvironment() => Environment.SetEnvironmentVariable(ExchangeHome.EnvironmentVariable, _saved);

    [Test]
    public void Uses_EXCHANGE_HOME_when_set()
    {
        Environment.SetEnvironmentVariable(ExchangeHome.EnvironmentVariable, "/tmp/some-exchange-home");

        Assert.That(ExchangeHome.Path, Is.EqualTo("/tmp/some-exchange-home"));
        Assert.That(ExchangeHome.Pki, Is.EqualTo("/tmp/some-exchange-home/pki"));
    }

    [Test]
    public void Defaults_to_local_folder_under_the_checkout_root()
    {
        Environment.SetEnvironmentVariable(ExchangeHome.EnvironmentVariable, null);
        var root = ExchangeHome.FindCheckoutRoot(AppContext.BaseDirectory);

        Assert.That(root, Is.Not.Null, "the tests run from inside the checkout");
        Assert.That(File.Exists(Path.Combine(root!, "Exchange.sln")), Is.True);
        Assert.That(ExchangeHome.Path, Is.EqualTo(Path.Combine(root!, ".local")));
    }

    [Test]
    public void Finds_no_checkout_root_outside_a_checkout()
    {
        Assert.That(ExchangeHome.FindCheckoutRoot(Path.GetPathRoot(Path.GetTempPath())!), Is.Null);
    }
}
