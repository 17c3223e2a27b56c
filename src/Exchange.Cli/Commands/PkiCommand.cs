using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using Exchange.Signing;
using Spectre.Console;

namespace Exchange.Cli.Commands;

/// <summary>
/// `exchange pki`: the development PKI (never for production). `init` creates the root CA, issuing CA, hub sealing
/// certificate and CRLs (and agency certificates given with --agency); `revoke CODE` puts an agency's certificate on
/// the CRL; `show` lists what is there.
/// </summary>
public static class PkiCommand
{
    public static Command Create()
    {
        var command = new Command("pki", "The development PKI: root and issuing CA, agency and hub certificates, CRLs (never for production).");
        command.Subcommands.Add(Init());
        command.Subcommands.Add(Revoke());
        command.Subcommands.Add(Show());
        return command;
    }

    private static Option<DirectoryInfo> FolderOption() =>
        new("--folder") { Description = $"PKI folder. Default: $EXCHANGE_HOME/pki (now {ExchangeHome.Pki})." };

    private static string FolderOf(DirectoryInfo? folder) => folder?.FullName ?? ExchangeHome.Pki;

    private static Command Init()
    {
        var folder = FolderOption();
        var agencies = new Option<string[]>("--agency") { Description = "An agency certificate to issue, as CODE=NAME; repeatable." };
        var command = new Command("init", "Create the development PKI, or add what is missing to an existing one.") { folder, agencies };
        command.SetAction((p, ct) =>
        {
            var parsed = new List<(string Code, string Name)>();
            foreach (var item in p.GetValue(agencies) ?? [])
            {
                var at = item.IndexOf('=', StringComparison.Ordinal);
                if (at <= 0 || at == item.Length - 1)
                {
                    Console.Error.WriteLine($"--agency expects CODE=NAME, got '{item}'.");
                    return Task.FromResult(ExitCodes.UsageOrIo);
                }

                parsed.Add((item[..at].Trim(), item[(at + 1)..].Trim()));
            }

            try
            {
                var progress = new ConsoleProgress();
                var pki = DevPki.LoadOrCreate(FolderOf(p.GetValue(folder)), parsed, new LineProgress(progress));
                progress.Stage($"development PKI ready in {pki.Folder}");
                AnsiConsole.MarkupLineInterpolated($"  trust anchor  {pki.RootCertificatePath}");
                AnsiConsole.MarkupLineInterpolated($"  CRLs          {pki.CrlPath}");
                AnsiConsole.MarkupLineInterpolated($"  hub seal      {pki.HubSealPkcs12Path}");
                AnsiConsole.MarkupLineInterpolated($"  agencies      {pki.AgencyCodes.Count}");
                return Task.FromResult(ExitCodes.Ok);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or CryptographicException)
            {
                Console.Error.WriteLine(e.Message);
                return Task.FromResult(ExitCodes.UsageOrIo);
            }
        });
        return command;
    }

    private static Command Revoke()
    {
        var folder = FolderOption();
        var code = new Argument<string>("CODE") { Description = "The agency code whose certificate is revoked." };
        var command = new Command("revoke", "Revoke an agency's certificate and re-issue the CRL.") { code, folder };
        command.SetAction((p, ct) =>
        {
            try
            {
                var pki = DevPki.Load(FolderOf(p.GetValue(folder)));
                var agency = p.GetValue(code)!;
                pki.Revoke(agency);
                AnsiConsole.MarkupLineInterpolated($"Revoked the certificate of {agency}; CRLs re-issued in {pki.CrlPath}.");
                AnsiConsole.MarkupLine("[grey]Running verifiers see it when they load the new CRL (TrustStore.AddCrl or Reload, or a restart).[/]");
                return Task.FromResult(ExitCodes.Ok);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or KeyNotFoundException or CryptographicException)
            {
                Console.Error.WriteLine(e.Message);
                return Task.FromResult(ExitCodes.UsageOrIo);
            }
        });
        return command;
    }

    private static Command Show()
    {
        var folder = FolderOption();
        var command = new Command("show", "List the development PKI's certificates and CRLs.") { folder };
        command.SetAction((p, ct) =>
        {
            try
            {
                var pki = DevPki.Load(FolderOf(p.GetValue(folder)));
                var store = pki.CreateTrustStore();
                AnsiConsole.MarkupLineInterpolated($"[bold]Development PKI[/] in {pki.Folder} [grey](never for production)[/]");

                var table = new Table().AddColumns("Role", "Subject", "Serial", "SHA-256", "Valid until", "Status");
                using (var root = pki.RootCertificate)
                {
                    table.AddRow("root CA (trust anchor)", Markup.Escape(root.Subject), root.SerialNumber, Sha(root.RawData), Date(root.NotAfter), "");
                }

                using (var issuing = pki.IssuingCertificate)
                {
                    table.AddRow("issuing CA", Markup.Escape(issuing.Subject), issuing.SerialNumber, Sha(issuing.RawData), Date(issuing.NotAfter), "");
                }

                using (var hub = pki.HubSigner())
                {
                    table.AddRow("hub seal", Markup.Escape(hub.Certificate.Subject), hub.Certificate.SerialNumber, Sha(hub.Certificate.RawData), Date(hub.Certificate.NotAfter), "");
                }

                foreach (var code in pki.AgencyCodes)
                {
                    using var cert = pki.AgencyCertificate(code);
                    var status = pki.IsRevoked(code) ? "[red]revoked[/]" : "[green]good[/]";
                    table.AddRow($"agency {Markup.Escape(code)}", Markup.Escape(cert.Subject), cert.SerialNumber, Sha(cert.RawData), Date(cert.NotAfter), status);
                }

                AnsiConsole.Write(table);
                foreach (var crl in store.Crls)
                {
                    AnsiConsole.MarkupLineInterpolated($"CRL of {crl.Issuer}: issued {crl.ThisUpdate:u}, next update {crl.NextUpdate:u}, {crl.RevokedCount} revoked");
                }

                AnsiConsole.MarkupLineInterpolated($"PKCS#12 password file: {Path.Combine(pki.Folder, "password")}");
                return Task.FromResult(ExitCodes.Ok);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException or InvalidDataException)
            {
                Console.Error.WriteLine(e.Message);
                return Task.FromResult(ExitCodes.UsageOrIo);
            }
        });
        return command;
    }

    private static string Sha(byte[] der) => Convert.ToHexStringLower(SHA256.HashData(der))[..16] + "…";

    private static string Date(DateTime value) => value.ToUniversalTime().ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>Reports each step at once, in order (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class LineProgress(ConsoleProgress console) : IProgress<string>
    {
        public void Report(string value) => console.Stage(value);
    }
}
