using System.Text.Json;
using System.Text.Json.Serialization;

namespace Exchange.Core;

/// <summary>The kind of an agency, which fixes its tier in the province → district → commune tree.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<AgencyKind>))]
public enum AgencyKind
{
    /// <summary>A ministry or central agency (level-1 code G..).</summary>
    Central,

    /// <summary>Ủy ban nhân dân of a province or centrally-run city.</summary>
    Province,

    /// <summary>A department (Sở, ngành) under the province.</summary>
    Department,

    /// <summary>Ủy ban nhân dân of a district, town or provincial city.</summary>
    District,

    /// <summary>Ủy ban nhân dân of a commune, ward or township.</summary>
    Commune,
}

public enum Tier
{
    Central = 0,
    Province = 1,
    District = 2,
    Commune = 3,
}

public static class TierNames
{
    /// <summary>The tier's stable lowercase name, as reports and metric tags show it.</summary>
    public static string Name(this Tier tier) => tier switch
    {
        Tier.Province => "province",
        Tier.District => "district",
        Tier.Commune => "commune",
        _ => "central",
    };

    /// <summary>The tier of <paramref name="code"/> in <paramref name="directory"/>, or "unknown" for a code it does not hold.</summary>
    public static string TierNameOf(this AgencyDirectory? directory, string? code) =>
        code is not null && directory?.Find(code) is { } agency ? agency.Tier.Name() : "unknown";
}

/// <summary>One agency of the directory. Certificates are the SHA-256 (lowercase hex) of the organisation
/// certificates the agency registered: binding a certificate to an agency is a directory fact, never a
/// guess from the subject name.</summary>
/// <param name="ValidFrom">When the agency starts to exist for routing (inclusive); null: always.</param>
/// <param name="ValidTo">When it stops (exclusive): abolished, or merged into <paramref name="Successor"/>. A retired
/// agency stays in the directory so that documents already on their way to it, and its receipts, are still judged
/// against its own certificates.</param>
/// <param name="Successor">The agency that took over when this one was merged: documents addressed to this code from
/// <paramref name="ValidTo"/> on go there, and the evidence records the code they were addressed to.</param>
/// <param name="Aliases">Other codes of the same agency (a code changed on renaming, an older registration).</param>
public sealed record Agency(
    string Code,
    string Name,
    AgencyKind Kind,
    string? Parent,
    IReadOnlyList<string> Certificates,
    DateTimeOffset? ValidFrom = null,
    DateTimeOffset? ValidTo = null,
    string? Successor = null,
    IReadOnlyList<string>? Aliases = null)
{
    public Tier Tier => Kind switch
    {
        AgencyKind.Central => Tier.Central,
        AgencyKind.Province or AgencyKind.Department => Tier.Province,
        AgencyKind.District => Tier.District,
        _ => Tier.Commune,
    };

    public bool IsActiveAt(DateTimeOffset at) => (ValidFrom is null || ValidFrom <= at) && (ValidTo is null || at < ValidTo);
}

/// <summary>The document form of a directory, as imported from a file and stored per version.</summary>
/// <param name="Hubs">The agencies that run a hub, when hubs are federated by tier: each hub serves its agency's
/// subtree except the subtrees of hubs below it. Empty: one hub serves everyone.</param>
public sealed record DirectoryDocument(IReadOnlyList<Agency> Agencies, IReadOnlyList<string>? Hubs = null)
{
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static DirectoryDocument Parse(string json) =>
        JsonSerializer.Deserialize<DirectoryDocument>(json, JsonOptions)
        ?? throw new FormatException("The directory document is empty.");

    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>
    /// What makes the document unusable as a directory, one line each; empty when it is sound. Codes are checked
    /// to be four-group codes in normal form (QCVN 102:2016), so every lookup can compare strings.
    /// </summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        var codes = new HashSet<string>(StringComparer.Ordinal);
        foreach (var agency in Agencies)
        {
            CheckCode(agency.Code, $"agency '{agency.Code}'");
            if (!codes.Add(agency.Code))
            {
                problems.Add($"'{agency.Code}' is listed twice.");
            }
        }

