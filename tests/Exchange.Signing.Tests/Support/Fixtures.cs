using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using PkcsCmsSigner = System.Security.Cryptography.Pkcs.CmsSigner;

namespace Exchange.Signing.Tests.Support;

/// <summary>
/// One shared test PKI, built once per run (key generation is the slow part): a root, an issuing CA with
/// pathlen 0, and a default organisation certificate. Tests that revoke or otherwise spoil a certificate
/// make their own leaf.
/// </summary>
internal static class Pki
{
    private static readonly Lazy<TestCa> LazyRoot = new(() => TestCa.Root("Test Root CA"));
    private static readonly Lazy<TestCa> LazyIssuing = new(() => LazyRoot.Value.Intermediate("Test Issuing CA"));
    private static readonly Lazy<X509Certificate2> LazyAgency = new(() => LazyIssuing.Value.Leaf("Sở Nội vụ"));

    public static TestCa Root => LazyRoot.Value;

    public static TestCa Issuing => LazyIssuing.Value;

    /// <summary>A good organisation certificate (RSA 2048) issued by <see cref="Issuing"/>.</summary>
    public static X509Certificate2 Agency => LazyAgency.Value;

    public static IReadOnlyList<X509Certificate2> Chain => [Issuing.Public];

    /// <summary>A store trusting <see cref="Root"/>, with fresh CRLs of both CAs.</summary>
    public static TrustStore Store(TrustOptions? options = null) =>
        TrustStore.FromCertificates([Root.Public], crls: [Issuing.Crl(), Root.Crl()], options: options);

    public static SignatureVerifier Verifier(TrustOptions? options = null, TimeProvider? clock = null) => new(Store(options), clock);

    public static byte[] Document(int size = 4096, int seed = 1)
    {
        var content = new byte[size];
        new Random(seed).NextBytes(content);
        return content;
    }
}

/// <summary>A clock the test sets.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}

/// <summary>Signatures made by .NET's own CMS implementation (System.Security.Cryptography.Pkcs), a second
/// producer that is not ours.</summary>
internal static class DotNetCms
{
    public static byte[] Sign(
        byte[] content,
        X509Certificate2 signer,
        IEnumerable<X509Certificate2>? chain = null,
        Action<PkcsCmsSigner>? configure = null,
        bool detached = true,
        DateTimeOffset? signingTime = null)
    {
        var cms = new SignedCms(new ContentInfo(content), detached);
        var cmsSigner = CreateSigner(signer, chain, signingTime);
        configure?.Invoke(cmsSigner);
        cms.ComputeSignature(cmsSigner, silent: true);
        return cms.Encode();
    }

    public static PkcsCmsSigner CreateSigner(X509Certificate2 signer, IEnumerable<X509Certificate2>? chain = null, DateTimeOffset? signingTime = null)
    {
        var cmsSigner = new PkcsCmsSigner(SubjectIdentifierType.IssuerAndSerialNumber, signer)
        {
            IncludeOption = X509IncludeOption.EndCertOnly,
            DigestAlgorithm = new Oid("2.16.840.1.101.3.4.2.1"),
        };
        cmsSigner.Certificates.AddRange((chain ?? Pki.Chain).ToArray());
        cmsSigner.SignedAttributes.Add(new Pkcs9SigningTime((signingTime ?? DateTimeOffset.UtcNow).UtcDateTime));
        return cmsSigner;
    }

    /// <summary>Adds another SignerInfo to an existing signature.</summary>
    public static byte[] CoSign(byte[] content, byte[] signature, X509Certificate2 signer, IEnumerable<X509Certificate2>? chain = null)
    {
        var again = new SignedCms(new ContentInfo(content), detached: true);
        again.Decode(signature);
        again.ComputeSignature(CreateSigner(signer, chain), silent: true);
        return again.Encode();
    }
}

/// <summary>Runs the openssl command line in a scratch folder (signatures made by OpenSSL, a third producer).</summary>
internal sealed class OpenSsl : IDisposable
{
    private OpenSsl(string folder) => Folder = folder;

    public string Folder { get; }

    public static OpenSsl Create()
    {
        if (!Available.Value)
        {
            Assert.Ignore("the openssl command line is not installed");
        }

        var folder = Path.Combine(Path.GetTempPath(), "exchange-signing-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        return new OpenSsl(folder);
    }

    private static readonly Lazy<bool> Available = new(() =>
    {
        try
        {
            return Run(Path.GetTempPath(), "version").ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return false;
        }
    });

    /// <summary>Writes the certificate and its PKCS#8 key as PEM files; returns (cert, key) paths.</summary>
    public (string Cert, string Key) WriteSigner(X509Certificate2 certificate, string name)
    {
        var cert = Path.Combine(Folder, name + ".pem");
        var key = Path.Combine(Folder, name + ".key");
        File.WriteAllText(cert, certificate.ExportCertificatePem());
        AsymmetricAlgorithm privateKey = (AsymmetricAlgorithm?)certificate.GetRSAPrivateKey() ?? certificate.GetECDsaPrivateKey()!;
        File.WriteAllText(key, privateKey.ExportPkcs8PrivateKeyPem());
        return (cert, key);
    }

    public string WriteCertificates(string name, IEnumerable<X509Certificate2> certificates)
    {
        var path = Path.Combine(Folder, name + ".pem");
        File.WriteAllText(path, string.Concat(certificates.Select(c => c.ExportCertificatePem() + "\n")));
        return path;
    }

    public string WriteFile(string name, byte[] data)
    {
        var path = Path.Combine(Folder, name);
        File.WriteAllBytes(path, data);
        return path;
    }

    /// <summary>Runs <c>openssl cms -sign</c> with the given arguments and returns the DER output.</summary>
    public byte[] CmsSign(string contentPath, params string[] arguments)
    {
        var output = Path.Combine(Folder, Guid.NewGuid().ToString("N") + ".der");
        var result = Run(Folder, ["cms", "-sign", "-binary", "-in", contentPath, "-outform", "DER", "-out", output, .. arguments]);
        Assert.That(result.ExitCode, Is.Zero, () => $"openssl cms -sign {string.Join(' ', arguments)} failed: {result.Error}");
        return File.ReadAllBytes(output);
    }

    public static (int ExitCode, string Output, string Error) Run(string folder, params string[] arguments)
    {
        var start = new ProcessStartInfo("openssl")
        {
            WorkingDirectory = folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, output.Result, error);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A leftover scratch folder under /tmp is harmless.
        }
    }
}

/// <summary>Finds the bytes a tamper test changes.</summary>
internal static class Tamper
{
    public static byte[] FlipAt(byte[] data, int index)
    {
        var copy = (byte[])data.Clone();
        copy[index] ^= 0x01;
        return copy;
    }

    /// <summary>The offset of <paramref name="needle"/> in <paramref name="haystack"/>; fails the test when absent.</summary>
    public static int Find(byte[] haystack, byte[] needle)
    {
        var index = haystack.AsSpan().IndexOf(needle);
        Assert.That(index, Is.GreaterThanOrEqualTo(0), "the bytes to tamper with were not found in the signature");
        return index;
    }
}
