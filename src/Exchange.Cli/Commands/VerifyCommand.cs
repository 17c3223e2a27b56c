using System.CommandLine;
using System.Text.Encodings.Web;
using System.Text.Json;
using Exchange.Core;
using Exchange.Signing;
using Spectre.Console;

namespace Exchange.Cli.Commands;

/// <summary>
/// `exchange verify`: checks a CMS signature (detached with --content, or attached without it) against trust
/// anchors and CRLs given on the command line, or the development PKI when none are given.
/// Exit 0 valid, 1 refused, 2 usage or I/O error. With --json the last line of standard output is one JSON object.
/// </summary>
public static class VerifyCommand
{
    private static readonly JsonSerializerOptions Json = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
    };

    public static Command Create()
    {
        var content = new Option<FileInfo>("--content") { Description = "The signed document (detached signature). Omit for a signature that carries its content." };
        // Required-ness and allowed values are checked in Run rather than by the parser, so that a usage error
        // exits 2 (ExitCodes.UsageOrIo) like every other usage error, not the parser's 1 (which means "refused").
        var signature = new Option<FileInfo>("--signature") { Description = "The CMS signature, DER or PEM (required)." };
        var anchors = new Option<FileInfo[]>("--trust-anchor") { Description = "Trust anchor certificate (PEM or DER); repeatable. Default: the development PKI's root." };
        var intermediates = new Option<FileInfo[]>("--intermediate") { Description = "Extra CA certificate for chain building (PEM or DER); repeatable." };
        var crls = new Option<FileInfo[]>("--crl") { Description = "CRL (PEM or DER); repeatable. Default with the development PKI: its CRLs." };
        var policy = new Option<string>("--policy") { Description = "Algorithm policy: submission or archive.", DefaultValueFactory = _ => "submission", HelpName = "submission|archive" };
        var sha1Before = new Option<DateTimeOffset?>("--archive-sha1-before") { Description = "Under --policy archive, accept SHA-1 for signatures made before this date." };
        var acceptUnknown = new Option<bool>("--accept-unknown-revocation") { Description = "Accept (with a warning) when no CRL covers a certificate. Default: refuse." };
        var fetchCrl = new Option<bool>("--fetch-crl") { Description = "Download CRLs from the certificates' http(s) distribution points." };
        var ocsp = new Option<string>("--ocsp") { Description = "OCSP responder URL, asked when no CRL covers a certificate." };
        var output = new Option<FileInfo>("--out") { Description = "For a signature that carries its content: write the content here." };
        var json = new Option<bool>("--json") { Description = "End with one JSON line: valid, reason, detail, signers." };

        var command = new Command("verify", "Verify a CMS signature (RFC 5652): signature, chain, validity, key usage, revocation, algorithms.")
        {
            content, signature, anchors, intermediates, crls, policy, sha1Before, acceptUnknown, fetchCrl, ocsp, output, json,
        };
        command.SetAction((p, ct) =>
        {
            var policyName = p.GetValue(policy) ?? "submission";
            if (policyName is not ("submission" or "archive"))
            {
                return Task.FromResult(UsageError(p.GetValue(json), $"--policy must be submission or archive, not '{policyName}'."));
            }

            if (p.GetValue(signature) is not { } signatureFile)
            {
                return Task.FromResult(UsageError(p.GetValue(json), "--signature FILE is required."));
            }

            return Task.FromResult(Run(new Arguments(
            p.GetValue(content),
            signatureFile,
            p.GetValue(anchors) ?? [],
            p.GetValue(intermediates) ?? [],
            p.GetValue(crls) ?? [],
            policyName == "archive" ? SignaturePolicy.Archive : SignaturePolicy.Submission,
            p.GetValue(sha1Before),
            p.GetValue(acceptUnknown),
            p.GetValue(fetchCrl),
            p.GetValue(ocsp),
            p.GetValue(output),
            p.GetValue(json))));
        });
        return command;
    }

    private sealed record Arguments(
        FileInfo? Content,
        FileInfo Signature,
        FileInfo[] Anchors,
        FileInfo[] Intermediates,
        FileInfo[] Crls,
        SignaturePolicy Policy,
        DateTimeOffset? Sha1Before,
        bool AcceptUnknownRevocation,
        bool FetchCrl,
        string? Ocsp,
        FileInfo? Output,
        bool Json);

    private static int Run(Arguments a)
    {
        var options = new TrustOptions
        {
            TrustAnchorFiles = a.Anchors.Select(f => f.FullName).ToList(),
            IntermediateFiles = a.Intermediates.Select(f => f.FullName).ToList(),
            CrlFiles = a.Crls.Select(f => f.FullName).ToList(),
            AcceptUnknownRevocation = a.AcceptUnknownRevocation,
            ArchiveSha1AcceptedBefore = a.Sha1Before,
            FetchCrlDistributionPoints = a.FetchCrl,
            OcspResponderUrl = a.Ocsp,
        };

        byte[] signature;
        byte[]? content;
        TrustStore store;
        string trustNote;
        try
        {
            if (options.TrustAnchorFiles.Count == 0)
            {
                // No anchor given: the development PKI, so that `exchange verify` works right after the demo.
                var pki = DevPki.Load(ExchangeHome.Pki);
                options.TrustAnchorFiles.Add(pki.RootCertificatePath);
                options.IntermediateFiles.Add(pki.IssuingCertificatePath);
                if (options.CrlFiles.Count == 0)
                {
                    options.CrlFiles.Add(pki.CrlPath);
                }

                trustNote = $"trust: development PKI in {pki.Folder}";
            }
            else
            {
                trustNote = $"trust: {options.TrustAnchorFiles.Count} anchor(s), {options.CrlFiles.Count} CRL file(s)";
            }

            store = TrustStore.Load(options);
            signature = File.ReadAllBytes(a.Signature.FullName);
            content = a.Content is null ? null : File.ReadAllBytes(a.Content.FullName);
        }
        catch (DevPkiMissingException e)
        {
            return UsageError(a.Json, $"No --trust-anchor given and {e.Message}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            return UsageError(a.Json, e.Message);
        }

        var verifier = new SignatureVerifier(store);
        var result = content is null ? verifier.VerifyAttached(signature, a.Policy) : verifier.Verify(content, signature, a.Policy);

        if (result.Content is { } attached && a.Output is { } output)
        {
            try
            {
                File.WriteAllBytes(output.FullName, attached);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return UsageError(a.Json, e.Message);
            }
        }

        if (a.Json)
        {
            Console.WriteLine(ToJson(result));
        }
        else
        {
            Print(result, trustNote, a.Policy);
        }

        return result.Valid ? ExitCodes.Ok : ExitCodes.Refused;
    }

    /// <summary>The JSON object `exchange verify --json` prints (one line).</summary>
    public static string ToJson(VerificationResult result) => JsonSerializer.Serialize(new
    {
        valid = result.Valid,
        reason = result.Reason.ToCode(),
        detail = result.Detail,
        signers = result.Signers.Select(s => new
        {
            subject = s.Subject,
            issuer = s.Issuer,
            serial = s.SerialNumber,
            certificateSha256 = s.CertificateSha256,
            algorithm = s.SignatureAlgorithm,
            digestAlgorithm = s.DigestAlgorithm,
            signingTime = s.SigningTime,
            verdict = s.Verdict.ToCode(),
            detail = s.Detail,
        }),
    }, Json);

    private static void Print(VerificationResult result, string trustNote, SignaturePolicy policy)
    {
        if (result.Signers.Count > 0)
        {
            var table = new Table().AddColumns("Signer", "Issuer", "Serial", "Algorithm", "Signing time", "Verdict", "Detail");
            foreach (var s in result.Signers)
            {
                var verdict = s.Valid ? "[green]ok[/]" : $"[red]{s.Verdict.ToCode()}[/]";
                table.AddRow(
                    Markup.Escape(s.Subject),
                    Markup.Escape(s.Issuer),
                    Markup.Escape(s.SerialNumber),
                    Markup.Escape($"{s.SignatureAlgorithm}"),
                    Markup.Escape(s.SigningTime?.ToString("u", System.Globalization.CultureInfo.InvariantCulture) ?? "-"),
                    verdict,
                    Markup.Escape(s.Detail));
            }

            AnsiConsole.Write(table);
        }

        AnsiConsole.MarkupLine($"[grey]{Markup.Escape(trustNote)}; policy {policy.ToString().ToLowerInvariant()}[/]");
        AnsiConsole.MarkupLine(result.Valid
            ? $"[green]VALID[/] {Markup.Escape(result.Detail)}"
            : $"[red]REFUSED[/] {result.Reason.ToCode()}: {Markup.Escape(result.Detail)}");
    }

    private static int UsageError(bool json, string message)
    {
        Console.Error.WriteLine(message);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new { valid = false, error = message }, Json));
        }

        return ExitCodes.UsageOrIo;
    }
}
