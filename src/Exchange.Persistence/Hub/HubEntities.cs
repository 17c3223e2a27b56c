namespace Exchange.Persistence.Hub;

public sealed class DirectoryVersionRow
{
    public long Version { get; set; }
    public DateTimeOffset ImportedAt { get; set; }
    public required string SourceSha256 { get; set; }
    public required string Content { get; set; }
}

public static class EnvelopeStates
{
    public const string Accepted = "accepted";
    public const string Rejected = "rejected";
}

public sealed class EnvelopeRow
{
    public Guid EnvelopeId { get; set; }
    public required string SenderCode { get; set; }
    public string? DocumentId { get; set; }
    public string? Subject { get; set; }
    public required byte[] Package { get; set; }
    public required byte[] Signature { get; set; }
    public required string PackageSha256 { get; set; }

    /// <summary>Set when the package is stored in chunks (<see cref="PackageStore"/>, keyed by the envelope id) and <c>Package</c> is empty.</summary>
    public long? PackageLength { get; set; }

    public int? PackageChunks { get; set; }

    public string? SignerCertificateSha256 { get; set; }
    public string Signers { get; set; } = "[]";
    public long? DirectoryVersion { get; set; }
    public required string State { get; set; }
    public required string Reason { get; set; }
    public required string Detail { get; set; }
    public DateTimeOffset SubmittedAt { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
    public string? RelayedBy { get; set; }
    public string Trace { get; set; } = "[]";
    public List<DeliveryRow> Deliveries { get; set; } = [];
}

public static class DeliveryStates
{
    public const string Forwarded = "forwarded";
    public const string Delivered = "delivered";
    public const string Failed = "failed";
    public const string Expired = "expired";
}

public sealed class DeliveryRow
{
    public Guid EnvelopeId { get; set; }
    public required string RecipientCode { get; set; }
    public required string State { get; set; }
    public DateTimeOffset ForwardedAt { get; set; }
    public DateTimeOffset? DeliveredAt { get; set; }
    public Guid? ReceiptId { get; set; }
    public byte[]? Receipt { get; set; }
    public byte[]? ReceiptSignature { get; set; }
    public string? FailureReason { get; set; }
    public DateTimeOffset? DueAt { get; set; }
    public int Attempts { get; set; } = 1;
    public DateTimeOffset? HandedOverAt { get; set; }
    public string? ResolvedFrom { get; set; }
    public string? NextHop { get; set; }
}

public sealed class EvidenceRow
{
    public long Seq { get; set; }
    public Guid EvidenceId { get; set; }
    public required string Kind { get; set; }
    public Guid EnvelopeId { get; set; }
    public string? RecipientCode { get; set; }
    public required string Reason { get; set; }
    public required string Detail { get; set; }
    public string? PackageSha256 { get; set; }
    public required string Issuer { get; set; }
    public DateTimeOffset IssuedAt { get; set; }
}

public sealed class StatusRow
{
    public Guid StatusId { get; set; }
    public Guid EnvelopeId { get; set; }
    public required string ReporterCode { get; set; }
    public required string RecipientCode { get; set; }
    public short StatusCode { get; set; }
    public string? Description { get; set; }
    public DateTimeOffset StatusTime { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
    public required byte[] Package { get; set; }
    public required byte[] Signature { get; set; }
    public required string PackageSha256 { get; set; }
    public required string State { get; set; }
    public required string Reason { get; set; }
}

public static class SignatureValueKinds
{
    public const string Envelope = "envelope";
    public const string Status = "status";
}

/// <summary>One act of signing the hub has seen (hub.signature_values): a second use of it is a replay.</summary>
public sealed class SignatureValueRow
{
    public required string ValueSha256 { get; set; }
    public required string Kind { get; set; }
    public Guid MessageId { get; set; }
    public DateTimeOffset RecordedAt { get; set; }
}
