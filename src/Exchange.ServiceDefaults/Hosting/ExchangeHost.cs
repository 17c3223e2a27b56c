using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;

namespace Exchange.ServiceDefaults.Hosting;

public static class ExchangeHost
{
    /// <summary>
    /// The builder every Exchange host starts from: the usual configuration sources, then
    /// <paramref name="settings"/> on top (how the CLI and the tests run several hosts in one process), then the
    /// service defaults.
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(string[] args, string serviceName, IDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.AddServiceDefaults(serviceName);
        return builder;
    }
}
