using Exchange.Core;
using Exchange.Persistence.Hub;

namespace Exchange.Router;

/// <summary>The one way evidence rows are written: by the hub's consumers, and by the operator's `exchange dlq` commands.</summary>
public static class EvidenceLog
{
    /// <summary>Adds an evidence record to the unit of work, so it commits with the state it proves; returns its evidence id.</summary>
    public static Guid AddEvidence(
        this HubDbContext db, EvidenceKind kind, Guid envelopeId, string? recipient, ReasonCode reason, string detail,
        string? packageSha256, string issuer, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(db);
        var row = new EvidenceRow
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
        };
        db.Evidence.Add(row);
        return row.EvidenceId;
    }
}
