namespace Exchange.Core;

/// <summary>
/// How text that came from outside (a bus message's codes, a caller's values) is shown in details, evidence and
/// logs: clipped, so a megabyte "agency code" cannot fill the evidence log, and with control characters replaced,
/// so a line break in it cannot forge a log line.
/// </summary>
public static class Untrusted
{
    /// <summary>The longest quotation of untrusted text, in characters.</summary>
    public const int MaxQuoted = 80;

    public static string Quote(string? text, int max = MaxQuoted)
    {
        if (text is null)
        {
            return "(none)";
        }

        var clipped = text.Length <= max ? text : string.Concat(text.AsSpan(0, max), $"… ({text.Length} characters)");
        return string.Create(clipped.Length, clipped, (span, source) =>
        {
            for (var i = 0; i < source.Length; i++)
            {
                span[i] = char.IsControl(source[i]) ? '?' : source[i];
            }
        });
    }

    /// <summary>Clips a detail written to evidence or sent back to a sender.</summary>
    public static string Clip(string text, int max) =>
        text.Length <= max ? text : string.Concat(text.AsSpan(0, max), "…");
}
