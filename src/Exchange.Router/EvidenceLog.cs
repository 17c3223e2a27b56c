using Exchange.Core;
using Exchange.Persistence.Hub;

namespace Exchange.Router;

/// <summary>The one way evidence rows are written: by the hub's consumers, and by the operator's `exchange dlq` commands.</summary>
public static class EvidenceLog
{
    /// <summary>
    /// Longest detail kept in an evidence record, in characters. Details quote what senders sent, clipped
    /// (<see cref="Untrusted"/>); this is the backstop that keeps one record small whatever a detail grew to.
    /// </summary>
    public const int MaxDetail = 4000;

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
            RecipientCode = recipient is null ? null : Untrusted.Clip(recipient, 64),
            Reason = reason.ToCode(),
            Detail = Untrusted.Clip(detail, MaxDetail),
            PackageSha256 = packageSha256,
            Issuer = issuer,
            IssuedAt = at,
        };
        db.Evidence.Add(row);
        return row.EvidenceId;
    }

    /// <summary>
    /// RecipientResolution records for each address of the To list that did not name its agency's own code: which
    /// agencies it was resolved to, under which directory version. A group's members are listed 200 to a record, so
    /// a province-wide directive's expansion is kept whole under <see cref="MaxDetail"/>.
    /// </summary>
    public static void AddResolutionEvidence(this HubDbContext db, EnvelopeRow envelope, long directoryVersion, string issuer, DateTimeOffset at)
    {
        const int MembersPerRecord = 200;
        foreach (var address in envelope.Deliveries.Where(d => d.ResolvedFrom is not null).GroupBy(d => d.ResolvedFrom!))
        {
            var members = address.Select(d => d.RecipientCode).ToList();
            var what = RecipientGroup.LooksLikeGroup(address.Key) ? "Group" : "Address";
            var parts = members.Chunk(MembersPerRecord).ToList();
            for (var i = 0; i < parts.Count; i++)
            {
                var part = parts.Count == 1 ? string.Empty : $" (part {i + 1} of {parts.Count})";
                db.AddEvidence(EvidenceKind.RecipientResolution, envelope.EnvelopeId, members.Count == 1 ? members[0] : null, ReasonCode.Ok,
                    $"{what} '{address.Key}' resolved to {members.Count} agenc{(members.Count == 1 ? "y" : "ies")} under directory version {directoryVersion}{part}: {string.Join(", ", parts[i])}.",
                    envelope.PackageSha256, issuer, at);
            }
        }
    }
}
