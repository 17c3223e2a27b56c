using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Exchange.Audit.Compliance;
using Exchange.Core;

namespace Exchange.Audit.Queries;

/// <summary>The state of one delivery as the search names it.</summary>
public enum DeliveryFilter
{
    /// <summary>The recipient's signed receipt was verified (deliveries.state = delivered).</summary>
    Delivered,

    /// <summary>Forwarded, no receipt yet (deliveries.state = forwarded).</summary>
    Pending,

    /// <summary>The recipient's gateway refused it or its receipt failed (deliveries.state = failed).</summary>
    Failed,

    /// <summary>The hub refused the envelope (envelopes.state = rejected): there is no delivery.</summary>
    Rejected,
}

/// <summary>Where the previous page ended: the last row's received_at, envelope id and recipient (empty for none).</summary>
public sealed record SearchCursor(DateTimeOffset ReceivedAt, Guid EnvelopeId, string Recipient)
{
    public string Encode() => Convert.ToBase64String(Encoding.UTF8.GetBytes(
            string.Create(CultureInfo.InvariantCulture, $"{ReceivedAt.UtcTicks}|{EnvelopeId:D}|{Recipient}")))
        .TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static bool TryDecode(string text, out SearchCursor? cursor)
    {
        cursor = null;
        try
        {
            var padded = text.Replace('-', '+').Replace('_', '/');
            padded += new string('=', (4 - (padded.Length % 4)) % 4);
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(padded)).Split('|');
            if (parts.Length == 3 && long.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var ticks)
                && ticks >= DateTimeOffset.MinValue.UtcTicks && ticks <= DateTimeOffset.MaxValue.UtcTicks
                && Guid.TryParseExact(parts[1], "D", out var id) && parts[2].Length <= AgencyCode.MaxInputLength)
            {
                cursor = new SearchCursor(new DateTimeOffset(ticks, TimeSpan.Zero), id, parts[2]);
                return true;
            }
        }
        catch (FormatException)
        {
        }

        return false;
    }
}

