using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Exchange.Audit;
using Exchange.Audit.Compliance;
using Exchange.Audit.Queries;
using Exchange.Core;
using Exchange.ServiceDefaults;
using Npgsql;
using Spectre.Console;

namespace Exchange.Cli.Commands;

/// <summary>
/// `exchange compliance report|paper`: the monthly compliance report (docs/audit.md) from the hub's database, and
/// the paper counts an operator records for an agency. Exit 0 done, 2 usage or I/O error. With --json the last line
/// of standard output is one JSON object; with --csv standard output is the CSV only.
/// </summary>
public static class ComplianceCommand
{
    private static readonly JsonSerializerOptions Json = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    public static Command Create() => new("compliance", "The compliance report: signed share against the national targets, paper, delivery times, overdue.")
    {
        Report(),
        Paper(),
    };

    private static Command Report()
    {
        var month = new Option<string>("--month") { Description = "The month, yyyy-MM in Vietnam time (default: this month)." };
        var agency = new Option<string>("--agency") { Description = "Only this agency's line." };
        var due = new Option<double>("--due-hours") { Description = "Hours after forwarding a delivery is overdue (the host's Audit:DeliveryDue).", DefaultValueFactory = _ => AuditSettings.DefaultDeliveryDue.TotalHours };
        var json = new Option<bool>("--json") { Description = "Print the report as one JSON line." };
        var csv = new Option<bool>("--csv") { Description = "Print the report as CSV (the same columns as GET /api/compliance.csv)." };
        var command = new Command("report", "Print the compliance report of a month.") { month, agency, due, json, csv };
        command.SetAction((p, ct) => ReportAsync(p.GetValue(month), p.GetValue(agency), p.GetValue(due), p.GetValue(json), p.GetValue(csv), ct));
        return command;
    }

    private static Command Paper()
    {
        var agency = new Option<string>("--agency") { Description = "The agency's code (required)." };
        var month = new Option<string>("--month") { Description = "The month, yyyy-MM (required)." };
        var count = new Option<int?>("--count") { Description = "Documents the agency sent on paper that month (required)." };
        var note = new Option<string>("--note") { Description = "Where the number comes from (kept with it)." };
        var command = new Command("paper", "Record how many documents an agency still sent on paper in a month (the newest record counts).") { agency, month, count, note };
        command.SetAction((p, ct) => PaperAsync(p.GetValue(agency), p.GetValue(month), p.GetValue(count), p.GetValue(note), ct));
        return command;
    }

    private static string HubConnection() =>
        ServerSettings.FromEnvironment().PostgresConnectionString(new ExchangeNames(Environment.GetEnvironmentVariable("EXCHANGE_PREFIX") ?? string.Empty).HubDatabase);

