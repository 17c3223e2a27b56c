using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Exchange.Persistence;

/// <summary>Applies a schema's migrations when the host starts, before the services registered after it.</summary>
public sealed class MigrationHostedService(string connectionString, string schema, ILogger<MigrationHostedService> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) =>
        MigrationRunner.ApplyAsync(connectionString, schema, logger, cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
