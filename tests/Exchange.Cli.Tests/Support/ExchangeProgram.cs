using System.Diagnostics;
using System.Text.Json;
using Exchange.Signing;

namespace Exchange.Cli.Tests.Support;

/// <summary>What one run of the `exchange` program produced.</summary>
internal sealed record ExchangeRun(string[] Arguments, int ExitCode, string Output, string Error)
{
    /// <summary>The last non-empty line of standard output: where `--json` puts its object.</summary>
    public JsonElement LastJsonLine()
    {
        var last = Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()
            ?? throw new AssertionException($"`exchange {string.Join(' ', Arguments)}` wrote nothing to standard output.{this}");
        using var json = JsonDocument.Parse(last);
        return json.RootElement.Clone();
    }

    public override string ToString() =>
        $"{Environment.NewLine}exit {ExitCode}{Environment.NewLine}--- stdout{Environment.NewLine}{Output}--- stderr{Environment.NewLine}{Error}";
}

/// <summary>
/// Runs the built `exchange` (exchange.dll, copied beside the tests by the project reference) in its own process
/// with <c>EXCHANGE_HOME</c> set, so that the development PKI it opens is the test's, never the checkout's.
/// </summary>
internal static class ExchangeProgram
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    public static string ProgramPath { get; } = Path.Combine(AppContext.BaseDirectory, "exchange.dll");

    public static ExchangeRun Run(string home, params string[] arguments)
    {
        // DOTNET_HOST_PATH is the dotnet that runs `dotnet test`; a bare "dotnet" from PATH otherwise.
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            WorkingDirectory = home,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = System.Text.Encoding.UTF8,
            StandardErrorEncoding = System.Text.Encoding.UTF8,
        };
        start.ArgumentList.Add(ProgramPath);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment[ExchangeHome.EnvironmentVariable] = home;

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Cannot start {start.FileName}.");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(Timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`exchange {string.Join(' ', arguments)}` did not finish within {Timeout.TotalSeconds} s.");
        }

        return new ExchangeRun(arguments, process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
    }
}
