using System.CommandLine;
using System.Data;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Exchange.Cli;
using Exchange.Cli.Commands;
using Exchange.Core;
using Exchange.Gateway;
using Exchange.Persistence.Evidence;
using Exchange.Persistence.Hub;
using Exchange.ServiceDefaults.Broker;
using Exchange.Signing;
using Exchange.Signing.Evidence;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Exchange.IntegrationTests;

/// <summary>
/// Poison messages on the real servers (issue #6): a message the hub or a gateway cannot process lands in the
/// endpoint's error queue with ProcessingFailed evidence, the sender sees it held, and `exchange dlq` lists, shows,
/// re-sends (delivered once) or discards it, each action recorded in the evidence chain, which still verifies.
/// The faults are real PostgreSQL errors: a trigger in the province's own database refuses rows whose subject
/// carries a marker, the way a constraint or a broken migration would.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class DeadLetterTests : ProvinceFixture
{
    private const string Sender = SampleDirectory.HomeAffairs;
    private const string Recipient = SampleDirectory.PhucXaWard;

    private string HubErrorQueue => Province.Names.HubQueue + BrokerNames.ErrorSuffix;

    private async Task<Guid> SendAsync(string marker)
    {
        var metadata = new DocumentMetadata([Recipient], $"Công văn {marker}", CodeNotation: "SNV-DLQ", PromulgationPlace: "Hà Nội");
        var answer = await Client(Sender).SendDocumentAsync(metadata, [("van-ban.txt", "text/plain; charset=utf-8", "Nội dung văn bản"u8.ToArray())]);
        return answer.EnvelopeId;
    }

    private static string Marker() => $"dlq{Guid.NewGuid():N}"[..15];

    private static async Task SqlAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>A trigger that refuses (SQLSTATE P0001, raise_exception) rows of <paramref name="table"/> whose subject carries the marker.</summary>
    private static Task RefuseAsync(string connectionString, string table, string marker) => SqlAsync(connectionString, $"""
        create function {table}_{marker}() returns trigger language plpgsql as $$
        begin
            if new.subject like '%{marker}%' then
                raise exception 'refused by a test trigger';
            end if;
            return new;
        end $$;
        create trigger refuse_{marker} before insert on {table} for each row execute function {table}_{marker}();
        """);

    private static Task AllowAsync(string connectionString, string table, string marker) =>
        SqlAsync(connectionString, $"drop trigger refuse_{marker} on {table}; drop function {table}_{marker}();");

    private async Task<List<EvidenceRow>> EvidenceAsync(Guid envelopeId)
    {
        await using var db = Province.CreateHubDb();
        return await db.Evidence.AsNoTracking().Where(e => e.EnvelopeId == envelopeId).OrderBy(e => e.Seq).ToListAsync();
    }

    private async Task<DocumentState> WaitForStateAsync(Guid envelopeId, string state)
    {
        DocumentState? current = null;
        await Eventually(async () => (current = await Client(Sender).GetDocumentAsync(envelopeId))?.State == state,
            $"envelope {envelopeId} to be {state} at the sender's gateway");
        return current!;
    }

    /// <summary>Runs `exchange dlq ARGS --prefix (this province) --json` in this process; returns the exit code and the last line's object.</summary>
    private async Task<(int Exit, JsonElement Result)> DlqAsync(params string[] args)
    {
        var output = new StringWriter();
        var errors = new StringWriter();
        var (originalOut, originalError) = (Console.Out, Console.Error);
        Console.SetOut(output);
        Console.SetError(errors);
        int exit;
        try
        {
            exit = await new RootCommand { DlqCommand.Create() }.Parse(["dlq", .. args, "--prefix", Province.Names.Prefix, "--json"]).InvokeAsync();
        }
        finally
        {
            Console.SetOut(originalOut);
            Console.SetError(originalError);
        }

        var last = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault();
        Assert.That(last, Is.Not.Null, $"`exchange dlq {string.Join(' ', args)}` wrote nothing; stderr: {errors}");
        using var json = JsonDocument.Parse(last!);
        return (exit, json.RootElement.Clone());
    }

    /// <summary>The dead letters `dlq list` shows for one envelope.</summary>
    private async Task<List<JsonElement>> ListedAsync(Guid envelopeId, string? queue = null)
    {
        var (exit, result) = queue is null ? await DlqAsync("list") : await DlqAsync("list", "--queue", queue);
        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), result.ToString());
        return result.GetProperty("dead_letters").EnumerateArray()
            .Where(d => d.GetProperty("envelope_id").ValueKind == JsonValueKind.String && d.GetProperty("envelope_id").GetGuid() == envelopeId)
            .ToList();
    }

    private async Task<JsonElement> WaitForDeadLetterAsync(Guid envelopeId, string? queue = null)
    {
        List<JsonElement> listed = [];
        await Eventually(async () => (listed = await ListedAsync(envelopeId, queue)).Count > 0, $"envelope {envelopeId} in an error queue");
        Assert.That(listed, Has.Count.EqualTo(1));
        return listed[0];
    }

    /// <summary>What `exchange audit verify-log` does, once every record is sealed and covered by a signed checkpoint.</summary>
    private async Task<ChainReport> VerifyLogAsync()
    {
        using var seal = X509CertificateLoader.LoadCertificateFromFile(Province.Pki.HubSealCertificatePath);
        var checkpoints = new CheckpointVerifier(new SignatureVerifier(Province.Pki.CreateTrustStore()), [Digests.Sha256Hex(seal.RawData)]);
        ChainReport? report = null;
        await Eventually(async () =>
        {
            await using var connection = new NpgsqlConnection(Province.HubConnectionString);
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead);
            var unsealed = await EvidenceChainStore.CountUnsealedAsync(connection, transaction);
            report = await EvidenceChainVerifier.VerifyAsync(EvidenceChainStore.ReadChainAsync(connection, transaction), checkpoints, unsealed: unsealed);
            return report.Unsealed == 0 && report.UncoveredRecords == 0;
        }, "every record to be sealed and covered by a checkpoint", TimeSpan.FromSeconds(30));
        return report!;
    }

    private static string Describe(ChainReport report) => string.Join("\n", report.Problems.Select(p => p.ToString()).Concat(report.Warnings));

    [Test]
    public async Task A_submission_the_hub_cannot_store_is_held_with_evidence_then_resent_and_delivered_once()
    {
        var marker = Marker();
        await RefuseAsync(Province.HubConnectionString, "hub.envelopes", marker);
        var envelopeId = await SendAsync(marker);

        // 1. The hub gives up at once (a trigger's refusal does not clear by retrying): error queue, evidence, and the sender sees it held.
        var held = await WaitForStateAsync(envelopeId, "held");
        Assert.That(held.Reason, Is.EqualTo("processing-failed"));
        Assert.That(held.Detail, Does.Contain("Not final"));
        var letter = await WaitForDeadLetterAsync(envelopeId);
        var id = letter.GetProperty("message_id").GetString()!;
        Assert.That(letter.GetProperty("queue").GetString(), Is.EqualTo(HubErrorQueue));
        Assert.That(letter.GetProperty("source_queue").GetString(), Is.EqualTo(Province.Names.HubQueue));
        Assert.That(letter.GetProperty("message_type").GetString(), Is.EqualTo("SubmitEnvelope"));
        Assert.That(letter.GetProperty("sender_code").GetString(), Is.EqualTo(Sender));
        Assert.That(letter.GetProperty("exception_message").GetString(), Does.Contain("refused by a test trigger"));
        // MassTransit writes MT-Fault-RetryCount only for a message it retried: a permanent fault is not.
        Assert.That(letter.GetProperty("retry_count").ValueKind, Is.EqualTo(JsonValueKind.Null), "a permanent fault is not retried");
        Assert.That(letter.GetProperty("resends").GetInt32(), Is.Zero);
        var firstFailedAt = letter.GetProperty("first_failed_at").GetDateTimeOffset();

        await using (var gateway = Province.CreateGatewayDb(Sender))
        {
            var packageSha256 = await gateway.Outbox.Where(o => o.EnvelopeId == envelopeId).Select(o => o.PackageSha256).SingleAsync();
            var failed = (await EvidenceAsync(envelopeId)).Single();
            Assert.That(failed.Kind, Is.EqualTo(nameof(EvidenceKind.ProcessingFailed)));
            Assert.That(failed.Reason, Is.EqualTo("processing-failed"));
            Assert.That(failed.PackageSha256, Is.EqualTo(packageSha256));
            Assert.That(failed.Detail, Does.Contain(id).And.Contain("P0001"));
            Assert.That(letter.GetProperty("package_sha256").GetString(), Is.EqualTo(packageSha256));
        }

        // 2. show: the fault headers and the body, and the message stays.
        var (shown, shownResult) = await DlqAsync("show", id);
        Assert.That(shown, Is.EqualTo(ExitCodes.Ok), shownResult.ToString());
        Assert.That(shownResult.GetProperty("headers").GetProperty("MT-Fault-ExceptionType").GetString(), Does.Contain("PostgresException"));
        Assert.That(shownResult.GetProperty("body").GetProperty("message").GetProperty("envelopeId").GetGuid(), Is.EqualTo(envelopeId));
        Assert.That(await ListedAsync(envelopeId), Has.Count.EqualTo(1));

        // 3. Re-sent before the cause is removed: it fails again and comes back, counted, with its first failure's time kept.
        var (again, againResult) = await DlqAsync("resend", id, "--operator", "Nguyễn Văn An", "--reason", "thử lại");
        Assert.That(again, Is.EqualTo(ExitCodes.Ok), againResult.ToString());
        JsonElement back = default;
        await Eventually(async () => (await ListedAsync(envelopeId)) is [var one] && (back = one).GetProperty("resends").GetInt32() == 1,
            "the re-sent message to fail again and be back in the error queue");
        Assert.That(back.GetProperty("message_id").GetString(), Is.EqualTo(id));
        Assert.That(back.GetProperty("first_failed_at").GetDateTimeOffset(), Is.EqualTo(firstFailedAt));

        // 4. The cause removed, re-sent: accepted, delivered once, gone from the error queue.
        await AllowAsync(Province.HubConnectionString, "hub.envelopes", marker);
        var (resent, resentResult) = await DlqAsync("resend", id, "--operator", "Nguyễn Văn An", "--reason", "trigger removed");
        Assert.That(resent, Is.EqualTo(ExitCodes.Ok), resentResult.ToString());
        Assert.That(resentResult.GetProperty("to_queue").GetString(), Is.EqualTo(Province.Names.HubQueue));
        Assert.That((await WaitForOutcomeAsync(Sender, envelopeId)).State, Is.EqualTo("delivered"));
        await using (var inbox = Province.CreateGatewayDb(Recipient))
        {
            Assert.That(await inbox.Inbox.CountAsync(i => i.EnvelopeId == envelopeId), Is.EqualTo(1));
        }

        Assert.That(await ListedAsync(envelopeId), Is.Empty);
        Assert.That((await DlqAsync("show", id)).Exit, Is.EqualTo(ExitCodes.Refused));

        // 5. The whole story is evidence, in the one chain, which verifies.
        var evidence = await EvidenceAsync(envelopeId);
        Assert.That(evidence.Select(e => e.Kind), Is.EqualTo(new[]
        {
            nameof(EvidenceKind.ProcessingFailed), nameof(EvidenceKind.OperatorAction), nameof(EvidenceKind.ProcessingFailed),
            nameof(EvidenceKind.OperatorAction), nameof(EvidenceKind.SubmissionAcceptance), nameof(EvidenceKind.ContentConsignment),
        }));
        var action = evidence[3];
        Assert.That(action.Reason, Is.EqualTo("message-resent"));
        Assert.That(action.EvidenceId, Is.EqualTo(resentResult.GetProperty("evidence_id").GetGuid()));
        Assert.That(action.Detail, Does.Contain("Nguyễn Văn An").And.Contain(id).And.Contain(HubErrorQueue)
            .And.Contain(letter.GetProperty("body_sha256").GetString()).And.Contain("trigger removed"));
        var report = await VerifyLogAsync();
        Assert.That(report.Intact, Is.True, Describe(report));

        // 6. The envelope's evidence bundle carries the whole story and verifies offline.
        var (_, bundle) = await VerifyBundleOfflineAsync(envelopeId);
        Assert.That(bundle.Valid, Is.True, string.Join("\n", bundle.Problems));
        Assert.That(bundle.Envelopes.Single().Evidence.Select(e => e.Kind), Is.EqualTo(evidence.Select(e => e.Kind)));
    }

    [Test]
    public async Task A_discarded_submission_is_recorded_and_its_sender_told_it_is_rejected()
    {
        var marker = Marker();
        await RefuseAsync(Province.HubConnectionString, "hub.envelopes", marker);
        try
        {
            var envelopeId = await SendAsync(marker);
            await WaitForStateAsync(envelopeId, "held");
            var id = (await WaitForDeadLetterAsync(envelopeId)).GetProperty("message_id").GetString()!;

            var (exit, result) = await DlqAsync("discard", id, "--operator", "Trần Thị Bình", "--reason", "gửi nhầm");

            Assert.That(exit, Is.EqualTo(ExitCodes.Ok), result.ToString());
            Assert.That(result.GetProperty("sender_notified").GetBoolean(), Is.True);
            var rejected = await WaitForStateAsync(envelopeId, "rejected");
            Assert.That(rejected.Reason, Is.EqualTo("processing-failed"));
            Assert.That(rejected.Detail, Does.Contain("discarded").And.Contain("gửi nhầm"));
            Assert.That(await ListedAsync(envelopeId), Is.Empty);
            var evidence = await EvidenceAsync(envelopeId);
            Assert.That(evidence.Select(e => e.Kind), Is.EqualTo(new[] { nameof(EvidenceKind.ProcessingFailed), nameof(EvidenceKind.OperatorAction) }));
            Assert.That(evidence[1].Reason, Is.EqualTo("message-discarded"));
            Assert.That(evidence[1].Detail, Does.Contain("Trần Thị Bình").And.Contain("gửi nhầm").And.Contain(id));
            var report = await VerifyLogAsync();
            Assert.That(report.Intact, Is.True, Describe(report));
        }
        finally
        {
            await AllowAsync(Province.HubConnectionString, "hub.envelopes", marker);
        }
    }

    [Test]
    public async Task A_delivery_the_recipients_gateway_cannot_store_waits_in_its_error_queue_and_is_delivered_once_when_resent()
    {
        var marker = Marker();
        var recipientDb = Province.GatewayConnectionString(Recipient);
        await RefuseAsync(recipientDb, "gateway.inbox", marker);
        var envelopeId = await SendAsync(marker);
        var recipientErrorQueue = Province.Names.AgencyQueue(Recipient) + BrokerNames.ErrorSuffix;

        // The queue named as its source queue, without the prefix.
        var letter = await WaitForDeadLetterAsync(envelopeId, Province.Names.AgencyQueue(Recipient)[Province.Names.Prefix.Length..]);
        Assert.That(letter.GetProperty("queue").GetString(), Is.EqualTo(recipientErrorQueue));
        Assert.That(letter.GetProperty("message_type").GetString(), Is.EqualTo("DeliverEnvelope"));
        Assert.That((await Client(Sender).GetDocumentAsync(envelopeId))!.State, Is.EqualTo("accepted"));

        await AllowAsync(recipientDb, "gateway.inbox", marker);
        var (exit, result) = await DlqAsync("resend", letter.GetProperty("message_id").GetString()!, "--operator", "ops", "--queue", recipientErrorQueue);

        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), result.ToString());
        Assert.That((await WaitForOutcomeAsync(Sender, envelopeId)).State, Is.EqualTo("delivered"));
        await using (var inbox = Province.CreateGatewayDb(Recipient))
        {
            Assert.That(await inbox.Inbox.CountAsync(i => i.EnvelopeId == envelopeId), Is.EqualTo(1));
        }

        var action = (await EvidenceAsync(envelopeId)).Single(e => e.Kind == nameof(EvidenceKind.OperatorAction));
        Assert.That(action.RecipientCode, Is.EqualTo(Recipient));
        Assert.That(action.Detail, Does.Contain(recipientErrorQueue));
    }

    [Test]
    public async Task A_transient_database_fault_is_retried_and_the_document_delivered()
    {
        // Serialization failures (SQLSTATE 40001) clear on retry: the first two inserts fail, the third succeeds.
        var marker = Marker();
        await SqlAsync(Province.HubConnectionString, $"""
            create sequence hub.attempts_{marker};
            create function hub.flaky_{marker}() returns trigger language plpgsql as $$
            begin
                if new.subject like '%{marker}%' then
                    if nextval('hub.attempts_{marker}') <= 2 then
                        raise exception 'transient fault for a test' using errcode = '40001';
                    end if;
                end if;
                return new;
            end $$;
            create trigger flaky_{marker} before insert on hub.envelopes for each row execute function hub.flaky_{marker}();
            """);
        try
        {
            var envelopeId = await SendAsync(marker);

            Assert.That((await WaitForOutcomeAsync(Sender, envelopeId)).State, Is.EqualTo("delivered"));
            await using var connection = new NpgsqlConnection(Province.HubConnectionString);
            await connection.OpenAsync();
            await using var attempts = new NpgsqlCommand($"select last_value from hub.attempts_{marker}", connection);
            Assert.That(await attempts.ExecuteScalarAsync(), Is.EqualTo(3L), "two failed attempts, then the one that stored it");
            Assert.That((await EvidenceAsync(envelopeId)).Select(e => e.Kind), Has.None.EqualTo(nameof(EvidenceKind.ProcessingFailed)));
            Assert.That(await ListedAsync(envelopeId), Is.Empty);
        }
        finally
        {
            await SqlAsync(Province.HubConnectionString, $"drop trigger flaky_{marker} on hub.envelopes; drop function hub.flaky_{marker}(); drop sequence hub.attempts_{marker};");
        }
    }

    [Test]
    public async Task Refuses_an_unknown_message_and_a_queue_of_no_endpoint()
    {
        var (unknown, unknownResult) = await DlqAsync("discard", Guid.NewGuid().ToString(), "--operator", "ops", "--reason", "test");
        Assert.That(unknown, Is.EqualTo(ExitCodes.Refused), unknownResult.ToString());
        Assert.That(unknownResult.GetProperty("ok").GetBoolean(), Is.False);

        var (queue, queueResult) = await DlqAsync("list", "--queue", "not-a-queue");
        Assert.That(queue, Is.EqualTo(ExitCodes.UsageOrIo), queueResult.ToString());

        var (blank, _) = await DlqAsync("resend", Guid.NewGuid().ToString(), "--operator", " ");
        Assert.That(blank, Is.EqualTo(ExitCodes.UsageOrIo));
    }
}
