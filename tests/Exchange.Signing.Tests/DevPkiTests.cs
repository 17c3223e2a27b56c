using System.Security.Cryptography.X509Certificates;
using Exchange.Core;

namespace Exchange.Signing.Tests;

/// <summary>The development PKI behind `exchange pki`. One PKI is created for the fixture (key generation is the slow
/// part); tests that change it (revoke) use their own agency.</summary>
public class DevPkiTests
{
    private static readonly (string Code, string Name)[] Agencies =
    [
        ("000.00.00.H29", "UBND thành phố Hà Nội"),
        ("000.00.01.H29", "Sở Nội vụ"),
    ];

    private string _folder = string.Empty;
    private DevPki _pki = null!;

    [OneTimeSetUp]
    public void CreatePki()
    {
        _folder = Path.Combine(Directory.CreateTempSubdirectory("exchange-devpki-").FullName, "pki");
        _pki = DevPki.LoadOrCreate(_folder, Agencies);
    }

    [OneTimeTearDown]
    public void RemovePki() => Directory.Delete(Path.GetDirectoryName(_folder)!, recursive: true);

    [Test]
    public void Creates_the_root_issuing_crl_and_hub_seal_files()
    {
        Assert.That(File.Exists(_pki.RootCertificatePath) && File.Exists(_pki.IssuingCertificatePath) && File.Exists(_pki.CrlPath) && File.Exists(_pki.HubSealPkcs12Path), Is.True);
    }

    [Test]
    public void Builds_root_issuing_and_organisation_certificates_as_specified()
    {
        using var root = _pki.RootCertificate;
        using var issuing = _pki.IssuingCertificate;
        using var agency = _pki.AgencyCertificate("000.00.01.H29");

        Assert.Multiple(() =>
        {
            Assert.That(root.GetRSAPublicKey()!.KeySize, Is.GreaterThanOrEqualTo(3072));
            Assert.That(root.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority, Is.True);
            Assert.That(issuing.GetRSAPublicKey()!.KeySize, Is.EqualTo(3072));
            var issuingConstraints = issuing.Extensions.OfType<X509BasicConstraintsExtension>().Single();
            Assert.That(issuingConstraints.CertificateAuthority && issuingConstraints.HasPathLengthConstraint && issuingConstraints.PathLengthConstraint == 0, Is.True);
            Assert.That(agency.GetRSAPublicKey()!.KeySize, Is.EqualTo(2048));
            Assert.That(agency.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages,
                Is.EqualTo(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation));
            Assert.That(agency.SubjectName.Name, Does.Contain("O=Sở Nội vụ").And.Contain("CN=Sở Nội vụ").And.Contain("OU=000.00.01.H29"));
            Assert.That(agency.Issuer, Is.EqualTo(issuing.Subject));
        });
    }

