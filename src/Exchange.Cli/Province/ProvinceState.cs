using System.Diagnostics;
using System.Text.Json;

namespace Exchange.Cli.Province;

/// <summary>One host as the supervisor last saw it.</summary>
public sealed record ProvinceHostState(string Name, string Role, string? Agency, string Url, int? Pid, bool Running, int Restarts, string Log);

/// <summary>
/// What the supervisor writes to <c>state.json</c> every few seconds and on every change: its own process id and each
/// host's. `up`, `status` and `down` read it; nothing in it is secret.
/// </summary>
public sealed record ProvinceState(int SupervisorPid, DateTimeOffset StartedAt, DateTimeOffset UpdatedAt, bool Stopping, IReadOnlyList<ProvinceHostState> Hosts)
{
    public static ProvinceState? Load(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize<ProvinceState>(File.ReadAllText(path), ProvincePlan.Json) : null;
        }
        catch (JsonException)
        {
            return null; // a file cut short by a crash: as if there were none
        }
    }

    public void Save(string path) => ProvinceFiles.WritePrivate(path, JsonSerializer.Serialize(this, ProvincePlan.Json));

    /// <summary>What the supervisor's command line holds (arguments are NUL-separated in /proc/&lt;pid&gt;/cmdline).</summary>
    public const string SupervisorMarker = "province\0run";

    /// <summary>Whether the supervisor named in the state still runs: its pid is alive and is `exchange province run`, not a pid reused since.</summary>
    public bool SupervisorAlive => IsOurs(SupervisorPid, SupervisorMarker);

    /// <summary>Whether a host of the state still runs: its pid is alive and listens on the host's URL (its <c>--urls</c> argument).</summary>
    public static bool HostAlive(ProvinceHostState host) => IsOurs(host.Pid, host.Url);

    /// <summary>Whether <paramref name="pid"/> runs a program whose command line mentions <paramref name="marker"/>.</summary>
    public static bool IsOurs(int? pid, string marker)
    {
        if (pid is not { } id || id <= 0)
        {
            return false;
        }

        try
        {
            using var process = Process.GetProcessById(id);
            if (process.HasExited)
            {
                return false;
            }
        }
        catch (ArgumentException)
        {
            return false;
        }

        // A zombie (exited, not yet reaped) still has a pid but an empty command line.
        var cmdline = $"/proc/{id}/cmdline";
        if (!File.Exists(cmdline))
        {
            return !OperatingSystem.IsLinux();
        }

        try
        {
            return File.ReadAllText(cmdline).Contains(marker, StringComparison.Ordinal);
        }
        catch (IOException)
        {
            return false;
        }
    }
}
