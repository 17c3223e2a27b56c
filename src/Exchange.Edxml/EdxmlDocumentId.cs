using System.Globalization;

namespace Exchange.Edxml;

/// <summary>
/// The edXML document identity <c>OrganId,PromulgationDate,Code</c>, e.g. <c>000.00.00.G22,2015/09/30,7816/VPCP-TTĐT</c>
/// (as in <c>ResponseFor/DocumentId</c> and <c>MessageHeader/DocumentId</c> of the shared samples): the issuing
/// organisation, the promulgation date as <c>yyyy/MM/dd</c>, and the document code <c>CodeNumber/CodeNotation</c>.
/// </summary>
public static class EdxmlDocumentId
{
    /// <summary>Formats the identity of a document.</summary>
    public static string Format(string organId, DateOnly promulgationDate, string code)
    {
        ArgumentNullException.ThrowIfNull(organId);
        ArgumentNullException.ThrowIfNull(code);
        return string.Create(CultureInfo.InvariantCulture, $"{organId},{promulgationDate:yyyy/MM/dd},{code}");
    }

    /// <summary>
    /// The document code as <c>ResponseFor/Code</c> writes it: <c>CodeNumber/CodeNotation</c>, or whichever part is
    /// present; null when neither is.
    /// </summary>
    public static string? Code(string? codeNumber, string? codeNotation) =>
        (string.IsNullOrEmpty(codeNumber), string.IsNullOrEmpty(codeNotation)) switch
        {
            (false, false) => $"{codeNumber}/{codeNotation}",
            (false, true) => codeNumber,
            (true, false) => codeNotation,
            _ => null,
        };
}
