using Exchange.Audit.Tests.Support;

namespace Exchange.Audit.Tests;

/// <summary>Removes the run's temporary PKI after every test of the assembly.</summary>
[SetUpFixture]
public sealed class RunCleanup
{
    [OneTimeTearDown]
    public void RemoveTestPki() => TestPki.Remove();
}
