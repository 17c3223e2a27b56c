using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Exchange.ServiceDefaults.Tls;

namespace Exchange.ServiceDefaults.Tests;

/// <summary>Trusting a broker's or gateway's TLS certificate that a private CA issued.</summary>
public sealed class PrivateCaTrustTests
{
    private string _folder = null!;

    [SetUp]
    public void Folder() => _folder = Directory.CreateTempSubdirectory("exchange-ca-").FullName;

    private static X509Certificate2 Ca(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
    }

    private static X509Certificate2 Server(X509Certificate2 ca, string usageOid = "1.3.6.1.5.5.7.3.1")
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(System.Net.IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid(usageOid)], false));
        return request.Create(ca, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(10), RandomNumberGenerator.GetBytes(12));
    }

    private string Pem(params X509Certificate2[] certificates)
    {
        var path = Path.Combine(_folder, $"{Guid.NewGuid():N}.pem");
        File.WriteAllText(path, string.Concat(certificates.Select(c => c.ExportCertificatePem() + "\n")));
        return path;
    }

    [Test]
    public void Accepts_a_certificate_of_the_private_ca_that_the_system_does_not_know()
    {
        using var ca = Ca("Exchange test CA");
        using var server = Server(ca);
        var trust = PrivateCaTrust.FromPemFile(Pem(ca));

        Assert.That(trust.Validate(server, SslPolicyErrors.RemoteCertificateChainErrors), Is.True);
    }

    [Test]
    public void Refuses_a_certificate_of_another_ca_a_wrong_name_or_a_client_only_certificate()
    {
        using var ca = Ca("Exchange test CA");
        using var other = Ca("Someone else's CA");
        using var stranger = Server(other);
        using var clientOnly = Server(ca, "1.3.6.1.5.5.7.3.2");
        using var server = Server(ca);
        var trust = PrivateCaTrust.FromPemFile(Pem(ca));

        Assert.Multiple(() =>
        {
            Assert.That(trust.Validate(stranger, SslPolicyErrors.RemoteCertificateChainErrors), Is.False, "another CA");
            Assert.That(trust.Validate(server, SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateChainErrors), Is.False, "the name is always checked");
            Assert.That(trust.Validate(clientOnly, SslPolicyErrors.RemoteCertificateChainErrors), Is.False, "not for TLS servers");
            Assert.That(trust.Validate(null, SslPolicyErrors.RemoteCertificateNotAvailable), Is.False);
        });
    }

    [Test]
    public void A_ca_file_without_a_certificate_stops_the_host_with_its_name()
    {
        var empty = Path.Combine(_folder, "empty.pem");
        File.WriteAllText(empty, "not a certificate");

        var error = Assert.Throws<InvalidOperationException>(() => PrivateCaTrust.FromPemFile(empty));
        Assert.That(error!.Message, Does.Contain(empty));
        Assert.Throws<InvalidOperationException>(() => PrivateCaTrust.FromPemFile(Path.Combine(_folder, "missing.pem")));
    }
}