    private static async Task<int> ReportAsync(string? monthText, string? agencyText, double dueHours, bool json, bool csv, CancellationToken ct)
    {
        if (json && csv)
        {
            return UsageError(json, "Give --json or --csv, not both.");
        }

        var month = ReportMonth.Containing(DateTimeOffset.UtcNow);
        if (monthText is not null && !ReportMonth.TryParse(monthText, out month))
        {
            return UsageError(json, $"--month '{monthText}': expected yyyy-MM, e.g. 2026-11.");
        }

        if (!(dueHours > 0) || double.IsInfinity(dueHours))
        {
            return UsageError(json, "--due-hours must be a positive number.");
        }

        string? agency = null;
        if (agencyText is not null)
        {
            if (!AgencyCode.TryParse(agencyText, out var code, out var error))
            {
                return UsageError(json, $"--agency: {error}");
            }

            agency = code.Value;
        }

        ComplianceReport report;
        try
        {
            if (!json && !csv)
            {
                new ConsoleProgress().Stage($"reading {month} from the hub's database");
            }

            await using var database = NpgsqlDataSource.Create(HubConnection());
            var store = new AuditStore(database, new DirectoryCache(database));
            report = await store.ComplianceAsync(month, agency, DateTimeOffset.UtcNow, TimeSpan.FromHours(dueHours), ct);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.UndefinedColumn or PostgresErrorCodes.InvalidCatalogName)
        {
            return UsageError(json, $"The hub's database is not ready ({e.MessageText}): start the router once so that it applies its migrations.");
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            return UsageError(json, $"Cannot read the hub's database ({e.Message}). Start the servers with: deploy/local/services.sh up");
        }

        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(ComplianceJson.From(report), Json));
        }
        else if (csv)
        {
            Console.Write(ComplianceCsv.Write(report));
        }
        else
        {
            Print(report);
        }

        return ExitCodes.Ok;
    }

    private static async Task<int> PaperAsync(string? agencyText, string? monthText, int? count, string? note, CancellationToken ct)
    {
        if (agencyText is null || monthText is null || count is null)
        {
            return UsageError(false, "--agency CODE, --month yyyy-MM and --count N are required.");
        }

        if (!AgencyCode.TryParse(agencyText, out var agency, out var error))
        {
            return UsageError(false, $"--agency: {error}");
        }

        if (!ReportMonth.TryParse(monthText, out var month))
        {
            return UsageError(false, $"--month '{monthText}': expected yyyy-MM, e.g. 2026-11.");
        }

        var now = DateTimeOffset.UtcNow;
        if (month > ReportMonth.Containing(now))
        {
            return UsageError(false, $"--month {month} has not begun yet.");
        }

        if (count < 0 || count > AuditSettings.MaxPaperCount)
        {
            return UsageError(false, $"--count: a whole number from 0 to {AuditSettings.MaxPaperCount}.");
        }

        if (note is { Length: > AuditSettings.MaxNoteLength })
        {
            return UsageError(false, $"--note: at most {AuditSettings.MaxNoteLength} characters.");
        }

        try
        {
            await using var database = NpgsqlDataSource.Create(HubConnection());
            var directory = await new DirectoryCache(database).LatestAsync(ct);
            if (directory?.Find(agency.Value) is null)
            {
                return UsageError(false, $"{ReasonCode.UnknownSender.ToCode()}: {agency.Value} is not in the hub's newest directory.");
            }

            var report = await AuditStore.AddPaperCountAsync(database, agency.Value, month, count.Value, "operator", note, now, ct);
            AnsiConsole.MarkupLineInterpolated($"[green]Recorded[/] {report.Count} paper document(s) for {agency.Value} in {report.Month} (report {report.ReportId}).");
            return ExitCodes.Ok;
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidCatalogName)
        {
            return UsageError(false, $"The hub's database is not ready ({e.MessageText}): start the router once so that it applies its migrations.");
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            return UsageError(false, $"Cannot write to the hub's database ({e.Message}). Start the servers with: deploy/local/services.sh up");
        }
    }

    private static void Print(ComplianceReport report)
    {
        AnsiConsole.MarkupLineInterpolated(
            $"[bold]Compliance {report.Month}[/] (received {report.Month.Start:yyyy-MM-dd HH:mm zzz} to {report.Month.End:yyyy-MM-dd HH:mm zzz}; overdue = not delivered {report.DeliveryDue.TotalHours:0.#} h after forwarding)");
        var lines = report.Tiers.Concat(report.All is null ? [] : [report.All]).Concat(report.Agencies).ToList();
        var table = new Table().AddColumns("Code", "Agency / tier", "Sent", "Signed", "Share", "Target", "Paper", "Electronic",
            "Delivered", "Delivery p50/p95", "Status 03 p50/p95", "Overdue docs");
        foreach (var l in lines)
        {
            var agency = l.Scope == ComplianceScopes.Agency;
            var share = Percent(l.SignedShare);
            table.AddRow(
                agency ? Markup.Escape(l.Code) : string.Empty,
                agency ? Markup.Escape(l.Name) : $"[bold]{Markup.Escape(l.Name)}[/]",
                Int(l.Sent), Int(l.Signed),
                l.MeetsTarget switch { true => $"[green]{share}[/]", false => $"[red]{share}[/]", null => share },
                Percent(l.Target), l.Paper is { } paper ? Int(paper) : "-", Percent(l.ElectronicShare),
                $"{Int(l.Delivered)}/{Int(l.Deliveries)}",
                $"{Duration(l.ToDelivery.MedianSeconds)} / {Duration(l.ToDelivery.P95Seconds)}",
                $"{Duration(l.ToStatus03.MedianSeconds)} / {Duration(l.ToStatus03.P95Seconds)}",
                Int(l.OverdueDocuments));
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine("[grey]Signed = a valid signature bound to the sender and a valid personal one (a certificate bound to no agency), Nghị định 30/2020. Share in green meets the target (province 70%, district 60%, commune 30%), red does not.[/]");
    }

    private static string Int(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Percent(double? share) => share is { } s ? (s * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%" : "-";

    private static string Duration(double? seconds) => seconds is null ? "-" : Exchange.Audit.Pages.Html.Duration(seconds);

    private static int UsageError(bool json, string message)
    {
        Console.Error.WriteLine(message);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new { error = message }, Json));
        }

        return ExitCodes.UsageOrIo;
    }
}
