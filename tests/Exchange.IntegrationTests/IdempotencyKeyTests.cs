using Exchange.Cli;
using Exchange.Edxml;
using Exchange.Gateway;
using Microsoft.EntityFrameworkCore;

namespace Exchange.IntegrationTests;

/// <summary>
/// A document system that lost the answer to a submission sends it again with the same Idempotency-Key and gets the
/// first document back, never a second one (what the chaos run's retries during a PostgreSQL restart rely on).
/// </summary>
[TestFixture]
public sealed class IdempotencyKeyTests : ProvinceFixture
{
    private const string Sender = SampleDirectory.HomeAffairs;
    private const string Recipient = SampleDirectory.PhucXaWard;

    protected override IReadOnlyCollection<string>? GatewayAgencies => [Sender];

    private static DocumentMetadata Letter(string subject) => new([Recipient], subject, CodeNotation: "SNV-IDEM");

    private static (string, string, byte[])[] File(string text = "Nội dung") =>
        [("van-ban.txt", "text/plain; charset=utf-8", System.Text.Encoding.UTF8.GetBytes(text))];

    private async Task<int> OutboxRowsAsync(string key)
    {
        await using var db = Province.CreateGatewayDb(Sender);
        return await db.Outbox.CountAsync(o => o.IdempotencyKey == key);
    }

    [Test]
    public async Task Resubmitting_a_document_with_the_same_key_returns_the_first_document()
    {
        var key = Guid.NewGuid().ToString();
        var letter = Letter($"Công văn {key}");

        var first = await Client(Sender).SendDocumentAsync(letter, File(), key);
        var again = await Client(Sender).SendDocumentAsync(letter, File(), key);

        Assert.That(again.EnvelopeId, Is.EqualTo(first.EnvelopeId));
        Assert.That(again.DocumentId, Is.EqualTo(first.DocumentId));
        Assert.That(await OutboxRowsAsync(key), Is.EqualTo(1));
    }

    [Test]
    public async Task Resubmitting_a_package_with_the_same_key_returns_the_first_document()
    {
        var key = Guid.NewGuid().ToString();
        var package = EdxmlWriter.Write(new EdxmlPackage(
            new EdxmlHeader
            {
                From = new EdxmlOrganisation(Sender, "Sở Nội vụ"),
                To = [new EdxmlOrganisation(Recipient)],
                DocumentId = EdxmlDocumentId.Format(Sender, new DateOnly(2026, 11, 1), "7/SNV-IDEM"),
                CodeNumber = "7",
                CodeNotation = "SNV-IDEM",
                Subject = $"Gói {key}",
                PromulgationDate = new DateOnly(2026, 11, 1),
            },
            []));

        var first = await Client(Sender).SendPackageAsync(package, null, key);
        var again = await Client(Sender).SendPackageAsync(package, null, key);

        Assert.That(again.EnvelopeId, Is.EqualTo(first.EnvelopeId));
        Assert.That(await OutboxRowsAsync(key), Is.EqualTo(1));
    }

    [Test]
    public async Task Concurrent_submissions_with_one_key_store_one_document()
    {
        var key = Guid.NewGuid().ToString();
        var letter = Letter($"Công văn {key}");

        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => Client(Sender).SendDocumentAsync(letter, File(), key)));

        Assert.That(answers.Select(a => a.EnvelopeId).Distinct().Count(), Is.EqualTo(1));
        Assert.That(await OutboxRowsAsync(key), Is.EqualTo(1));
    }

    [Test]
    public async Task Reusing_a_key_for_another_document_is_refused()
    {
        var key = Guid.NewGuid().ToString();
        await Client(Sender).SendDocumentAsync(Letter($"Công văn {key}"), File(), key);

        var refusal = Assert.ThrowsAsync<GatewayRefusedException>(() => Client(Sender).SendDocumentAsync(Letter($"Công văn khác {key}"), File(), key));

        Assert.That(refusal!.Status, Is.EqualTo(422));
        Assert.That(refusal.Problem, Does.Contain("\"reason\":\"invalid-request\""));
        Assert.That(await OutboxRowsAsync(key), Is.EqualTo(1));
    }

    [Test]
    public async Task Submissions_without_a_key_stay_separate_documents()
    {
        var letter = Letter($"Công văn {Guid.NewGuid()}");

        var first = await Client(Sender).SendDocumentAsync(letter, File());
        var second = await Client(Sender).SendDocumentAsync(letter, File());

        Assert.That(second.EnvelopeId, Is.Not.EqualTo(first.EnvelopeId));
    }

    [Test]
    public void A_malformed_key_is_refused()
    {
        var refusal = Assert.ThrowsAsync<GatewayRefusedException>(() =>
            Client(Sender).SendDocumentAsync(Letter("Công văn"), File(), new string('k', IdempotentSubmission.MaxKeyLength + 1)));

        Assert.That(refusal!.Status, Is.EqualTo(400));
        Assert.That(refusal.Problem, Does.Contain("\"reason\":\"invalid-request\""));
    }
}
