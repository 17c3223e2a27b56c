namespace Exchange.Core;

/// <summary>
/// Reorganisations of the administrative tree as edits of a directory document, each of which becomes a new
/// directory version when imported. Vietnam merges communes and provinces and, since 2025, has abolished the
/// district tier (Nghị quyết 202/2025/QH15): merging an agency into a successor and moving a subtree under
/// another parent cover both.
/// </summary>
public static class DirectoryChanges
{
    /// <summary>
    /// <paramref name="code"/> ceases to exist at <paramref name="at"/> and <paramref name="successor"/> takes over: its
    /// children move under the successor, and documents addressed to the old code from then on are routed to the
    /// successor. The retired agency stays, with its certificates, so documents already on their way still complete.
    /// </summary>
    /// <exception cref="ArgumentException">An agency is missing, or the merge would make a cycle.</exception>
    public static DirectoryDocument Merge(DirectoryDocument document, string code, string successor, DateTimeOffset at)
    {
        var directory = new AgencyDirectory(0, document);
        var merged = Require(directory, code);
        Require(directory, successor);
        if (directory.IsWithin(successor, code))
        {
            throw new ArgumentException($"'{successor}' lies under '{code}': merging into it would make the subtree its own parent.");
        }

        if (merged.ValidTo is not null)
        {
            throw new ArgumentException($"'{code}' already ceased to exist at {merged.ValidTo:O}.");
        }

        return Checked(document with
        {
            Agencies = document.Agencies.Select(a =>
                a.Code == code ? a with { ValidTo = at, Successor = successor }
                : a.Parent == code ? a with { Parent = successor }
                : a).ToList(),
        });
    }

    /// <summary>Moves <paramref name="code"/> and everything under it below <paramref name="parent"/>.</summary>
    /// <exception cref="ArgumentException">An agency is missing, or the new parent lies in the subtree.</exception>
    public static DirectoryDocument Reparent(DirectoryDocument document, string code, string parent)
    {
        var directory = new AgencyDirectory(0, document);
        Require(directory, code);
        Require(directory, parent);
        if (directory.IsWithin(parent, code))
        {
            throw new ArgumentException($"'{parent}' lies under '{code}': a subtree cannot move below itself.");
        }

        return Checked(document with
        {
            Agencies = document.Agencies.Select(a => a.Code == code ? a with { Parent = parent } : a).ToList(),
        });
    }

    private static Agency Require(AgencyDirectory directory, string code) =>
        directory.Find(code) ?? throw new ArgumentException($"'{code}' is not in the directory.");

    private static DirectoryDocument Checked(DirectoryDocument document) =>
        document.Problems() is { Count: > 0 } problems ? throw new ArgumentException(string.Join(" ", problems)) : document;
}
