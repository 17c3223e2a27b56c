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

    /// <summary>The largest package (bytes) the HTTP API accepts.</summary>
    public int MaxPackageBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>The most recipients one document may name.</summary>
    public int MaxRecipients { get; set; } = 2000;

    /// <summary>How often queued documents are retried while the bus or hub is unavailable.</summary>
    public TimeSpan OutboxRetry { get; set; } = TimeSpan.FromSeconds(2);
}
