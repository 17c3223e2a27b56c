using System.CommandLine;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
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
/// `exchange evidence export|verify`: the evidence bundle of one document (docs/evidence.md). `export` reads the
/// hub's database and writes a zip; `verify` checks a zip offline, with no database. Exit 0 valid (or written),
/// 1 invalid (or not ready / not found), 2 usage or I/O error. With --json the last line of standard output is
/// one JSON object.
/// </summary>
public static class EvidenceCommand
{
    private static readonly JsonSerializerOptions Json = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    public static Command Create() => new("evidence", "Evidence bundles: everything an auditor needs for one document, verifiable offline.")
    {
        Export(),
        Verify(),
    };

    private static Command Export()
    {
        var envelope = new Option<Guid?>("--envelope") { Description = "The envelope id." };
        var document = new Option<string>("--document") { Description = "The edXML DocumentId; every envelope that carried it is exported." };
        var output = new Option<FileInfo>("--out") { Description = "The zip to write (required)." };
        var wait = new Option<int>("--wait") { Description = "Seconds to wait for the evidence to be sealed and signed by a checkpoint.", DefaultValueFactory = _ => 30 };
        var crls = new Option<FileInfo[]>("--crl") { Description = "CRL (PEM or DER) to include for offline revocation checks; repeatable. Default: the development PKI's CRLs when present." };
        var noCrl = new Option<bool>("--no-crl") { Description = "Include no CRL." };
        var json = new Option<bool>("--json") { Description = "End with one JSON line: file, envelopes, counts." };
        var command = new Command("export", "Write the evidence bundle of an envelope or a document.") { envelope, document, output, wait, crls, noCrl, json };
        command.SetAction((p, ct) => ExportAsync(
            p.GetValue(envelope), p.GetValue(document), p.GetValue(output), TimeSpan.FromSeconds(Math.Max(0, p.GetValue(wait))),
            p.GetValue(crls) ?? [], p.GetValue(noCrl), p.GetValue(json), ct));
        return command;
    }

    private static Command Verify()
    {
        var file = new Argument<FileInfo>("file") { Description = "The evidence bundle (zip)." };
        var trust = EvidenceTrust.Options();
        var requireRevocation = new Option<bool>("--require-revocation") { Description = "Refuse a certificate no CRL answers for. Default: accept with a warning (offline)." };
        var json = new Option<bool>("--json") { Description = "End with one JSON line: valid, problems, warnings, envelopes." };
        var anchor = EvidenceTrust.CheckpointAnchors(
            "The bundle must prove its envelopes' records up to the newest of them: an older bundle may leave out records sealed since.");
        var command = new Command("verify", "Verify an evidence bundle offline: signatures, receipts, the hash chain up to signed checkpoints, the manifest.")
        {
            file, trust.Anchors, trust.Crls, trust.HubCertificates, requireRevocation, anchor, json,
        };
        command.SetAction((p, _) => Task.FromResult(VerifyBundle(p.GetValue(file)!, trust.Read(p), p.GetValue(requireRevocation), p.GetValue(anchor) ?? [], p.GetValue(json))));
        return command;
    }

