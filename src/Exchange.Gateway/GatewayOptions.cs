namespace Exchange.Gateway;

/// <summary>Settings of one agency's gateway (configuration section "Gateway").</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>The agency this gateway speaks for (QCVN 102:2016 code, e.g. 000.00.01.H29).</summary>
    public string AgencyCode { get; set; } = string.Empty;

    /// <summary>The agency's name, written into the From block of packages it builds.</summary>
    public string AgencyName { get; set; } = string.Empty;

    /// <summary>The agency's organisation certificate and key (PKCS#12), which signs packages and receipts.</summary>
    public string Pkcs12Path { get; set; } = string.Empty;

    public string Pkcs12Password { get; set; } = string.Empty;

    /// <summary>
    /// The hub's sealing certificate (PEM or DER), pinned: the directory this gateway believes, and checks every delivery's
    /// signer and addressing against, is the one this certificate signed (docs/directory.md, "Signed snapshots"). Required.
    /// </summary>
    public string HubCertificatePath { get; set; } = string.Empty;

    /// <summary>The largest package (bytes) the HTTP API accepts or builds; also the sum of a document's files.</summary>
    public long MaxPackageBytes { get; set; } = 512L * 1024 * 1024;

    /// <summary>
    /// A package larger than this (bytes) is stored once in chunks and streamed to the hub ahead of its submission
    /// (docs/performance.md, "Large documents"); a smaller one travels inside the bus message.
    /// </summary>
    public int InlinePackageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>The largest detached signature (bytes) a caller may send with a ready package.</summary>
    public int MaxSignatureBytes { get; set; } = 1024 * 1024;

    /// <summary>The most recipients one document may name.</summary>
    public int MaxRecipients { get; set; } = 2000;

    /// <summary>The most files (attachments) one document may carry.</summary>
    public int MaxAttachments { get; set; } = 100;

    /// <summary>The largest single file (attachment), in bytes.</summary>
    public long MaxAttachmentBytes { get; set; } = 384L * 1024 * 1024;

    /// <summary>How often queued documents are retried while the bus or hub is unavailable.</summary>
    public TimeSpan OutboxRetry { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How often the gateway asks its hub for a newer directory version (docs/directory.md, "Gateways' copy of the
    /// directory"). The hub also pushes each new version when it is imported; this is the fallback.
    /// </summary>
    public TimeSpan DirectoryRefresh { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The parser and writer limits these settings make.</summary>
    public Edxml.EdxmlLimits ToEdxmlLimits() => new()
    {
        MaxPackageBytes = MaxPackageBytes,
        MaxRecipients = MaxRecipients,
        MaxAttachments = MaxAttachments,
        MaxAttachmentBytes = MaxAttachmentBytes,
    };

    /// <summary>
    /// The largest request body: a package or a document's files, a signature, and room for the multipart framing
    /// and the metadata part. Kestrel refuses a longer body before it is read (its own default, 30 MB, is below the
    /// package limit, so it is set from these settings).
    /// </summary>
    public long MaxRequestBytes => MaxPackageBytes + MaxSignatureBytes + (1024 * 1024);
}
