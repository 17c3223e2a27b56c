using Exchange.Core;
using Exchange.Persistence.Hub;

namespace Exchange.Router;

internal static class EvidenceLog
{
    /// <summary>
    /// Longest detail kept in an evidence record, in characters. Details quote what senders sent, clipped
    /// (<see cref="Untrusted"/>); this is the backstop that keeps one record small whatever a detail grew to.
    /// </summary>
    public const int MaxDetail = 4000;

    /// <summary>Adds an evidence record to the unit of work, so it commits with the state it proves.</summary>
    public static void AddEvidence(
        this HubDbContext db, EvidenceKind kind, Guid envelopeId, string? recipient, ReasonCode reason, string detail,
        string? packageSha256, string issuer, DateTimeOffset at) =>
        db.Evidence.Add(new EvidenceRow
        {
            EvidenceId = Guid.CreateVersion7(at),
            Kind = kind.ToString(),
            EnvelopeId = envelopeId,
            RecipientCode = recipient is null ? null : Untrusted.Clip(recipient, 64),
            Reason = reason.ToCode(),
            Detail = Untrusted.Clip(detail, MaxDetail),
            PackageSha256 = packageSha256,
            Issuer = issuer,
            IssuedAt = at,
        });
}