    private static async Task<int> ExportAsync(
        Guid? envelopeId, string? documentId, FileInfo? output, TimeSpan wait, FileInfo[] crlFiles, bool noCrl, bool json, CancellationToken ct)
    {
        if ((envelopeId is null) == string.IsNullOrWhiteSpace(documentId))
        {
            return UsageError(json, "Give exactly one of --envelope ID or --document ID.");
        }

        if (output is null)
        {
            return UsageError(json, "--out FILE.zip is required.");
        }

        var crls = new List<byte[]>();
        try
        {
            foreach (var crl in crlFiles)
            {
                crls.Add(await File.ReadAllBytesAsync(crl.FullName, ct));
            }

            var devCrl = Path.Combine(ExchangeHome.Pki, "crls.pem");
            if (crlFiles.Length == 0 && !noCrl && File.Exists(devCrl))
            {
                crls.Add(await File.ReadAllBytesAsync(devCrl, ct));
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return UsageError(json, e.Message);
        }

        var console = new ConsoleProgress();
        BundleLoad load;
        IReadOnlyList<Guid> envelopes;
        try
        {
            await using var connection = new NpgsqlConnection(EvidenceTrust.HubConnection());
            await connection.OpenAsync(ct);
            envelopes = await EvidenceChainStore.FindEnvelopesAsync(connection, envelopeId, documentId, ct);
            if (envelopes.Count == 0)
            {
                return Refused(json, envelopeId is { } id ? $"The hub has no envelope {id}." : $"The hub has no envelope carrying DocumentId '{documentId}'.");
            }

            var deadline = DateTimeOffset.UtcNow + wait;
            while (true)
            {
                load = await EvidenceChainStore.LoadBundleAsync(connection, envelopes, ct);
                if (load.Ready || DateTimeOffset.UtcNow >= deadline)
                {
                    break;
                }

                if (!json)
                {
                    console.Stage($"waiting: {load.NotReady}");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
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

        if (!load.Ready)
        {
            return Refused(json, $"The evidence is not ready for a bundle: {load.NotReady}. Is the router running with Router:SealPkcs12Path set? Try again, or raise --wait.");
        }

        EvidenceBundleSummary summary;
        var temporary = output.FullName + ".partial";
        try
        {
            Directory.CreateDirectory(output.DirectoryName ?? ".");
            await using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                summary = EvidenceBundleWriter.Write(load.Source!, stream, crls);
            }

            File.Move(temporary, output.FullName, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            File.Delete(temporary);
            return UsageError(json, e.Message);
        }

        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                written = true,
                file = output.FullName,
                envelopes,
                records = summary.Records,
                checkpoints = summary.Checkpoints,
                receipts = summary.Receipts,
                files = summary.Files,
            }, Json));
        }
        else
        {
            AnsiConsole.MarkupLineInterpolated(
                $"[green]Wrote[/] {output.FullName}: {summary.Envelopes} envelope(s), {summary.Records} chain record(s), {summary.Checkpoints} signed checkpoint(s), {summary.Receipts} receipt(s), {summary.Files} files.");
            AnsiConsole.MarkupLineInterpolated($"Verify it offline with: exchange evidence verify {output.FullName} --trust-anchor ROOT.pem");
        }

        return ExitCodes.Ok;
    }

