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

/// <summary>One agency of the directory. Certificates are the SHA-256 (lowercase hex) of the organisation
/// certificates the agency registered: binding a certificate to an agency is a directory fact, never a
/// guess from the subject name.</summary>
public sealed record Agency(
    string Code,
    string Name,
    AgencyKind Kind,
    string? Parent,
    IReadOnlyList<string> Certificates)
{
    public Tier Tier => Kind switch
    {
        AgencyKind.Central => Tier.Central,
        AgencyKind.Province or AgencyKind.Department => Tier.Province,
        AgencyKind.District => Tier.District,
        _ => Tier.Commune,
    };
}

/// <summary>The document form of a directory, as imported from a file and stored per version.</summary>
public sealed record DirectoryDocument(IReadOnlyList<Agency> Agencies)
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
}

/// <summary>An immutable, versioned view of the directory used to route one envelope.</summary>
public sealed class AgencyDirectory
{
    private readonly Dictionary<string, Agency> _byCode;

    public AgencyDirectory(long version, DirectoryDocument document)
    {
        Version = version;
        Document = document;
        _byCode = document.Agencies.ToDictionary(a => a.Code, StringComparer.Ordinal);
    }

    public long Version { get; }

    public DirectoryDocument Document { get; }

    public IReadOnlyCollection<Agency> Agencies => _byCode.Values;

    /// <summary>Finds an agency by its normalised code (see AgencyCode).</summary>
    public Agency? Find(string code) => _byCode.GetValueOrDefault(code);

    public IEnumerable<Agency> ChildrenOf(string code) =>
        _byCode.Values.Where(a => a.Parent == code).OrderBy(a => a.Code, StringComparer.Ordinal);

    /// <summary>Whether the directory binds a certificate (SHA-256 of its DER) to the agency.</summary>
    public bool IsBound(string code, string certificateSha256) =>
        Find(code) is { } agency && agency.Certificates.Contains(certificateSha256, StringComparer.OrdinalIgnoreCase);
}
