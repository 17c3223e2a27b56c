namespace Exchange.Core;

/// <summary>
/// Rules about a package's list of recipients that hold whatever the directory says. A package names each
/// recipient once in each form of its code, and never its own sender: a document an agency keeps for itself stays
/// in its own document system, and a party that is both sender and recipient would make receipts and statuses
/// (which go from a recipient back to the sender) ambiguous.
/// </summary>
public static class Addressing
{
    /// <summary>
    /// Refuses a list that names an agency twice in the same form, or names the sender. One agency under both its
    /// four-group code and the older three-group form (<c>000.01.21.H29</c> and <c>01.21.H29</c>) is accepted: document
    /// systems whose address books hold both forms write both <c>To</c> blocks, and the national axis passes such packages
    /// on (QCVN 102:2016 defines no uniqueness of <c>To</c>); callers deliver to the agency once. Codes that do not parse
    /// are left to the caller, which refuses them as <see cref="ReasonCode.InvalidAgencyCode"/>.
    /// </summary>
    public static bool TryCheck(string sender, IEnumerable<string?> recipients, out ReasonCode reason, out string detail)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        var from = AgencyCode.TryParse(sender, out var code, out _) ? code.Value : null;
        var seen = new HashSet<(string Code, bool Legacy)>();
        foreach (var text in recipients)
        {
            if (!AgencyCode.TryParse(text, out var to, out _))
            {
                continue;
            }

            if (to.Value == from)
            {
                (reason, detail) = (ReasonCode.RecipientIsSender, $"The package names its own sender '{from}' as a recipient.");
                return false;
            }

            if (!seen.Add((to.Value, to.WasLegacyForm)))
            {
                var form = to.WasLegacyForm ? "in its three-group form " : string.Empty;
                (reason, detail) = (ReasonCode.DuplicateRecipient, $"The package names recipient '{to}' {form}more than once.");
                return false;
            }
        }

        (reason, detail) = (ReasonCode.Ok, string.Empty);
        return true;
    }
}
