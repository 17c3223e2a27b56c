using Exchange.Cli.Commands;
using Exchange.Core;
using Exchange.Persistence.Evidence;
using Exchange.Persistence.Gateway;
using Exchange.Persistence.Hub;
using Exchange.ServiceDefaults;
using Exchange.Signing;
using Exchange.Signing.Evidence;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Exchange.Cli.Chaos;

/// <summary>What the chaos run found.</summary>
internal sealed record ChaosResult(
    int Delivered, int Rejected, int Lost, int Duplicates, int Unexpected, bool EvidenceIntact, long EvidenceRecords,
    int Reforwards, int Expiries, IReadOnlyList<object> Faults, double? RecoverySeconds)
{
    public bool Passed => Lost == 0 && Duplicates == 0 && Unexpected == 0 && EvidenceIntact;
}

/// <summary>
/// Settles and checks a chaos run against the databases themselves, not against what the APIs say: the hub's envelopes,
/// deliveries and evidence, each sender gateway's outbox and receipts, each recipient gateway's inbox, and the evidence
/// chain walked as `exchange audit verify-log` walks it.
/// </summary>
internal sealed class ChaosCheck(ChaosProvince province, IReadOnlyList<SentDocument> sent)
{
    /// <summary>
    /// Waits until every sent document is final at its sender's gateway (rejected, or accepted with a receipt from every
    /// recipient); then until the hub has chained all its evidence. Gives up when no further document has become final
    /// for <paramref name="stall"/> (the backlog a fault leaves can take minutes to work off, but it moves), or at
    /// <paramref name="deadline"/>. Returns when the documents were seen final (or when it gave up).
    /// </summary>
    public async Task<DateTimeOffset> SettleAsync(TimeSpan stall, DateTimeOffset deadline, ChaosLog log, CancellationToken ct)
    {
        var bySender = sent.GroupBy(d => d.Document.Sender).ToDictionary(g => g.Key, g => g.Select(d => d.EnvelopeId).ToList());
        var lastReport = DateTimeOffset.MinValue;
        var best = -1;
        var lastProgress = DateTimeOffset.UtcNow;
        while (true)
        {
            var final = 0;
            try
            {
                foreach (var (sender, ids) in bySender)
                {
                    await using var db = province.CreateGatewayDb(sender);
                    final += await db.Outbox.AsNoTracking()
                        .Where(o => ids.Contains(o.EnvelopeId))
                        .CountAsync(o => o.State == OutboxStates.Rejected || (o.State == OutboxStates.Accepted && o.Receipts.Count >= o.Recipients.Length), ct);
                }
            }
            catch (Exception e) when (Resilience.IsTransientDatabaseFailure(e))
            {
                final = -1; // PostgreSQL is not back yet: ask again.
            }

            var now = DateTimeOffset.UtcNow;
            if (final == sent.Count)
            {
                log.Line($"settled: all {final} documents delivered or rejected");
                await WaitSealedAsync(log, ct);
                return now;
            }

            if (final > best)
            {
                (best, lastProgress) = (final, now);
            }

            if (now - lastProgress > stall || now > deadline)
            {
                log.Line($"giving up: {sent.Count - Math.Max(best, 0)} of {sent.Count} documents still not delivered or rejected, "
                    + (now > deadline ? "at the run's --timeout" : $"none more for {stall.TotalSeconds:0} s"));
                return now;
            }

            if (now - lastReport > TimeSpan.FromSeconds(10))
            {
                log.Line(final < 0 ? "settling: PostgreSQL does not answer yet" : $"settling: {final}/{sent.Count} delivered or rejected");
                lastReport = now;
            }

            await Task.Delay(1000, ct);
        }
    }

