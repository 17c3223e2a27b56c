using System.CommandLine;
using System.Text.Json;
using Exchange.Core;
using Exchange.Persistence;
using Exchange.Persistence.Hub;
using Exchange.ServiceDefaults;
using Exchange.Signing;
using Spectre.Console;

namespace Exchange.Cli.Commands;

/// <summary>`exchange directory import|list|tree|merge|reparent`: the hub's versioned agency directory.</summary>
public static class DirectoryCommand
{
    // Agency names are Vietnamese: keep them readable rather than \u-escaped (still valid JSON).
    private static readonly JsonSerializerOptions ReadableJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static Command Create()
    {
        var hub = new Option<string?>("--hub") { Description = "The hub whose database holds the directory, when hubs are federated (its agency code); default: the top hub.", Recursive = true };

        var file = new Argument<FileInfo>("file") { Description = "A directory: JSON ({ \"agencies\": [...], \"hubs\": [...] }) or CSV (.csv; header code,name,kind,parent,certificates)." };
        var bindDevPki = new Option<bool>("--bind-dev-pki") { Description = "Register each agency's dev PKI organisation certificate to it." };
        var import = new Command("import", "Import a directory; a changed directory becomes a new version.") { file, bindDevPki };
        import.SetAction((p, ct) => ImportAsync(p.GetValue(file)!, p.GetValue(bindDevPki), p.GetValue(hub), ct));

        var json = new Option<bool>("--json") { Description = "Print the agencies as a JSON array." };
        var list = new Command("list", "List the agencies of the newest directory version.") { json };
        list.SetAction((p, ct) => ListAsync(p.GetValue(json), p.GetValue(hub), ct));

        var tree = new Command("tree", "Show the province → district → commune tree.");
        tree.SetAction((p, ct) => TreeAsync(p.GetValue(hub), ct));

        var merged = new Argument<string>("code") { Description = "The agency that ceases to exist." };
        var into = new Option<string>("--into") { Description = "The successor that takes over its documents and its children.", Required = true };
        var at = new Option<DateTimeOffset?>("--at") { Description = "When the merge takes effect (ISO 8601); default: now." };
        var merge = new Command("merge", "Merge an agency into a successor: a new directory version in which documents to the old code go to the successor.") { merged, into, at };
        merge.SetAction((p, ct) => ChangeAsync(
            d => DirectoryChanges.Merge(d, Code(p.GetValue(merged)!), Code(p.GetValue(into)!), p.GetValue(at) ?? DateTimeOffset.UtcNow), p.GetValue(hub), ct));

        var moved = new Argument<string>("code") { Description = "The agency to move, with everything under it." };
        var under = new Option<string>("--to") { Description = "Its new parent.", Required = true };
        var reparent = new Command("reparent", "Move an agency and its subtree under another parent: a new directory version.") { moved, under };
        reparent.SetAction((p, ct) => ChangeAsync(d => DirectoryChanges.Reparent(d, Code(p.GetValue(moved)!), Code(p.GetValue(under)!)), p.GetValue(hub), ct));

        return new Command("directory", "The hub's agency directory.") { hub, import, list, tree, merge, reparent };
    }

    private static string HubConnection(string? hub)
    {
        var names = new ExchangeNames(Environment.GetEnvironmentVariable("EXCHANGE_PREFIX") ?? string.Empty);
        return ServerSettings.FromEnvironment().PostgresConnectionString(hub is null ? names.HubDatabase : names.HubDatabaseOf(Code(hub)));
    }

    /// <summary>An agency code as typed (a three-group alias included), in normal form; the raw text when it is no code, for the directory to refuse.</summary>
    private static string Code(string text) => AgencyCode.TryParse(text, out var code, out _) ? code.Value : text;

    private static async Task<int> ImportAsync(FileInfo file, bool bindDevPki, string? hub, CancellationToken ct)
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

        if (bindDevPki)
        {
            document = LocalDeployment.BindDevCertificates(document, DevPki.LoadOrCreate(ExchangeHome.Pki, document.Agencies.Select(a => (a.Code, a.Name))));
        }

        return await StoreAsync(document, hub, ct);
    }

    private static async Task<int> ChangeAsync(Func<DirectoryDocument, DirectoryDocument> change, string? hub, CancellationToken ct)
    {
        if (await LatestAsync(hub, ct) is not { } directory)
        {
            await Console.Error.WriteLineAsync("No directory imported yet: run `exchange directory import FILE`.");
            return ExitCodes.Refused;
        }

        DirectoryDocument changed;
        try
        {
            changed = change(directory.Document);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync(e.Message);
            return ExitCodes.Refused;
        }

        return await StoreAsync(changed, hub, ct);
    }

    private static async Task<int> StoreAsync(DirectoryDocument document, string? hub, CancellationToken ct)
    {
        if (document.Problems() is { Count: > 0 } problems)
        {
            foreach (var problem in problems)
            {
                await Console.Error.WriteLineAsync(problem);
            }

            return ExitCodes.UsageOrIo;
        }

        var connection = HubConnection(hub);
        await MigrationRunner.ApplyAsync(connection, HubDbContext.Schema, cancellationToken: ct);
        await using var db = LocalDeployment.CreateHubDb(connection);
        var (version, changed) = await DirectoryStore.ImportAsync(db, document, TimeProvider.System, ct);
        Console.WriteLine(changed
            ? $"Stored {document.Agencies.Count} agencies as directory version {version}."
            : $"Unchanged: directory version {version} already holds this content.");
        return ExitCodes.Ok;
    }

    private static async Task<AgencyDirectory?> LatestAsync(string? hub, CancellationToken ct)
    {
        var connection = HubConnection(hub);
        await MigrationRunner.ApplyAsync(connection, HubDbContext.Schema, cancellationToken: ct);
        await using var db = LocalDeployment.CreateHubDb(connection);
        return await DirectoryStore.LatestAsync(db, ct);
    }

    private static async Task<int> ListAsync(bool json, string? hub, CancellationToken ct)
    {
        if (await LatestAsync(hub, ct) is not { } directory)
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
                valid_from = a.ValidFrom,
                valid_to = a.ValidTo,
                successor = a.Successor,
                aliases = a.Aliases ?? [],
                hub = directory.ServingHub(a.Code),
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

    private static async Task<int> TreeAsync(string? hub, CancellationToken ct)
    {
        if (await LatestAsync(hub, ct) is not { } directory)
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

        static string Label(Agency a) => Markup.Escape($"{a.Code}  {a.Name}  ({a.Kind})"
            + (a.ValidTo is { } to ? $"  until {to:yyyy-MM-dd}" + (a.Successor is { } s ? $" → {s}" : string.Empty) : string.Empty));
    }
}
