namespace Exchange.Core;

/// <summary>What a hub does with a gateway's request for the directory (docs/directory.md, "Gateways' copy of the directory").</summary>
public enum DirectoryAnswer
{
    /// <summary>Send the hub's version to the requester's queue.</summary>
    Snapshot,

    /// <summary>The requester already holds this version or a newer one: nothing to send.</summary>
    UpToDate,

    /// <summary>The request names no agency this hub answers for: logged and counted, never answered.</summary>
    Refused,
}

/// <param name="Requester">The requester's code in normal form, when it is one.</param>
public sealed record DirectoryRequestDecision(DirectoryAnswer Answer, string? Requester, ReasonCode Reason, string Detail);

public static class DirectoryRequests
{
    /// <summary>
    /// Decides the answer to a request from <paramref name="requesterCode"/>, who holds <paramref name="knownVersion"/>
    /// (null: none). Only an agency of the directory that this hub serves (<paramref name="thisHub"/>: this hub's code in
    /// a federation, null when one hub serves everyone) is answered: the answer goes to that agency's queue, and a queue
    /// for a code nobody runs would fill with snapshots nobody reads. A retired agency is still answered, since its
    /// gateway may run on until its last documents are done.
    /// </summary>
    public static DirectoryRequestDecision Decide(AgencyDirectory current, string? requesterCode, long? knownVersion, string? thisHub)
    {
        ArgumentNullException.ThrowIfNull(current);
        if (!AgencyCode.TryParse(requesterCode, out var code, out var error))
        {
            return new(DirectoryAnswer.Refused, null, ReasonCode.InvalidAgencyCode, $"'{Untrusted.Quote(requesterCode)}' is not an agency code: {error}");
        }

        var requester = code.Value;
        if (current.Find(requester) is null)
        {
            return new(DirectoryAnswer.Refused, requester, ReasonCode.UnknownSender, $"'{requester}' is not in directory version {current.Version}.");
        }

        if (thisHub is not null && current.ServingHub(requester) != thisHub)
        {
            return new(DirectoryAnswer.Refused, requester, ReasonCode.UnknownSender, $"'{requester}' is served by hub '{current.ServingHub(requester)}', not by this hub '{thisHub}'.");
        }

        return knownVersion is { } known && known >= current.Version
            ? new(DirectoryAnswer.UpToDate, requester, ReasonCode.Ok, $"'{requester}' holds version {known}; this hub's is {current.Version}.")
            : new(DirectoryAnswer.Snapshot, requester, ReasonCode.Ok, $"Version {current.Version} for '{requester}', who holds {(knownVersion is { } k ? k.ToString(System.Globalization.CultureInfo.InvariantCulture) : "none")}.");
    }
}
