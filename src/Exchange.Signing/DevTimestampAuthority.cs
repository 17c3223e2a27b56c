using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;
using Org.BouncyCastle.Tsp;
using Org.BouncyCastle.Utilities.Collections;
using Org.BouncyCastle.X509;

namespace Exchange.Signing;

/// <summary>
/// The development PKI's timestamp authority (RFC 3161): answers a DER TimeStampReq with a TimeStampResp signed by
/// <see cref="DevPki.TimestampPkcs12Path"/>, SHA-256, the TSA's and issuing CA's certificates included when asked. For
/// development and tests only: a real deployment points <c>Router:Evidence:TimestampUrl</c> at an independent
/// authority, since a TSA run by the hub's owner anchors nothing.
/// </summary>
public sealed class DevTimestampAuthority
{
    /// <summary>The TSA policy (RFC 3161 §2.4.2) this development authority names: an OID from a UUID arc (X.667),
    /// used nowhere else.</summary>
    public const string Policy = "2.25.169032138418733521553958934893557361811";

    private readonly TimeStampTokenGenerator _generator;

    public DevTimestampAuthority(DevPki pki)
    {
        ArgumentNullException.ThrowIfNull(pki);
        pki.EnsureTimestampAuthority();
        var collection = X509CertificateLoader.LoadPkcs12CollectionFromFile(pki.TimestampPkcs12Path, pki.Password, X509KeyStorageFlags.Exportable | X509KeyStorageFlags.EphemeralKeySet);
        try
        {
            var tsa = collection.Single(c => c.HasPrivateKey);
            using var rsa = tsa.GetRSAPrivateKey() ?? throw new InvalidOperationException("The timestamp authority's key is not RSA.");
            var key = DotNetUtilities.GetRsaKeyPair(rsa.ExportParameters(true)).Private;
            var parser = new X509CertificateParser();
            var certificate = parser.ReadCertificate(tsa.RawData);
            var issuing = collection.Where(c => !c.HasPrivateKey && c.Subject != c.Issuer).Select(c => parser.ReadCertificate(c.RawData));
            _generator = new TimeStampTokenGenerator(key, certificate, TspAlgorithms.Sha256, Policy);
            _generator.SetCertificates(CollectionUtilities.CreateStore(new[] { certificate }.Concat(issuing).ToList()));
        }
        finally
        {
            foreach (var c in collection)
            {
                c.Dispose();
            }
        }
    }

    /// <summary>The DER TimeStampResp for a DER TimeStampReq; null when the request cannot be read at all.</summary>
    public byte[]? Respond(byte[] request)
    {
        TimeStampRequest parsed;
        try
        {
            parsed = new TimeStampRequest(request);
        }
        catch (Exception e) when (e is IOException or ArgumentException or InvalidCastException or TspException)
        {
            return null;
        }

        // A random 128-bit serial: unique across restarts without state (RFC 3161 §2.4.2: unique per TSA).
        var serial = new BigInteger(1, RandomNumberGenerator.GetBytes(16));
        lock (_generator)
        {
            return new TimeStampResponseGenerator(_generator, TspAlgorithms.Allowed).Generate(parsed, serial, DateTime.UtcNow).GetEncoded();
        }
    }
}
