using System.CommandLine;
using System.Data;
using System.Text.Encodings.Web;
using System.Text.Json;
using Exchange.Core;
using Exchange.Persistence.Evidence;
using Exchange.ServiceDefaults;
using Exchange.Signing;
using Exchange.Signing.Evidence;
using Npgsql;
using Spectre.Console;

namespace Exchange.Cli.Commands;

/// <summary>
/// `exchange audit verify-log`: walks the hub's whole evidence chain in its database (streaming), recomputes every
/// record's hash, checks every link and the contiguity of chain indexes, verifies every signed checkpoint against a
/// trust anchor and that it matches the chain, and names the first record that was changed, removed or inserted
/// out of order. Exit 0 intact, 1 broken, 2 usage or I/O error. With --json the last line of standard output is
/// one JSON object (progress then goes to standard error).
/// </summary>
public static class AuditCommand
{
    private static readonly JsonSerializerOptions Json = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "End with one JSON line: intact, counts, problems, warnings." };
        var trust = EvidenceTrust.Options();
        var tolerance = new Option<int>("--out-of-order-tolerance")
        {
            Description = "Seconds a record may be dated before a record preceding it in the chain before it counts as inserted out of order.",
            DefaultValueFactory = _ => 300,
        };
        var anchor = EvidenceTrust.CheckpointAnchors("One for an index beyond the chain's end shows that the newest records were removed.");
        var verifyLog = new Command("verify-log", "Walk the hub's evidence chain and name the first record changed, removed or inserted out of order.")
        {
            json, trust.Anchors, trust.Crls, trust.HubCertificates, tolerance, anchor,
        };
        verifyLog.SetAction((p, ct) => VerifyLogAsync(p.GetValue(json), trust.Read(p), TimeSpan.FromSeconds(Math.Max(0, p.GetValue(tolerance))), p.GetValue(anchor) ?? [], ct));
        var anchorOut = new Option<FileInfo?>("--out") { Description = "Write the anchor to this file (default: standard output)." };
        var anchorCommand = new Command("anchor", "Export the hub's newest signed checkpoint, with its RFC 3161 timestamp when it has one, as an anchor to keep outside the hub.")
        {
            anchorOut,
        };
        anchorCommand.SetAction((p, ct) => ExportAnchorAsync(p.GetValue(anchorOut), ct));
        return new Command("audit", "Auditors' checks of the hub's evidence, and the audit host's API keys.") { verifyLog, anchorCommand, KeyCommand() };
    }

    /// <summary>
    /// `exchange audit anchor [--out FILE]`: the hub's newest timestamped checkpoint (else its newest checkpoint) as an
    /// anchor file, for an auditor to keep and later pass to `verify-log --anchor` (issue #16 item 12, docs/evidence.md,
    /// "Anchors"). Exit 0 written, 1 no checkpoint yet, 2 usage or I/O error.
    /// </summary>
    private static async Task<int> ExportAnchorAsync(FileInfo? output, CancellationToken ct)
    {
        ChainAnchor? anchor = null;
        try
        {
            await using var connection = new NpgsqlConnection(EvidenceTrust.HubConnection());
            await connection.OpenAsync(ct);
            var exported = $"the hub, exported {EvidenceChain.FormatTime(DateTimeOffset.UtcNow)}";
            await using (var exists = new NpgsqlCommand("select to_regclass('hub.evidence_checkpoint_timestamps') is not null", connection))
            {
                if ((bool)(await exists.ExecuteScalarAsync(ct))! && await CheckpointTimestampStore.NewestAsync(connection, cancellationToken: ct) is { } stamped)
                {
                    anchor = new ChainAnchor(stamped.Checkpoint, exported, stamped.Token);
                }
            }

            // A checkpoint newer than the newest timestamp still anchors more of the chain (without a time).
            if (await EvidenceChainStore.NewestCheckpointAsync(connection, ct) is { } newest
                && (anchor is null || newest.Checkpoint.ChainIndex > anchor.Checkpoint.Checkpoint.ChainIndex))
            {
                anchor = new ChainAnchor(newest, exported);
            }
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.InvalidCatalogName)
        {
            return UsageError(false, $"The hub's database has no evidence chain ({e.MessageText}): start the router once so that it applies its migrations.");
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException or InvalidDataException)
        {
            return UsageError(false, $"Cannot read the hub's database ({e.Message}).");
        }

        if (anchor is null)
        {
            Console.Error.WriteLine("The hub has signed no checkpoint yet.");
            return ExitCodes.Refused;
        }

        if (output is null)
        {
            Console.WriteLine(anchor.ToJson());
        }
        else
        {
            await File.WriteAllTextAsync(output.FullName, anchor.ToJson() + "\n", ct);
            Console.Error.WriteLine($"Wrote checkpoint {anchor.Checkpoint.Checkpoint.ChainIndex}{(anchor.TimestampToken is null ? " (no timestamp yet)" : " with its RFC 3161 timestamp")} to {output.FullName}");
        }

        return ExitCodes.Ok;
    }

    /// <summary>
    /// `exchange audit key create --role auditor|agency [--agency CODE] [--index N]`: prints a fresh random key once
    /// (it is stored nowhere) and the configuration lines that give it to the audit host, which keep only its SHA-256
    /// (docs/audit.md).
    /// </summary>
    private static Command KeyCommand()
    {
        var role = new Option<string>("--role") { Description = "auditor (reads everything) or agency (reads its own documents, reports paper counts).", Required = true };
        role.AcceptOnlyFromAmong("auditor", "agency");
        var agency = new Option<string>("--agency") { Description = "The agency's code; required for --role agency." };
        var index = new Option<int>("--index") { Description = "N in Audit:Keys:N (the next free entry of your configuration).", DefaultValueFactory = _ => 0 };
        var create = new Command("create", "Make a new API key for the audit host: prints the key once, and the configuration lines with its hash.") { role, agency, index };
        create.SetAction(p => CreateKey(p.GetValue(role)!, p.GetValue(agency), p.GetValue(index)));
        return new Command("key", "API keys of the audit host (X-Api-Key).") { create };
    }

    private static int CreateKey(string roleText, string? agencyText, int index)
    {
        if (!Exchange.Audit.Access.ApiKeys.TryParseRole(roleText, out var role))
        {
            Console.Error.WriteLine("--role must be auditor or agency.");
            return ExitCodes.UsageOrIo;
        }

        if (index < 0)
        {
            Console.Error.WriteLine("--index must be 0 or more.");
            return ExitCodes.UsageOrIo;
        }

        string? agency = null;
        if (role == Exchange.Audit.Access.AuditRole.Agency)
        {
            if (!AgencyCode.TryParse(agencyText, out var code, out var error))
            {
                Console.Error.WriteLine($"--agency: an agency key needs the agency's code. {error}");
                return ExitCodes.UsageOrIo;
            }

            agency = code.Value;
        }
        else if (agencyText is not null)
        {
            Console.Error.WriteLine("--agency is only for --role agency: an auditor key reads every agency's documents.");
            return ExitCodes.UsageOrIo;
        }

        var key = Exchange.Audit.Access.ApiKeys.Generate();
        var hash = Exchange.Audit.Access.ApiKeys.Hash(key);
        Console.WriteLine($"API key (shown once; give it to its holder, store it nowhere else): {key}");
        Console.WriteLine();
        Console.WriteLine("Add to the audit host's configuration (appsettings, --Key=value, or Audit__Keys__N__... environment variables):");
        foreach (var line in Exchange.Audit.Access.ApiKeys.ConfigurationLines(index, hash, role, agency))
        {
            Console.WriteLine(line);
        }

        return ExitCodes.Ok;
    }

    private static async Task<int> VerifyLogAsync(bool json, EvidenceTrust.Choice choice, TimeSpan tolerance, FileInfo[] anchorFiles, CancellationToken ct)
    {
        EvidenceTrust.Resolved trust;
        List<ChainAnchor> anchors;
        try
        {
            trust = choice.Resolve();
            anchors = EvidenceTrust.ReadCheckpointAnchors(anchorFiles);
        }
        catch (Exception e) when (EvidenceTrust.IsInputError(e) || e is FormatException)
        {
            return UsageError(json, e.Message);
        }

        var checkpoints = new CheckpointVerifier(new SignatureVerifier(trust.Store), trust.PinnedSealCertificates);
        var console = new ConsoleProgress();
        var started = DateTimeOffset.UtcNow;
        ChainReport report;
        try
        {
            var options = new ChainVerifierOptions
            {
                OutOfOrderTolerance = tolerance, Anchors = anchors, TimestampAnchors = trust.Store.Anchors, TimestampIntermediates = trust.Store.Intermediates,
            };
            if (!json && ConsoleProgress.Interactive)
            {
                report = await AnsiConsole.Status().StartAsync("walking the evidence chain", async ctx =>
                    await VerifyChainAsync(EvidenceTrust.HubConnection(), checkpoints, options,
                        new Progress<long>(n => ctx.Status($"walking the evidence chain: {n:N0} entries")), ct));
            }
            else
            {
                // A line every 100 000 entries, on standard error when standard output carries the JSON.
                long lastReported = 0;
                var progress = new SynchronousProgress(n =>
                {
                    if (n - lastReported >= 100_000)
                    {
                        lastReported = n;
                        var line = $"{(DateTimeOffset.UtcNow - started).TotalSeconds,6:0.0}s walked {n:N0} entries";
                        if (json)
                        {
                            Console.Error.WriteLine(line);
                        }
                        else
                        {
                            console.Stage($"walked {n:N0} entries");
                        }
                    }
                });
                report = await VerifyChainAsync(EvidenceTrust.HubConnection(), checkpoints, options, progress, ct);
            }
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UndefinedTable or PostgresErrorCodes.UndefinedColumn or PostgresErrorCodes.InvalidCatalogName)
        {
            return UsageError(json, $"The hub's database has no evidence chain ({e.MessageText}): start the router once so that it applies its migrations.");
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            return UsageError(json, $"Cannot read the hub's database ({e.Message}). Start the servers with: deploy/local/services.sh up");
        }

        if (json)
        {
            Console.WriteLine(ToJson(report));
        }
        else
        {
            Print(report, trust.Note, DateTimeOffset.UtcNow - started);
        }

        return report.Intact ? ExitCodes.Ok : ExitCodes.Refused;
    }

    /// <summary>
    /// Walks the evidence chain in the hub database <paramref name="hubConnectionString"/> names, in one read-only
    /// snapshot: what `audit verify-log` and the chaos run's last check do.
    /// </summary>
    public static async Task<ChainReport> VerifyChainAsync(
        string hubConnectionString, CheckpointVerifier checkpoints, ChainVerifierOptions options, IProgress<long>? progress, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(hubConnectionString);
        await connection.OpenAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, ct);
        await using (var readOnly = new NpgsqlCommand("set transaction read only", connection, transaction))
        {
            await readOnly.ExecuteNonQueryAsync(ct);
        }

        var unsealed = await EvidenceChainStore.CountUnsealedAsync(connection, transaction, ct);

        // The hub's newest RFC 3161 timestamp is an anchor too, with a copy of the checkpoint it stamps: an owner who
        // deletes the newest records and checkpoints but not it is caught; one who deletes it as well is caught only
        // by anchors kept elsewhere (--anchor).
        await using (var exists = new NpgsqlCommand("select to_regclass('hub.evidence_checkpoint_timestamps') is not null", connection, transaction))
        {
            if ((bool)(await exists.ExecuteScalarAsync(ct))! && await CheckpointTimestampStore.NewestAsync(connection, transaction, ct) is { } stamped)
            {
                options = options with { Anchors = [.. options.Anchors, new ChainAnchor(stamped.Checkpoint, "hub.evidence_checkpoint_timestamps", stamped.Token)] };
            }
        }

        var entries = EvidenceChainStore.ReadChainAsync(connection, transaction, cancellationToken: ct);
        return await EvidenceChainVerifier.VerifyAsync(entries, checkpoints, options, unsealed, progress, ct);
    }

    /// <summary>The JSON object `exchange audit verify-log --json` prints (one line).</summary>
    public static string ToJson(ChainReport report) => JsonSerializer.Serialize(new
    {
        intact = report.Intact,
        records = report.Records,
        checkpoints = report.Checkpoints,
        lastChainIndex = report.LastChainIndex,
        lastCheckpointIndex = report.LastCheckpointIndex,
        uncoveredRecords = report.UncoveredRecords,
        unsealed = report.Unsealed,
        problemCount = report.ProblemCount,
        firstProblem = report.FirstProblem is { } first ? ProblemJson(first) : null,
        problems = report.Problems.Select(ProblemJson),
        warnings = report.Warnings,
        checkpointSigners = report.CheckpointSigners,
        anchors = report.AnchorsChecked,
        newestTimestamp = report.NewestTimestamp is { } t
            ? new { chainIndex = t.ChainIndex, genTime = EvidenceChain.FormatTime(t.GenTime), authority = t.Authority, source = t.Source }
            : null,
    }, Json);

    internal static object ProblemJson(EvidenceProblem p) => new
    {
        code = p.Code,
        chainIndex = p.ChainIndex,
        evidenceId = p.EvidenceId,
        file = p.File,
        reason = p.Reason,
    };

    private static void Print(ChainReport report, string trustNote, TimeSpan took)
    {
        AnsiConsole.MarkupLineInterpolated(
            $"[grey]{report.Records:N0} record(s), {report.Checkpoints:N0} checkpoint(s), chain index 1..{report.LastChainIndex}, newest checkpoint {report.LastCheckpointIndex}; {report.Unsealed:N0} record(s) not sealed yet; {took.TotalSeconds:0.0}s; {trustNote}[/]");
        if (report.NewestTimestamp is { } stamp)
        {
            AnsiConsole.MarkupLineInterpolated($"[grey]checkpoint {stamp.ChainIndex} timestamped at {EvidenceChain.FormatTime(stamp.GenTime)} by '{stamp.Authority}' (RFC 3161; {stamp.Source}); {report.AnchorsChecked} anchor(s) verified[/]");
        }

        foreach (var warning in report.Warnings)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]warning[/] {warning}");
        }

        if (report.Intact)
        {
            AnsiConsole.MarkupLine("[green]INTACT[/] every record hashes to its sealed hash, links to the one before it, and every checkpoint verifies.");
            return;
        }

        var table = new Table().AddColumns("Problem", "Chain index", "Evidence", "Reason");
        foreach (var p in report.Problems)
        {
            table.AddRow(Markup.Escape(p.Code), p.ChainIndex?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-",
                p.EvidenceId?.ToString() ?? "-", Markup.Escape(p.Reason));
        }

        AnsiConsole.Write(table);
        var first = report.FirstProblem!;
        AnsiConsole.MarkupLineInterpolated($"[red]BROKEN[/] {report.ProblemCount} problem(s); the first: {first}");
    }

    private static int UsageError(bool json, string message)
    {
        Console.Error.WriteLine(message);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new { intact = false, error = message }, Json));
        }

        return ExitCodes.UsageOrIo;
    }

    /// <summary>Reports on the calling thread (Progress&lt;T&gt; would post to the thread pool, out of order).</summary>
    private sealed class SynchronousProgress(Action<long> report) : IProgress<long>
    {
        public void Report(long value) => report(value);
    }
}
