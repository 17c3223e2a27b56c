using Exchange.Edxml;

namespace Exchange.Router;

/// <summary>Settings of one hub (configuration section "Router"). The limits are listed in docs/security.md.</summary>
public sealed class RouterOptions
{
    public const string Section = "Router";

    private string? _hubName;

    /// <summary>
    /// The agency whose subtree this hub serves when hubs are federated by tier (the directory lists the hubs);
    /// unset: the top hub, or the only one.
    /// </summary>
    public string? HubCode { get; set; }

    /// <summary>This hub's name, written as the issuer of its evidence and in trace entries; its code by default.</summary>
    public string HubName
    {
        get => _hubName ?? HubCode ?? "exchange-hub";
        set => _hubName = value;
    }

    /// <summary>The largest package (bytes) the hub accepts; larger ones are refused with <c>too-large</c> and not stored.</summary>
    public long MaxPackageBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>
    /// The largest detached signature (bytes). A CMS with an organisation and a personal signature and their chains
    /// is a few kilobytes; a megabyte leaves room for embedded CRLs and time-stamps and keeps a hostile "signature"
    /// from costing more to parse than the package it signs.
    /// </summary>
    public int MaxSignatureBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// The most recipients one package may name. A province's directive to every department, district and commune
    /// names several hundred; more than this is refused with <c>too-large</c> before any delivery is made.
    /// </summary>
    public int MaxRecipients { get; set; } = 2000;

    /// <summary>The most attachments in one package.</summary>
    public int MaxAttachments { get; set; } = 100;

    /// <summary>The largest attachment (bytes, decoded). The hub decodes attachments only to check them, never keeps or opens them.</summary>
    public long MaxAttachmentBytes { get; set; } = 384L * 1024 * 1024;

    /// <summary>How long a loaded directory version is used before the hub checks for a newer one.</summary>
    public TimeSpan DirectoryRefresh { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How long a directory snapshot sent to a gateway waits in its queue before the broker drops it (a gateway that is
    /// down asks for the newest version when it starts, so older ones need not pile up). Directories are public data.
    /// </summary>
    public TimeSpan DirectorySnapshotLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Messages the hub works on at once, and how many RabbitMQ hands it ahead. Each receipt waiting in a batch holds
    /// its place, so the limit leaves room for a full batch of receipts beside submissions.
    /// </summary>
    public int ConcurrentMessageLimit { get; set; } = 32;

    public int PrefetchCount { get; set; } = 64;

    /// <summary>The parser limits these settings make.</summary>
    public EdxmlLimits ToEdxmlLimits() => new()
    {
        MaxPackageBytes = MaxPackageBytes,
        MaxRecipients = MaxRecipients,
        MaxAttachments = MaxAttachments,
        MaxAttachmentBytes = MaxAttachmentBytes,
    };
}
