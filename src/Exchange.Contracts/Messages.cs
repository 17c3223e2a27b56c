namespace Exchange.Contracts;

// Bus contracts. MassTransit matches messages on the full type name, so this namespace and these
// names are stable: evolve a record by adding nullable members; a breaking change is a new type.
// Routing facts (sender, recipients) are repeated here for logging and queue selection only; the
// router and recipient gateways read them from the signed package and refuse a disagreement.

/// <summary>A gateway asks its hub to route a signed package. Sent to the hub's queue.</summary>
public sealed record SubmitEnvelope(
    Guid EnvelopeId,
    string SenderCode,
    IReadOnlyList<string> RecipientCodes,
    byte[] Package,
    byte[] Signature,
    DateTimeOffset SubmittedAt,
    StoredPackage? Stored = null);

/// <summary>
/// A package too large to travel inside one message (over the sender's inline limit) travels as <see cref="PackageChunk"/>
/// messages ahead of the message that names it, which then carries an empty <c>Package</c> and this description. The
/// receiver stores the chunks once and reads them back as a stream; the SHA-256 is the sender's claim, checked against the
/// stored bytes before anything else (the same idea as the AS4 large-message split-and-join profile of eDelivery).
/// </summary>
public sealed record StoredPackage(long Length, int Chunks, string Sha256);

/// <summary>
/// One chunk (0-based <see cref="Index"/> of <see cref="Count"/>) of the package of envelope <see cref="PackageId"/>.
/// Sent to the same queue as the message that names the package, before it; storing a chunk twice stores it once.
/// <see cref="SenderCode"/> is the agency that sent the envelope: the first chunk binds the package id to it and to
/// <see cref="Count"/>, and a receiver stores no chunk for that id from anyone else, nor past that count
/// (docs/security.md, "Chunks belong to the sender that announced them"). A chunk without it is refused.
/// </summary>
public sealed record PackageChunk(Guid PackageId, int Index, int Count, byte[] Bytes, string? SenderCode = null);

/// <summary>
/// The hub hands a verified package to a recipient's gateway. Sent to the recipient's queue. <see cref="ResolvedFrom"/>
/// is the address in the package's To list that the hub resolved to this recipient (a group, an alias, a merged
/// agency's old code), when it is not the recipient's own code.
/// </summary>
public sealed record DeliverEnvelope(
    Guid EnvelopeId,
    string SenderCode,
    string RecipientCode,
    byte[] Package,
    byte[] Signature,
    long DirectoryVersion,
    IReadOnlyList<TraceEntry> Trace,
    string? ResolvedFrom = null,
    StoredPackage? Stored = null);

/// <summary>
/// One hub hands a verified envelope to the next hub on its way (federation by tier: province hub ↔ district hubs),
/// for the recipients routed through it. Sent to the next hub's relay queue, which only hubs reach (a shovel between
/// their virtual hosts). <see cref="RecipientCodes"/> repeats the package's To list; <see cref="Recipients"/> are the
/// agencies, already resolved by the first hub, that this hub now answers for.
/// </summary>
public sealed record RelayEnvelope(
    Guid EnvelopeId,
    string SenderCode,
    IReadOnlyList<string> RecipientCodes,
    byte[] Package,
    byte[] Signature,
    DateTimeOffset SubmittedAt,
    string FromHub,
    IReadOnlyList<RoutedRecipient> Recipients,
    IReadOnlyList<TraceEntry> Trace,
    StoredPackage? Stored = null);

/// <summary>A recipient agency of a relayed envelope, and the address it was resolved from (alias, old code, group).</summary>
public sealed record RoutedRecipient(string Code, string? ResolvedFrom);

/// <summary>One hop a package passed through; carried beside the signed bytes, never inside them.</summary>
public sealed record TraceEntry(string Hub, DateTimeOffset At, string Action);

/// <summary>
/// A recipient's gateway returns its signed delivery receipt to the hub. <see cref="Receipt"/> is the exact
/// canonical receipt document (see Exchange.Core.DeliveryReceipt); <see cref="ReceiptSignature"/> is a
/// detached CMS over it by the recipient's organisation certificate.
/// </summary>
public sealed record SubmitDeliveryReceipt(
    Guid EnvelopeId,
    string RecipientCode,
    Guid ReceiptId,
    byte[] Receipt,
    byte[] ReceiptSignature);

/// <summary>The hub accepted a submission. Sent to the sender's queue. <see cref="Checkpoint"/>: the newest signed
/// checkpoint of the hub's evidence chain, which the gateway keeps outside the hub (issue #16 item 12).</summary>
public sealed record EnvelopeAccepted(
    Guid EnvelopeId,
    string SenderCode,
    IReadOnlyList<string> RecipientCodes,
    long DirectoryVersion,
    DateTimeOffset AcceptedAt,
    HubCheckpoint? Checkpoint = null);

/// <summary>A signed checkpoint of the hub's evidence chain: its canonical bytes (exchange-evidence-checkpoint/1),
/// the hub's detached CMS (RFC 5652) over them, and the sealing certificate (DER).</summary>
public sealed record HubCheckpoint(byte[] Canonical, byte[] Signature, byte[] Certificate);

/// <summary>The hub refused a submission. Sent to the sender's queue; <see cref="Reason"/> is a stable reason code.</summary>
public sealed record EnvelopeRejected(
    Guid EnvelopeId,
    string SenderCode,
    string Reason,
    string Detail,
    DateTimeOffset RejectedAt);

