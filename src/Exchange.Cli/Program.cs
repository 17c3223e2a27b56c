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
};

return await root.Parse(args).InvokeAsync();
