using System.CommandLine;
using Exchange.Cli.Commands;

var root = new RootCommand("exchange: the inter-agency document exchange hub's command-line tool")
{
    DemoCommand.Create(),
    PkiCommand.Create(),
    VerifyCommand.Create(),
    DirectoryCommand.Create(),
    BenchCommand.Create(),
};

return await root.Parse(args).InvokeAsync();