    [Test]
    public void Keeps_the_password_and_keys_readable_by_the_owner_only()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.Ignore("Unix permissions");
            return;
        }

        var owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        Assert.That(File.GetUnixFileMode(Path.Combine(_folder, "password")), Is.EqualTo(owner));
        Assert.That(File.GetUnixFileMode(_pki.AgencyPkcs12Path("000.00.01.H29")), Is.EqualTo(owner));
        Assert.That(File.GetUnixFileMode(_pki.HubSealPkcs12Path), Is.EqualTo(owner));
        Assert.That(_pki.Password, Has.Length.GreaterThanOrEqualTo(20));
    }

    [Test]
    public void Signs_as_an_agency_and_verifies_against_its_own_trust()
    {
        var content = "Công văn số 123/UBND-VP"u8.ToArray();
        using var signer = _pki.AgencySigner("000.00.00.H29");
        var result = new SignatureVerifier(_pki.CreateTrustStore()).Verify(content, signer.SignDetached(content));

        Assert.That(result.Reason, Is.EqualTo(ReasonCode.Ok), result.Detail);
        Assert.That(result.Signers.Single().CertificateSha256, Is.EqualTo(signer.CertificateSha256));
    }

    [Test]
    public void Verifies_with_only_the_root_and_the_crl_file()
    {
        // What the hosts configure: Trust:TrustAnchorFiles = root, Trust:CrlFiles = CrlPath (the issuing CA comes in the CMS).
        var content = "Quyết định"u8.ToArray();
        using var hub = _pki.HubSigner();
        var store = TrustStore.Load(new TrustOptions { TrustAnchorFiles = [_pki.RootCertificatePath], CrlFiles = [_pki.CrlPath] });

        Assert.That(new SignatureVerifier(store).Verify(content, hub.SignDetached(content)).Reason, Is.EqualTo(ReasonCode.Ok));
    }

    [Test]
    public void Reuses_an_existing_folder_and_adds_only_missing_agencies()
    {
        var before = File.ReadAllBytes(_pki.AgencyPkcs12Path("000.00.00.H29"));
        var rootBefore = File.ReadAllBytes(_pki.RootCertificatePath);

        var again = DevPki.LoadOrCreate(_folder, [.. Agencies, ("000.00.02.H29", "Sở Tài chính")]);

        Assert.That(File.ReadAllBytes(again.AgencyPkcs12Path("000.00.00.H29")), Is.EqualTo(before));
        Assert.That(File.ReadAllBytes(again.RootCertificatePath), Is.EqualTo(rootBefore));
        Assert.That(again.HasAgency("000.00.02.H29"), Is.True);
        Assert.That(again.Password, Is.EqualTo(_pki.Password));
    }

    [Test]
    public void Ensures_an_agency_once()
    {
        _pki.EnsureAgency("000.00.03.H29", "Sở Y tế");
        var first = File.ReadAllBytes(_pki.AgencyPkcs12Path("000.00.03.H29"));
        _pki.EnsureAgency("000.00.03.H29", "Sở Y tế");

        Assert.That(File.ReadAllBytes(_pki.AgencyPkcs12Path("000.00.03.H29")), Is.EqualTo(first));
    }

    [Test]
    public void Revoking_an_agency_reissues_the_crl_and_verification_refuses()
    {
        _pki.EnsureAgency("000.00.09.H29", "Sở bị thu hồi");
        var content = "Báo cáo"u8.ToArray();
        using var signer = _pki.AgencySigner("000.00.09.H29");
        var signature = signer.SignDetached(content);
        var verifier = new SignatureVerifier(_pki.CreateTrustStore());
        Assert.That(verifier.Verify(content, signature).Reason, Is.EqualTo(ReasonCode.Ok));

        _pki.Revoke("000.00.09.H29");
        verifier.Trust.AddCrl(File.ReadAllBytes(_pki.CrlPath));

        Assert.That(_pki.IsRevoked("000.00.09.H29"), Is.True);
        Assert.That(_pki.IsRevoked("000.00.00.H29"), Is.False);
        Assert.That(verifier.Verify(content, signature).Reason, Is.EqualTo(ReasonCode.CertificateRevoked));
    }

    [Test]
    public void Issues_a_rogue_certificate_from_the_same_ca_that_no_agency_registers()
    {
        var path = _pki.IssueRogueCertificate("Phòng Tài chính giả mạo");
        using var rogue = CmsSigner.FromPkcs12(path, _pki.Password);
        var content = "Giả mạo"u8.ToArray();

        var result = new SignatureVerifier(_pki.CreateTrustStore()).Verify(content, rogue.SignDetached(content));

        // The chain is fine: what makes it a forgery is that the directory binds it to no agency (SignerNotBound).
        Assert.That(result.Reason, Is.EqualTo(ReasonCode.Ok));
        Assert.That(_pki.AgencyCodes.Select(c => _pki.AgencySigner(c).CertificateSha256), Does.Not.Contain(rogue.CertificateSha256));
    }

    [Test]
    public void Load_of_a_missing_pki_says_to_run_pki_init()
    {
        var missing = Path.Combine(Path.GetTempPath(), "exchange-no-pki-" + Guid.NewGuid().ToString("N"));

        Assert.That(() => DevPki.Load(missing), Throws.InstanceOf<DevPkiMissingException>().With.Message.Contains("exchange pki init"));
    }

    [Test]
    public void Refuses_unknown_agency_and_unsafe_codes()
    {
        Assert.That(() => _pki.AgencyPkcs12Path("999.99.99.X99"), Throws.InstanceOf<KeyNotFoundException>());
        Assert.That(() => _pki.EnsureAgency("../etc", "x"), Throws.ArgumentException);
    }

    [Test]
    public void Signer_includes_the_issuing_ca_but_not_the_root()
    {
        using var signer = _pki.AgencySigner("000.00.01.H29");
        var cms = new System.Security.Cryptography.Pkcs.SignedCms(new System.Security.Cryptography.Pkcs.ContentInfo([1, 2, 3]), detached: true);
        cms.Decode(signer.SignDetached([1, 2, 3]));

        using var issuing = _pki.IssuingCertificate;
        Assert.That(cms.Certificates.Select(c => c.Thumbprint), Is.EquivalentTo(new[] { signer.Certificate.Thumbprint, issuing.Thumbprint }));
    }
}
