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
        // Rooted at the application's folder, not the working directory: a host started from a checkout would
        // otherwise set its configuration watcher over the whole tree, PostgreSQL's data folder included.
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        builder.AddServiceDefaults(serviceName);
        return builder;
    }
}
