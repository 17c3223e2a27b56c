using System.CommandLine;
using System.Text.Json;
using Exchange.Core;
using Exchange.Persistence;
using Exchange.Persistence.Hub;
using Exchange.ServiceDefaults;
using Exchange.Signing;
using Spectre.Console;

namespace Exchange.Cli.Commands;

/// <summary>`exchange directory import|list|tree`: the hub's versioned agency directory.</summary>
public static class DirectoryCommand
{
    // Agency names are Vietnamese: keep them readable rather than \u-escaped (still valid JSON).
    private static readonly JsonSerializerOptions ReadableJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var file = new Argument<FileInfo>("file") { Description = "A directory: JSON ({ \"agencies\": [...] }) or CSV (.csv; header code,name,kind,parent,certificates)." };
        var bindDevPki = new Option<bool>("--bind-dev-pki") { Description = "Register each agency's dev PKI organisation certificate to it." };
        var import = new Command("import", "Import a directory; a changed directory becomes a new version.") { file, bindDevPki };
        import.SetAction((p, ct) => ImportAsync(p.GetValue(file)!, p.GetValue(bindDevPki), ct));

        var json = new Option<bool>("--json") { Description = "Print the agencies as a JSON array." };
        var list = new Command("list", "List the agencies of the newest directory version.") { json };
        list.SetAction((p, ct) => ListAsync(p.GetValue(json), ct));

        var tree = new Command("tree", "Show the province → district → commune tree.");
        tree.SetAction((_, ct) => TreeAsync(ct));

        return new Command("directory", "The hub's agency directory.") { import, list, tree };
    }

    private static string HubConnection() =>
        ServerSettings.FromEnvironment().PostgresConnectionString(new ExchangeNames(Environment.GetEnvironmentVariable("EXCHANGE_PREFIX") ?? string.Empty).HubDatabase);

    private static async Task<int> ImportAsync(FileInfo file, bool bindDevPki, CancellationToken ct)
    {
        DirectoryDocument document;
        try
        {
            var text = await File.ReadAllTextAsync(file.FullName, ct);
            document = file.Extension.Equals(".csv", StringComparison.OrdinalIgnoreCase) ? DirectoryCsv.Parse(text) : DirectoryDocument.Parse(text);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or FormatException)
        {
            await Console.Error.WriteLineAsync($"Cannot read {file.FullName}: {e.Message}");
            return ExitCodes.UsageOrIo;
        }

        foreach (var agency in document.Agencies)
        {
            if (!AgencyCode.TryParse(agency.Code, out var code, out var error) || code.Value != agency.Code)
            {
                await Console.Error.WriteLineAsync($"{ReasonCode.InvalidAgencyCode.ToCode()}: '{agency.Code}' ({(error.Length > 0 ? error : "not in normalised four-group form")})");
                return ExitCodes.UsageOrIo;
            }
        }

        if (bindDevPki)
        {
            document = LocalDeployment.BindDevCertificates(document, DevPki.LoadOrCreate(ExchangeHome.Pki, document.Agencies.Select(a => (a.Code, a.Name))));
        }

        var connection = HubConnection();
        await MigrationRunner.ApplyAsync(connection, HubDbContext.Schema, cancellationToken: ct);
        await using var db = LocalDeployment.CreateHubDb(connection);
        var (version, changed) = await DirectoryStore.ImportAsync(db, document, TimeProvider.System, ct);
        Console.WriteLine(changed
            ? $"Imported {document.Agencies.Count} agencies as directory version {version}."
            : $"Unchanged: directory version {version} already holds this content.");
        return ExitCodes.Ok;
    }

    private static async Task<AgencyDirectory?> LatestAsync(CancellationToken ct)
    {
        var connection = HubConnection();
        await MigrationRunner.ApplyAsync(connection, HubDbContext.Schema, cancellationToken: ct);
        await using var db = LocalDeployment.CreateHubDb(connection);
        return await DirectoryStore.LatestAsync(db, ct);
    }

    private static async Task<int> ListAsync(bool json, CancellationToken ct)
    {
        if (await LatestAsync(ct) is not { } directory)
        {
            await Console.Error.WriteLineAsync("No directory imported yet: run `exchange directory import FILE`.");
            return ExitCodes.Refused;
        }

        var agencies = directory.Agencies.OrderBy(a => a.Code, StringComparer.Ordinal).ToList();
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(agencies.Select(a => new
            {
                code = a.Code,
                name = a.Name,
                kind = a.Kind.ToString(),
                tier = a.Tier.ToString(),
                parent = a.Parent,
                certificates = a.Certificates,
                directory_version = directory.Version,
            }), ReadableJson));
            return ExitCodes.Ok;
        }

        var table = new Table().Title($"Directory version {directory.Version}").AddColumns("Code", "Name", "Kind", "Tier", "Parent", "Certificates");
        foreach (var a in agencies)
        {
            table.AddRow(a.Code, Markup.Escape(a.Name), a.Kind.ToString(), a.Tier.ToString(), a.Parent ?? "-", a.Certificates.Count.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        AnsiConsole.Write(table);
        return ExitCodes.Ok;
    }

    private static async Task<int> TreeAsync(CancellationToken ct)
    {
        if (await LatestAsync(ct) is not { } directory)
        {
            await Console.Error.WriteLineAsync("No directory imported yet: run `exchange directory import FILE`.");
            return ExitCodes.Refused;
        }

        var root = new Tree($"Directory version {directory.Version}");
        foreach (var top in directory.Agencies.Where(a => a.Parent is null || directory.Find(a.Parent) is null).OrderBy(a => a.Code, StringComparer.Ordinal))
        {
            Add(root.AddNode(Label(top)), top);
        }

        AnsiConsole.Write(root);
        return ExitCodes.Ok;

        void Add(TreeNode node, Agency parent)
        {
            foreach (var child in directory.ChildrenOf(parent.Code))
            {
                Add(node.AddNode(Label(child)), child);
            }
        }

        static string Label(Agency a) => Markup.Escape($"{a.Code}  {a.Name}  ({a.Kind})");
    }
}
