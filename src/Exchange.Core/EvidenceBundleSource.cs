namespace Exchange.Core;

/// <summary>
/// Everything an evidence bundle holds, as read from the hub (see docs/evidence.md): the envelopes with their
/// signed packages and receipts, every sealed record of those envelopes plus the records that link each of them
/// to the next signed checkpoint, those checkpoints, the newest checkpoint, and for each envelope the proof that its
/// newest record as of that checkpoint is the last one in the bundle. Pure data: the hub's store fills it, the bundle
/// writer turns it into a zip.
/// </summary>
public sealed record EvidenceBundleSource(
    IReadOnlyList<BundleEnvelope> Envelopes,
    IReadOnlyList<SealedEvidence> ChainRecords,
    IReadOnlyList<SignedCheckpoint> Checkpoints,
    IReadOnlyList<EnvelopeHeadProof> HeadProofs);

/// <summary>One envelope as the hub stored it: the package and signature bytes exactly as received.</summary>
public sealed record BundleEnvelope(
    Guid EnvelopeId,
    string SenderCode,
    string? DocumentId,
    string? Subject,
    string State,
    string Reason,
    string Detail,
    byte[] Package,
    byte[] Signature,
    string PackageSha256,
    string? SignerCertificateSha256,
    long? DirectoryVersion,
    DateTimeOffset SubmittedAt,
    DateTimeOffset ReceivedAt,
    IReadOnlyList<BundleDelivery> Deliveries);

/// <summary>One recipient's delivery, with its signed receipt when the recipient confirmed it.</summary>
public sealed record BundleDelivery(
    string RecipientCode,
    string State,
    DateTimeOffset ForwardedAt,
    DateTimeOffset? DeliveredAt,
    Guid? ReceiptId,
    byte[]? Receipt,
    byte[]? ReceiptSignature,
    string? FailureReason);
