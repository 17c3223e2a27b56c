using System.Text;
using System.Text.Json;
using Exchange.Audit.Access;
using Exchange.Audit.Compliance;
using Exchange.Core;
using Npgsql;
using NpgsqlTypes;

namespace Exchange.Audit.Queries;

/// <summary>One signer as the router stored it in hub.envelopes.signers (camelCase JSON).</summary>
public sealed record StoredSigner(
    string Subject, string Issuer, string SerialNumber, string CertificateSha256, string DigestAlgorithm, string SignatureAlgorithm,
    DateTimeOffset? SigningTime, string Verdict, bool BoundToSender)
{
    public bool Valid => Verdict == ReasonCode.Ok.ToCode();

    public static IReadOnlyList<StoredSigner> Parse(string? json) =>
        string.IsNullOrWhiteSpace(json) ? [] : JsonSerializer.Deserialize<List<StoredSigner>>(json, JsonSerializerOptions.Web) ?? [];
}

/// <summary>
/// The audit host's reads (and its one write, paper counts) over the hub's database, in SQL: the search joins
/// envelopes, deliveries and statuses, which reads more plainly as SQL than as LINQ. Visibility is applied here
/// (an agency's search only returns its own rows) and again by the callers for one document.
/// </summary>
public sealed class AuditStore(NpgsqlDataSource database, DirectoryCache directories)
{
    public DirectoryCache Directories => directories;

