using Exchange.Audit.Access;
using Exchange.Audit.Compliance;
using Exchange.Audit.Pages;
using Exchange.Audit.Queries;
using Exchange.Core;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Hosting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace Exchange.Audit;

/// <summary>Registrations of the audit host, next to what they register.</summary>
public static class AuditExtensions
{
    /// <summary>
    /// The hub's database (read; paper counts are the one write), the API keys (checked now: a malformed key entry
    /// stops the host), key authentication, the settings and the queries.
    /// </summary>
    public static WebApplicationBuilder AddAudit(this WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var servers = ServerSettings.FromConfiguration(builder.Configuration);
        servers.RefuseUnsafe("The auditors' host");
        var names = new ExchangeNames(builder.Configuration["Exchange:Prefix"] ?? string.Empty);
        var database = builder.Configuration["Audit:Database"] ?? names.HubDatabase;
        // Reads go to a standby when there is one (EXCHANGE_PG_HOSTS); the one write, a paper count, to the primary.
        var connectionString = servers.PostgresReadConnectionString(database);
        var writeConnectionString = servers.PostgresConnectionString(database);
        builder.Services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        builder.Services.AddSingleton(sp => new AuditWriteDatabase(
            writeConnectionString == connectionString ? sp.GetRequiredService<NpgsqlDataSource>() : NpgsqlDataSource.Create(writeConnectionString)));
        builder.Services.AddHealthChecks().AddPostgresCheck("postgres", _ => connectionString);

        builder.Services.AddSingleton(ApiKeyRing.FromConfiguration(builder.Configuration));
        builder.Services.AddSingleton(AuditSettings.FromConfiguration(builder.Configuration));
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<DirectoryCache>();
        builder.Services.AddSingleton<AuditStore>();
        builder.Services.AddHostedService<ComplianceMetrics>();

        builder.Services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        builder.Services.AddAuthorization();
        builder.Services.AddProblemDetails();
        return builder;
    }

    public static WebApplication MapAudit(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapDefaultEndpoints();
        app.MapAuditApi();
        app.MapAuditPages();

        var keys = app.Services.GetRequiredService<ApiKeyRing>().Keys;
        var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Exchange.Audit");
        if (keys.Count == 0)
        {
            log.LogWarning("No API keys are configured (Audit:Keys): every request will be refused. Make one with `exchange audit key create`.");
        }
        else
        {
            log.LogInformation("{Auditors} auditor key(s) and {Agencies} agency key(s) configured",
                keys.Count(k => k.Role == AuditRole.Auditor), keys.Count(k => k.Role == AuditRole.Agency));
        }

        return app;
    }
}

/// <summary>Builds the auditors' web host over the hub's database.</summary>
public static class AuditHost
{
    /// <param name="configure">Extra registrations before the host is built (tests add a log capture here).</param>
    public static WebApplication Build(string[] args, IDictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = ExchangeHost.CreateBuilder(args, "exchange-audit", settings);
        builder.AddAudit();
        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapAudit();
        return app;
    }
}

/// <summary>Where the auditors' host writes (paper counts): the primary, while its reads may go to a standby.</summary>
public sealed record AuditWriteDatabase(NpgsqlDataSource DataSource);