/// <summary>A recipient confirmed delivery with a receipt the hub verified. Sent to the sender's queue.</summary>
public sealed record DeliveryConfirmed(
    Guid EnvelopeId,
    string SenderCode,
    string RecipientCode,
    Guid ReceiptId,
    DateTimeOffset ReceivedAt,
    DateTimeOffset ConfirmedAt);

/// <summary>
/// A recipient's gateway refused a delivery the hub sent it (its own verification failed, or the package is
/// not addressed to it). Sent to the hub's queue; the hub records ContentConsignmentFailure evidence.
/// </summary>
public sealed record ReportDeliveryFailure(
    Guid EnvelopeId,
    string RecipientCode,
    string Reason,
    string Detail);

/// <summary>
/// An agency reports a document status (edXML status package: 01..06, 13, 15, 16) about an envelope. Sent to
/// the hub's queue. <see cref="Package"/> is the signed status package; <see cref="Signature"/> a detached CMS
/// over it by the reporter's organisation certificate.
/// </summary>
public sealed record SubmitStatus(
    Guid StatusId,
    Guid EnvelopeId,
    string ReporterCode,
    string RecipientCode,
    byte[] Package,
    byte[] Signature,
    DateTimeOffset SubmittedAt);

/// <summary>The hub hands a verified status to the agency it is for. Sent to that agency's queue.</summary>
public sealed record DeliverStatus(
    Guid StatusId,
    Guid EnvelopeId,
    string ReporterCode,
    string RecipientCode,
    int StatusCode,
    byte[] Package,
    byte[] Signature);

/// <summary>The hub recorded and forwarded a status. Sent to the reporter's queue.</summary>
public sealed record StatusAccepted(Guid StatusId, Guid EnvelopeId, DateTimeOffset AcceptedAt);

/// <summary>The hub refused a status; <see cref="Reason"/> is a stable reason code. Sent to the reporter's queue.</summary>
public sealed record StatusRejected(Guid StatusId, Guid EnvelopeId, string Reason, string Detail, DateTimeOffset RejectedAt);

/// <summary>
/// A delivery missed its deadline and its retries: the hub recorded AcceptanceRejectionExpiry evidence. Sent to
/// the sender's queue. A receipt that comes later still records the delivery (and is confirmed as usual).
/// </summary>
public sealed record DeliveryExpired(
    Guid EnvelopeId,
    string SenderCode,
    string RecipientCode,
    DateTimeOffset DueAt,
    DateTimeOffset ExpiredAt);

/// <summary>
/// The recipient's document system fetched the package from its gateway's inbox (ETSI EN 319 522
/// ContentHandover). Sent to the hub's queue; the hub records the evidence once. With <see cref="Failure"/>, the
/// document system said it could not take the package in (the national axis's <c>updateStatus fail</c>) at
/// <see cref="HandedOverAt"/>: the hub records ContentHandoverFailure evidence, once, and no handover.
/// </summary>
public sealed record ReportHandover(Guid EnvelopeId, string RecipientCode, DateTimeOffset HandedOverAt, string? Failure = null);

/// <summary>
/// The hub recorded what the recipient's document system did with a document: took it in (ContentHandover), or could
/// not (<see cref="Failure"/> set: ContentHandoverFailure). Sent to the sender's queue, so that the sender's own document
/// system sees it (the national axis's getSentEdocList).
/// </summary>
public sealed record HandoverRecorded(Guid EnvelopeId, string SenderCode, string RecipientCode, DateTimeOffset HandedOverAt, string? Failure = null);

/// <summary>
/// The hub could not process a submission: a fault that its retries did not clear. The message waits in the hub's
/// error queue, where its operator may re-send it (it is then processed as usual, and <see cref="EnvelopeAccepted"/>
/// or <see cref="EnvelopeRejected"/> follows) or discard it (then <see cref="EnvelopeRejected"/> follows). Not a
/// final answer. Sent to the sender's queue; <see cref="Reason"/> is <c>processing-failed</c>.
/// </summary>
public sealed record EnvelopeHeld(
    Guid EnvelopeId,
    string SenderCode,
    string Reason,
    string Detail,
    DateTimeOffset HeldAt);

/// <summary>
/// A gateway asks its hub for the directory (the agencies, their parents, and the old codes of merged or renamed
/// agencies), which its document systems read through the national axis's protocol. Sent to the hub's queue, unsigned:
/// the broker login is its only authentication. <see cref="KnownVersion"/> is the newest version the gateway holds
/// (null: none); the hub answers only with a newer one.
/// </summary>
public sealed record RequestDirectory(string RequesterCode, long? KnownVersion);

/// <summary>
/// One directory version, from the hub. Sent to an agency's queue, in answer to <see cref="RequestDirectory"/> or when
/// the hub's directory changed. <see cref="Content"/> is the version's JSON document (UTF-8) as the hub stores it
/// (Exchange.Core.DirectoryDocument); <see cref="CreatedAt"/> is when that version was imported at the hub.
/// <see cref="Signature"/> is the hub's detached CMS over the version and the content (Exchange.Signing.DirectorySeal),
/// by its sealing certificate: a gateway believes no directory without it.
/// </summary>
public sealed record DirectorySnapshot(long Version, DateTimeOffset CreatedAt, byte[] Content, byte[] Signature);