    public async Task<SearchPage> SearchAsync(DeliverySearch search, string? scopeAgency, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(search);
        var where = new List<string>();
        await using var command = database.CreateCommand();
        void Add(string name, object value, NpgsqlDbType type) => command.Parameters.Add(new NpgsqlParameter(name, type) { Value = value });

        if (search.Document is { } document)
        {
            Add("document", document, NpgsqlDbType.Text);
            if (search.EnvelopeId is { } envelopeId)
            {
                Add("envelope", envelopeId, NpgsqlDbType.Uuid);
                where.Add("(e.document_id = @document or e.envelope_id = @envelope)");
            }
            else
            {
                where.Add("e.document_id = @document");
            }
        }

        if (search.Sender is { } sender)
        {
            Add("sender", sender, NpgsqlDbType.Text);
            where.Add("e.sender_code = @sender");
        }

        if (search.Recipient is { } recipient)
        {
            Add("recipient", recipient, NpgsqlDbType.Text);
            where.Add("d.recipient_code = @recipient");
        }

        if (search.From is { } from)
        {
            Add("from", from.ToUniversalTime(), NpgsqlDbType.TimestampTz);
            where.Add("e.received_at >= @from");
        }

        if (search.To is { } to)
        {
            Add("to", to.ToUniversalTime(), NpgsqlDbType.TimestampTz);
            where.Add("e.received_at < @to");
        }

        switch (search.State)
        {
            case DeliveryFilter.Delivered:
                where.Add("d.state = 'delivered'");
                break;
            case DeliveryFilter.Pending:
                where.Add("d.state = 'forwarded'");
                break;
            case DeliveryFilter.Failed:
                where.Add("d.state = 'failed'");
                break;
            case DeliveryFilter.Rejected:
                where.Add("e.state = 'rejected'");
                break;
        }

        if (search.Status is { } status)
        {
            Add("status", (short)status, NpgsqlDbType.Smallint);
            where.Add("""
                exists (select 1 from hub.statuses s where s.envelope_id = e.envelope_id and s.reporter_code = d.recipient_code
                        and s.status_code = @status and s.state = 'accepted')
                """);
        }

        if (scopeAgency is not null)
        {
            Add("scope", scopeAgency, NpgsqlDbType.Text);
            where.Add("(e.sender_code = @scope or d.recipient_code = @scope)");
        }

        if (search.After is { } after)
        {
            Add("after_time", after.ReceivedAt.ToUniversalTime(), NpgsqlDbType.TimestampTz);
            Add("after_envelope", after.EnvelopeId, NpgsqlDbType.Uuid);
            Add("after_recipient", after.Recipient, NpgsqlDbType.Text);
            where.Add("(e.received_at, e.envelope_id, coalesce(d.recipient_code, '')) < (@after_time, @after_envelope, @after_recipient)");
        }

        Add("limit", search.Limit + 1, NpgsqlDbType.Integer);
        var sql = new StringBuilder("""
            select e.envelope_id, e.document_id, e.subject, e.sender_code, e.state, e.reason, e.received_at,
                   d.recipient_code, d.state, d.forwarded_at, d.delivered_at, d.failure_reason,
                   latest.status_code, latest.status_time
            from hub.envelopes e
            left join hub.deliveries d on d.envelope_id = e.envelope_id
            left join lateral (
                select s.status_code, s.status_time from hub.statuses s
                where s.envelope_id = e.envelope_id and s.reporter_code = d.recipient_code and s.state = 'accepted'
                order by s.status_time desc, s.received_at desc limit 1) latest on true
            """);
        if (where.Count > 0)
        {
            sql.Append("\nwhere ").AppendJoin("\n  and ", where);
        }

        sql.Append("\norder by e.received_at desc, e.envelope_id desc, coalesce(d.recipient_code, '') desc\nlimit @limit");
        command.CommandText = sql.ToString();

        var directory = await directories.LatestAsync(cancellationToken);
        var hits = new List<DeliveryHit>();
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var envelopeState = reader.GetString(4);
                var recipientCode = Text(reader, 7);
                var state = envelopeState == "rejected" ? "rejected" : Text(reader, 8) switch
                {
                    "delivered" => "delivered",
                    "failed" => "failed",
                    _ => "pending",
                };
                StatusBrief? latest = reader.IsDBNull(12)
                    ? null
                    : new StatusBrief(reader.GetInt16(12), StatusName.Of(reader.GetInt16(12)).Label, reader.GetFieldValue<DateTimeOffset>(13));
                var senderCode = reader.GetString(3);
                hits.Add(new DeliveryHit(
                    reader.GetGuid(0), Text(reader, 1), Text(reader, 2), senderCode, DirectoryCache.NameIn(directory, senderCode),
                    recipientCode, DirectoryCache.NameIn(directory, recipientCode), state, reader.GetString(5),
                    reader.GetFieldValue<DateTimeOffset>(6), Time(reader, 9), Time(reader, 10), Text(reader, 11), latest));
            }
        }

        string? next = null;
        if (hits.Count > search.Limit)
        {
            hits.RemoveAt(hits.Count - 1);
            var last = hits[^1];
            next = new SearchCursor(last.ReceivedAt, last.EnvelopeId, last.Recipient ?? string.Empty).Encode();
        }

        return new SearchPage(hits, next, search.Limit);
    }

    /// <summary>
    /// One envelope's full history, filtered to what <paramref name="caller"/> may see; null when there is no such
    /// envelope or the caller may not see it (the two are answered alike).
    /// </summary>
    public async Task<DocumentHistory?> HistoryAsync(
        Guid envelopeId, AuditCaller caller, TimeSpan deliveryDue, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(caller);
        await using var connection = await database.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.RepeatableRead, cancellationToken);

        string sender, state, reason, detail, packageSha256;
        string? documentId, subject, signersJson;
        long? directoryVersion;
        DateTimeOffset submittedAt, receivedAt;
        await using (var select = new NpgsqlCommand("""
            select sender_code, document_id, subject, state, reason, detail, package_sha256, directory_version, submitted_at, received_at, signers::text
            from hub.envelopes where envelope_id = @id
            """, connection, transaction))
        {
            select.Parameters.AddWithValue("id", envelopeId);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            if (!await reader.ReadAsync(cancellationToken))
            {
                return null;
            }

            sender = reader.GetString(0);
            documentId = Text(reader, 1);
            subject = Text(reader, 2);
            state = reader.GetString(3);
            reason = reader.GetString(4);
            detail = reader.GetString(5);
            packageSha256 = reader.GetString(6);
            directoryVersion = reader.IsDBNull(7) ? null : reader.GetInt64(7);
            submittedAt = reader.GetFieldValue<DateTimeOffset>(8);
            receivedAt = reader.GetFieldValue<DateTimeOffset>(9);
            signersJson = Text(reader, 10);
        }

        var deliveryRows = new List<(string Recipient, string State, DateTimeOffset ForwardedAt, DateTimeOffset? DeliveredAt, Guid? ReceiptId, string? FailureReason, DateTimeOffset? DueAt)>();
        await using (var select = new NpgsqlCommand("""
            select recipient_code, state, forwarded_at, delivered_at, receipt_id, failure_reason, due_at
            from hub.deliveries where envelope_id = @id order by recipient_code
            """, connection, transaction))
        {
            select.Parameters.AddWithValue("id", envelopeId);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                deliveryRows.Add((reader.GetString(0), reader.GetString(1), reader.GetFieldValue<DateTimeOffset>(2), Time(reader, 3),
                    reader.IsDBNull(4) ? null : reader.GetGuid(4), Text(reader, 5), Time(reader, 6)));
            }
        }

        if (!caller.CanSeeDocument(sender, deliveryRows.Select(d => d.Recipient)))
        {
            return null;
        }

        var evidence = new List<EvidenceView>();
        await using (var select = new NpgsqlCommand("""
            select seq, chain_index, evidence_id, kind, envelope_id, recipient_code, reason, detail, package_sha256, issuer, issued_at, record_hash
            from hub.evidence where envelope_id = @id order by seq
            """, connection, transaction))
        {
            select.Parameters.AddWithValue("id", envelopeId);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var record = ReadEvidence(reader);
                if (caller.SeesRecipient(sender, record.Recipient))
                {
                    evidence.Add(record);
                }
            }
        }

        var directory = await directories.LatestAsync(cancellationToken);
        var statuses = new List<StatusView>();
        await using (var select = new NpgsqlCommand("""
            select status_id, reporter_code, recipient_code, status_code, description, status_time, received_at, state, reason, package_sha256
            from hub.statuses where envelope_id = @id order by received_at, status_id
            """, connection, transaction))
        {
            select.Parameters.AddWithValue("id", envelopeId);
            await using var reader = await select.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                var reporter = reader.GetString(1);
                var recipient = reader.GetString(2);
                if (!caller.SeesStatus(sender, reporter, recipient))
                {
                    continue;
                }

                var code = reader.GetInt16(3);
                statuses.Add(new StatusView(
                    reader.GetGuid(0), reporter, DirectoryCache.NameIn(directory, reporter), recipient, DirectoryCache.NameIn(directory, recipient),
                    code, StatusName.Of(code).Label, Text(reader, 4), reader.GetFieldValue<DateTimeOffset>(5), reader.GetFieldValue<DateTimeOffset>(6),
                    reader.GetString(7), reader.GetString(8), reader.GetString(9)));
            }
        }

        await transaction.CommitAsync(cancellationToken);

        var signers = new List<SignerView>();
        var facts = new List<SignerFact>();
        foreach (var s in StoredSigner.Parse(signersJson))
        {
            var fact = new SignerFact(s.Valid, s.BoundToSender, s.Valid && await directories.IsBoundToAnyAsync(directoryVersion, s.CertificateSha256, cancellationToken));
            facts.Add(fact);
            signers.Add(new SignerView(s.Subject, s.Issuer, s.SerialNumber, s.CertificateSha256, s.DigestAlgorithm, s.SignatureAlgorithm,
                s.SigningTime, s.Verdict, s.BoundToSender, KindName(SignatureRule.Classify(fact))));
        }

        var deliveries = deliveryRows
            .Where(d => caller.SeesRecipient(sender, d.Recipient))
            .Select(d =>
            {
                var due = d.DueAt ?? d.ForwardedAt + deliveryDue;
                var overdue = d.DeliveredAt is { } at ? at > due : now > due;
                return new DeliveryView(d.Recipient, DirectoryCache.NameIn(directory, d.Recipient), d.State, d.ForwardedAt, d.DeliveredAt, due, overdue, d.ReceiptId, d.FailureReason);
            })
            .ToList();

        return new DocumentHistory(
            envelopeId, documentId, subject, sender, DirectoryCache.NameIn(directory, sender), state, reason, detail, packageSha256, directoryVersion,
            submittedAt, receivedAt, SignatureRule.CarriesRequiredSignatures(facts), !caller.SeesWholeDocument(sender),
            signers, deliveries, evidence, statuses);
    }

    public static string KindName(SignerKind kind) => kind switch
    {
        SignerKind.Organisation => "organisation",
        SignerKind.Personal => "personal",
        SignerKind.OtherAgency => "other-agency",
        _ => "invalid",
    };

    /// <summary>Evidence by agency (as sender or recipient), kind, reason and period, newest first.</summary>
    public async Task<IReadOnlyList<EvidenceView>> EvidenceAsync(
        string? agency, string? kind, string? reason, DateTimeOffset? from, DateTimeOffset? to, int limit, string? scopeAgency, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand();
        var where = new List<string>();
        foreach (var (name, code) in new[] { ("agency", agency), ("scope", scopeAgency) })
        {
            if (code is not null)
            {
                command.Parameters.Add(new NpgsqlParameter(name, NpgsqlDbType.Text) { Value = code });
                where.Add($"(v.recipient_code = @{name} or exists (select 1 from hub.envelopes e where e.envelope_id = v.envelope_id and e.sender_code = @{name}))");
            }
        }

        if (kind is not null)
        {
            command.Parameters.Add(new NpgsqlParameter("kind", NpgsqlDbType.Text) { Value = kind });
            where.Add("v.kind = @kind");
        }

        if (reason is not null)
        {
            command.Parameters.Add(new NpgsqlParameter("reason", NpgsqlDbType.Text) { Value = reason });
            where.Add("v.reason = @reason");
        }

        if (from is { } f)
        {
            command.Parameters.Add(new NpgsqlParameter("from", NpgsqlDbType.TimestampTz) { Value = f.ToUniversalTime() });
            where.Add("v.issued_at >= @from");
        }

        if (to is { } t)
        {
            command.Parameters.Add(new NpgsqlParameter("to", NpgsqlDbType.TimestampTz) { Value = t.ToUniversalTime() });
            where.Add("v.issued_at < @to");
        }

        command.Parameters.Add(new NpgsqlParameter("limit", NpgsqlDbType.Integer) { Value = limit });
        command.CommandText = "select v.seq, v.chain_index, v.evidence_id, v.kind, v.envelope_id, v.recipient_code, v.reason, v.detail, v.package_sha256, v.issuer, v.issued_at, v.record_hash from hub.evidence v"
            + (where.Count > 0 ? " where " + string.Join(" and ", where) : string.Empty) + " order by v.seq desc limit @limit";
        var rows = new List<EvidenceView>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            rows.Add(ReadEvidence(reader));
        }

        return rows;
    }

    /// <summary>
    /// The compliance report for <paramref name="month"/>: every agency of the newest directory, and every document
    /// the hub accepted that month (received_at in the month, Vietnam time), streamed through the calculator.
    /// </summary>
    public async Task<ComplianceReport> ComplianceAsync(
        ReportMonth month, string? scopeAgency, DateTimeOffset asOf, TimeSpan deliveryDue, CancellationToken cancellationToken)
    {
        var latest = await directories.LatestAsync(cancellationToken);
        var agencies = (latest?.Agencies ?? [])
            .Where(a => scopeAgency is null || a.Code == scopeAgency)
            .Select(a => new ReportAgency(a.Code, a.Name, a.Tier));
        var paper = await PaperCountsAsync(month, cancellationToken);
        if (scopeAgency is not null)
        {
            paper = paper.Where(p => p.Key == scopeAgency).ToDictionary();
        }

        var calculator = new ComplianceCalculator(month, agencies, paper, asOf, deliveryDue);
        await using var command = database.CreateCommand($"""
            select e.envelope_id, e.sender_code, e.submitted_at, e.directory_version, e.signers::text,
                   d.recipient_code, d.forwarded_at, d.delivered_at, registered.at, d.due_at
            from hub.envelopes e
            left join hub.deliveries d on d.envelope_id = e.envelope_id
            left join lateral (
                select min(s.status_time) as at from hub.statuses s
                where s.envelope_id = d.envelope_id and s.reporter_code = d.recipient_code and s.status_code = 3 and s.state = 'accepted') registered on true
            where e.state = 'accepted' and e.received_at >= @start and e.received_at < @end
              {(scopeAgency is null ? string.Empty : "and e.sender_code = @scope")}
            order by e.envelope_id
            """);
        command.Parameters.Add(new NpgsqlParameter("start", NpgsqlDbType.TimestampTz) { Value = month.Start.ToUniversalTime() });
        command.Parameters.Add(new NpgsqlParameter("end", NpgsqlDbType.TimestampTz) { Value = month.End.ToUniversalTime() });
        if (scopeAgency is not null)
        {
            command.Parameters.Add(new NpgsqlParameter("scope", NpgsqlDbType.Text) { Value = scopeAgency });
        }

        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        Guid? current = null;
        string sender = string.Empty;
        DateTimeOffset submittedAt = default;
        long? version = null;
        string? signersJson = null;
        var deliveries = new List<DeliveryFact>();

        async Task FlushAsync()
        {
            if (current is not { } id)
            {
                return;
            }

            var facts = new List<SignerFact>();
            foreach (var s in StoredSigner.Parse(signersJson))
            {
                facts.Add(new SignerFact(s.Valid, s.BoundToSender, s.Valid && await directories.IsBoundToAnyAsync(version, s.CertificateSha256, cancellationToken)));
            }

            calculator.Add(new SentDocument(id, sender, submittedAt, facts, deliveries.ToList()));
            deliveries.Clear();
        }

        while (await reader.ReadAsync(cancellationToken))
        {
            var id = reader.GetGuid(0);
            if (id != current)
            {
                await FlushAsync();
                current = id;
                sender = reader.GetString(1);
                submittedAt = reader.GetFieldValue<DateTimeOffset>(2);
                version = reader.IsDBNull(3) ? null : reader.GetInt64(3);
                signersJson = Text(reader, 4);
            }

            if (!reader.IsDBNull(5))
            {
                deliveries.Add(new DeliveryFact(reader.GetString(5), reader.GetFieldValue<DateTimeOffset>(6), Time(reader, 7), Time(reader, 8), Time(reader, 9)));
            }
        }

        await FlushAsync();
        var report = calculator.Build();
        return scopeAgency is null ? report : report.OnlyAgency(scopeAgency);
    }

    /// <summary>The newest paper count each agency reported for the month.</summary>
    public async Task<Dictionary<string, int>> PaperCountsAsync(ReportMonth month, CancellationToken cancellationToken)
    {
        await using var command = database.CreateCommand("""
            select distinct on (agency_code) agency_code, paper_count from hub.paper_counts
            where month = @month order by agency_code, reported_at desc, report_id desc
            """);
        command.Parameters.Add(new NpgsqlParameter("month", NpgsqlDbType.Date) { Value = month.FirstDay });
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            counts[reader.GetString(0)] = reader.GetInt32(1);
        }

        return counts;
    }

    /// <summary>Appends a paper-count report (the newest per agency and month is the one the report uses).</summary>
    public static async Task<PaperCountReport> AddPaperCountAsync(
        NpgsqlDataSource database, string agency, ReportMonth month, int count, string source, string? note, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(database);
        var report = new PaperCountReport(Guid.CreateVersion7(now), agency, month.ToString(), count, now, source, note);
        await using var command = database.CreateCommand("""
            insert into hub.paper_counts (report_id, agency_code, month, paper_count, reported_at, source, note)
            values (@id, @agency, @month, @count, @at, @source, @note)
            """);
        command.Parameters.AddWithValue("id", report.ReportId);
        command.Parameters.AddWithValue("agency", agency);
        command.Parameters.Add(new NpgsqlParameter("month", NpgsqlDbType.Date) { Value = month.FirstDay });
        command.Parameters.AddWithValue("count", count);
        command.Parameters.AddWithValue("at", now.ToUniversalTime());
        command.Parameters.AddWithValue("source", source);
        command.Parameters.Add(new NpgsqlParameter("note", NpgsqlDbType.Text) { Value = (object?)note ?? DBNull.Value });
        await command.ExecuteNonQueryAsync(cancellationToken);
        return report;
    }

    private static EvidenceView ReadEvidence(NpgsqlDataReader reader) => new(
        reader.GetInt64(0), reader.IsDBNull(1) ? null : reader.GetInt64(1), reader.GetGuid(2), reader.GetString(3), reader.GetGuid(4), Text(reader, 5),
        reader.GetString(6), reader.GetString(7), Text(reader, 8), reader.GetString(9), reader.GetFieldValue<DateTimeOffset>(10), Text(reader, 11));

    private static string? Text(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static DateTimeOffset? Time(NpgsqlDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetFieldValue<DateTimeOffset>(ordinal);
}

/// <summary>A stored paper-count report.</summary>
public sealed record PaperCountReport(Guid ReportId, string Agency, string Month, int Count, DateTimeOffset ReportedAt, string Source, string? Note);
