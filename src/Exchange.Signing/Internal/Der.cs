using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Text;

namespace Exchange.Signing.Internal;

/// <summary>Small helpers for DER/BER and PEM input.</summary>
internal static class Der
{
    /// <summary>Reads a UTCTime or GeneralizedTime (RFC 5280 §4.1.2.5 Time).</summary>
    public static DateTimeOffset ReadTime(AsnReader reader)
    {
        var tag = reader.PeekTag();
        if (tag.HasSameClassAndValue(Asn1Tag.UtcTime))
        {
            // RFC 5280: years 50..99 are 19xx, 00..49 are 20xx.
            return reader.ReadUtcTime(2049);
        }

        return reader.ReadGeneralizedTime();
    }

    /// <summary>The PEM blocks of <paramref name="data"/> with the given labels, or the data itself when it is not PEM.</summary>
    public static List<byte[]> PemOrDer(byte[] data, params string[] labels)
    {
        if (!LooksLikePem(data))
        {
            return [data];
        }

        var text = Encoding.ASCII.GetString(data).AsSpan();
        var blocks = new List<byte[]>();
        while (PemEncoding.TryFind(text, out var fields))
        {
            var label = text[fields.Label].ToString();
            if (labels.Length == 0 || labels.Contains(label, StringComparer.Ordinal))
            {
                blocks.Add(Convert.FromBase64String(text[fields.Base64Data].ToString()));
            }

            text = text[fields.Location.End..];
        }

        return blocks;
    }

    public static bool LooksLikePem(ReadOnlySpan<byte> data)
    {
        var i = 0;
        if (data.Length >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF)
        {
            i = 3;
        }

        while (i < data.Length && (data[i] == (byte)' ' || data[i] == (byte)'\r' || data[i] == (byte)'\n' || data[i] == (byte)'\t'))
        {
            i++;
        }

        return data[i..].StartsWith("-----BEGIN "u8);
    }

    /// <summary>Hex of a big-endian INTEGER's value, without sign-padding zeros, upper case (as X509Certificate2.SerialNumber).</summary>
    public static string SerialHex(ReadOnlySpan<byte> integerContents)
    {
        while (integerContents.Length > 1 && integerContents[0] == 0)
        {
            integerContents = integerContents[1..];
        }

        return Convert.ToHexString(integerContents);
    }
}
