using Spectre.Console;

namespace Exchange.Cli;

/// <summary>
/// Progress for long commands: a live bar on a terminal, and plain timestamped lines when the output is a
/// file or a CI log, so a person can always see the work move.
/// </summary>
public sealed class ConsoleProgress
{
    private readonly DateTimeOffset _started = DateTimeOffset.UtcNow;

    public static bool Interactive => AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected;

    /// <summary>A reporter that prints each stage as it is reported, in order (unlike <see cref="Progress{T}"/>, which posts).</summary>
    public IProgress<string> Stages(string prefix) => new Reporter(text => Stage($"{prefix}{text}"));

    public void Stage(string text) =>
        AnsiConsole.MarkupLineInterpolated($"[grey]{(DateTimeOffset.UtcNow - _started).TotalSeconds,6:0.0}s[/] {text}");

    /// <summary>Runs <paramref name="work"/>, which reports how many of <paramref name="total"/> items are done.</summary>
    public async Task TrackAsync(string what, int total, Func<Action<int>, Task> work)
    {
        if (Interactive)
        {
            await AnsiConsole.Progress().AutoClear(false).StartAsync(async ctx =>
            {
                var task = ctx.AddTask(what, maxValue: total);
                await work(done => task.Value = done);
            });
            return;
        }

        var last = -1;
        var lastAt = DateTimeOffset.MinValue;
        await work(done =>
        {
            if (done != last || DateTimeOffset.UtcNow - lastAt > TimeSpan.FromSeconds(5))
            {
                Stage($"{what}: {done}/{total}");
                last = done;
                lastAt = DateTimeOffset.UtcNow;
            }
        });
    }

    private sealed class Reporter(Action<string> report) : IProgress<string>
    {
        public void Report(string value) => report(value);
    }
}
