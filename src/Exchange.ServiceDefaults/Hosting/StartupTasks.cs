using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Exchange.ServiceDefaults.Hosting;

public static class StartupTasks
{
    /// <summary>
    /// Runs <paramref name="task"/> when the host starts, before the hosted services registered after this call
    /// (the bus, dispatchers), through the database retry pipeline so that a host started before its database
    /// is ready waits for it instead of failing.
    /// </summary>
    public static IServiceCollection AddDatabaseStartupTask(this IServiceCollection services, Func<IServiceProvider, CancellationToken, Task> task) =>
        services.AddSingleton<IHostedService>(sp => new StartupTask(sp, task));

    private sealed class StartupTask(IServiceProvider services, Func<IServiceProvider, CancellationToken, Task> task) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) =>
            services.GetRequiredService<ResiliencePipelines>().Database
                .ExecuteAsync(async ct => await task(services, ct), cancellationToken).AsTask();

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
