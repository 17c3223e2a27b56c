using Org.BouncyCastle.Cms;
using Org.BouncyCastle.X509;

namespace Exchange.Signing.Tests.Support;

/// <summary>
/// Reads a SignedData with BouncyCastle's CMS parser and verifies its one signer: an implementation that shares no code
/// with <see cref="CmsSigner"/> or with .NET's SignedCms.
/// </summary>
internal static class BouncyCastleCms
{
    /// <summary>What BouncyCastle saw in a SignedData whose one signature it checked.</summary>
    internal sealed record Reading(bool SignatureValid, string DigestAlgorithm, IReadOnlyList<string> SignedAttributes, IReadOnlyList<byte[]> CarriedCertificates, byte[]? Content);

    public static Reading Read(byte[] signedData, byte[]? detachedContent)
    {
        var cms = detachedContent is null ? new CmsSignedData(signedData) : new CmsSignedData(new CmsProcessableByteArray(detachedContent), signedData);
        var signer = cms.GetSignerInfos().GetSigners().Single();
        var certificates = cms.GetCertificates().EnumerateMatches(null).ToList();
        var signerCertificate = certificates.Single(c => signer.SignerID.Match(c));
        var content = detachedContent is null ? Encapsulated(cms) : null;
        return new Reading(
            Verifies(signer, signerCertificate),
            signer.DigestAlgorithmID.Algorithm.Id,
            signer.SignedAttributes.ToAttributes().GetAttributes().Select(a => a.AttrType.Id).ToList(),
            certificates.Select(c => c.GetEncoded()).ToList(),
            content);
    }

    private static byte[]? Encapsulated(CmsSignedData cms)
    {
        if (cms.SignedContent is null)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        cms.SignedContent.Write(buffer);
        return buffer.ToArray();
    }

    // BouncyCastle reports a bad signature value by false, and by an exception a content whose digest is not the signed
    // messageDigest or a certificate not valid at the signing time.
    private static bool Verifies(SignerInformation signer, X509Certificate certificate)
    {
        try
        {
            return signer.Verify(certificate);
        }
        catch (CmsException)
        {
            return false;
        }
    }

    private static bool Match(this SignerID id, X509Certificate certificate) =>
        id.Issuer.Equivalent(certificate.IssuerDN) && id.SerialNumber.Equals(certificate.SerialNumber);
}
