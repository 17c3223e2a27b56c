using System.Text;

namespace Exchange.Core;

/// <summary>
/// The directory as CSV (RFC 4180: comma-separated, double quotes around fields that hold commas, quotes or
/// line breaks), the form a province's IT staff keep in a spreadsheet. The header row names the columns:
/// <c>code,name,kind,parent,certificates</c>; <c>parent</c> may be empty; <c>certificates</c> lists the SHA-256
/// (hex) of each registered organisation certificate, separated by spaces or semicolons.
/// </summary>
public static class DirectoryCsv
{
    private static readonly string[] Columns = ["code", "name", "kind", "parent", "certificates"];

    /// <exception cref="FormatException">The text is not such a CSV; the message names the line.</exception>
    public static DirectoryDocument Parse(string text)
    {
        var rows = Rows(text).ToList();
        if (rows.Count == 0 || !rows[0].Fields.Select(f => f.Trim().ToLowerInvariant()).SequenceEqual(Columns))
        {
            throw new FormatException($"Line 1 must be the header '{string.Join(",", Columns)}'.");
        }

        var agencies = new List<Agency>();
        foreach (var (line, fields) in rows.Skip(1))
        {
            if (fields.Count == 1 && fields[0].Length == 0)
            {
                continue; // blank line
            }

            if (fields.Count != Columns.Length)
            {
                throw new FormatException($"Line {line}: {fields.Count} fields, expected {Columns.Length}.");
            }

            if (!Enum.TryParse<AgencyKind>(fields[2].Trim(), ignoreCase: true, out var kind) || !Enum.IsDefined(kind))
            {
                throw new FormatException($"Line {line}: kind '{fields[2]}' is not one of {string.Join(", ", Enum.GetNames<AgencyKind>())}.");
            }

            var certificates = fields[4].Split([' ', ';'], StringSplitOptions.RemoveEmptyEntries).Select(c => c.ToLowerInvariant()).ToList();
            if (certificates.FirstOrDefault(c => c.Length != 64 || !c.All(char.IsAsciiHexDigit)) is { } bad)
            {
                throw new FormatException($"Line {line}: '{bad}' is not a certificate SHA-256 (64 hex digits).");
            }

            var parent = fields[3].Trim();
            agencies.Add(new Agency(fields[0].Trim(), fields[1].Trim(), kind, parent.Length == 0 ? null : parent, certificates));
        }

        return new DirectoryDocument(agencies);
    }

    private static IEnumerable<(int Line, List<string> Fields)> Rows(string text)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var quoted = false;
        var line = 1;
        var rowLine = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else if (c == '"')
                {
                    quoted = false;
                }
                else
                {
                    line += c == '\n' ? 1 : 0;
                    field.Append(c);
                }
            }
            else if (c == '"' && field.Length == 0)
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else if (c is '\r' or '\n')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                {
                    i++;
                }

                fields.Add(field.ToString());
                field.Clear();
                yield return (rowLine, fields);
                fields = [];
                rowLine = ++line;
            }
            else
            {
                field.Append(c);
            }
        }

        if (quoted)
        {
            throw new FormatException($"Line {rowLine}: a quoted field is not closed.");
        }

        if (field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            yield return (rowLine, fields);
        }
    }
}