    /// <summary>Reads everything back and judges every document; checks the evidence chain.</summary>
    public async Task<ChaosResult> RunAsync(IReadOnlyList<InjectedFault> faults, ChaosLog log, CancellationToken ct)
    {
        await using var hub = province.CreateHubDb();
        var envelopes = (await hub.Envelopes.AsNoTracking().Select(e => new { e.EnvelopeId, e.SenderCode, e.DocumentId, e.State }).ToListAsync(ct))
            .ToDictionary(e => e.EnvelopeId);
        var deliveries = (await hub.Deliveries.AsNoTracking().Select(d => new { d.EnvelopeId, d.RecipientCode, d.State, d.ReceiptId, d.Attempts }).ToListAsync(ct))
            .ToDictionary(d => (d.EnvelopeId, d.RecipientCode));
        var evidence = await hub.Evidence.AsNoTracking().Select(e => new { e.EnvelopeId, e.RecipientCode, e.Kind, e.IssuedAt }).ToListAsync(ct);
        var evidenceCount = evidence.GroupBy(e => (e.EnvelopeId, e.RecipientCode, e.Kind)).ToDictionary(g => g.Key, g => g.Count());
        int Evidence(Guid envelope, string? recipient, EvidenceKind kind) => evidenceCount.GetValueOrDefault((envelope, recipient, kind.ToString()));

        var outbox = new Dictionary<Guid, (string Sender, string DocumentId, string State)>();
        var receipts = new HashSet<(Guid, string)>();
        foreach (var sender in ChaosDocument.Senders)
        {
            await using var db = province.CreateGatewayDb(sender);
            foreach (var o in await db.Outbox.AsNoTracking().Select(o => new { o.EnvelopeId, o.DocumentId, o.State }).ToListAsync(ct))
            {
                outbox[o.EnvelopeId] = (sender, o.DocumentId, o.State);
            }

            foreach (var r in await db.OutboxReceipts.AsNoTracking().Select(r => new { r.EnvelopeId, r.RecipientCode }).ToListAsync(ct))
            {
                receipts.Add((r.EnvelopeId, r.RecipientCode));
            }
        }

        var inboxes = new Dictionary<string, List<(Guid EnvelopeId, string SenderCode, string DocumentId, Guid ReceiptId)>>();
        foreach (var recipient in ChaosDocument.Recipients)
        {
            await using var db = province.CreateGatewayDb(recipient);
            inboxes[recipient] = (await db.Inbox.AsNoTracking().Select(i => new { i.EnvelopeId, i.SenderCode, i.DocumentId, i.ReceiptId }).ToListAsync(ct))
                .Select(i => (i.EnvelopeId, i.SenderCode, i.DocumentId, i.ReceiptId)).ToList();
        }

        var inboxReceipt = inboxes.SelectMany(kv => kv.Value.Select(i => (Key: (i.EnvelopeId, kv.Key), i.ReceiptId)))
            .GroupBy(x => x.Key).ToDictionary(g => g.Key, g => g.First().ReceiptId);

        // Every sent document: delivered to every recipient with evidence, or rejected with evidence; anything else is lost.
        int delivered = 0, rejected = 0, unexpected = 0;
        var lost = new List<string>();
        foreach (var document in sent)
        {
            var id = document.EnvelopeId;
            envelopes.TryGetValue(id, out var envelope);
            outbox.TryGetValue(id, out var mine);
            var isDelivered = envelope?.State == EnvelopeStates.Accepted
                && Evidence(id, null, EvidenceKind.SubmissionAcceptance) > 0
                && mine.State == OutboxStates.Accepted
                && document.Document.To.All(r =>
                    deliveries.TryGetValue((id, r), out var d) && d.State == DeliveryStates.Delivered && d.ReceiptId is { } receipt
                    && Evidence(id, r, EvidenceKind.ContentConsignment) > 0
                    && inboxReceipt.TryGetValue((id, r), out var stored) && stored == receipt
                    && receipts.Contains((id, r)));
            var isRejected = envelope?.State == EnvelopeStates.Rejected
                && Evidence(id, null, EvidenceKind.SubmissionRejection) > 0
                && mine.State == OutboxStates.Rejected;
            if (isDelivered)
            {
                delivered++;
            }
            else if (isRejected)
            {
                rejected++;
            }
            else
            {
                lost.Add($"document {document.Document.Index} (envelope {id}): sender's outbox {mine.State ?? "missing"}, hub {envelope?.State ?? "missing"}, "
                    + string.Join(", ", document.Document.To.Select(r =>
                        $"{r}: hub {(deliveries.TryGetValue((id, r), out var d) ? d.State : "no delivery")}, inbox {(inboxReceipt.ContainsKey((id, r)) ? "stored" : "missing")}, receipt at sender {(receipts.Contains((id, r)) ? "yes" : "no")}")));
            }

            if ((isDelivered && document.Document.ExpectRejected) || (isRejected && !document.Document.ExpectRejected))
            {
                unexpected++;
                log.Line($"unexpected outcome: document {document.Document.Index} (envelope {id}) was {(isDelivered ? "delivered" : "rejected")}");
            }
        }

        foreach (var line in lost.Take(20))
        {
            log.Line($"lost: {line}");
        }

        // Duplicates: one document held twice anywhere, or one step recorded twice.
        static int Extra<T>(IEnumerable<T> keys) => keys.GroupBy(k => k).Sum(g => g.Count() - 1);
        var duplicates = new Dictionary<string, int>
        {
            ["inbox rows for one document"] = inboxes.Values.Sum(rows => Extra(rows.Select(r => (r.SenderCode, r.DocumentId)))),
            ["outbox rows for one document"] = Extra(outbox.Values.Select(o => (o.Sender, o.DocumentId))),
            ["hub envelopes for one document"] = Extra(envelopes.Values.Where(e => e.DocumentId is not null).Select(e => (e.SenderCode, e.DocumentId))),
            ["deliveries confirmed twice"] = Extra(evidence.Where(e => e.Kind == nameof(EvidenceKind.ContentConsignment)).Select(e => (e.EnvelopeId, e.RecipientCode))),
            ["expiries recorded twice"] = Extra(evidence.Where(e => e.Kind == nameof(EvidenceKind.AcceptanceRejectionExpiry)).Select(e => (e.EnvelopeId, e.RecipientCode))),
            ["submissions recorded twice"] = Extra(evidence
                .Where(e => e.Kind is nameof(EvidenceKind.SubmissionAcceptance) or nameof(EvidenceKind.SubmissionRejection)).Select(e => e.EnvelopeId)),
        };
        foreach (var (what, count) in duplicates.Where(d => d.Value > 0))
        {
            log.Line($"duplicates: {count} {what}");
        }

        var chain = await VerifyChainAsync(log, ct);
        var evidenceByEnvelope = evidence.Where(e => e.Kind == nameof(EvidenceKind.ContentConsignment)).ToList();
        var sentById = sent.ToDictionary(d => d.EnvelopeId);
        var faultReports = new List<object>();
        double? recovery = null;
        foreach (var fault in faults)
        {
            // The flow resumed when, after the component was back, a document submitted since the fault was delivered (its
            // receipt recorded by the hub): to the killed gateway's agency for that fault, to anyone for the others.
            var back = fault.At + fault.Down;
            var resumed = evidenceByEnvelope
                .Where(e => e.IssuedAt >= back && sentById.TryGetValue(e.EnvelopeId, out var d) && d.SubmittedAt >= fault.At
                    && (fault.Target is null || e.RecipientCode == fault.Target))
                .Select(e => (DateTimeOffset?)e.IssuedAt)
                .Min();
            double? recovered = resumed is { } r ? Math.Round((r - fault.At).TotalSeconds, 1) : null;
            if (recovered is { } value)
            {
                recovery = Math.Max(recovery ?? 0, value);
            }

            faultReports.Add(new
            {
                fault = fault.Fault,
                target = fault.Target,
                at_s = log.Seconds(fault.At),
                down_s = Math.Round(fault.Down.TotalSeconds, 1),
                recovered_s = recovered,
            });
        }

        // What the deadline chaser did: deliveries forwarded again after missing their deadline, and expiries recorded.
        var reforwards = deliveries.Values.Sum(d => d.Attempts - 1);
        var expiries = evidence.Count(e => e.Kind == nameof(EvidenceKind.AcceptanceRejectionExpiry));
        return new ChaosResult(delivered, rejected, lost.Count, duplicates.Values.Sum(), unexpected, chain.Intact, chain.Records, reforwards, expiries, faultReports, recovery);
    }

