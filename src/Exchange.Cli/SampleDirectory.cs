using Exchange.Core;

namespace Exchange.Cli;

/// <summary>The sample province of deploy/directory/sample-province.json: one city, three departments, two districts, four communes.</summary>
public static class SampleDirectory
{
    public const string Province = "000.00.00.H29";
    public const string HomeAffairs = "000.00.01.H29";
    public const string Finance = "000.00.02.H29";
    public const string BaDinhDistrict = "000.00.21.H29";
    public const string PhucXaWard = "000.01.21.H29";
    public const string HangBuomWard = "000.02.22.H29";
    public const string HoanKiemDistrict = "000.00.22.H29";
    public const string HangBacWard = "000.01.22.H29";

    /// <summary>A ward of the federated sample that the demo merges into <see cref="HangBuomWard"/>.</summary>
    public const string HangDaoWard = "000.03.22.H29";

    public static DirectoryDocument Load()
    {
        using var stream = typeof(SampleDirectory).Assembly.GetManifestResourceStream("sample-province.json")!;
        using var reader = new StreamReader(stream);
        return DirectoryDocument.Parse(reader.ReadToEnd());
    }

    /// <summary>
    /// The sample province with a hub for each district under the province's hub (federation by tier), and one more
    /// ward, <see cref="HangDaoWard"/>, for the demo to merge into a neighbour.
    /// </summary>
    public static DirectoryDocument Federated()
    {
        var sample = Load();
        return sample with
        {
            Agencies = [.. sample.Agencies, new Agency(HangDaoWard, "UBND Phường Hàng Đào", AgencyKind.Commune, HoanKiemDistrict, [])],
            Hubs = [Province, BaDinhDistrict, HoanKiemDistrict],
        };
    }
}