    private static int VerifyBundle(FileInfo file, EvidenceTrust.Choice choice, bool requireRevocation, FileInfo[] anchorFiles, bool json)
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
            return UsageError(json, e.Message, "valid");
        }

        BundleReport report;
        try
        {
            var verifier = new EvidenceBundleVerifier(new EvidenceBundleVerifierOptions
            {
                TrustAnchors = trust.Store.Anchors,
                Crls = trust.CrlBytes,
                SealCertificateSha256 = trust.PinnedSealCertificates,
                RequireRevocation = requireRevocation,
                Anchors = anchors,
            });
            report = verifier.Verify(file.FullName);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return UsageError(json, $"Cannot read {file.FullName}: {e.Message}", "valid");
        }

        if (json)
        {
            Console.WriteLine(ToJson(report));
        }
        else
        {
            Print(report, trust.Note);
        }

        return report.Valid ? ExitCodes.Ok : ExitCodes.Refused;
    }

    /// <summary>The JSON object `exchange evidence verify --json` prints (one line).</summary>
    public static string ToJson(BundleReport report) => JsonSerializer.Serialize(new
    {
        valid = report.Valid,
        files = report.Files,
        records = report.Records,
        checkpoints = report.Checkpoints,
        problems = report.Problems.Select(AuditCommand.ProblemJson),
        warnings = report.Warnings,
        envelopes = report.Envelopes.Select(e => new
        {
            envelopeId = e.EnvelopeId,
            sender = e.SenderCode,
            documentId = e.DocumentId,
            subject = e.Subject,
            packageSha256 = e.PackageSha256,
            packageSignature = e.PackageSignature,
            packageSigners = e.PackageSigners,
            evidence = e.Evidence.Select(r => new
            {
                chainIndex = r.ChainIndex,
                evidenceId = r.EvidenceId,
                kind = r.Kind,
                recipient = r.Recipient,
                reason = r.Reason,
                issuedAt = r.IssuedAt,
                issuer = r.Issuer,
                detail = r.Detail,
                checkpoint = r.CheckpointIndex,
            }),
            receipts = e.Receipts.Select(r => new { receiptId = r.ReceiptId, recipient = r.RecipientCode, receivedAt = r.ReceivedAt, signer = r.Signer, valid = r.Valid }),
            evidenceThrough = e.EvidenceThrough,
        }),
    }, Json);

    private static void Print(BundleReport report, string trustNote)
    {
        foreach (var envelope in report.Envelopes)
        {
            AnsiConsole.MarkupLineInterpolated($"[bold]Envelope {envelope.EnvelopeId}[/]  {envelope.DocumentId ?? "-"}  from {envelope.SenderCode ?? "-"}");
            AnsiConsole.MarkupLineInterpolated($"  subject: {envelope.Subject ?? "-"}");
            AnsiConsole.MarkupLineInterpolated($"  package sha256 {envelope.PackageSha256 ?? "-"}; signature: {envelope.PackageSignature}");
            foreach (var signer in envelope.PackageSigners)
            {
                AnsiConsole.MarkupLineInterpolated($"    signer {signer}");
            }

            var table = new Table().AddColumns("#", "Evidence", "Recipient", "Reason", "Issued at", "Checkpoint");
            foreach (var r in envelope.Evidence)
            {
                table.AddRow(
                    r.ChainIndex.ToString(System.Globalization.CultureInfo.InvariantCulture), Markup.Escape(r.Kind), Markup.Escape(r.Recipient ?? "-"),
                    Markup.Escape(r.Reason), r.IssuedAt, r.CheckpointIndex?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "[red]none[/]");
            }

            AnsiConsole.Write(table);
            AnsiConsole.MarkupLineInterpolated($"  every record of this envelope up to {envelope.EvidenceThrough ?? "no checkpoint"} is in the bundle; it shows nothing later");
            foreach (var receipt in envelope.Receipts)
            {
                AnsiConsole.MarkupLineInterpolated($"  receipt {receipt.ReceiptId} from {receipt.RecipientCode} at {receipt.ReceivedAt}, signed by {receipt.Signer}: {(receipt.Valid ? "valid" : "INVALID")}");
            }
        }

        AnsiConsole.MarkupLineInterpolated($"[grey]{report.Files} files, {report.Records} chain record(s), {report.Checkpoints} checkpoint(s); {trustNote}[/]");
        foreach (var warning in report.Warnings)
        {
            AnsiConsole.MarkupLineInterpolated($"[yellow]warning[/] {warning}");
        }

        if (report.Valid)
        {
            AnsiConsole.MarkupLine("[green]VALID[/] every signature, receipt, record, chain link, checkpoint and file digest checks out.");
            return;
        }

        foreach (var problem in report.Problems)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]{problem.Code}[/] {problem.File ?? string.Empty} {problem.Reason}");
        }

        AnsiConsole.MarkupLineInterpolated($"[red]INVALID[/] {report.Problems.Count} problem(s); the first: {report.Problems[0]}");
    }

    private static int Refused(bool json, string message) => Fail(json, message, "written", ExitCodes.Refused);

    private static int UsageError(bool json, string message, string flag = "written") => Fail(json, message, flag, ExitCodes.UsageOrIo);

    /// <summary>The message on standard error; with --json also {"written"|"valid": false, "error": …} as the last line.</summary>
    private static int Fail(bool json, string message, string flag, int exitCode)
    {
        Console.Error.WriteLine(message);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new Dictionary<string, object> { [flag] = false, ["error"] = message }, Json));
        }

        return exitCode;
    }
}