    private async Task<(bool Intact, long Records)> VerifyChainAsync(ChaosLog log, CancellationToken ct)
    {
        var trust = new EvidenceTrust.Choice([], [], []).Resolve();
        var checkpoints = new CheckpointVerifier(new SignatureVerifier(trust.Store), trust.PinnedSealCertificates);
        var report = await AuditCommand.VerifyChainAsync(province.HubConnectionString, checkpoints, new ChainVerifierOptions(), null, ct);
        foreach (var problem in report.Problems.Take(10))
        {
            log.Line($"evidence chain: {problem}");
        }

        foreach (var warning in report.Warnings.Take(10))
        {
            log.Line($"evidence chain warning: {warning}");
        }

        if (report.Unsealed > 0)
        {
            log.Line($"evidence chain: {report.Unsealed} record(s) never chained");
        }

        log.Line($"evidence chain: {report.Records} record(s), {report.Checkpoints} checkpoint(s), {(report.Intact ? "intact" : "BROKEN")}");
        return (report.Intact && report.Unsealed == 0, report.Records);
    }

    private async Task WaitSealedAsync(ChaosLog log, CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            await using var connection = new NpgsqlConnection(province.HubConnectionString);
            await connection.OpenAsync(ct);
            var unsealed = await EvidenceChainStore.CountUnsealedAsync(connection, cancellationToken: ct);
            if (unsealed == 0 || DateTimeOffset.UtcNow > deadline)
            {
                if (unsealed > 0)
                {
                    log.Line($"{unsealed} evidence record(s) still not chained after 60 s");
                }

                return;
            }

            await Task.Delay(500, ct);
        }
    }
}
