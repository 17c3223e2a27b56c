using System.Numerics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;

namespace Exchange.Signing;

/// <summary>
/// A development PKI (<c>exchange pki init</c>): a root CA, an issuing CA, one organisation certificate per agency,
/// a hub sealing certificate and the issuing CA's CRL, as files under one folder. Never for production: the CA keys
/// sit beside the certificates, protected only by a random password in a 0600 file.
/// <code>
/// pki/
///   password                 PKCS#12 password (0600)
///   root-ca.pem  root-ca.p12             RSA 3072, CA, the trust anchor
///   issuing-ca.pem  issuing-ca.p12       RSA 3072, CA pathlen 0, signs everything below
///   issuing-ca.crl  root-ca.crl          DER CRLs of both CAs (nextUpdate 30 days, renewed when half is gone)
///   crls.pem                             both CRLs in one PEM file: what verifiers load (CrlPath)
///   hub-seal.pem  hub-seal.p12           the hub's sealing certificate
///   agencies/CODE.pem  agencies/CODE.p12 RSA 2048 organisation certificates
///   rogue/NAME.p12                       certificates no agency registers (forged-sender tests)
/// </code>
/// Several processes may open the same folder: changes are made under an exclusive lock file.
/// </summary>
public sealed partial class DevPki
{
    private const string PasswordFile = "password";
    private const string RootName = "root-ca";
    private const string IssuingName = "issuing-ca";
    private const string HubName = "hub-seal";
    private const string AgenciesFolder = "agencies";
    private const string RogueFolder = "rogue";
    private const string LockFile = ".lock";
    private static readonly TimeSpan CrlLifetime = TimeSpan.FromDays(30);
    private static readonly TimeSpan CrlRenewBefore = TimeSpan.FromDays(15);

    private DevPki(string folder, string password)
    {
        Folder = folder;
        Password = password;
    }

    public string Folder { get; }

    /// <summary>PEM; the trust anchor.</summary>
    public string RootCertificatePath => Path.Combine(Folder, RootName + ".pem");

    /// <summary>PEM.</summary>
    public string IssuingCertificatePath => Path.Combine(Folder, IssuingName + ".pem");

    /// <summary>The current CRLs, PEM: the issuing CA's (agency and hub certificates) and the root's (the issuing
    /// CA itself), so that a fail-closed verifier can check every certificate of the chain. Always present; the
    /// lists are empty when nothing is revoked.</summary>
    public string CrlPath => Path.Combine(Folder, "crls.pem");

    /// <summary>The issuing CA's CRL alone (DER).</summary>
    public string IssuingCrlPath => Path.Combine(Folder, IssuingName + ".crl");

    /// <summary>The root CA's CRL alone (DER).</summary>
    public string RootCrlPath => Path.Combine(Folder, RootName + ".crl");

    /// <summary>The PKCS#12 password (random, stored in the folder with 0600 permissions).</summary>
    public string Password { get; }

    public string HubSealPkcs12Path => Path.Combine(Folder, HubName + ".p12");

    public string HubSealCertificatePath => Path.Combine(Folder, HubName + ".pem");

    /// <summary>The development timestamp authority's certificate with its key (RFC 3161 §2.3: extended key usage
    /// id-kp-timeStamping only, critical); made on first use by <see cref="EnsureTimestampAuthority"/>.</summary>
    public string TimestampPkcs12Path => Path.Combine(Folder, "tsa.p12");

    public string TimestampCertificatePath => Path.Combine(Folder, "tsa.pem");

    /// <summary>Issues the timestamp authority's certificate if this PKI has none yet (PKIs made before it existed).</summary>
    public void EnsureTimestampAuthority()
    {
        if (File.Exists(TimestampPkcs12Path))
        {
            return;
        }

        using var folderLock = AcquireLock(Folder);
        if (!File.Exists(TimestampPkcs12Path))
        {
            IssueLeaf(TimestampPkcs12Path, Subject("Exchange Timestamp Authority (development)", "TSA"), timeStamping: true);
        }
    }

    /// <summary>Codes of the agencies that have a certificate.</summary>
    public IReadOnlyList<string> AgencyCodes =>
        Directory.Exists(Path.Combine(Folder, AgenciesFolder))
            ? Directory.GetFiles(Path.Combine(Folder, AgenciesFolder), "*.p12").Select(f => Path.GetFileNameWithoutExtension(f)).Order(StringComparer.Ordinal).ToList()
            : [];

