using System.CommandLine;
using System.Text.Json;
using Exchange.Cli;
using Exchange.Cli.Commands;
using Exchange.Core;

namespace Exchange.IntegrationTests;

/// <summary>`exchange directory import|merge|reparent|list` against a hub database of its own on the real PostgreSQL.</summary>
[TestFixture]
[NonParallelizable]
public sealed class DirectoryCommandTests
{
    private string? _previousPrefix;
    private string _folder = null!;

    [SetUp]
    public void OwnHubDatabase()
    {
        // The CLI finds the hub's database by EXCHANGE_PREFIX, like every other command.
        _previousPrefix = Environment.GetEnvironmentVariable("EXCHANGE_PREFIX");
        Environment.SetEnvironmentVariable("EXCHANGE_PREFIX", $"{Servers.RunPrefix}{Guid.NewGuid().ToString("N")[..6]}-");
        _folder = Directory.CreateTempSubdirectory("exchange-directory-").FullName;
    }

    [TearDown]
    public void Restore() => Environment.SetEnvironmentVariable("EXCHANGE_PREFIX", _previousPrefix);

    private static async Task<(int Exit, string Output)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var (original, originalError) = (Console.Out, Console.Error);
        Console.SetOut(output);
        Console.SetError(output);
        try
        {
            var exit = await new RootCommand { DirectoryCommand.Create() }.Parse(["directory", .. args]).InvokeAsync();
            return (exit, output.ToString());
        }
        finally
        {
            Console.SetOut(original);
            Console.SetError(originalError);
        }
    }

    private string Write(DirectoryDocument document)
    {
        var path = Path.Combine(_folder, $"{Guid.NewGuid():N}.json");
        File.WriteAllText(path, document.ToJson());
        return path;
    }

    private static async Task<JsonElement> ListAsync()
    {
        var (exit, output) = await RunAsync("list", "--json");
        Assert.That(exit, Is.Zero, output);
        return JsonDocument.Parse(output.Trim().Split('\n')[^1]).RootElement.Clone();
    }

    private static JsonElement Agency(JsonElement list, string code) => list.EnumerateArray().Single(a => a.GetProperty("code").GetString() == code);

    [Test]
    public async Task Merges_and_moves_agencies_as_new_versions_that_list_shows()
    {
        Assert.That((await RunAsync("import", Write(SampleDirectory.Load()))).Exit, Is.Zero);

        var merge = await RunAsync("merge", "000.02.21.H29", "--into", "01.21.H29", "--at", "2026-12-01T00:00:00+07:00");
        var move = await RunAsync("reparent", "000.01.22.H29", "--to", "000.00.00.H29");

        Assert.That(merge.Exit, Is.Zero, merge.Output);
        Assert.That(move.Exit, Is.Zero, move.Output);
        var list = await ListAsync();
        var merged = Agency(list, "000.02.21.H29");
        Assert.That(merged.GetProperty("successor").GetString(), Is.EqualTo("000.01.21.H29"));
        Assert.That(merged.GetProperty("valid_to").GetDateTimeOffset(), Is.EqualTo(new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.FromHours(7))));
        Assert.That(Agency(list, "000.01.22.H29").GetProperty("parent").GetString(), Is.EqualTo("000.00.00.H29"));
        Assert.That(merged.GetProperty("directory_version").GetInt64(), Is.EqualTo(3), "import, merge and move: three versions");
    }

    [Test]
    public async Task Refuses_a_move_below_itself_and_a_merge_into_nobody_without_a_new_version()
    {
        await RunAsync("import", Write(SampleDirectory.Load()));

        var cycle = await RunAsync("reparent", "000.00.00.H29", "--to", "000.01.21.H29");
        var nobody = await RunAsync("merge", "000.01.21.H29", "--into", "000.09.21.H29");

        Assert.That((cycle.Exit, nobody.Exit), Is.EqualTo((1, 1)), cycle.Output + nobody.Output);
        Assert.That(cycle.Output, Does.Contain("below itself"));
        Assert.That(nobody.Output, Does.Contain("000.09.21.H29"));
        Assert.That(Agency(await ListAsync(), "000.01.21.H29").GetProperty("directory_version").GetInt64(), Is.EqualTo(1));
    }

    [Test]
    public async Task Refuses_an_unsound_directory_naming_each_problem()
    {
        var sample = SampleDirectory.Load();
        var broken = sample with
        {
            Agencies = [.. sample.Agencies.Select(a => a.Code == "000.01.21.H29" ? a with { Aliases = ["000.02.21.H29"] } : a), new Agency("000.05.21.H29", "X", AgencyKind.Commune, "000.00.99.H29", [])],
        };

        var (exit, output) = await RunAsync("import", Write(broken));

        Assert.That(exit, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("Alias '000.02.21.H29'").And.Contain("000.00.99.H29"));
    }
}
