using Exchange.Core;
using Exchange.Gateway.Access;
using Exchange.Persistence;
using Exchange.Persistence.Gateway;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Broker;
using Exchange.ServiceDefaults.Hosting;
using Exchange.ServiceDefaults.Messaging;
using Exchange.Signing;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

using Exchange.Gateway.Vdxp;

namespace Exchange.Gateway;

public static class GatewayExtensions
{
    /// <summary>Registers one agency's gateway: its database, API keys, signer, trust, consumers and its queue on the bus.</summary>
    public static IHostApplicationBuilder AddGateway(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        var configuration = builder.Configuration;
        var servers = ServerSettings.FromConfiguration(configuration);
        var names = new ExchangeNames(configuration["Exchange:Prefix"] ?? string.Empty);
        var agency = AgencyCode.Parse(configuration["Gateway:AgencyCode"]).Value;
        // The agency's own broker user (exchange broker provision, docs/broker.md) when set; else the shared one.
        var ownBrokerUser = !string.IsNullOrWhiteSpace(configuration["Gateway:AmqpUser"]);
        if (ownBrokerUser)
        {
            servers = servers with { AmqpUser = configuration["Gateway:AmqpUser"]!, AmqpPassword = configuration["Gateway:AmqpPassword"] ?? string.Empty };
        }
        servers.RefuseUnsafe("The gateway", ownBrokerUser ? null
            : "Gateway:AmqpUser is not set: the gateway would log in to the broker as the shared user, which is not bound to its agency "
              + "(`exchange broker provision` makes one user per agency; docs/broker.md)");
        var connectionString = servers.PostgresConnectionString(configuration["Gateway:Database"] ?? names.GatewayDatabase(agency));

        services.AddSingleton(names);
        services.AddSingleton(GatewayHubAddress.For(names.HubQueue, names.AgencyQueue(agency), ownBrokerUser));
        services.TryAddSingleton(TimeProvider.System);
        services.Configure<GatewayOptions>(configuration.GetSection(GatewayOptions.Section));
        services.PostConfigure<GatewayOptions>(o => o.AgencyCode = agency);
        services.AddOptions<GatewayOptions>()
            .Validate(o => File.Exists(o.HubCertificatePath),
                "Gateway:HubCertificatePath must name the hub's sealing certificate (PEM or DER): the gateway believes only the directory "
                + "that certificate signed, and checks each delivery's signer and addressing against it (docs/directory.md, \"Signed snapshots\").")
            .ValidateOnStart();
        services.AddSingleton<HubSealPin>();
        // Request limits from the gateway's settings, so an oversize upload is refused while it is read
        // (Problems.FromRequestException answers too-large), not after it was buffered.
        services.AddOptions<FormOptions>().Configure<IOptions<GatewayOptions>>((form, gateway) =>
        {
            form.MultipartBodyLengthLimit = Math.Max(gateway.Value.MaxPackageBytes, gateway.Value.MaxSignatureBytes);
            form.ValueCountLimit = gateway.Value.MaxAttachments + 16;
        });
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<GatewayOptions>>((kestrel, gateway) =>
            kestrel.Limits.MaxRequestBodySize = gateway.Value.MaxRequestBytes);
        services.AddTrust(configuration);
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<GatewayOptions>>().Value;
            return CmsSigner.FromPkcs12(o.Pkcs12Path, o.Pkcs12Password);
        });
        services.AddDbContextPool<GatewayDbContext>(o => o.UseExchangePostgres(connectionString));
        // A factory, so that the host disposes the store (and its connection pool) when it stops.
        services.AddSingleton(_ => new PackageStore(connectionString, GatewayDbContext.Schema));
        OrphanChunkSweeper.Register(services, configuration, GatewayDbContext.PackageOwners);
        services.AddHealthChecks().AddPostgresCheck("postgres", _ => connectionString);
        services.AddDatabaseStartupTask((sp, ct) => MigrationRunner.ApplyAsync(connectionString, GatewayDbContext.Schema, sp.GetRequiredService<ILogger<GatewayDbContext>>(), ct));
        services.AddSingleton<OutboxDispatcher>();
        services.AddScoped<Vdxp.VdxpOperations>();
        services.AddSingleton<GatewayDirectory>();
        services.AddGatewayAccess(agency);

        // A queue of this host left without a consumer (after a broker restart) stops the host for its supervisor to restart.
        services.AddEndpointWatchdog(servers, EndpointWatchdogExtensions.IdleLimit(configuration), names.AgencyQueue(agency));
        services.AddMassTransit(x =>
        {
            x.AddConsumer<DeliverEnvelopeConsumer, RetryingConsumerDefinition<DeliverEnvelopeConsumer>>();
            x.AddConsumer<EnvelopeAcceptedConsumer, RetryingConsumerDefinition<EnvelopeAcceptedConsumer>>();
            x.AddConsumer<EnvelopeRejectedConsumer, RetryingConsumerDefinition<EnvelopeRejectedConsumer>>();
            x.AddConsumer<EnvelopeHeldConsumer, RetryingConsumerDefinition<EnvelopeHeldConsumer>>();
            x.AddConsumer<DeliveryConfirmedConsumer, RetryingConsumerDefinition<DeliveryConfirmedConsumer>>(c => c.Options<BatchOptions>(DeliveryConfirmedConsumer.Batching));
            x.AddConsumer<DeliveryExpiredConsumer, RetryingConsumerDefinition<DeliveryExpiredConsumer>>();
            x.AddConsumer<DeliverStatusConsumer, RetryingConsumerDefinition<DeliverStatusConsumer>>();
            x.AddConsumer<StatusAcceptedConsumer, RetryingConsumerDefinition<StatusAcceptedConsumer>>();
            x.AddConsumer<StatusRejectedConsumer, RetryingConsumerDefinition<StatusRejectedConsumer>>();
            x.AddConsumer<PackageChunkConsumer, PackageChunkConsumerDefinition>();
            x.AddConsumer<DirectorySnapshotConsumer, RetryingConsumerDefinition<DirectorySnapshotConsumer>>();
            x.AddConsumer<HandoverRecordedConsumer, RetryingConsumerDefinition<HandoverRecordedConsumer>>();
            x.UsingRabbitMq((context, bus) =>
            {
                bus.Host(servers);
                // Every message carries the login it was sent with (AMQP user_id, validated by RabbitMQ): what the
                // hub trusts as this agency's, whichever way it arrives (docs/broker.md, "Who sent it").
                bus.StampBrokerUser(servers.AmqpUser);
                // One durable queue per agency: the hub sends deliveries and answers to it, and it keeps them
                // while the gateway is down.
                bus.ReceiveEndpoint(names.AgencyQueue(agency), e =>
                {
                    e.QueueType(servers);
                    // Room for a full batch of confirmations (each message waiting in a batch holds its place) beside deliveries.
                    e.PrefetchCount = 64;
                    e.ConcurrentMessageLimit = 32;
                    // Its own user may declare only its own names: no exchange per message type, and a message
                    // that keeps failing goes to the _error queue without a Fault<T> published (docs/broker.md).
                    e.ConfigureConsumeTopology = false;
                    e.PublishFaults = false;
                    e.ConfigureConsumer<DeliverEnvelopeConsumer>(context);
                    e.ConfigureConsumer<EnvelopeAcceptedConsumer>(context);
                    e.ConfigureConsumer<EnvelopeRejectedConsumer>(context);
                    e.ConfigureConsumer<EnvelopeHeldConsumer>(context);
                    e.ConfigureConsumer<DeliveryConfirmedConsumer>(context);
                    e.ConfigureConsumer<DeliveryExpiredConsumer>(context);
                    e.ConfigureConsumer<DeliverStatusConsumer>(context);
                    e.ConfigureConsumer<StatusAcceptedConsumer>(context);
                    e.ConfigureConsumer<StatusRejectedConsumer>(context);
                    e.ConfigureConsumer<PackageChunkConsumer>(context);
                    e.ConfigureConsumer<DirectorySnapshotConsumer>(context);
                    e.ConfigureConsumer<HandoverRecordedConsumer>(context);
                });
            });
        });

        // After the bus, so queued documents are sent once it is up.
        services.AddHostedService(sp => sp.GetRequiredService<OutboxDispatcher>());
        services.AddHostedService<DirectoryRequester>();
        return builder;
    }
}

/// <summary>Builds one agency gateway as a web host: the document system's HTTP API plus the bus endpoint.</summary>
public static class GatewayHost
{
    /// <param name="configure">Extra registrations before the host is built (tests add a log capture here).</param>
    public static WebApplication Build(string[] args, IDictionary<string, string?>? settings = null, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = ExchangeHost.CreateBuilder(args, "exchange-gateway", settings);
        builder.AddGateway();
        configure?.Invoke(builder);
        var app = builder.Build();
        // Whatever goes wrong with a request answers as a problem with a reason code (Problems), never a bare
        // status or a stack trace.
        app.UseExceptionHandler(new ExceptionHandlerOptions { ExceptionHandler = Problems.WriteExceptionAsync });
        app.UseStatusCodePages(Problems.WriteStatusAsync);
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapDefaultEndpoints();
        app.MapGatewayApi();
        app.MapStatusApi();
        app.MapOperationsApi();
        app.MapVdxpApi();
        return app;
    }
}
