namespace Exchange.Core;

/// <summary>
/// Which kinds of agency may write to which, and who may address a group (configuration section "Router:Routing").
/// The default lets every kind write to every kind, as correspondence between any two agencies is lawful
/// (Nghị định 30/2020/NĐ-CP), and keeps broadcasting to those who direct others: ministries, the province and its
/// departments address any group, a district only groups within its own subtree, a commune none.
/// </summary>
public sealed class RoutingPolicy
{
    public const string Section = "Router:Routing";

    /// <summary>Refused pairs written <c>Sender->Recipient</c> with kind names or <c>*</c>, e.g. <c>Commune->Central</c>. Default: none.</summary>
    public string[]? Deny { get; set; }

    /// <summary>Kinds that may address groups. Default: Central, Province, Department, District.</summary>
    public AgencyKind[]? GroupSenders { get; set; }

    /// <summary>Kinds that may address groups only within their own subtree. Default: District.</summary>
    public AgencyKind[]? GroupSendersWithinOwnSubtree { get; set; }

    private AgencyKind[] EffectiveGroupSenders => GroupSenders ?? [AgencyKind.Central, AgencyKind.Province, AgencyKind.Department, AgencyKind.District];

    private AgencyKind[] EffectiveWithinOwnSubtree => GroupSendersWithinOwnSubtree ?? [AgencyKind.District];

    public (ReasonCode Reason, string Detail) Check(Agency sender, Agency recipient)
    {
        foreach (var rule in Deny ?? [])
        {
            var parts = rule.Split("->", 2, StringSplitOptions.TrimEntries);
            if (parts.Length == 2 && Matches(parts[0], sender.Kind) && Matches(parts[1], recipient.Kind))
            {
                return (ReasonCode.RouteNotAllowed, $"The routing policy refuses {sender.Kind} → {recipient.Kind} ('{rule}'): '{sender.Code}' may not write to '{recipient.Code}'.");
            }
        }

        return (ReasonCode.Ok, string.Empty);
    }

    public (ReasonCode Reason, string Detail) CheckGroup(Agency sender, RecipientGroup group, AgencyDirectory directory)
    {
        if (!EffectiveGroupSenders.Contains(sender.Kind))
        {
            return (ReasonCode.RouteNotAllowed, $"The routing policy lets only {string.Join(", ", EffectiveGroupSenders)} address groups; '{sender.Code}' is {sender.Kind}.");
        }

        if (EffectiveWithinOwnSubtree.Contains(sender.Kind) && !directory.IsWithin(group.Root, sender.Code))
        {
            return (ReasonCode.RouteNotAllowed, $"A {sender.Kind} addresses groups within its own subtree only; '{group.Root}' is not under '{sender.Code}'.");
        }

        return (ReasonCode.Ok, string.Empty);
    }

    /// <summary>The rules that cannot be read, one line each; the router refuses to start with any.</summary>
    public IReadOnlyList<string> Problems() =>
        (Deny ?? []).Where(rule => rule.Split("->", 2, StringSplitOptions.TrimEntries) is not [var from, var to] || !IsKind(from) || !IsKind(to))
            .Select(rule => $"Router:Routing:Deny '{rule}' is not 'Kind->Kind' with kinds {string.Join(", ", Enum.GetNames<AgencyKind>())} or '*'.")
            .ToList();

    private static bool IsKind(string text) => text == "*" || Enum.TryParse<AgencyKind>(text, ignoreCase: true, out var kind) && Enum.IsDefined(kind);

    private static bool Matches(string pattern, AgencyKind kind) =>
        pattern == "*" || (Enum.TryParse<AgencyKind>(pattern, ignoreCase: true, out var k) && k == kind);
}
