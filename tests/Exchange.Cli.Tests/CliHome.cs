using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Exchange.Cli.Tests.Support;
using Exchange.Signing;

namespace Exchange.Cli.Tests;

/// <summary>
/// One EXCHANGE_HOME for the whole run, under the test output folder: emptied when the run starts (not at its end,
/// so that a failed run leaves its files to inspect), then given a development PKI by a real `exchange pki init`
/// (key generation takes a few seconds, so it is done once) and a document signed by an agency of it.
/// </summary>
[SetUpFixture]
public sealed class CliHome
{
    /// <summary>An agency that stays in good standing.</summary>
    public const string Agency = "000.00.01.H29";
    public const string AgencyName = "Sở Nội vụ";

    /// <summary>An agency whose certificate the revocation test revokes; no other test uses it.</summary>
    public const string RevokedAgency = "000.00.02.H29";
    public const string RevokedAgencyName = "Sở Tài chính";

    private static string? _folder;
    private static ExchangeRun? _init;

    public static string Folder => _folder ?? throw new InvalidOperationException("The CLI test home is not set up.");

    public static string Pki => Path.Combine(Folder, "pki");

    /// <summary>The `exchange pki init` that created the PKI.</summary>
    internal static ExchangeRun Init => _init ?? throw new InvalidOperationException("The CLI test home is not set up.");

    /// <summary>A document and its detached signature by <see cref="Agency"/>, made with CmsSigner.</summary>
    public static string Document => Path.Combine(Folder, "document.xml");

    public static string Signature => Path.Combine(Folder, "document.p7s");

    /// <summary>A root CA that has issued nothing in this PKI.</summary>
    public static string OtherRoot => Path.Combine(Folder, "other-root.pem");

    [OneTimeSetUp]
    public void CreateHome()
    {
        var folder = Path.Combine(TestContext.CurrentContext.WorkDirectory, "cli-home");
        if (Directory.Exists(folder))
        {
            Directory.Delete(folder, recursive: true);
        }

        Directory.CreateDirectory(folder);
        _folder = folder;

        _init = ExchangeProgram.Run(folder, "pki", "init", "--agency", $"{Agency}={AgencyName}", "--agency", $"{RevokedAgency}={RevokedAgencyName}");
        Assert.That(_init.ExitCode, Is.Zero, $"exchange pki init failed: {_init}");

        var content = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<edXML><Subject>V/v triển khai Trục liên thông</Subject></edXML>\n"u8.ToArray();
        File.WriteAllBytes(Document, content);
        File.WriteAllBytes(Signature, Sign(Agency, content));

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=Unrelated Root CA, O=Elsewhere, C=VN", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var other = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddYears(1));
        File.WriteAllText(OtherRoot, other.ExportCertificatePem());
    }

    /// <summary>A detached CMS signature by an agency of the test PKI.</summary>
    public static byte[] Sign(string agency, byte[] content)
    {
        using var signer = DevPki.Load(Pki).AgencySigner(agency);
        return signer.SignDetached(content);
    }

    /// <summary>Runs `exchange` with this home.</summary>
    internal static ExchangeRun Run(params string[] arguments) => ExchangeProgram.Run(Folder, arguments);
}