        var aliases = new HashSet<string>(StringComparer.Ordinal);
        foreach (var agency in Agencies)
        {
            foreach (var alias in agency.Aliases ?? [])
            {
                CheckCode(alias, $"alias '{alias}' of '{agency.Code}'");
                if (codes.Contains(alias) || !aliases.Add(alias))
                {
                    problems.Add($"Alias '{alias}' of '{agency.Code}' is already the code or alias of another agency.");
                }
            }

            if (agency.Parent is { } parent && !codes.Contains(parent))
            {
                problems.Add($"The parent '{parent}' of '{agency.Code}' is not in the directory.");
            }

            if (agency.Successor is { } successor && (!codes.Contains(successor) || successor == agency.Code))
            {
                problems.Add($"The successor '{successor}' of '{agency.Code}' is not another agency of the directory.");
            }

            if (agency.Successor is not null && agency.ValidTo is null)
            {
                problems.Add($"'{agency.Code}' names a successor but no validTo: the merge needs a date.");
            }

            if (agency.ValidFrom is { } from && agency.ValidTo is { } to && to <= from)
            {
                problems.Add($"'{agency.Code}' is valid to {to:O}, not after its validFrom {from:O}.");
            }
        }

        // The checks below walk the directory, which cannot be built while a code or an alias is listed twice.
        var allAliases = Agencies.SelectMany(a => a.Aliases ?? []).ToList();
        if (codes.Count != Agencies.Count || allAliases.Distinct(StringComparer.Ordinal).Count() != allAliases.Count)
        {
            return problems;
        }

        var directory = new AgencyDirectory(0, this);
        foreach (var agency in Agencies.Where(a => directory.Lineage(a.Code).Count() > codes.Count))
        {
            problems.Add($"The parents of '{agency.Code}' form a cycle.");
        }

        foreach (var hub in Hubs ?? [])
        {
            if (!codes.Contains(hub))
            {
                problems.Add($"Hub '{hub}' is not an agency of the directory.");
            }
        }

        if (Hubs is { Count: > 0 } && problems.Count == 0 && Hubs.Count(h => directory.ParentHub(h) is null) != 1)
        {
            problems.Add("Exactly one hub must be above all others: the top hub's agency must be an ancestor of every other hub's.");
        }

        return problems;

        void CheckCode(string code, string what)
        {
            if (!AgencyCode.TryParse(code, out var parsed, out var error) || parsed.Value != code)
            {
                problems.Add($"{ReasonCode.InvalidAgencyCode.ToCode()}: {what} ({(error.Length > 0 ? error : "not in normalised four-group form")}).");
            }
        }
    }
}

/// <summary>How an address named in a package came to a directory agency.</summary>
/// <param name="ResolvedFrom">The address as the package names it, when it is not the agency's own code: an alias, a
/// merged agency's old code, or a group.</param>
public sealed record ResolvedAgency(Agency Agency, string? ResolvedFrom);

/// <summary>An immutable, versioned view of the directory used to route one envelope.</summary>
public sealed class AgencyDirectory
{
    // A merge may be merged again (commune → ward → new ward); a longer chain is a mistake in the directory.
    private const int MaxSuccessorChain = 8;

    private readonly Dictionary<string, Agency> _byCode;
    private readonly Dictionary<string, Agency> _byAlias;

    public AgencyDirectory(long version, DirectoryDocument document)
    {
        Version = version;
        Document = document;
        _byCode = document.Agencies.ToDictionary(a => a.Code, StringComparer.Ordinal);
        _byAlias = document.Agencies
            .SelectMany(a => (a.Aliases ?? []).Select(alias => (alias, a)))
            .ToDictionary(p => p.alias, p => p.a, StringComparer.Ordinal);
        Hubs = document.Hubs ?? [];
    }

    public long Version { get; }

    public DirectoryDocument Document { get; }

    public IReadOnlyCollection<Agency> Agencies => _byCode.Values;

    /// <summary>The agencies that run a hub (federation by tier); empty when one hub serves everyone.</summary>
    public IReadOnlyList<string> Hubs { get; }

    /// <summary>Finds an agency by its normalised code (see AgencyCode), retired or not; aliases are not followed.</summary>
    public Agency? Find(string code) => _byCode.GetValueOrDefault(code);

