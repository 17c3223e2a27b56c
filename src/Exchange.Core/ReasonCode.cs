namespace Exchange.Core;

/// <summary>
/// The closed set of outcomes that evidence, the gateway's problem responses and the CLI's exit codes share.
/// Each has a stable kebab-case string form (see <see cref="ReasonCodes"/>); never renumber or rename one,
/// only add new ones at the end.
/// </summary>
public enum ReasonCode
{
    Ok,

    // Signature and trust (RFC 5652, RFC 5280).
    Malformed,
    NoSignerCertificate,
    SignatureInvalid,
    UntrustedChain,
    CertificateExpired,
    CertificateRevoked,
    RevocationUnknown,
    KeyUsage,
    WeakAlgorithm,
    SignerNotBound,

    // Package and addressing (QCVN 102:2016).
    InvalidAgencyCode,
    PackageInvalid,
    UnknownSender,
    UnknownRecipient,
    SenderMismatch,
    RecipientMismatch,
    DuplicateEnvelopeId,
    TooLarge,

    // Callers of an HTTP API: the audit host's (docs/audit.md) and the gateway's (RFC 9457 problem responses).
    Unauthorized,
    Forbidden,
    NotFound,
    InvalidRequest,
    NotReady,

    // Directory and routing (docs/directory.md).
    AgencyInactive,
    RouteNotAllowed,

    // Dead letters (docs/operations.md, "Dead letters"): a message that kept failing, and what an operator did with it.
    ProcessingFailed,
    MessageResent,
    MessageDiscarded,

    // Hostile and malformed input (docs/security.md).
    ReplayedSignature,
    DuplicateRecipient,
    RecipientIsSender,
    ReceiptMismatch,

    // Packages stored in chunks (docs/performance.md, "Large documents"): chunks missing, or not the bytes announced.
    PackageIncomplete,
}

public static class ReasonCodes
{
    private static readonly Dictionary<ReasonCode, string> Names = Enum.GetValues<ReasonCode>()
        .ToDictionary(c => c, ToKebab);

    private static readonly Dictionary<string, ReasonCode> ByName = Names
        .ToDictionary(kv => kv.Value, kv => kv.Key, StringComparer.Ordinal);

    /// <summary>The stable string form, e.g. <c>signer-not-bound</c>.</summary>
    public static string ToCode(this ReasonCode code) => Names[code];

    public static bool TryParse(string? text, out ReasonCode code) =>
        ByName.TryGetValue(text ?? string.Empty, out code);

    public static ReasonCode Parse(string text) =>
        TryParse(text, out var code) ? code : throw new FormatException($"Unknown reason code '{text}'.");

    public static IReadOnlyCollection<string> All => ByName.Keys;

    private static string ToKebab(ReasonCode code)
    {
        var name = code.ToString();
        var chars = new System.Text.StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0)
            {
                chars.Append('-');
            }

            chars.Append(char.ToLowerInvariant(name[i]));
        }

        return chars.ToString();
    }
}
