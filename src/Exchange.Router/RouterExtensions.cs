using Exchange.Core;
using Exchange.Persistence;
using Exchange.Persistence.Hub;
using Exchange.Router.Evidence;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Hosting;
using Exchange.ServiceDefaults.Messaging;
using Exchange.Signing;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Exchange.Router;

public static class RouterExtensions
{
    /// <summary>Registers the hub: its database, trust, directory, consumers and its endpoint on the bus.</summary>
    public static IHostApplicationBuilder AddRouter(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        var servers = ServerSettings.FromConfiguration(builder.Configuration);
        var operatorUser = servers.AmqpUser;
        // The hub's own broker user (exchange broker provision, docs/broker.md) when set; else the shared one.
        var perAgencyUsers = !string.IsNullOrWhiteSpace(builder.Configuration["Router:AmqpUser"]);
        if (perAgencyUsers)
        {
            servers = servers with { AmqpUser = builder.Configuration["Router:AmqpUser"]!, AmqpPassword = builder.Configuration["Router:AmqpPassword"] ?? string.Empty };
        }
        servers.RefuseUnsafe("The hub",
            perAgencyUsers ? null
                : "Router:AmqpUser is not set: the hub would share the broker login of its agencies' gateways, and could not tell which agency a message came from (docs/broker.md)",
            !string.IsNullOrWhiteSpace(builder.Configuration["Router:SealPkcs12Path"]) || !string.IsNullOrWhiteSpace(builder.Configuration["Router:Evidence:SealPkcs12Path"]) ? null
                : "Router:SealPkcs12Path is not set: no evidence checkpoint would be signed, and the gateways would refuse the directory");
        var names = new ExchangeNames(builder.Configuration["Exchange:Prefix"] ?? string.Empty);
        var database = builder.Configuration["Router:Database"] ?? names.HubDatabase;
        var connectionString = servers.PostgresConnectionString(database);

        services.AddSingleton(names);
        // Whose broker login may speak for which agency (BusOrigin). The hub's own user marks the per-agency mode; the
        // shared user (EXCHANGE_AMQP_USER) is the operators' login (exchange dlq resend stamps it on what it re-sends).
        services.AddSingleton(new BusOrigin(names, perAgencyUsers, [servers.AmqpUser, operatorUser]));
        services.TryAddSingleton(TimeProvider.System);
        services.Configure<RouterOptions>(builder.Configuration.GetSection(RouterOptions.Section));
        services.Configure<DeadlineOptions>(builder.Configuration.GetSection(DeadlineOptions.Section));
        services.AddTrust(builder.Configuration);
        services.Configure<RoutingPolicy>(builder.Configuration.GetSection(RoutingPolicy.Section));
        services.AddOptions<RoutingPolicy>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<RoutingPolicy>, RoutingPolicyValidation>();
        services.AddSingleton<SubmissionCheck>();
        // Chunks are bound to the agency they were sent for, and that agency must be the one whose way in they came by.
        services.AddSingleton<IMessageOrigin, BusMessageOrigin>();
        services.AddSingleton<Forwarding>();
        services.AddSingleton<DirectoryCache>();
        services.AddSingleton<DirectorySubscribers>();
        services.AddDbContextPool<HubDbContext>(o => o.UseExchangePostgres(connectionString));
        // A factory, so that the host disposes the store (and its connection pool) when it stops.
        services.AddSingleton(_ => new PackageStore(connectionString, HubDbContext.Schema));
        OrphanChunkSweeper.Register(services, builder.Configuration, HubDbContext.PackageOwners);
        services.AddHealthChecks().AddPostgresCheck("postgres", _ => connectionString);

        // Registered before the bus so the schema is in place before the first message is consumed.
        services.AddDatabaseStartupTask((sp, ct) => MigrationRunner.ApplyAsync(connectionString, HubDbContext.Schema, sp.GetRequiredService<ILogger<HubDbContext>>(), ct));

        // Before the bus: on shutdown the bus stops first, then the sealer seals the last records and signs a checkpoint.
        services.AddEvidenceSealer(builder.Configuration);

        // A hub sends to one queue per agency it serves. MassTransit caches a send endpoint per queue (1,000 by default)
        // and stops the ones it evicts, so a directive fanned out to more agencies than the cache holds failed with
        // "send transport is stopped" half-way. The cache is process-wide; this sizes it for a province's hub.
        MassTransit.Transports.SendEndpointCacheDefaults.Capacity = Math.Max(MassTransit.Transports.SendEndpointCacheDefaults.Capacity, 20_000);

        // A queue of this host left without a consumer (after a broker restart) stops the host for its supervisor to restart.
        services.AddEndpointWatchdog(servers, EndpointWatchdogExtensions.IdleLimit(builder.Configuration), names.HubQueue, names.RelayInQueue);
        services.AddMassTransit(x =>
        {
            x.AddConsumer<SubmitEnvelopeConsumer, RetryingConsumerDefinition<SubmitEnvelopeConsumer>>();
            x.AddConsumer<SubmitDeliveryReceiptConsumer, RetryingConsumerDefinition<SubmitDeliveryReceiptConsumer>>(c => c.Options<BatchOptions>(SubmitDeliveryReceiptConsumer.Batching));
            x.AddConsumer<ReportDeliveryFailureConsumer, RetryingConsumerDefinition<ReportDeliveryFailureConsumer>>();
            x.AddConsumer<SubmitStatusConsumer, RetryingConsumerDefinition<SubmitStatusConsumer>>();
            x.AddConsumer<ReportHandoverConsumer, RetryingConsumerDefinition<ReportHandoverConsumer>>();
            x.AddConsumer<RelayEnvelopeConsumer, RetryingConsumerDefinition<RelayEnvelopeConsumer>>();
            x.AddConsumer<PackageChunkConsumer, PackageChunkConsumerDefinition>();
            x.AddConsumer<RequestDirectoryConsumer, RetryingConsumerDefinition<RequestDirectoryConsumer>>();
            x.UsingRabbitMq((context, bus) =>
            {
                bus.Host(servers);
                var router = context.GetRequiredService<IOptions<RouterOptions>>().Value;
                // The hub's queue name is protocol (gateways send to it), so it is configured explicitly.
                bus.ReceiveEndpoint(names.HubQueue, e =>
                {
                    Configure(e);
                    e.ConfigureConsumer<SubmitEnvelopeConsumer>(context);
                    e.ConfigureConsumer<SubmitDeliveryReceiptConsumer>(context);
                    e.ConfigureConsumer<ReportDeliveryFailureConsumer>(context);
                    e.ConfigureConsumer<SubmitStatusConsumer>(context);
                    e.ConfigureConsumer<ReportHandoverConsumer>(context);
                    e.ConfigureConsumer<PackageChunkConsumer>(context);
                    e.ConfigureConsumer<RequestDirectoryConsumer>(context);
                });
                // What neighbouring hubs hand over (federation by tier). Only the shovels between the hubs' virtual hosts
                // write here, so an agency cannot pose as a hub; an unfederated hub's relay queue simply stays empty.
                bus.ReceiveEndpoint(names.RelayInQueue, e =>
                {
                    Configure(e);
                    e.ConfigureConsumer<RelayEnvelopeConsumer>(context);
                    e.ConfigureConsumer<PackageChunkConsumer>(context);
                    e.ConfigureConsumer<SubmitDeliveryReceiptConsumer>(context);
                    e.ConfigureConsumer<ReportDeliveryFailureConsumer>(context);
                    e.ConfigureConsumer<SubmitStatusConsumer>(context);
                });

                void Configure(IRabbitMqReceiveEndpointConfigurator e)
                {
                    e.QueueType(servers);
                    e.PrefetchCount = router.PrefetchCount;
                    e.ConcurrentMessageLimit = router.ConcurrentMessageLimit;
                    // Senders send to the queue's exchange and never publish by message type; a message that keeps
                    // failing goes to the _error queue without a Fault<T> published (docs/broker.md).
                    e.ConfigureConsumeTopology = false;
                    e.PublishFaults = false;
                    // Once moved to _error: ProcessingFailed evidence, and the sender of a held submission is told.
                    ProcessingFailures.Configure(e, context);
                }
            });
        });
        // After the bus: it sends.
        services.AddHostedService<DeadlineChaser>();
        services.AddHostedService<HubStateMetrics>();
        services.AddHostedService<DirectoryPush>();
        return builder;
    }
}

/// <summary>A hub refuses to start with a routing rule it cannot read, rather than route by a rule nobody meant.</summary>
internal sealed class RoutingPolicyValidation : IValidateOptions<RoutingPolicy>
{
    public ValidateOptionsResult Validate(string? name, RoutingPolicy options) =>
        options.Problems() is { Count: > 0 } problems ? ValidateOptionsResult.Fail(problems) : ValidateOptionsResult.Success;
}

/// <summary>Builds and runs one hub as a web host (health endpoints) with the router inside.</summary>
public static class RouterHost
{
    /// <param name="configure">Extra registrations before the host is built (tests add a log capture here).</param>
    public static WebApplication Build(string[] args, IDictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = ExchangeHost.CreateBuilder(args, "exchange-router", settings);
        builder.AddRouter();
        configure?.Invoke(builder);
        var app = builder.Build();
        app.MapDefaultEndpoints();
        return app;
    }
}
