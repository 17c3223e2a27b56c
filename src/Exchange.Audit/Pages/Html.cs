using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Unicode;

namespace Exchange.Audit.Pages;

/// <summary>A piece of HTML that is already safe: markup written here, or text that went through <see cref="Html.Encode"/>.</summary>
public readonly record struct HtmlFragment(string Value)
{
    public static readonly HtmlFragment Empty = new(string.Empty);

    public override string ToString() => Value;
}

/// <summary>
/// Builds HTML from an interpolated string in which every interpolated value is escaped unless it is already an
/// <see cref="HtmlFragment"/>: <c>Html.Of($"&lt;td&gt;{subject}&lt;/td&gt;")</c> cannot inject markup, whatever
/// <c>subject</c> holds. Escaping covers <c>&lt; &gt; &amp; " '</c> and control characters, so a value is also safe
/// inside a double- or single-quoted attribute. Vietnamese letters are written as they are (UTF-8).
/// </summary>
public static class Html
{
    private static readonly HtmlEncoder Encoder = HtmlEncoder.Create(UnicodeRanges.All);

    public static string Encode(string? text) => string.IsNullOrEmpty(text) ? string.Empty : Encoder.Encode(text);

    public static HtmlFragment Of(ref HtmlHandler html) => html.ToFragment();

    public static HtmlFragment Text(string? text) => new(Encode(text));

    public static HtmlFragment Raw(string trustedMarkup) => new(trustedMarkup);

    public static HtmlFragment Join(IEnumerable<HtmlFragment> parts) => new(string.Concat(parts.Select(p => p.Value)));

    /// <summary>A URL path with an escaped query string, e.g. <c>Url("/search", [("sender", code)])</c>.</summary>
    public static string Url(string path, IEnumerable<KeyValuePair<string, string>> query)
    {
        var parts = query.Select(kv => $"{Uri.EscapeDataString(kv.Key)}={Uri.EscapeDataString(kv.Value)}").ToList();
        return parts.Count == 0 ? path : $"{path}?{string.Join('&', parts)}";
    }

    public static string Time(DateTimeOffset? time) =>
        time?.ToOffset(Compliance.ReportMonth.VietnamOffset).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "–";

    public static string Percent(double? share) => share is { } s ? (s * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%" : "–";

    /// <summary>A duration for people: 42 s, 3.5 min, 2.1 h, 1.5 d.</summary>
    public static string Duration(double? seconds) => seconds switch
    {
        null => "–",
        < 60 => seconds.Value.ToString("0", CultureInfo.InvariantCulture) + " s",
        < 3600 => (seconds.Value / 60).ToString("0.0", CultureInfo.InvariantCulture) + " min",
        < 172800 => (seconds.Value / 3600).ToString("0.0", CultureInfo.InvariantCulture) + " h",
        _ => (seconds.Value / 86400).ToString("0.0", CultureInfo.InvariantCulture) + " d",
    };
}

[InterpolatedStringHandler]
public ref struct HtmlHandler
{
    private readonly StringBuilder _builder;

    public HtmlHandler(int literalLength, int formattedCount)
    {
        _builder = new StringBuilder(literalLength + (formattedCount * 16));
    }

    public readonly void AppendLiteral(string literal) => _builder.Append(literal);

    public readonly void AppendFormatted(HtmlFragment fragment) => _builder.Append(fragment.Value);

    public readonly void AppendFormatted(IEnumerable<HtmlFragment> fragments)
    {
        foreach (var fragment in fragments)
        {
            _builder.Append(fragment.Value);
        }
    }

    public readonly void AppendFormatted(string? text) => _builder.Append(Html.Encode(text));

    public readonly void AppendFormatted<T>(T value, string? format = null)
    {
        // A list of fragments (List<HtmlFragment> binds here, not to the IEnumerable overload) is markup already.
        if (value is HtmlFragment fragment)
        {
            _builder.Append(fragment.Value);
            return;
        }

        if (value is IEnumerable<HtmlFragment> fragments)
        {
            AppendFormatted(fragments);
            return;
        }

        var text = value is IFormattable formattable ? formattable.ToString(format, CultureInfo.InvariantCulture) : value?.ToString();
        _builder.Append(Html.Encode(text));
    }

    public readonly HtmlFragment ToFragment() => new(_builder.ToString());
}
