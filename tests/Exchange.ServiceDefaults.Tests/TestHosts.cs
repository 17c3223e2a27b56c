using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Exchange.ServiceDefaults.Tests;

internal static class TestHosts
{
    /// <summary>A port nothing listens on: bound by the OS for a moment, then released.</summary>
    public static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>A web host on a free loopback port, quiet, with no OTLP endpoint unless the test sets one.</summary>
    public static WebApplicationBuilder WebBuilder(IDictionary<string, string?>? configuration = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        // Keep a developer's or CI's own collector variable from changing what is under test.
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "" });
        if (configuration is not null)
            builder.Configuration.AddInMemoryCollection(configuration);
        return builder;
    }

    public static Uri BaseAddress(this WebApplication app) => new(app.Urls.Single());
}
