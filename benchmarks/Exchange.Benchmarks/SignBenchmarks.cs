using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using BenchmarkDotNet.Attributes;
using Exchange.Signing;
using CmsSigner = Exchange.Signing.CmsSigner;

namespace Exchange.Benchmarks;

/// <summary>
/// Signing a 10 KB document RSA-2048/SHA-256 (detached CMS, signed attributes content-type, message-digest and
/// signing-time, carrying the signer and issuing CA), one thread. The signer is loaded from PKCS#12 as the gateways
/// load it. Beside it: the private-key operation alone (the floor any CMS signer pays) and .NET's SignedCms making the
/// same structure.
/// </summary>
[MemoryDiagnoser]
public class SignBenchmarks
{
    private const int DocumentBytes = 10 * 1024;

    private byte[] _content = null!;
    private CmsSigner _signer = null!;
    private RSA _key = null!;
    private byte[] _digest = null!;
    private System.Security.Cryptography.Pkcs.CmsSigner _dotNetSigner = null!;

    [GlobalSetup]
    public void Setup()
    {
        var now = DateTimeOffset.UtcNow;
        using var caKey = RSA.Create(3072);
        var caRequest = new CertificateRequest("CN=Bench Issuing CA, O=Exchange bench, C=VN", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddYears(4));

        using var leafKey = RSA.Create(2048);
        var leafRequest = new CertificateRequest("CN=Bench Agency, OU=000.00.00.B00, O=Bench Agency, C=VN", leafKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        leafRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation, true));
        using var leafPublic = leafRequest.Create(ca, now.AddDays(-1), now.AddYears(1), RandomNumberGenerator.GetBytes(8));
        using var leaf = leafPublic.CopyWithPrivateKey(leafKey);

        // Through a PKCS#12 file, as DevPki and the gateways load their organisation certificate.
        var folder = Directory.CreateTempSubdirectory("exchange-bench-sign-").FullName;
        try
        {
            var path = Path.Combine(folder, "agency.p12");
            using var caPublic = X509CertificateLoader.LoadCertificate(ca.RawData);
            File.WriteAllBytes(path, new X509Certificate2Collection { leaf, caPublic }.Export(X509ContentType.Pkcs12, "bench")!);
            _signer = CmsSigner.FromPkcs12(path, "bench");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }

        _content = new byte[DocumentBytes];
        new Random(20170101).NextBytes(_content);
        _key = _signer.Certificate.GetRSAPrivateKey()!;
        _digest = SHA256.HashData(_content);
        _dotNetSigner = new System.Security.Cryptography.Pkcs.CmsSigner(_signer.Certificate) { IncludeOption = X509IncludeOption.None };
        _dotNetSigner.Certificates.Add(_signer.Certificate);
        foreach (var issuing in _signer.Chain)
        {
            _dotNetSigner.Certificates.Add(issuing);
        }

        _dotNetSigner.SignedAttributes.Add(new Pkcs9SigningTime(now.UtcDateTime));

        var check = new SignedCms(new ContentInfo(_content), detached: true);
        check.Decode(_signer.SignDetached(_content));
        check.CheckSignature(verifySignatureOnly: true);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _key.Dispose();
        _signer.Dispose();
    }

    [Benchmark(Baseline = true, Description = "Exchange CmsSigner.SignDetached (10 KB, RSA-2048)")]
    public byte[] Exchange() => _signer.SignDetached(_content);

    [Benchmark(Description = "RSA.SignHash alone (the private-key operation)")]
    public byte[] PrivateKeyOperation() => _key.SignHash(_digest, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);

    [Benchmark(Description = "SignedCms.ComputeSignature (same structure)")]
    public byte[] DotNetSignedCms()
    {
        var cms = new SignedCms(new ContentInfo(_content), detached: true);
        cms.ComputeSignature(_dotNetSigner);
        return cms.Encode();
    }
}
