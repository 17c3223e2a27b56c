namespace Exchange.Core;

/// <summary>
/// How text that came from outside (a bus message's codes, a caller's values) is shown in details, evidence and
/// logs: clipped, so a megabyte "agency code" cannot fill the evidence log, and with control characters replaced,
/// so a line break in it cannot forge a log line.
/// </summary>
/// <remarks>
/// Everything returned here is well-formed UTF-16: a clip never falls between the two halves of a surrogate pair
/// (it keeps whole code points), and a lone surrogate that came in is replaced by U+FFFD. A lone surrogate has no
/// UTF-8 form, so PostgreSQL refuses it ("invalid byte sequence for encoding UTF8", SQLSTATE 22021) and the row that
/// quotes it, evidence included, could never be written.
/// </remarks>
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

        var clipped = text.Length <= max ? text : string.Concat(text.AsSpan(0, CutAt(text, max)), $"… ({text.Length} characters)");
        return WellFormed(clipped, controlsToo: true);
    }

    /// <summary>Clips a detail written to evidence or sent back to a sender.</summary>
    public static string Clip(string text, int max) =>
        WellFormed(text.Length <= max ? text : string.Concat(text.AsSpan(0, CutAt(text, max)), "…"), controlsToo: false);

    /// <summary>At most <paramref name="max"/> UTF-16 units of <paramref name="text"/>, in whole code points, without a mark: for a column of that width.</summary>
    public static string Truncate(string text, int max) =>
        WellFormed(text.Length <= max ? text : text[..CutAt(text, max)], controlsToo: false);

    /// <summary>Where to cut to keep at most <paramref name="max"/> units: one earlier when the last would be the first half of a pair.</summary>
    private static int CutAt(string text, int max) =>
        max > 0 && max < text.Length && char.IsHighSurrogate(text[max - 1]) ? max - 1 : Math.Max(max, 0);

    private static string WellFormed(string text, bool controlsToo)
    {
        var i = 0;
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (controlsToo && char.IsControl(c))
            {
                break;
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                break;
            }
        }

        if (i == text.Length)
        {
            return text;
        }

        return string.Create(text.Length, (text, controlsToo), (span, state) =>
        {
            var (source, controls) = state;
            for (var j = 0; j < source.Length; j++)
            {
                var c = source[j];
                if (char.IsHighSurrogate(c) && j + 1 < source.Length && char.IsLowSurrogate(source[j + 1]))
                {
                    span[j] = c;
                    span[++j] = source[j];
                }
                else
                {
                    span[j] = char.IsSurrogate(c) ? '\uFFFD' : controls && char.IsControl(c) ? '?' : c;
                }
            }
        });
    }
}