/// <summary>
/// The trust options shared by `audit verify-log` and `evidence verify`: anchors, CRLs and pinned hub sealing
/// certificates from the command line, or the development PKI when no anchor is given (its root, its CRLs, its
/// hub sealing certificate pinned).
/// </summary>
internal static class EvidenceTrust
{
    /// <summary>`--anchor`: signed checkpoints kept outside the hub (issue #16 item 12; docs/evidence.md, "Anchors").</summary>
    public static Option<FileInfo[]> CheckpointAnchors(string effect) => new("--anchor")
    {
        Description = "A signed checkpoint kept outside the hub (`exchange gateway checkpoint export`, `exchange audit anchor`); repeatable. " + effect,
    };

    /// <exception cref="FormatException">A file is not an anchor (the message names it).</exception>
    public static List<ChainAnchor> ReadCheckpointAnchors(FileInfo[] files)
    {
        var anchors = new List<ChainAnchor>();
        foreach (var file in files)
        {
            try
            {
                anchors.Add(ChainAnchor.Parse(File.ReadAllText(file.FullName), file.Name));
            }
            catch (FormatException e)
            {
                throw new FormatException($"--anchor {file.FullName}: not an evidence anchor ({e.Message}).", e);
            }
        }

        return anchors;
    }

    public sealed record OptionSet(Option<FileInfo[]> Anchors, Option<FileInfo[]> Crls, Option<FileInfo[]> HubCertificates)
    {
        public Choice Read(ParseResult parse) => new(parse.GetValue(Anchors) ?? [], parse.GetValue(Crls) ?? [], parse.GetValue(HubCertificates) ?? []);
    }

    public sealed record Choice(FileInfo[] Anchors, FileInfo[] Crls, FileInfo[] HubCertificates)
    {
        public Resolved Resolve()
        {
            var anchors = Anchors.Select(f => f.FullName).ToList();
            var crls = Crls.Select(f => f.FullName).ToList();
            var pinned = HubCertificates.Select(f => Sha256OfCertificate(f.FullName)).ToList();
            string note;
            if (anchors.Count == 0)
            {
                var pki = DevPki.Load(ExchangeHome.Pki);
                anchors.Add(pki.RootCertificatePath);
                if (crls.Count == 0)
                {
                    crls.Add(pki.CrlPath);
                }

                if (pinned.Count == 0)
                {
                    pinned.Add(Sha256OfCertificate(pki.HubSealCertificatePath));
                }

                note = $"trust: development PKI in {pki.Folder} (hub sealing certificate pinned)";
            }
            else
            {
                note = $"trust: {anchors.Count} anchor(s), {crls.Count} CRL file(s), {pinned.Count} pinned hub certificate(s)";
            }

            // Without CRLs nothing answers for revocation: accept with a warning rather than refuse everything.
            var store = TrustStore.Load(new TrustOptions { TrustAnchorFiles = anchors, CrlFiles = crls, AcceptUnknownRevocation = crls.Count == 0 });
            return new Resolved(store, crls.Select(File.ReadAllBytes).ToList(), pinned, note);
        }
    }

    public sealed record Resolved(TrustStore Store, IReadOnlyList<byte[]> CrlBytes, IReadOnlyList<string> PinnedSealCertificates, string Note);

    public static OptionSet Options() => new(
        new Option<FileInfo[]>("--trust-anchor") { Description = "Trust anchor certificate (PEM or DER); repeatable. Default: the development PKI's root." },
        new Option<FileInfo[]>("--crl") { Description = "CRL (PEM or DER); repeatable. Default with the development PKI: its CRLs." },
        new Option<FileInfo[]>("--hub-certificate") { Description = "The hub's sealing certificate (PEM or DER) that checkpoints must be signed with; repeatable. Default with the development PKI: its hub-seal.pem." });

    public static bool IsInputError(Exception e) =>
        e is IOException or UnauthorizedAccessException or InvalidDataException or CryptographicException or DevPkiMissingException;

    public static string HubConnection() =>
        ServerSettings.FromEnvironment().PostgresConnectionString(new ExchangeNames(Environment.GetEnvironmentVariable("EXCHANGE_PREFIX") ?? string.Empty).HubDatabase);

    private static string Sha256OfCertificate(string path)
    {
        using var certificate = X509CertificateLoader.LoadCertificateFromFile(path);
        return Convert.ToHexStringLower(SHA256.HashData(certificate.RawData));
    }
}
