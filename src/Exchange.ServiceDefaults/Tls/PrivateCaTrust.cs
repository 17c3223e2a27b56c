using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace Exchange.ServiceDefaults.Tls;

/// <summary>
/// Checks a TLS server's certificate against a private CA (a PEM file of CA certificates) as well as the system's
/// trust store: what a deployment whose broker or gateway certificates come from its own CA needs, without
/// adding that CA to every machine's store. The host name is always checked: a certificate for another name
/// fails whatever its issuer (RFC 9110 §4.3.4 for HTTPS; the same rule for AMQPS).
/// </summary>
public sealed class PrivateCaTrust
{
    private readonly X509Certificate2Collection _anchors;

    private PrivateCaTrust(X509Certificate2Collection anchors) => _anchors = anchors;

    public int Count => _anchors.Count;

    /// <exception cref="InvalidOperationException">The file cannot be read or holds no certificate; the message names it.</exception>
    public static PrivateCaTrust FromPemFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var anchors = new X509Certificate2Collection();
        try
        {
            anchors.ImportFromPemFile(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
        {
            throw new InvalidOperationException($"Cannot read the CA certificate file {path}: {e.Message}", e);
        }

        return anchors.Count == 0
            ? throw new InvalidOperationException($"The CA certificate file {path} holds no PEM certificate.")
            : new PrivateCaTrust(anchors);
    }

    /// <summary>
    /// A <see cref="RemoteCertificateValidationCallback"/>'s answer: true when the system trusts the certificate,
    /// or when its only fault is a chain the system does not know and that chain ends at one of these CAs.
    /// Revocation is not checked for the private CA, which publishes no CRL.
    /// </summary>
    public bool Validate(X509Certificate? certificate, SslPolicyErrors errors)
    {
        if (errors == SslPolicyErrors.None)
        {
            return true;
        }

        if (certificate is null || errors != SslPolicyErrors.RemoteCertificateChainErrors)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_anchors);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1")); // id-kp-serverAuth (RFC 5280 §4.2.1.12)
        if (certificate is X509Certificate2 leaf)
        {
            return chain.Build(leaf);
        }

        using var copy = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(copy);
    }
}
