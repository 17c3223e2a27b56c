using System.Formats.Asn1;

namespace Exchange.Signing.Internal;

/// <summary>The signed attributes a verifier must check (RFC 5652 §5.3 and §11).</summary>
internal sealed class SignedAttributes
{
    public static readonly SignedAttributes None = new();

    public string? ContentType { get; private init; }
    public byte[] MessageDigest { get; private init; } = [];
    public DateTimeOffset? SigningTime { get; private init; }

    /// <summary>Null with an error when the attributes break RFC 5652 §5.3 (missing or repeated
    /// content-type/message-digest, values of the wrong type).</summary>
    public static SignedAttributes? Read(byte[]? der, out string error)
    {
        error = string.Empty;
        if (der is null)
        {
            return None;
        }

        string? contentType = null;
        byte[]? digest = null;
        DateTimeOffset? signingTime = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            var set = new AsnReader(der, AsnEncodingRules.BER).ReadSetOf(skipSortOrderValidation: true);
            while (set.HasData)
            {
                var attribute = set.ReadSequence();
                var type = attribute.ReadObjectIdentifier();
                var values = attribute.ReadSetOf(skipSortOrderValidation: true);
                attribute.ThrowIfNotEmpty();
                if (type is not (Oids.ContentTypeAttr or Oids.MessageDigestAttr or Oids.SigningTimeAttr))
                {
                    continue;
                }

                if (!seen.Add(type))
                {
                    error = $"the signed attribute {type} appears more than once (RFC 5652 §11)";
                    return null;
                }

                switch (type)
                {
                    case Oids.ContentTypeAttr:
                        contentType = values.ReadObjectIdentifier();
                        break;
                    case Oids.MessageDigestAttr:
                        digest = values.ReadOctetString();
                        break;
                    default:
                        signingTime = Der.ReadTime(values);
                        break;
                }

                if (values.HasData)
                {
                    error = $"the signed attribute {type} must have exactly one value (RFC 5652 §11)";
                    return null;
                }
            }
        }
        catch (AsnContentException e)
        {
            error = $"the signed attributes cannot be read: {e.Message}";
            return null;
        }

        if (contentType is null || digest is null)
        {
            error = "the signed attributes lack content-type or message-digest (RFC 5652 §5.3)";
            return null;
        }

        return new SignedAttributes { ContentType = contentType, MessageDigest = digest, SigningTime = signingTime };
    }
}
