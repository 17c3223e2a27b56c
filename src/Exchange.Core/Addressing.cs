namespace Exchange.Core;

/// <summary>
/// Rules about a package's list of recipients that hold whatever the directory says. A package names each
/// recipient once, and never its own sender: a document an agency keeps for itself stays in its own document
/// system, and a party that is both sender and recipient would make receipts and statuses (which go from a
/// recipient back to the sender) ambiguous.
/// </summary>
public static class Addressing
{
    /// <summary>
    /// Refuses a list that names an agency twice (after normalising the older three-group form) or names the
    /// sender. Codes that do not parse are left to the caller, which refuses them as <see cref="ReasonCode.InvalidAgencyCode"/>.
    /// </summary>
    public static bool TryCheck(string sender, IEnumerable<string?> recipients, out ReasonCode reason, out string detail)
    {
        ArgumentNullException.ThrowIfNull(recipients);
        var from = AgencyCode.TryParse(sender, out var code, out _) ? code.Value : null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
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

            if (!seen.Add(to.Value))
            {
                (reason, detail) = (ReasonCode.DuplicateRecipient, $"The package names recipient '{to}' more than once.");
                return false;
            }
        }

        (reason, detail) = (ReasonCode.Ok, string.Empty);
        return true;
    }
}
