using Exchange.Core;
using Exchange.Persistence.Hub;

namespace Exchange.Router;

internal static class EvidenceLog
{
    /// <summary>Adds an evidence record to the unit of work, so it commits with the state it proves.</summary>
    public static void AddEvidence(
        this HubDbContext db, EvidenceKind kind, Guid envelopeId, string? recipient, ReasonCode reason, string detail,
        string? packageSha256, string issuer, DateTimeOffset at) =>
        db.Evidence.Add(new EvidenceRow
        {
            EvidenceId = Guid.CreateVersion7(at),
            Kind = kind.ToString(),
            EnvelopeId = envelopeId,
            RecipientCode = recipient,
            Reason = reason.ToCode(),
            Detail = detail,
            PackageSha256 = packageSha256,
            Issuer = issuer,
            IssuedAt = at,
        });
}
