using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Exchange.Signing;

/// <summary>
/// A signature built to make certification path search explode (RFC 4158 §2.4.2 loops), for the path-search
/// benchmark and the regression test: <c>loopKeys</c> CA keys, each certified under two names, "Loop CA A" and
/// "Loop CA B", each name issued by the other under every key (2·loopKeys² CA certificates, no key identifiers to
/// tell them apart), plus <c>decoys</c> certificates with the same names and unrelated keys, all carried in the CMS;
/// the signer certificate names "Loop CA A" as its issuer. (Two names rather than one because a self-issued
/// certificate is taken for a root and not carried.) No path reaches the trust anchor, so an unbounded depth-first search tries every
/// ordering of the loop. EC P-256 keys keep building it fast; nothing is written to disk.
/// </summary>
public sealed class PathSearchBombFixture
{
    private const string LoopNameA = "CN=Loop CA A, O=Exchange path bomb, C=VN";
    private const string LoopNameB = "CN=Loop CA B, O=Exchange path bomb, C=VN";

    private PathSearchBombFixture(byte[] content, byte[] signature, X509Certificate2 anchor, int carried)
    {
        Content = content;
        Signature = signature;
        Anchor = anchor;
        CarriedCertificates = carried;
    }

    public byte[] Content { get; }

    /// <summary>Detached CMS over <see cref="Content"/>, carrying the loop and decoy certificates.</summary>
    public byte[] Signature { get; }

    /// <summary>An unrelated root: what the verifier trusts.</summary>
    public X509Certificate2 Anchor { get; }

    public int CarriedCertificates { get; }

    public TrustStore CreateTrustStore() => TrustStore.FromCertificates([Anchor], options: new TrustOptions { AcceptUnknownRevocation = true });

    public static PathSearchBombFixture Create(int loopKeys = 8, int decoys = 20)
    {
        var now = DateTimeOffset.UtcNow;
        var nameA = new X500DistinguishedName(LoopNameA);
        var nameB = new X500DistinguishedName(LoopNameB);
        var keys = Enumerable.Range(0, loopKeys).Select(_ => ECDsa.Create(ECCurve.NamedCurves.nistP256)).ToList();
        var carried = new List<X509Certificate2>();
        try
        {
            foreach (var subjectKey in keys)
            {
                foreach (var issuerKey in keys)
                {
                    carried.Add(CaCertificate(nameA, subjectKey, nameB, issuerKey, now));
                    carried.Add(CaCertificate(nameB, subjectKey, nameA, issuerKey, now));
                }
            }

            for (var i = 0; i < decoys; i++)
            {
                using var decoyKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                using var decoyIssuer = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                carried.Add(i % 2 == 0
                    ? CaCertificate(nameA, decoyKey, nameB, decoyIssuer, now)
                    : CaCertificate(nameB, decoyKey, nameA, decoyIssuer, now));
            }

            using var anchorKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var anchorRequest = new CertificateRequest("CN=Path bomb trusted root, O=Exchange path bomb, C=VN", anchorKey, HashAlgorithmName.SHA256);
            anchorRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
            anchorRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
            using var anchor = anchorRequest.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));

            using var leafKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            var leafRequest = new CertificateRequest("CN=Path bomb agency, O=Exchange path bomb, C=VN", leafKey, HashAlgorithmName.SHA256);
            leafRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.NonRepudiation, true));
            using var leafPublic = leafRequest.Create(nameA, X509SignatureGenerator.CreateForECDsa(keys[0]), now.AddDays(-1), now.AddYears(1), RandomNumberGenerator.GetBytes(8));
            using var leaf = leafPublic.CopyWithPrivateKey(leafKey);

            var content = new byte[4096];
            new Random(20170101).NextBytes(content);
            using var signer = new CmsSigner(leaf, carried);
            var signature = signer.SignDetached(content);
            return new PathSearchBombFixture(content, signature, X509CertificateLoader.LoadCertificate(anchor.RawData), carried.Count);
        }
        finally
        {
            carried.ForEach(c => c.Dispose());
            keys.ForEach(k => k.Dispose());
        }
    }

    private static X509Certificate2 CaCertificate(X500DistinguishedName name, ECDsa subjectKey, X500DistinguishedName issuerName, ECDsa issuerKey, DateTimeOffset now)
    {
        // No subject or authority key identifier: nothing but a signature check tells these certificates apart.
        var request = new CertificateRequest(name, subjectKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.Create(issuerName, X509SignatureGenerator.CreateForECDsa(issuerKey), now.AddDays(-1), now.AddYears(1), RandomNumberGenerator.GetBytes(8));
    }
}
