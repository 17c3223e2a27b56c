using Exchange.Core;
using Exchange.Persistence;
using Exchange.Persistence.Hub;
using Exchange.Router;
using MassTransit;
using MassTransit.Testing;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Exchange.IntegrationTests;

/// <summary>The deadline chaser against a hub database of its own, with receipts arriving while it works.</summary>
[TestFixture]
public sealed class DeadlineChaserTests
{
    /// <summary>
    /// Regression: when a receipt moved one delivery of the chaser's batch on between the chaser's read and its save,
    /// the chaser cleared its whole change tracker, so the later deliveries of the batch were expired (message sent,
    /// evidence written) without their state being saved, and the next round expired them again: the expiry
    /// evidence twice. Found while making the chaos run (which shortens deadlines) exercise the chaser.
    /// </summary>
    [Test]
    public async Task A_receipt_racing_the_chaser_leaves_the_rest_of_the_batch_expired_once()
    {
        var names = new ExchangeNames($"{Servers.RunPrefix}{Guid.NewGuid().ToString("N")[..6]}-");
        var connectionString = Servers.Settings.PostgresConnectionString(names.HubDatabase);
        await MigrationRunner.ApplyAsync(connectionString, HubDbContext.Schema);
        var (raced, late) = (Guid.CreateVersion7(), Guid.CreateVersion7());
        var now = DateTimeOffset.UtcNow;
        await using (var db = new HubDbContext(new DbContextOptionsBuilder<HubDbContext>().UseExchangePostgres(connectionString).Options))
        {
            // Both past their deadline with their one retry spent: the chaser expires them, the raced one first.
            db.Envelopes.Add(Envelope(raced, now, due: now.AddMinutes(-2)));
            db.Envelopes.Add(Envelope(late, now, due: now.AddMinutes(-1)));
            await db.SaveChangesAsync();
        }

        var services = new ServiceCollection()
            .AddLogging()
            .AddSingleton(names)
            .AddSingleton(TimeProvider.System)
            .AddDbContext<HubDbContext>(o => o.UseExchangePostgres(connectionString).AddInterceptors(new ReceiptArrivesFirst(connectionString, raced)))
            .AddMassTransitTestHarness()
            .BuildServiceProvider(validateScopes: true);
        await using var _ = services;
        var harness = services.GetRequiredService<ITestHarness>();
        await harness.Start();
        var deadlines = new DeadlineOptions { Retries = 1, CheckInterval = TimeSpan.FromMilliseconds(100) };
        var router = Options.Create(new RouterOptions());
        await using var store = new PackageStore(connectionString, HubDbContext.Schema);
        var forwarding = new Forwarding(names, store, services.GetRequiredService<IBus>(), router);
        var chaser = new DeadlineChaser(services.GetRequiredService<IServiceScopeFactory>(), names, forwarding, router,
            Options.Create(deadlines), TimeProvider.System, NullLogger<DeadlineChaser>.Instance);

        await chaser.StartAsync(CancellationToken.None);
        await Task.Delay(TimeSpan.FromSeconds(2)); // many rounds
        await chaser.StopAsync(CancellationToken.None);

        await using var check = new HubDbContext(new DbContextOptionsBuilder<HubDbContext>().UseExchangePostgres(connectionString).Options);
        var deliveries = await check.Deliveries.AsNoTracking().ToDictionaryAsync(d => d.EnvelopeId);
        var expiries = await check.Evidence.AsNoTracking().Where(e => e.Kind == nameof(EvidenceKind.AcceptanceRejectionExpiry)).ToListAsync();
        Assert.Multiple(() =>
        {
            Assert.That(deliveries[raced].State, Is.EqualTo(DeliveryStates.Delivered), "the receipt won");
            Assert.That(deliveries[late].State, Is.EqualTo(DeliveryStates.Expired));
            Assert.That(expiries.Select(e => e.EnvelopeId), Is.EqualTo(new[] { late }), "one expiry, for the late delivery only");
        });
    }

    private static EnvelopeRow Envelope(Guid id, DateTimeOffset now, DateTimeOffset due) => new()
    {
        EnvelopeId = id,
        SenderCode = "000.00.01.H29",
        Package = [1],
        Signature = [2],
        PackageSha256 = new string('a', 64),
        State = EnvelopeStates.Accepted,
        Reason = "ok",
        Detail = "test",
        SubmittedAt = now.AddMinutes(-10),
        ReceivedAt = now.AddMinutes(-10),
        Deliveries = [new DeliveryRow { RecipientCode = "000.01.21.H29", State = DeliveryStates.Forwarded, ForwardedAt = now.AddMinutes(-10), DueAt = due, Attempts = 2 }],
    };

    /// <summary>Just before the chaser's first save, records a receipt for one delivery through another connection.</summary>
    private sealed class ReceiptArrivesFirst(string connectionString, Guid envelopeId) : SaveChangesInterceptor
    {
        private int _done;

        public override async ValueTask<InterceptionResult<int>> SavingChangesAsync(
            DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(cancellationToken);
                await using var receipt = new NpgsqlCommand(
                    "update hub.deliveries set state = 'delivered', delivered_at = now(), receipt_id = gen_random_uuid() where envelope_id = @id", connection);
                receipt.Parameters.AddWithValue("id", envelopeId);
                await receipt.ExecuteNonQueryAsync(cancellationToken);
            }

            return result;
        }
    }
}
