using Exchange.Signing;

namespace Exchange.Audit.Tests.Support;

/// <summary>
/// One development PKI per test run, in a temporary folder, made on first use (key generation is the slow part):
/// a root, an issuing CA, the hub's sealing certificate and two agencies. <see cref="RunCleanup"/> removes it.
/// </summary>
public static class TestPki
{
    public const string Sender = "000.00.01.H29";
    public const string Recipient = "000.01.21.H29";

    private static readonly string Folder = Path.Combine(Path.GetTempPath(), $"exchange-audit-tests-{Guid.NewGuid():N}");

    private static readonly Lazy<DevPki> Lazy = new(() => DevPki.LoadOrCreate(Folder, [(Sender, "Sở Nội vụ"), (Recipient, "UBND phường Phúc Xá")]));

    public static DevPki Pki => Lazy.Value;

    /// <summary>A verifier trusting the PKI's root, with its CRLs.</summary>
    public static SignatureVerifier Verifier() => new(Pki.CreateTrustStore());

    internal static void Remove()
    {
        if (Lazy.IsValueCreated && Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }
    }
}
