namespace Exchange.Cli;

/// <summary>Process exit codes shared by every command.</summary>
public static class ExitCodes
{
    /// <summary>The command did what was asked (a signature verified, every delivery confirmed).</summary>
    public const int Ok = 0;

    /// <summary>The command ran but the answer is "no": a signature refused, a delivery not confirmed.</summary>
    public const int Refused = 1;

    /// <summary>Usage or I/O error: bad arguments, unreadable files, servers unreachable.</summary>
    public const int UsageOrIo = 2;
}
