using System.Text.Json;

namespace Exchange.Core;

/// <summary>
/// What a recipient gateway signs when it has stored an envelope in its inbox. The serialised bytes are
/// what is signed and kept as evidence; they are produced once and never re-serialised.
/// </summary>
public sealed record DeliveryReceipt(
    Guid ReceiptId,
    Guid EnvelopeId,
    string SenderCode,
    string RecipientCode,
    string PackageSha256,
    DateTimeOffset ReceivedAt)
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Options);

    /// <summary>Parses receipt bytes; returns null when they are not a receipt.</summary>
    public static DeliveryReceipt? TryParse(ReadOnlySpan<byte> bytes)
    {
        try
        {
            return JsonSerializer.Deserialize<DeliveryReceipt>(bytes, Options);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
