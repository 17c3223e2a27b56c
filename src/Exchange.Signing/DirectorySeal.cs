using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Exchange.Core;

namespace Exchange.Signing;

/// <summary>
/// The hub's signature over one directory version as its gateways receive it (docs/directory.md, "Signed snapshots"). Like
/// X-Road's signed global configuration, a gateway believes a directory only when the hub's sealing certificate, pinned in
/// the gateway's settings, signed it: a certificate that merely chains to a trusted CA will not do, since every agency's
/// organisation certificate does. The signature is a detached CMS (RFC 5652) over <see cref="SignedBytes"/>, which binds
/// the version number to the document, so an old version cannot be sent again under a newer number.
/// </summary>
public static class DirectorySeal
{
    private static readonly byte[] Label = "exchange-directory-snapshot/1\n"u8.ToArray();

    /// <summary>What is signed: a label, the version in decimal and a line feed, then the document's UTF-8 bytes as stored.</summary>
    public static byte[] SignedBytes(long version, ReadOnlySpan<byte> content)
    {
        var number = Encoding.ASCII.GetBytes(version.ToString(CultureInfo.InvariantCulture) + "\n");
        var bytes = new byte[Label.Length + number.Length + content.Length];
        Label.CopyTo(bytes, 0);
        number.CopyTo(bytes, Label.Length);
        content.CopyTo(bytes.AsSpan(Label.Length + number.Length));
        return bytes;
    }

    public static byte[] Sign(CmsSigner signer, long version, ReadOnlySpan<byte> content)
    {
        ArgumentNullException.ThrowIfNull(signer);
        return signer.SignDetached(SignedBytes(version, content));
    }

    /// <summary>
    /// Null when <paramref name="signature"/> is a valid signature over this version by a certificate whose SHA-256 is in
    /// <paramref name="pinnedSha256"/> (then <paramref name="signerSha256"/> is that certificate's); otherwise what is wrong, in words.
    /// </summary>
    public static string? Check(
        SignatureVerifier verifier, IReadOnlyCollection<string> pinnedSha256, long version, ReadOnlySpan<byte> content, byte[]? signature,
        out string? signerSha256)
    {
        signerSha256 = null;
        ArgumentNullException.ThrowIfNull(verifier);
        ArgumentNullException.ThrowIfNull(pinnedSha256);
        if (signature is not { Length: > 0 })
        {
            return "it is not signed (does the hub run with Router:SealPkcs12Path set?)";
        }

        var result = verifier.Verify(SignedBytes(version, content), signature);
        if (!result.Valid)
        {
            return $"its signature does not verify: {result.Reason.ToCode()}: {result.Detail}";
        }

        if (result.ValidSigners.FirstOrDefault(s => pinnedSha256.Contains(s.CertificateSha256, StringComparer.OrdinalIgnoreCase)) is { } hub)
        {
            signerSha256 = hub.CertificateSha256;
            return null;
        }

        var signers = string.Join("; ", result.ValidSigners.Select(s => $"{s.Subject} (sha256 {s.CertificateSha256})"));
        return $"it is signed by {signers}, not by the hub's sealing certificate this gateway pins";
    }

    /// <summary>The lowercase hex SHA-256 of the certificate in a PEM or DER file: how a sealing certificate is pinned.</summary>
    public static string CertificateSha256(string path)
    {
        using var certificate = X509CertificateLoader.LoadCertificateFromFile(path);
        return Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
    }
}
