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

    public static DirectoryDocument Load()
    {
        using var stream = typeof(SampleDirectory).Assembly.GetManifestResourceStream("sample-province.json")!;
        using var reader = new StreamReader(stream);
        return DirectoryDocument.Parse(reader.ReadToEnd());
    }
}
