namespace Exchange.Core;

/// <summary>
/// Evidence events, named after ETSI EN 319 522-1 (electronic registered delivery) so that an auditor
/// who knows that standard reads them without a glossary.
/// </summary>
public enum EvidenceKind
{
    /// <summary>The hub verified and accepted a submission.</summary>
    SubmissionAcceptance,

    /// <summary>The hub refused a submission; the reason code says why.</summary>
    SubmissionRejection,

    /// <summary>The recipient's gateway stored the envelope and returned a signed receipt that the hub verified.</summary>
    ContentConsignment,

    /// <summary>A receipt came back that the hub could not verify or match.</summary>
    ContentConsignmentFailure,

    /// <summary>A hub accepted an envelope handed over by another hub (parent or child) for onward routing.</summary>
    RelayAcceptance,

    /// <summary>A hub refused an envelope handed over by another hub; the reason code says why.</summary>
    RelayRejection,

    /// <summary>A hub could not hand an envelope over to the next hub (unreachable, refused, deadline passed).</summary>
    RelayFailure,

    /// <summary>The recipient's document system fetched the envelope from its gateway's inbox.</summary>
    ContentHandover,

    /// <summary>The delivery deadline passed without the recipient's acceptance or rejection.</summary>
    AcceptanceRejectionExpiry,

    /// <summary>
    /// The hub verified and forwarded a document status (edXML status package, QCVN 102:2016). ETSI EN 319 522
    /// has no event for a recipient's handling of content, so this one is Exchange's own.
    /// </summary>
    StatusReport,

    /// <summary>The hub refused a status package; the reason code says why.</summary>
    StatusRejection,

    /// <summary>
    /// The hub resolved an address of the package's To list to directory agencies: an alias or a merged agency's old
    /// code to the agency now answering for it, or a group to its members, under the directory version it names.
    /// </summary>
    RecipientResolution,

    /// <summary>
    /// A message for the hub kept failing (its retries spent, or a fault that cannot clear by retrying) and was moved
    /// to the hub's error queue, where an operator may re-send or discard it: not a decision about the document.
    /// Exchange's own event; ETSI EN 319 522 has none for a relay's internal fault.
    /// </summary>
    ProcessingFailed,

    /// <summary>An operator re-sent or discarded a message held in an error queue (<c>exchange dlq resend|discard</c>).</summary>
    OperatorAction,

    /// <summary>The recipient's document system said it could not take the envelope in from its gateway (ETSI EN 319 522 ContentHandoverFailure).</summary>
    ContentHandoverFailure,
}

public static class Digests
{
    /// <summary>Lowercase hex SHA-256, the one digest form used in evidence, receipts and bindings.</summary>
    public static string Sha256Hex(ReadOnlySpan<byte> data) =>
        Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data));
}