    /// <summary>Opens an existing PKI, creating it when missing, and issues certificates for agencies that lack one.</summary>
    public static DevPki LoadOrCreate(string folder, IEnumerable<(string Code, string Name)> agencies, IProgress<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(agencies);
        folder = Path.GetFullPath(folder);
        CreatePrivateFolder(folder);
        using (AcquireLock(folder))
        {
            string password;
            if (!File.Exists(Path.Combine(folder, IssuingName + ".p12")))
            {
                progress?.Report($"Creating a development PKI in {folder}");
                password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(18)).Replace('+', '-').Replace('/', '_');
                WritePrivate(Path.Combine(folder, PasswordFile), System.Text.Encoding.ASCII.GetBytes(password + "\n"));
                CreateAuthorities(folder, password, progress);
            }
            else
            {
                password = ReadPassword(folder);
            }

            var pki = new DevPki(folder, password);
            pki.RenewCrlIfDue();
            foreach (var (code, name) in agencies)
            {
                if (!pki.HasAgency(code))
                {
                    progress?.Report($"Issuing the organisation certificate of {code} ({name})");
                    pki.IssueAgency(code, name);
                }
            }

            return pki;
        }
    }

    /// <summary>Opens an existing PKI. Throws <see cref="DevPkiMissingException"/> when there is none.</summary>
    public static DevPki Load(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        folder = Path.GetFullPath(folder);
        if (!File.Exists(Path.Combine(folder, IssuingName + ".p12")) || !File.Exists(Path.Combine(folder, PasswordFile)))
        {
            throw new DevPkiMissingException(folder);
        }

        var pki = new DevPki(folder, ReadPassword(folder));
        if (pki.CrlDue())
        {
            using (AcquireLock(folder))
            {
                pki.RenewCrlIfDue();
            }
        }

        return pki;
    }

    public bool HasAgency(string agencyCode) => File.Exists(AgencyFile(agencyCode, ".p12"));

    public string AgencyPkcs12Path(string agencyCode)
    {
        var path = AgencyFile(agencyCode, ".p12");
        return File.Exists(path)
            ? path
            : throw new KeyNotFoundException($"The development PKI in '{Folder}' has no certificate for agency '{agencyCode}'. Run `exchange pki init --agency {agencyCode}=NAME` or the demo to add it.");
    }

    /// <summary>The agency's certificate (PEM path).</summary>
    public string AgencyCertificatePath(string agencyCode)
    {
        AgencyPkcs12Path(agencyCode);
        return AgencyFile(agencyCode, ".pem");
    }

    /// <summary>The agency's certificate, without its key: what the directory registers.</summary>
    public X509Certificate2 AgencyCertificate(string agencyCode) =>
        X509CertificateLoader.LoadCertificateFromFile(AgencyCertificatePath(agencyCode));

    public CmsSigner AgencySigner(string agencyCode) => CmsSigner.FromPkcs12(AgencyPkcs12Path(agencyCode), Password);

    public CmsSigner HubSigner() => CmsSigner.FromPkcs12(HubSealPkcs12Path, Password);

    public X509Certificate2 RootCertificate => X509CertificateLoader.LoadCertificateFromFile(RootCertificatePath);

    public X509Certificate2 IssuingCertificate => X509CertificateLoader.LoadCertificateFromFile(IssuingCertificatePath);

    /// <summary>Trust settings for this PKI: the root as anchor, the issuing CA's CRL.</summary>
    public TrustOptions CreateTrustOptions() => new()
    {
        TrustAnchorFiles = [RootCertificatePath],
        IntermediateFiles = [IssuingCertificatePath],
        CrlFiles = [CrlPath],
    };

    public TrustStore CreateTrustStore() => TrustStore.Load(CreateTrustOptions());

    /// <summary>Adds a certificate for an agency not yet in the PKI (no-op when it has one).</summary>
    public void EnsureAgency(string code, string name)
    {
        ValidateCode(code);
        using (AcquireLock(Folder))
        {
            if (!HasAgency(code))
            {
                IssueAgency(code, name);
            }
        }
    }

    /// <summary>A certificate from the same issuing CA that no agency registers (forged-sender tests and demo).
    /// Returns its PKCS#12 path (password <see cref="Password"/>).</summary>
    public string IssueRogueCertificate(string name)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        var slug = SlugPattern().Replace(name, "-").Trim('-');
        var path = Path.Combine(Folder, RogueFolder, (slug.Length == 0 ? "rogue" : slug) + ".p12");
        using (AcquireLock(Folder))
        {
            if (!File.Exists(path))
            {
                CreatePrivateFolder(Path.GetDirectoryName(path)!);
                IssueLeaf(path, Subject(name, "ROGUE"));
            }
        }

        return path;
    }

    /// <summary>Puts the agency's certificate on the issuing CA's CRL and re-issues the CRL.</summary>
    public void Revoke(string agencyCode)
    {
        var certificate = AgencyCertificate(agencyCode);
        using (AcquireLock(Folder))
        {
            WriteCrl(root: false, builder =>
            {
                builder.AddEntry(certificate, DateTimeOffset.UtcNow, X509RevocationReason.KeyCompromise);
            });
        }
    }

    /// <summary>Is the agency's certificate on the current CRL?</summary>
    public bool IsRevoked(string agencyCode)
    {
        var serial = AgencyCertificate(agencyCode).SerialNumberBytes;
        var builder = CertificateRevocationListBuilder.Load(File.ReadAllBytes(IssuingCrlPath), out _);
        return builder.RemoveEntry(serial.Span);
    }

    /// <summary>Re-issues the CRL now (same entries, next number, fresh nextUpdate).</summary>
    public void RenewCrl()
    {
        using (AcquireLock(Folder))
        {
            WriteCrl(root: true, _ => { });
            WriteCrl(root: false, _ => { });
        }
    }

    private static void CreateAuthorities(string folder, string password, IProgress<string>? progress)
    {
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);

        progress?.Report("Root CA (RSA 3072)");
        using var rootKey = RSA.Create(3072);
        var rootRequest = new CertificateRequest(Subject("Exchange Development Root CA", null), rootKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        rootRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        rootRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        rootRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(rootRequest.PublicKey, false));
        using var root = rootRequest.CreateSelfSigned(now, now.AddYears(20));

        progress?.Report("Issuing CA (RSA 3072)");
        using var issuingKey = RSA.Create(3072);
        var issuingRequest = new CertificateRequest(Subject("Exchange Development Issuing CA", null), issuingKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        issuingRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        issuingRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        issuingRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(issuingRequest.PublicKey, false));
        issuingRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(root, true, false));
        using var issuingPublic = issuingRequest.Create(root, now, now.AddYears(10), NewSerial());
        using var issuing = issuingPublic.CopyWithPrivateKey(issuingKey);

        WritePem(Path.Combine(folder, RootName + ".pem"), root);
        WritePrivate(Path.Combine(folder, RootName + ".p12"), root.Export(X509ContentType.Pkcs12, password));
        WritePem(Path.Combine(folder, IssuingName + ".pem"), issuing);
        WritePrivate(Path.Combine(folder, IssuingName + ".p12"), new X509Certificate2Collection { issuing, root }.Export(X509ContentType.Pkcs12, password)!);

        var pki = new DevPki(folder, password);
        pki.WriteCrl(root: true, _ => { });
        pki.WriteCrl(root: false, _ => { });

        progress?.Report("Hub sealing certificate (RSA 2048)");
        pki.IssueLeaf(pki.HubSealPkcs12Path, Subject("Exchange Hub Seal (development)", "HUB"));
    }

    private void IssueAgency(string code, string name)
    {
        ValidateCode(code);
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        CreatePrivateFolder(Path.Combine(Folder, AgenciesFolder));
        IssueLeaf(AgencyFile(code, ".p12"), Subject(name, code));
    }

    /// <summary>An organisation certificate: RSA 2048, digitalSignature + nonRepudiation, 2 years.</summary>
    private void IssueLeaf(string pkcs12Path, X500DistinguishedName subject, bool timeStamping = false)
    {
        using var issuing = LoadIssuing();
        using var root = RootCertificate;
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        var notAfter = now.AddYears(2) < issuing.NotAfter ? now.AddYears(2) : new DateTimeOffset(issuing.NotAfter.ToUniversalTime());

        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuing, true, false));
        if (timeStamping)
        {
            // RFC 3161 §2.3: a TSA's certificate has exactly one extended key usage, id-kp-timeStamping, critical.
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(new OidCollection { new Oid(Evidence.CheckpointTimestamps.TimeStampingOid) }, true));
        }

        using var certificate = request.Create(issuing, now, notAfter, NewSerial());
        using var withKey = certificate.CopyWithPrivateKey(key);
        using var issuingPublic = X509CertificateLoader.LoadCertificate(issuing.RawData);

        WritePem(Path.ChangeExtension(pkcs12Path, ".pem"), certificate);
        WritePrivate(pkcs12Path, new X509Certificate2Collection { withKey, issuingPublic, root }.Export(X509ContentType.Pkcs12, Password)!);
    }

    private X509Certificate2 LoadIssuing() =>
        X509CertificateLoader.LoadPkcs12FromFile(Path.Combine(Folder, IssuingName + ".p12"), Password, X509KeyStorageFlags.EphemeralKeySet);

    private bool CrlDue()
    {
        try
        {
            return !File.Exists(CrlPath) || new[] { IssuingCrlPath, RootCrlPath }.Any(path =>
            {
                var next = Internal.RevocationList.Parse(File.ReadAllBytes(path)).NextUpdate;
                return next is null || next.Value - DateTimeOffset.UtcNow < CrlRenewBefore;
            });
        }
        catch (Exception e) when (e is IOException or CryptographicException or System.Formats.Asn1.AsnContentException)
        {
            return true;
        }
    }

    private void RenewCrlIfDue()
    {
        if (CrlDue())
        {
            WriteCrl(root: true, _ => { });
            WriteCrl(root: false, _ => { });
        }
    }

    /// <summary>Re-issues the CRL from the current one's entries (RFC 5280 §5: increasing crlNumber).</summary>
    private void WriteCrl(bool root, Action<CertificateRevocationListBuilder> change)
    {
        var path = root ? RootCrlPath : IssuingCrlPath;
        CertificateRevocationListBuilder builder;
        BigInteger number = 0;
        if (File.Exists(path))
        {
            builder = CertificateRevocationListBuilder.Load(File.ReadAllBytes(path), out number);
        }
        else
        {
            builder = new CertificateRevocationListBuilder();
        }

        change(builder);
        using var ca = root
            ? X509CertificateLoader.LoadPkcs12FromFile(Path.Combine(Folder, RootName + ".p12"), Password, X509KeyStorageFlags.EphemeralKeySet)
            : LoadIssuing();
        var now = DateTimeOffset.UtcNow;
        var crl = builder.Build(ca, number + 1, now + CrlLifetime, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1, now.AddMinutes(-1));
        WriteAtomically(path, crl, private_: false);

        var pem = new System.Text.StringBuilder();
        foreach (var file in new[] { IssuingCrlPath, RootCrlPath }.Where(File.Exists))
        {
            pem.Append(PemEncoding.Write("X509 CRL", File.ReadAllBytes(file))).Append('\n');
        }

        WriteAtomically(CrlPath, System.Text.Encoding.ASCII.GetBytes(pem.ToString()), private_: false);
    }

    private string AgencyFile(string code, string extension)
    {
        ValidateCode(code);
        return Path.Combine(Folder, AgenciesFolder, code + extension);
    }

    private static void ValidateCode(string code)
    {
        if (string.IsNullOrEmpty(code) || code.Length > 64 || !CodePattern().IsMatch(code))
        {
            throw new ArgumentException($"'{code}' cannot name an agency certificate file (letters, digits, '.', '_' and '-' only).", nameof(code));
        }
    }

    /// <summary>C=VN, O=name, OU=code, CN=name. The OU is for people reading the certificate: which agency a certificate
    /// belongs to is what the directory registers, not what the subject says.</summary>
    private static X500DistinguishedName Subject(string name, string? code)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCountryOrRegion("VN");
        builder.AddOrganizationName(name);
        if (code is not null)
        {
            builder.AddOrganizationalUnitName(code);
        }

        builder.AddCommonName(name);
        return builder.Build();
    }

    private static byte[] NewSerial()
    {
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        serial[0] |= 0x10;
        return serial;
    }

    private static string ReadPassword(string folder) => File.ReadAllText(Path.Combine(folder, PasswordFile)).Trim();

    private static void WritePem(string path, X509Certificate2 certificate) =>
        WriteAtomically(path, System.Text.Encoding.ASCII.GetBytes(certificate.ExportCertificatePem() + "\n"), private_: false);

    private static void WritePrivate(string path, byte[] data) => WriteAtomically(path, data, private_: true);

    private static void WriteAtomically(string path, byte[] data, bool private_)
    {
        var temp = path + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = private_ ? UnixFileMode.UserRead | UnixFileMode.UserWrite
                : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        }

        using (var stream = new FileStream(temp, options))
        {
            stream.Write(data);
        }

        File.Move(temp, path, overwrite: true);
    }

    private static void CreatePrivateFolder(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
        }
        else
        {
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    /// <summary>An exclusive lock on the folder, shared with other processes through the lock file.</summary>
    private static FileStream AcquireLock(string folder)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                return new FileStream(Path.Combine(folder, LockFile), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(50);
            }
        }
    }

    [GeneratedRegex("^[A-Za-z0-9_-][A-Za-z0-9._-]*$")]
    private static partial Regex CodePattern();

    [GeneratedRegex("[^A-Za-z0-9._-]+")]
    private static partial Regex SlugPattern();
}

/// <summary>There is no development PKI in the folder: run <c>exchange pki init</c>.</summary>
public sealed class DevPkiMissingException : FileNotFoundException
{
    public DevPkiMissingException(string folder)
        : base($"No development PKI in '{folder}'. Run `exchange pki init` (or `exchange pki init --folder {folder}`) first.")
    {
        Folder = folder;
    }

    public DevPkiMissingException()
    {
        Folder = string.Empty;
    }

    public DevPkiMissingException(string message, Exception innerException)
        : base(message, innerException)
    {
        Folder = string.Empty;
    }

    public string Folder { get; }
}
