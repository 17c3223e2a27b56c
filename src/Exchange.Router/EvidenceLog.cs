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

    /// <summary>
    /// One RecipientResolution record per address of the To list that did not name its agency's own code: which
    /// agencies it was resolved to, under which directory version.
    /// </summary>
    public static void AddResolutionEvidence(this HubDbContext db, EnvelopeRow envelope, long directoryVersion, string issuer, DateTimeOffset at)
    {
        foreach (var address in envelope.Deliveries.Where(d => d.ResolvedFrom is not null).GroupBy(d => d.ResolvedFrom!))
        {
            var members = address.Select(d => d.RecipientCode).ToList();
            var what = RecipientGroup.LooksLikeGroup(address.Key) ? "Group" : "Address";
            db.AddEvidence(EvidenceKind.RecipientResolution, envelope.EnvelopeId, members.Count == 1 ? members[0] : null, ReasonCode.Ok,
                $"{what} '{address.Key}' resolved to {members.Count} agenc{(members.Count == 1 ? "y" : "ies")} under directory version {directoryVersion}: {string.Join(", ", members)}.",
                envelope.PackageSha256, issuer, at);
        }
    }
}
