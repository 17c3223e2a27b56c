namespace Exchange.Router;

/// <summary>Settings of one hub (configuration section "Router").</summary>
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

    /// <summary>The largest package (bytes) the hub accepts; larger ones are refused with <c>too-large</c>.</summary>
    public int MaxPackageBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>The most recipients one package may name.</summary>
    public int MaxRecipients { get; set; } = 2000;

    /// <summary>How long a loaded directory version is used before the hub checks for a newer one.</summary>
    public TimeSpan DirectoryRefresh { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Messages the hub works on at once, and how many RabbitMQ hands it ahead.</summary>
    public int ConcurrentMessageLimit { get; set; } = 16;

    public int PrefetchCount { get; set; } = 32;
}
