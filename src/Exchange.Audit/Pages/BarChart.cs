using System.Globalization;
using System.Text;

namespace Exchange.Audit.Pages;

/// <summary>One bar: a share from 0 to 1 (null: nothing to measure), an optional target marker, a label and a note.</summary>
public sealed record Bar(string Label, double? Share, double? Target, string Note, bool Emphasis);

/// <summary>
/// A horizontal bar chart as inline SVG, drawn on the server: no script, no external resource. Bars that reach
/// their target are green, those below it red, those without a target grey; the target is a dark tick.
/// </summary>
public static class BarChart
{
    private const int LabelWidth = 330;
    private const int PlotWidth = 560;
    private const int NoteWidth = 170;
    private const int RowHeight = 24;
    private const int Top = 30;

    public static HtmlFragment Render(IReadOnlyList<Bar> bars, string title)
    {
        ArgumentNullException.ThrowIfNull(bars);
        var width = LabelWidth + PlotWidth + NoteWidth;
        var height = Top + (bars.Count * RowHeight) + 26;
        var svg = new StringBuilder();
        svg.Append(Html.Of($"""<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" width="100%" style="max-width:{width}px" font-family="system-ui, Segoe UI, Roboto, Noto Sans, Arial, sans-serif" font-size="12">"""));
        svg.Append(Html.Of($"""<title>{title}</title>"""));

        // Grid and axis: 0..100% every 10%.
        for (var p = 0; p <= 100; p += 10)
        {
            var x = X(p / 100.0);
            svg.Append(Html.Of($"""<line x1="{x}" y1="{Top - 6}" x2="{x}" y2="{height - 22}" stroke="{(p % 50 == 0 ? "#b9c3ce" : "#e3e8ee")}" stroke-width="1"/>"""));
            svg.Append(Html.Of($"""<text x="{x}" y="{Top - 10}" text-anchor="middle" fill="#5c6b7a">{p}%</text>"""));
        }

        for (var i = 0; i < bars.Count; i++)
        {
            var bar = bars[i];
            var y = Top + (i * RowHeight);
            var weight = bar.Emphasis ? "700" : "400";
            if (bar.Emphasis)
            {
                svg.Append(Html.Of($"""<rect x="0" y="{y}" width="{width}" height="{RowHeight}" fill="#f3f5f8"/>"""));
            }

            svg.Append(Html.Of($"""<text x="{LabelWidth - 8}" y="{y + 16}" text-anchor="end" font-weight="{weight}">{Clip(bar.Label, 46)}</text>"""));
            if (bar.Share is { } share)
            {
                var colour = bar.Target is { } t ? (share >= t ? "#1e7b34" : "#b3261e") : "#7a8794";
                var w = Math.Max(1.0, X(share) - X(0));
                svg.Append(Html.Of($"""<rect x="{X(0)}" y="{y + 5}" width="{F(w)}" height="{RowHeight - 10}" rx="2" fill="{colour}"/>"""));
            }
            else
            {
                svg.Append(Html.Of($"""<text x="{X(0) + 4}" y="{y + 16}" fill="#8a96a3" font-style="italic">không có văn bản / no documents</text>"""));
            }

            if (bar.Target is { } target)
            {
                var tx = X(target);
                svg.Append(Html.Of($"""<line x1="{F(tx)}" y1="{y + 2}" x2="{F(tx)}" y2="{y + RowHeight - 2}" stroke="#1d2733" stroke-width="2"/>"""));
            }

            svg.Append(Html.Of($"""<text x="{LabelWidth + PlotWidth + 10}" y="{y + 16}" font-weight="{weight}">{bar.Note}</text>"""));
        }

        // Legend.
        var ly = height - 8;
        svg.Append(Html.Of($"""<rect x="{X(0)}" y="{ly - 9}" width="12" height="10" fill="#1e7b34"/><text x="{X(0) + 16}" y="{ly}">đạt chỉ tiêu / meets target</text>"""));
        svg.Append(Html.Of($"""<rect x="{X(0) + 210}" y="{ly - 9}" width="12" height="10" fill="#b3261e"/><text x="{X(0) + 226}" y="{ly}">chưa đạt / below target</text>"""));
        svg.Append(Html.Of($"""<line x1="{X(0) + 400}" y1="{ly - 10}" x2="{X(0) + 400}" y2="{ly + 1}" stroke="#1d2733" stroke-width="2"/><text x="{X(0) + 406}" y="{ly}">chỉ tiêu / target</text>"""));
        svg.Append("</svg>");
        return Html.Raw(svg.ToString());
    }

    private static double X(double share) => LabelWidth + (Math.Clamp(share, 0, 1) * (PlotWidth - 10));

    private static string F(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);

    private static string Clip(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";
}
