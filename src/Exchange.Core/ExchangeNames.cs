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

    public string HubDatabase => $"{DbPrefix}exchange_hub";

    public string GatewayDatabase(string agencyCode) => $"{DbPrefix}exchange_gw_{Slug(agencyCode, '_')}";

    private string DbPrefix => Slug(Prefix, '_');

    private static string Slug(string text, char separator) =>
        new(text.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : separator).ToArray());
}
