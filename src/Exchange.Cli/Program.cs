using System.CommandLine;
using Exchange.Cli.Commands;
using Spectre.Console;

if (Console.IsOutputRedirected)
{
    // Logs and CI: plain text, wide enough for the tables.
    AnsiConsole.Profile.Capabilities.Ansi = false;
    AnsiConsole.Profile.Width = 160;
}

var root = new RootCommand("exchange: the inter-agency document exchange hub's command-line tool")
{
    DemoCommand.Create(),
    PkiCommand.Create(),
    VerifyCommand.Create(),
    DirectoryCommand.Create(),
    BenchCommand.Create(),
    AuditCommand.Create(),
    EvidenceCommand.Create(),
    ComplianceCommand.Create(),
    BrokerCommand.Create(),
    SendCommand.Create(),
    DlqCommand.Create(),
    GatewayCommand.Create(),
    ChaosCommand.Create(),
    ProvinceCommand.Create(),
};

var parsed = root.Parse(args);
if (parsed.Errors.Count > 0)
{
    // A usage error is exit 2, never 1: 1 means "ran, and the answer is no" (a refused signature).
    foreach (var error in parsed.Errors)
    {
        await Console.Error.WriteLineAsync(error.Message);
    }

    await Console.Error.WriteLineAsync("Run with --help for usage.");
    return Exchange.Cli.ExitCodes.UsageOrIo;
}

// The province's supervisor stops a dozen hosts on SIGTERM, each given its time to finish cleanly (the hub seals its
// last evidence); other commands keep the library's two seconds.
return await parsed.InvokeAsync(new InvocationConfiguration
{
    ProcessTerminationTimeout = ProvinceCommand.IsSupervisor(parsed) ? Exchange.Cli.Province.ProvinceSupervisor.StopTimeout : TimeSpan.FromSeconds(2),
});
