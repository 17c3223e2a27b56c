using System.Globalization;

namespace Exchange.Edxml.Internal;

/// <summary>
/// Text forms of edXML dates, timestamps and numbers. Senders write dates as <c>yyyy/MM/dd</c> and timestamps as
/// <c>yyyy/MM/dd HH:mm:ss</c> in Vietnam time with no offset (all the shared samples); ISO 8601 forms are accepted too.
/// </summary>
internal static class EdxmlValues
{
    /// <summary>Vietnam has used UTC+7 without daylight saving since 1975.</summary>
    public static readonly TimeSpan VietnamOffset = TimeSpan.FromHours(7);

    public const string DateFormat = "yyyy/MM/dd";
    public const string TimestampFormat = "yyyy/MM/dd HH:mm:ss";

    private static readonly string[] DateFormats = [DateFormat, "yyyy-MM-dd"];

    private static readonly string[] LocalTimestampFormats =
    [
        TimestampFormat,
        "yyyy/MM/dd HH:mm:ss.FFFFFFF",
        "yyyy-MM-dd HH:mm:ss",
        "yyyy-MM-dd HH:mm:ss.FFFFFFF",
        "yyyy-MM-ddTHH:mm:ss",
        "yyyy-MM-ddTHH:mm:ss.FFFFFFF",
    ];

    private static readonly string[] OffsetTimestampFormats =
    [
        "yyyy-MM-ddTHH:mm:sszzz",
        "yyyy-MM-ddTHH:mm:ss.FFFFFFFzzz",
        "yyyy-MM-ddTHH:mm:ss'Z'",
        "yyyy-MM-ddTHH:mm:ss.FFFFFFF'Z'",
    ];

    public static bool TryParseDate(string text, out DateOnly date) =>
        DateOnly.TryParseExact(text, DateFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out date);

    public static bool TryParseTimestamp(string text, out DateTimeOffset timestamp)
    {
        if (DateTime.TryParseExact(text, LocalTimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            timestamp = new DateTimeOffset(DateTime.SpecifyKind(local, DateTimeKind.Unspecified), VietnamOffset);
            return true;
        }

        return DateTimeOffset.TryParseExact(
            text, OffsetTimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out timestamp);
    }

    public static bool TryParseInt(string text, out int value) =>
        int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);

    public static bool TryParseBool(string text, out bool value)
    {
        switch (text)
        {
            case "true" or "True" or "TRUE" or "1":
                value = true;
                return true;
            case "false" or "False" or "FALSE" or "0":
                value = false;
                return true;
            default:
                value = false;
                return false;
        }
    }

    public static string FormatDate(DateOnly date) => date.ToString(DateFormat, CultureInfo.InvariantCulture);

    /// <summary>Vietnam time, whole seconds, no offset: the form every sample uses.</summary>
    public static string FormatTimestamp(DateTimeOffset timestamp) =>
        timestamp.ToOffset(VietnamOffset).ToString(TimestampFormat, CultureInfo.InvariantCulture);

    public static string FormatInt(int value) => value.ToString(CultureInfo.InvariantCulture);

    public static string FormatBool(bool value) => value ? "true" : "false";

    /// <summary>Longest attachment name, in characters: the usual limit of a file name on the systems that save them.</summary>
    public const int MaxFileNameLength = 255;

    /// <summary>Whether <paramref name="name"/> can be saved as it is, in one folder, on any common file system.</summary>
    public static bool IsPlainFileName(string name, out string problem)
    {
        problem = name switch
        {
            _ when name.Trim() is "." or ".." => "it names a folder",
            _ when name.AsSpan().IndexOfAny('/', '\\') >= 0 => "it contains a directory separator ('/' or '\\')",
            _ when name.Any(char.IsControl) => "it contains a control character",
            _ when name.Length > MaxFileNameLength => $"it is longer than {MaxFileNameLength} characters",
            _ => string.Empty,
        };
        return problem.Length == 0;
    }
}