    public IEnumerable<Agency> ChildrenOf(string code) =>
        _byCode.Values.Where(a => a.Parent == code).OrderBy(a => a.Code, StringComparer.Ordinal);

    /// <summary>Every agency below <paramref name="code"/>, at any depth, in code order.</summary>
    public IEnumerable<Agency> DescendantsOf(string code) =>
        _byCode.Values.Where(a => a.Code != code && IsWithin(a.Code, code)).OrderBy(a => a.Code, StringComparer.Ordinal);

    /// <summary>Whether <paramref name="code"/> is <paramref name="ancestor"/> or lies in its subtree.</summary>
    public bool IsWithin(string code, string ancestor) => Lineage(code).Any(a => a.Code == ancestor);

    /// <summary>The agency and its ancestors, nearest first.</summary>
    public IEnumerable<Agency> Lineage(string code)
    {
        // Parent links were checked for cycles on import (DirectoryDocument.Problems); the bound is a safety net.
        var depth = 0;
        for (var current = Find(code); current is not null && depth++ <= _byCode.Count; current = current.Parent is { } p ? Find(p) : null)
        {
            yield return current;
        }
    }

    /// <summary>Whether the directory binds a certificate (SHA-256 of its DER) to the agency.</summary>
    public bool IsBound(string code, string certificateSha256) =>
        Find(code) is { } agency && agency.Certificates.Contains(certificateSha256, StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The agency an address names at <paramref name="at"/>: its own code or an alias, then, when that agency was merged
    /// away by then, its successor. Refuses an unknown code (<see cref="ReasonCode.UnknownRecipient"/>) and an agency that
    /// does not exist at that time and has no successor (<see cref="ReasonCode.AgencyInactive"/>).
    /// </summary>
    public (ResolvedAgency? Agency, ReasonCode Reason, string Detail) Resolve(string code, DateTimeOffset at, bool followSuccessors = true)
    {
        string? resolvedFrom = null;
        var agency = Find(code);
        if (agency is null && _byAlias.TryGetValue(code, out agency))
        {
            resolvedFrom = code;
        }

        if (agency is null)
        {
            return (null, ReasonCode.UnknownRecipient, $"'{code}' is not in directory version {Version}.");
        }

        for (var hops = 0; ; hops++)
        {
            if (agency.ValidFrom is { } from && at < from)
            {
                return (null, ReasonCode.AgencyInactive, $"'{agency.Code}' exists only from {from:O} (directory version {Version}).");
            }

            if (agency.ValidTo is not { } to || at < to)
            {
                return (new ResolvedAgency(agency, resolvedFrom), ReasonCode.Ok, string.Empty);
            }

            if (!followSuccessors || agency.Successor is null || hops == MaxSuccessorChain || Find(agency.Successor) is not { } successor)
            {
                return (null, ReasonCode.AgencyInactive, $"'{agency.Code}' ceased to exist at {to:O}"
                    + (agency.Successor is { } s && followSuccessors ? $" and its successor chain through '{s}' does not end in an agency that exists now" : string.Empty)
                    + $" (directory version {Version}).");
            }

            resolvedFrom ??= code;
            agency = successor;
        }
    }

    /// <summary>
    /// The hub that serves an agency: the nearest agency at or above it that runs a hub, else the top hub (which serves
    /// agencies outside every hub's subtree, such as central agencies). Null when hubs are not federated.
    /// </summary>
    public string? ServingHub(string code) => Hubs.Count == 0 ? null : NearestHub(code) ?? TopHub;

    /// <summary>The one hub no other hub is above (DirectoryDocument.Problems checks there is exactly one).</summary>
    public string? TopHub => Hubs.FirstOrDefault(h => ParentHub(h) is null);

    /// <summary>The hub directly above a hub, or null for the top one.</summary>
    public string? ParentHub(string hub) => Find(hub)?.Parent is { } parent ? NearestHub(parent) : null;

    private string? NearestHub(string code) => Lineage(code).FirstOrDefault(a => Hubs.Contains(a.Code, StringComparer.Ordinal))?.Code;
}
