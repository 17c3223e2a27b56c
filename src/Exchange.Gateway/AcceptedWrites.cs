using Exchange.Persistence;
using Exchange.Persistence.Gateway;
using Exchange.ServiceDefaults;

namespace Exchange.Gateway;

internal static class AcceptedWrites
{
    /// <summary>
    /// Saves what the HTTP API accepted (a queued document or status), retried on transient database faults.
    /// Rows are keyed by ids made before the first attempt, so a retry whose first attempt did commit meets its
    /// own row (unique violation) and is done.
    /// </summary>
    public static async Task SaveAcceptedAsync(this GatewayDbContext db, ResiliencePipelines resilience, CancellationToken cancellationToken) =>
        await resilience.Database.ExecuteAsync(async token =>
        {
            try
            {
                await db.SaveChangesAsync(token);
            }
            catch (Exception e) when (e.IsUniqueViolation())
            {
            }
        }, cancellationToken);
}
