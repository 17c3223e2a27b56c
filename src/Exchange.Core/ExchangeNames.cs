namespace Exchange.Core;

/// <summary>
/// Queue and database names, which are part of the protocol between gateways and hubs. A prefix keeps
/// several deployments (or test runs) apart on one broker and one PostgreSQL server.
/// </summary>
public sealed record ExchangeNames(string Prefix = "")
{
    /// <summary>The queue the hub consumes: submissions and receipts.</summary>
    public string HubQueue => $"{Prefix}exchange-hub";

    /// <summary>The queue one agency's gateway consumes: deliveries and answers to its submissions.</summary>
    public string AgencyQueue(string agencyCode) => $"{Prefix}agency-{Slug(agencyCode, '-')}";

    /// <summary>The queue a hub consumes from other hubs (federation): relayed envelopes, and receipts and failures coming back.
    /// Only shovels between the hubs' virtual hosts write to it.</summary>
    public string RelayInQueue => $"{HubQueue}-relay";

    /// <summary>The queue a hub sends to for a neighbouring hub; a shovel moves it to that hub's <see cref="RelayInQueue"/>.</summary>
    public string RelayQueue(string hubCode) => $"{HubQueue}-relay-to-{Slug(hubCode, '-')}";

    /// <summary>The virtual host of a hub below the top one, beside the top hub's <paramref name="topVirtualHost"/>.</summary>
    public string HubVirtualHost(string topVirtualHost, string hubCode) => $"{Prefix}{topVirtualHost}-{Slug(hubCode, '-')}";

    public string HubDatabase => $"{DatabasePrefix}hub";

    /// <summary>The database of a hub below the top one (each hub of a federation has its own).</summary>
    public string HubDatabaseOf(string hubCode) => $"{HubDatabase}_{Slug(hubCode, '_')}";

    public string GatewayDatabase(string agencyCode) => $"{DatabasePrefix}gw_{Slug(agencyCode, '_')}";

    /// <summary>How every database of this deployment's hubs and gateways begins.</summary>
    public string DatabasePrefix => $"{Slug(Prefix, '_')}exchange_";

    private static string Slug(string text, char separator) =>
        new(text.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : separator).ToArray());
}