/// <summary>
/// A search of deliveries (one row per envelope and recipient; a refused envelope is one row with no recipient),
/// newest received first. Every criterion is optional; they combine with AND.
/// </summary>
public sealed partial record DeliverySearch
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 500;
    public const int MaxDocumentLength = 256;

    /// <summary>The edXML status codes (QCVN 102:2016) a status filter accepts.</summary>
    public static readonly IReadOnlySet<int> StatusCodes = new HashSet<int> { 1, 2, 3, 4, 5, 6, 13, 15, 16 };

    /// <summary>An edXML DocumentId, or an envelope id (a GUID matches either).</summary>
    public string? Document { get; init; }

    public string? Sender { get; init; }

    public string? Recipient { get; init; }

    /// <summary>Received by the hub at or after this time.</summary>
    public DateTimeOffset? From { get; init; }

    /// <summary>Received by the hub before this time.</summary>
    public DateTimeOffset? To { get; init; }

    public DeliveryFilter? State { get; init; }

    /// <summary>The recipient reported this status code (at any time) about the envelope.</summary>
    public int? Status { get; init; }

    public int Limit { get; init; } = DefaultLimit;

    public SearchCursor? After { get; init; }

    public Guid? EnvelopeId => Guid.TryParse(Document, out var id) ? id : null;

    public bool IsEmpty => Document is null && Sender is null && Recipient is null && From is null && To is null && State is null && Status is null;

    /// <summary>
    /// Reads the query parameters <c>document, sender, recipient, from, to, state, status, limit, cursor</c>. Dates are
    /// <c>yyyy-MM-dd</c> (a day in Vietnam time; <c>to</c> includes that whole day) or ISO 8601 date-times (Vietnam
    /// time when no offset is given; <c>to</c> is then exclusive).
    /// </summary>
    public static bool TryParse(Func<string, string?> get, out DeliverySearch search, out string error)
    {
        ArgumentNullException.ThrowIfNull(get);
        search = new DeliverySearch();
        error = string.Empty;

        var document = Blank(get("document"));
        if (document is { Length: > MaxDocumentLength })
        {
            error = $"document: at most {MaxDocumentLength} characters.";
            return false;
        }

        if (!TryCode(get("sender"), "sender", out var sender, out error) || !TryCode(get("recipient"), "recipient", out var recipient, out error))
        {
            return false;
        }

        if (!TryTime(get("from"), endOfDay: false, out var from))
        {
            error = "from: expected a date (2026-11-01) or an ISO 8601 date-time (2026-11-01T08:00:00+07:00).";
            return false;
        }

        if (!TryTime(get("to"), endOfDay: true, out var to))
        {
            error = "to: expected a date (2026-11-30) or an ISO 8601 date-time (2026-12-01T00:00:00+07:00).";
            return false;
        }

        DeliveryFilter? state = null;
        if (Blank(get("state")) is { } stateText)
        {
            if (!Enum.TryParse<DeliveryFilter>(stateText, ignoreCase: true, out var parsed) || !Enum.IsDefined(parsed) || stateText.Any(char.IsDigit))
            {
                error = "state: one of delivered, pending, failed, rejected.";
                return false;
            }

            state = parsed;
        }

        int? status = null;
        if (Blank(get("status")) is { } statusText)
        {
            if (!int.TryParse(statusText, NumberStyles.None, CultureInfo.InvariantCulture, out var code) || !StatusCodes.Contains(code))
            {
                error = "status: an edXML status code: 01, 02, 03, 04, 05, 06, 13, 15 or 16.";
                return false;
            }

            status = code;
        }

        var limit = DefaultLimit;
        if (Blank(get("limit")) is { } limitText
            && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit < 1 || limit > MaxLimit))
        {
            error = $"limit: a whole number from 1 to {MaxLimit}.";
            return false;
        }

        SearchCursor? after = null;
        if (Blank(get("cursor")) is { } cursorText && !SearchCursor.TryDecode(cursorText, out after))
        {
            error = "cursor: not a cursor this API returned (use the 'next' value of the previous page).";
            return false;
        }

        search = new DeliverySearch
        {
            Document = document, Sender = sender, Recipient = recipient, From = from, To = to, State = state, Status = status, Limit = limit, After = after,
        };
        return true;
    }

    /// <summary>The query string that repeats this search (without the cursor), for links and forms.</summary>
    public IEnumerable<KeyValuePair<string, string>> ToQuery()
    {
        if (Document is not null) yield return new("document", Document);
        if (Sender is not null) yield return new("sender", Sender);
        if (Recipient is not null) yield return new("recipient", Recipient);
        if (From is { } from) yield return new("from", from.ToOffset(ReportMonth.VietnamOffset).ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture));
        if (To is { } to) yield return new("to", to.ToOffset(ReportMonth.VietnamOffset).ToString("yyyy-MM-ddTHH:mm:sszzz", CultureInfo.InvariantCulture));
        if (State is { } state) yield return new("state", state.ToString().ToLowerInvariant());
        if (Status is { } status) yield return new("status", status.ToString("00", CultureInfo.InvariantCulture));
        if (Limit != DefaultLimit) yield return new("limit", Limit.ToString(CultureInfo.InvariantCulture));
    }

    private static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();

    private static bool TryCode(string? text, string name, out string? code, out string error)
    {
        code = null;
        error = string.Empty;
        if (Blank(text) is not { } value)
        {
            return true;
        }

        if (!AgencyCode.TryParse(value, out var parsed, out var why))
        {
            error = $"{name}: {why}";
            return false;
        }

        code = parsed.Value;
        return true;
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}$")]
    private static partial Regex DateOnlyPattern();

    [GeneratedRegex(@"(Z|[+-]\d{2}:?\d{2})$", RegexOptions.IgnoreCase)]
    private static partial Regex OffsetPattern();

    internal static bool TryTime(string? text, bool endOfDay, out DateTimeOffset? time)
    {
        time = null;
        if (Blank(text) is not { } value)
        {
            return true;
        }

        if (value.Length > 40)
        {
            return false;
        }

        if (DateOnlyPattern().IsMatch(value))
        {
            if (!DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) || day.Year < 1900)
            {
                return false;
            }

            var start = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), ReportMonth.VietnamOffset);
            time = endOfDay ? start.AddDays(1) : start;
            return true;
        }

        if (OffsetPattern().IsMatch(value))
        {
            if (!DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.None, out var withOffset))
            {
                return false;
            }

            time = withOffset;
            return true;
        }

        if (!DateTime.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local) || !value.Contains('T', StringComparison.Ordinal))
        {
            return false;
        }

        time = new DateTimeOffset(DateTime.SpecifyKind(local, DateTimeKind.Unspecified), ReportMonth.VietnamOffset);
        return true;
    }
}
