namespace Exchange.Persistence.Gateway;

public static class OutboxStates
{
    /// <summary>Stored, not yet handed to the bus (the bus or hub may be down: it is sent when it is back).</summary>
    public const string Queued = "queued";
    public const string Submitted = "submitted";
    public const string Accepted = "accepted";
    public const string Rejected = "rejected";

    /// <summary>
    /// Not stored: what the API shows for a <see cref="Submitted"/> document whose reason is <c>processing-failed</c>,
    /// one the hub holds in its error queue until an operator re-sends or discards it.
    /// </summary>
    public const string Held = "held";
}

public sealed class OutboxRow
{
    public Guid EnvelopeId { get; set; }
    public required string DocumentId { get; set; }
    public required string Subject { get; set; }
    public required string[] Recipients { get; set; }
    public required byte[] Package { get; set; }
    public required byte[] Signature { get; set; }
    public required string PackageSha256 { get; set; }

    /// <summary>Set when the package is stored in chunks (<see cref="PackageStore"/>, keyed by the envelope id) and <c>Package</c> is empty.</summary>
    public long? PackageLength { get; set; }

    public int? PackageChunks { get; set; }

    public required string State { get; set; }
    public string? Reason { get; set; }
    public string? Detail { get; set; }
    public string? TraceParent { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>The caller's Idempotency-Key header, when it sent one; unique.</summary>
    public string? IdempotencyKey { get; set; }

    /// <summary>SHA-256 of the submitted request's parts, to tell a retry from a different request under the same key.</summary>
    public string? RequestSha256 { get; set; }

    public List<OutboxReceiptRow> Receipts { get; set; } = [];
}

public sealed class OutboxReceiptRow
{
    public Guid EnvelopeId { get; set; }
    public required string RecipientCode { get; set; }
    public Guid ReceiptId { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
    public DateTimeOffset ConfirmedAt { get; set; }
}

public sealed class InboxRow
{
    public Guid EnvelopeId { get; set; }
    public required string SenderCode { get; set; }
    public required string DocumentId { get; set; }
    public required string Subject { get; set; }
    public required byte[] Package { get; set; }
    public required byte[] Signature { get; set; }
    public required string PackageSha256 { get; set; }

    /// <summary>Set when the package is stored in chunks (<see cref="PackageStore"/>, keyed by the envelope id) and <c>Package</c> is empty.</summary>
    public long? PackageLength { get; set; }

    public int? PackageChunks { get; set; }

    public long DirectoryVersion { get; set; }
    public required string Trace { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }
    public Guid ReceiptId { get; set; }
    public required byte[] Receipt { get; set; }
    public required byte[] ReceiptSignature { get; set; }
    public DateTimeOffset? HandedOverAt { get; set; }
    public bool HandoverReported { get; set; }

    /// <summary>What the document system said of it through the national axis's protocol (<see cref="TakenStates"/>); null: nothing yet.</summary>
    public string? TakenState { get; set; }

    public DateTimeOffset? TakenAt { get; set; }

    /// <summary>Whether a <see cref="TakenStates.Fail"/> was reported to the hub.</summary>
    public bool FailureReported { get; set; }
}

/// <summary>
/// The states a document system gives an item it received through the national axis's protocol (<c>updateStatus</c>):
/// <see cref="Processing"/> keeps it listed; <see cref="Done"/> (taken in: the handover) and <see cref="Fail"/> (could not
/// be taken in) take it off the list.
/// </summary>
public static class TakenStates
{
    public const string Processing = "processing";
    public const string Done = "done";
    public const string Fail = "fail";

    public static IReadOnlyList<string> All { get; } = [Processing, Done, Fail];
}

public static class StatusDirections
{
    public const string Sent = "sent";
    public const string Received = "received";
}

public static class StatusStates
{
    public const string Queued = "queued";
    public const string Submitted = "submitted";
    public const string Accepted = "accepted";
    public const string Rejected = "rejected";
    public const string Received = "received";
}

public sealed class StatusRow
{
    public Guid StatusId { get; set; }
    public Guid EnvelopeId { get; set; }
    public required string Direction { get; set; }
    public required string ReporterCode { get; set; }
    public required string RecipientCode { get; set; }
    public short StatusCode { get; set; }
    public string? Description { get; set; }
    public DateTimeOffset StatusTime { get; set; }
    public required byte[] Package { get; set; }
    public required byte[] Signature { get; set; }
    public required string State { get; set; }
    public string? Reason { get; set; }
    public string? Detail { get; set; }
    public string? TraceParent { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>For a received status: what the document system said of it (<see cref="TakenStates"/>).</summary>
    public string? TakenState { get; set; }

    public DateTimeOffset? TakenAt { get; set; }
}

/// <summary>A recipient's document system took one of this agency's documents in, or could not (<see cref="Failure"/>).</summary>
public sealed class OutboxHandoverRow
{
    public Guid EnvelopeId { get; set; }
    public required string RecipientCode { get; set; }
    public DateTimeOffset HandedOverAt { get; set; }
    public string? Failure { get; set; }
}

public sealed class OutboxExpiryRow
{
    public Guid EnvelopeId { get; set; }
    public required string RecipientCode { get; set; }
    public DateTimeOffset DueAt { get; set; }
    public DateTimeOffset ExpiredAt { get; set; }
}

/// <summary>The roles a gateway API key may have (docs/operations.md, "Gateway API authentication").</summary>
public static class ApiClientRoles
{
    /// <summary>The agency's document system: submits, reads its documents and inbox, reports statuses.</summary>
    public const string Agency = "agency";

    /// <summary>Reads what the document system reads; writes nothing.</summary>
    public const string Auditor = "auditor";

    /// <summary>Runs the gateway: sees delivery states, never documents.</summary>
    public const string Operator = "operator";

    public static IReadOnlyList<string> All { get; } = [Agency, Auditor, Operator];
}

/// <summary>One API key of the gateway's HTTP API; only its SHA-256 is stored.</summary>
public sealed class ApiClientRow
{
    public Guid ClientId { get; set; }
    public required string Name { get; set; }
    public required string AgencyCode { get; set; }
    public required string Role { get; set; }
    public required byte[] KeySha256 { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>
/// A client of the national axis's protocol at this gateway (docs/national-axis.md): a document system that signs its
/// requests with an HMAC under <see cref="Secret"/>. The secret is stored because verifying an HMAC needs it.
/// </summary>
public sealed class VdxpClientRow
{
    public Guid ClientId { get; set; }
    public required string SystemId { get; set; }
    public required string Name { get; set; }
    public required string AgencyCode { get; set; }
    public required string Secret { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>A version of the hub's directory as this gateway received it (docs/directory.md, "Gateways' copy of the directory").</summary>
public sealed class DirectorySnapshotRow
{
    public long Version { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset ReceivedAt { get; set; }

    /// <summary>The directory document exactly as the hub signed it.</summary>
    public required string Content { get; set; }

    /// <summary>The hub's detached CMS over the version and the content (Exchange.Signing.DirectorySeal).</summary>
    public required byte[] Signature { get; set; }

    /// <summary>SHA-256 of the hub's sealing certificate that signed it.</summary>
    public required string SignerSha256 { get; set; }
}
