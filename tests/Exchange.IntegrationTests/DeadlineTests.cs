using Exchange.Cli;
using Exchange.Core;
using Exchange.Gateway;
using Exchange.Persistence.Hub;
using Microsoft.EntityFrameworkCore;

namespace Exchange.IntegrationTests;

/// <summary>Delivery deadlines by priority: retried, then expired with evidence, and a late receipt still counts.</summary>
[TestFixture]
public sealed class DeadlineTests : ProvinceFixture
{
    private const string Sender = SampleDirectory.Province;
    private const string Recipient = SampleDirectory.HangBuomWard;

    protected override IReadOnlyDictionary<string, string?> HostSettings => new Dictionary<string, string?>
    {
        ["Router:Deadlines:Express"] = "00:00:02",
        ["Router:Deadlines:Retries"] = "1",
        ["Router:Deadlines:CheckInterval"] = "00:00:00.250",
    };

    /// <summary>
    /// The recipient's gateway is down when the directive is sent: it starts only after the deadline has passed.
    /// (It is started for the first time then, not restarted: two hosts of one agency in one process share
    /// MassTransit state, which a real deployment, a process per gateway, never does.)
    /// </summary>
    protected override IReadOnlyCollection<string> GatewayAgencies => [Sender];

    [Test]
    public async Task Express_delivery_to_an_unreachable_gateway_is_retried_then_expires_and_a_late_receipt_still_counts()
    {
        SubmissionAnswer answer;
        try
        {
            answer = await Client(Sender).SendDocumentAsync(
                new DocumentMetadata([Recipient], "Công điện hỏa tốc về phòng chống bão", CodeNotation: "CĐ-UBND", Priority: 3),
                [("cong-dien.txt", "text/plain", "Hỏa tốc"u8.ToArray())]);

            await Eventually(async () => (await EvidenceAsync(answer.EnvelopeId)).Any(e => e.Kind == nameof(EvidenceKind.AcceptanceRejectionExpiry)),
                "expiry evidence", TimeSpan.FromSeconds(30));

            await using (var hub = Province.CreateHubDb())
            {
                var delivery = await hub.Deliveries.AsNoTracking().SingleAsync(d => d.EnvelopeId == answer.EnvelopeId);
                Assert.That(delivery.State, Is.EqualTo(DeliveryStates.Expired));
                Assert.That(delivery.Attempts, Is.EqualTo(2), "forwarded once more before expiring");
            }

            await Eventually(async () => (await Client(Sender).GetDocumentAsync(answer.EnvelopeId))!.Recipients.Single().State == "expired",
                "the sender to see the expiry");
        }
        finally
        {
            await Province.StartGatewayAsync(Recipient);
        }

        // Both forwardings were waiting in the recipient's queue: stored once, receipted, recorded late.
        var state = await WaitForOutcomeAsync(Sender, answer.EnvelopeId);
        Assert.That(state.State, Is.EqualTo("delivered"));
        await using var gateway = Province.CreateGatewayDb(Recipient);
        Assert.That(await gateway.Inbox.CountAsync(i => i.EnvelopeId == answer.EnvelopeId), Is.EqualTo(1));
        Assert.That((await EvidenceAsync(answer.EnvelopeId)).Select(e => e.Kind).Last(), Is.EqualTo(nameof(EvidenceKind.ContentConsignment)));
    }

    private async Task<List<EvidenceRow>> EvidenceAsync(Guid envelopeId)
    {
        await using var db = Province.CreateHubDb();
        return await db.Evidence.AsNoTracking().Where(e => e.EnvelopeId == envelopeId).OrderBy(e => e.Seq).ToListAsync();
    }
}
