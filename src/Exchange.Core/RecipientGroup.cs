namespace Exchange.Core;

/// <summary>
/// A group of agencies named as one recipient, written in a package's <c>To/OrganId</c> as
/// <c>selector:code</c>, e.g. <c>communes:000.00.21.H29</c> for every commune under a district. QCVN 102:2016 has no
/// group address, so this is Exchange's own: the hub expands a group into one delivery per agency it names at the time
/// of routing and records the expansion as evidence.
/// </summary>
public sealed record RecipientGroup(RecipientGroup.Selector Members, string Root)
{
    public enum Selector
    {
        /// <summary>The agencies directly under the root.</summary>
        Children,

        /// <summary>Every agency under the root, at any depth.</summary>
        Descendants,

        /// <summary>Every commune under the root, at any depth.</summary>
        Communes,

        /// <summary>Every district under the root.</summary>
        Districts,

        /// <summary>Every department under the root.</summary>
        Departments,
    }

    public string Address => $"{Members.ToString().ToLowerInvariant()}:{Root}";

    /// <summary>Whether the text is written as a group (has a selector), valid or not.</summary>
    public static bool LooksLikeGroup(string? text) => text?.Contains(':', StringComparison.Ordinal) == true;

    public static bool TryParse(string? text, out RecipientGroup group, out string error)
    {
        group = null!;
        var colon = text?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (colon < 0)
        {
            error = "not a group address (selector:code)";
            return false;
        }

        var selector = text![..colon];
        if (!Enum.TryParse<Selector>(selector, ignoreCase: true, out var members) || !Enum.IsDefined(members) || selector.Any(char.IsDigit))
        {
            error = $"'{selector}' is not a group selector ({string.Join(", ", Enum.GetNames<Selector>().Select(n => n.ToLowerInvariant()))})";
            return false;
        }

        if (!AgencyCode.TryParse(text[(colon + 1)..], out var root, out error))
        {
            return false;
        }

        group = new RecipientGroup(members, root.Value);
        return true;
    }

    /// <summary>The agencies the group names at <paramref name="at"/>: active ones only, in code order.</summary>
    public IReadOnlyList<Agency> Expand(AgencyDirectory directory, DateTimeOffset at)
    {
        var candidates = Members == Selector.Children ? directory.ChildrenOf(Root) : directory.DescendantsOf(Root);
        return candidates.Where(a => a.IsActiveAt(at) && Members switch
        {
            Selector.Communes => a.Kind == AgencyKind.Commune,
            Selector.Districts => a.Kind == AgencyKind.District,
            Selector.Departments => a.Kind == AgencyKind.Department,
            _ => true,
        }).ToList();
    }
}

/// <summary>What a package's <c>To/OrganId</c> may hold: an agency code (QCVN 102:2016) or a <see cref="RecipientGroup"/>.</summary>
public static class RecipientAddress
{
    /// <summary>The address in normal form: a four-group code, or <c>selector:code</c> in lower case.</summary>
    public static bool TryNormalise(string? text, out string address, out string error)
    {
        if (RecipientGroup.LooksLikeGroup(text))
        {
            var ok = RecipientGroup.TryParse(text, out var group, out error);
            address = ok ? group.Address : string.Empty;
            return ok;
        }

        var valid = AgencyCode.TryParse(text, out var code, out error);
        address = valid ? code.Value : string.Empty;
        return valid;
    }

    /// <summary>The normal form, or the text as given when it is no address (for a comparison that then fails).</summary>
    public static string NormaliseOrKeep(string? text) => TryNormalise(text, out var address, out _) ? address : text ?? string.Empty;
}
