namespace Exchange.Core;

/// <summary>
/// An agency identification code (mã định danh) as defined by Thông tư 10/2016/TT-BTTTT and carried in
/// edXML <c>OrganId</c> elements (QCVN 102:2016/BTTTT): four groups <c>LLL.KK.JJ.Mnn</c>, read right to left.
/// <c>Mnn</c> is level 1 (a letter and two digits: G for ministries and central agencies, H for provinces,
/// other letters for other families), <c>JJ</c> level 2, <c>KK</c> level 3 and <c>LLL</c> level 4; a group of
/// zeros means the code stops at a higher level (<c>000.00.00.G22</c> is a level-1 agency).
/// </summary>
/// <remarks>
/// <para>
/// The older three-group form (<c>00.41.H29</c>, still produced by real senders: <c>01.02.G22</c>, <c>28.22.H17</c>
/// in the shared edXML samples) is accepted as an alias. Its groups have the widths 2, 2 and letter+2, which are
/// exactly the widths of levels 3, 2 and 1; level 4 is the only three-digit group and the only one that is missing.
/// So <c>g1.g2.L1</c> maps to <c>000.g1.g2.L1</c> (no level-4 unit). The samples agree: <c>28.22.H17</c> is
/// addressed to "UBND xã Hòa Sơn - UBND huyện Hòa Vang - Thành phố Đà Nẵng", a commune (level 3) of a district
/// (level 2) of a province-level city (level 1), and <c>01.02.G22</c> is the trace entry of a unit inside the
/// Government Office's own tree (G22, the <c>000.00.00.G22</c> of the same samples).
/// </para>
/// <para>
/// Two codes are equal when their normalised four-group forms are equal, whichever form they were parsed from.
/// </para>
/// </remarks>
public readonly record struct AgencyCode : IComparable<AgencyCode>
{
    /// <summary>Longest input looked at; anything longer is refused without further parsing.</summary>
    public const int MaxInputLength = 64;

    private const int FourGroupLength = 13; // "000.00.00.H29"

    private readonly string? _value;

    private AgencyCode(string value, bool wasLegacyForm)
    {
        _value = value;
        WasLegacyForm = wasLegacyForm;
    }

    /// <summary>The normalised four-group form, e.g. <c>000.00.41.H29</c>; empty for <c>default</c>.</summary>
    public string Value => _value ?? string.Empty;

    /// <summary>True when the code was parsed from the older three-group form.</summary>
    public bool WasLegacyForm { get; }

    /// <summary>The level-1 group, e.g. <c>H29</c>.</summary>
    public string Level1 => Group(10, 3);

    /// <summary>The level-2 group (two digits), <c>00</c> when unused.</summary>
    public string Level2 => Group(7, 2);

    /// <summary>The level-3 group (two digits), <c>00</c> when unused.</summary>
    public string Level3 => Group(4, 2);

    /// <summary>The level-4 group (three digits), <c>000</c> when unused.</summary>
    public string Level4 => Group(0, 3);

    /// <summary>Parses an agency code, throwing <see cref="FormatException"/> with the reason when it is not one.</summary>
    public static AgencyCode Parse(string? text) =>
        TryParse(text, out var code, out var error) ? code : throw new FormatException(error);

    /// <summary>Parses an agency code; on failure <paramref name="error"/> says what is wrong, for the sender to read.</summary>
    public static bool TryParse(string? text, out AgencyCode code, out string error)
    {
        code = default;
        error = string.Empty;

        if (text is null)
        {
            error = "Agency code is missing.";
            return false;
        }

        if (text.Length > MaxInputLength)
        {
            error = $"Agency code is too long ({text.Length} characters; an agency code has {FourGroupLength}).";
            return false;
        }

        var trimmed = text.AsSpan().Trim();
        if (trimmed.IsEmpty)
        {
            error = "Agency code is empty.";
            return false;
        }

        var shown = trimmed.ToString();
        if (trimmed.Equals("null", StringComparison.OrdinalIgnoreCase))
        {
            error = $"Agency code '{shown}' is the literal text null, not a code (expected the form 000.00.00.H29).";
            return false;
        }

        Span<Range> groups = stackalloc Range[5];
        var count = trimmed.Split(groups, '.');
        if (count is not (3 or 4))
        {
            error = $"Agency code '{shown}' must have four dot-separated groups like 000.00.00.H29 (or the older three, like 00.41.H29).";
            return false;
        }

        var level1 = trimmed[groups[count - 1]];
        if (level1.Length != 3 || !char.IsAsciiLetter(level1[0]) || !IsAsciiDigits(level1[1..]))
        {
            error = $"Agency code '{shown}': the level-1 group '{level1}' must be a letter and two digits, like H29 or G22.";
            return false;
        }

        ReadOnlySpan<int> widths = count == 4 ? [3, 2, 2] : [2, 2];
        for (var i = 0; i < widths.Length; i++)
        {
            var group = trimmed[groups[i]];
            if (group.Length != widths[i] || !IsAsciiDigits(group))
            {
                error = $"Agency code '{shown}': group {i + 1} '{group}' must be {widths[i]} digits 0-9.";
                return false;
            }
        }

        var letter = char.ToUpperInvariant(level1[0]);
        var value = count == 4
            ? $"{trimmed[..10]}{letter}{level1[1..]}"
            : $"000.{trimmed[..6]}{letter}{level1[1..]}";
        code = new AgencyCode(value, wasLegacyForm: count == 3);
        return true;
    }

    public bool Equals(AgencyCode other) => string.Equals(Value, other.Value, StringComparison.Ordinal);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);

    public int CompareTo(AgencyCode other) => string.CompareOrdinal(Value, other.Value);

    public override string ToString() => Value;

    private string Group(int start, int length) =>
        Value.Length == FourGroupLength ? Value.Substring(start, length) : string.Empty;

    private static bool IsAsciiDigits(ReadOnlySpan<char> span)
    {
        foreach (var c in span)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return true;
    }
}
