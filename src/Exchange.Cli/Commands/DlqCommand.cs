using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using Exchange.Cli.DeadLetters;
using Exchange.Contracts;
using Exchange.Core;
using Exchange.Persistence.Hub;
using Exchange.Router;
using Exchange.ServiceDefaults;
using Exchange.ServiceDefaults.Messaging;
using MassTransit;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using RabbitMQ.Client.Exceptions;
using Spectre.Console;

namespace Exchange.Cli.Commands;

/// <summary>
/// `exchange dlq list|show|resend|discard`: the messages the hub and the gateways gave up on, in their endpoints'
/// <c>_error</c> queues (docs/operations.md, "Dead letters"). `resend` and `discard` first append an OperatorAction
/// record to the hub's evidence log, then act, so no action goes unrecorded. Exit 0 done, 1 no such message (or
/// a re-send refused), 2 usage or I/O error. With --json the last line of standard output is one JSON object.
/// </summary>
public static class DlqCommand
{
    public const string PrefixVariable = "EXCHANGE_PREFIX";

    /// <summary>Most characters an operator name or reason may have; they go into evidence that is kept for years.</summary>
    public const int MaxOperatorLength = 100;
    public const int MaxReasonLength = 1000;

    private static readonly JsonSerializerOptions Json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions IndentedJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, WriteIndented = true };

    public static Command Create() => new("dlq", "Messages the hub or a gateway gave up on (error queues): list, show, re-send, discard.")
    {
        List(),
        Show(),
        Resend(),
        Discard(),
    };

    private static Option<string?> PrefixOption() => new("--prefix") { Description = $"The deployment's queue and database prefix (default: ${PrefixVariable}, else none)." };

    private static Option<string?> QueueOption(string what) => new("--queue") { Description = what };

    private static Option<bool> JsonOption() => new("--json") { Description = "End with one JSON line." };

    private static Argument<string> IdArgument() => new("id") { Description = "The message id, as `dlq list` shows it." };

    private static Command List()
    {
        var queue = QueueOption("Only this error queue (its name as listed, or its source queue's; the prefix may be left out).");
        var limit = new Option<int>("--limit") { Description = "Most messages read per queue, from its head.", DefaultValueFactory = _ => 100 };
        var prefix = PrefixOption();
        var json = JsonOption();
        var command = new Command("list", "The deployment's error queues and the messages in them.") { queue, limit, prefix, json };
        command.SetAction((p, ct) => ListAsync(Deployment(p.GetValue(prefix)), p.GetValue(queue), p.GetValue(limit), p.GetValue(json), ct));
        return command;
    }

    private static Command Show()
    {
        var id = IdArgument();
        var queue = QueueOption("Look only in this error queue.");
        var prefix = PrefixOption();
        var json = JsonOption();
        var command = new Command("show", "One message: what it is, why it failed, its headers and its body. It stays where it is.") { id, queue, prefix, json };
        command.SetAction((p, ct) => ShowAsync(Deployment(p.GetValue(prefix)), p.GetValue(id)!, p.GetValue(queue), p.GetValue(json), ct));
        return command;
    }

    private static Command Resend()
    {
        var id = IdArgument();
        var operatorName = new Option<string?>("--operator") { Description = "Who re-sends it, for the evidence record (default: the login name)." };
        var reason = new Option<string?>("--reason") { Description = "Why, for the evidence record (for example what was fixed)." };
        var queue = QueueOption("Look only in this error queue.");
        var prefix = PrefixOption();
        var json = JsonOption();
        var command = new Command("resend", "Record the action, put the message back in the queue it failed in, and remove it from the error queue.")
        {
            id, operatorName, reason, queue, prefix, json,
        };
        command.SetAction((p, ct) => ActAsync(
            Deployment(p.GetValue(prefix)), Action.Resend, p.GetValue(id)!, p.GetValue(operatorName) ?? Environment.UserName, p.GetValue(reason),
            p.GetValue(queue), p.GetValue(json), ct));
        return command;
    }

    private static Command Discard()
    {
        var id = IdArgument();
        var operatorName = new Option<string>("--operator") { Description = "Who discards it, for the evidence record.", Required = true };
        var reason = new Option<string>("--reason") { Description = "Why, for the evidence record.", Required = true };
        var queue = QueueOption("Look only in this error queue.");
        var prefix = PrefixOption();
        var json = JsonOption();
        var command = new Command("discard", "Record the action, and remove the message from the error queue for good.") { id, operatorName, reason, queue, prefix, json };
        command.SetAction((p, ct) => ActAsync(
            Deployment(p.GetValue(prefix)), Action.Discard, p.GetValue(id)!, p.GetValue(operatorName)!, p.GetValue(reason),
            p.GetValue(queue), p.GetValue(json), ct));
        return command;
    }

    private enum Action
    {
        Resend,
        Discard,
    }

    private sealed record Target(ServerSettings? Servers, ExchangeNames Names, string? Error);

    private static Target Deployment(string? prefix)
    {
        var names = new ExchangeNames(prefix ?? Environment.GetEnvironmentVariable(PrefixVariable) ?? string.Empty);
        try
        {
            return new Target(ServerSettings.FromEnvironment(), names, null);
        }
        catch (FormatException e)
        {
            return new Target(null, names, e.Message);
        }
    }

    private static async Task<int> ListAsync(Target target, string? queueName, int limit, bool json, CancellationToken ct)
    {
        if (target.Servers is not { } servers)
        {
            return Fail(json, target.Error!, ExitCodes.UsageOrIo);
        }

        if (limit < 1)
        {
            return Fail(json, "--limit must be 1 or more.", ExitCodes.UsageOrIo);
        }

        await using var queues = new ErrorQueues(servers, target.Names);
        string? only = null;
        if (queueName is not null && (only = queues.Resolve(queueName)) is null)
        {
            return Fail(json, NotAnErrorQueue(queueName, target.Names), ExitCodes.UsageOrIo);
        }

        var listed = new List<(ErrorQueue Queue, IReadOnlyList<DeadLetter> Letters)>();
        try
        {
            foreach (var queue in (await queues.ListAsync(ct)).Where(q => only is null || q.Name == only))
            {
                listed.Add((queue, await queues.PeekAsync(queue.Name, limit, ct)));
            }
        }
        catch (Exception e) when (IsBrokerError(e))
        {
            return Fail(json, BrokerError(servers, e), ExitCodes.UsageOrIo);
        }

        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                ok = true,
                queues = listed.Select(q => new { queue = q.Queue.Name, source_queue = DeadLetter.SourceQueueOf(q.Queue.Name), messages = q.Queue.Messages, listed = q.Letters.Count }),
                dead_letters = listed.SelectMany(q => q.Letters).Select(LetterJson),
            }, Json));
            return ExitCodes.Ok;
        }

        if (listed.Count == 0)
        {
            Console.WriteLine(only is null ? $"No error queue in this deployment{PrefixNote(target.Names)}." : $"{only} does not exist: nothing has failed there.");
            return ExitCodes.Ok;
        }

        foreach (var (queue, letters) in listed)
        {
            var more = letters.Count >= limit && queue.Messages > letters.Count ? $" of about {queue.Messages}, the first {letters.Count} shown (--limit)" : string.Empty;
            Console.WriteLine($"{queue.Name}: {letters.Count} message(s){more}; they failed in {DeadLetter.SourceQueueOf(queue.Name)}");
            if (letters.Count == 0)
            {
                continue;
            }

            // Ids are what the other commands take: never wrapped, so they can be copied whole.
            var table = new Table().AddColumns(
                new TableColumn("Message id").NoWrap(), new TableColumn("Type"), new TableColumn("Envelope").NoWrap(),
                new TableColumn("First failed (UTC)").NoWrap(), new TableColumn("Re-sent"), new TableColumn("Fault"));
            foreach (var l in letters)
            {
                table.AddRow(
                    Markup.Escape(l.Id), Markup.Escape(l.MessageType ?? "?"), l.EnvelopeId?.ToString() ?? "-", Time(l.FirstFailedAt),
                    l.Resends.ToString(CultureInfo.InvariantCulture), Markup.Escape(Fault(l)));
            }

            AnsiConsole.Write(table);
        }

        return ExitCodes.Ok;
    }

    /// <summary>Takes the one message <paramref name="id"/> off its error queue; or the exit code of a refusal, already reported.</summary>
    private static async Task<(HeldMessage? Held, int Failed)> TakeAsync(
        ErrorQueues queues, ServerSettings servers, Target target, string id, string? queueName, bool json, CancellationToken ct)
    {
        try
        {
            var search = await SearchOrderAsync(queues, queueName, target.Names, ct);
            if (search.Error is { } error)
            {
                return (null, Fail(json, error, ExitCodes.UsageOrIo));
            }

            return await queues.TakeAsync(search.Queues, id, ct) is { } held
                ? (held, ExitCodes.Ok)
                : (null, Fail(json, NotFound(id, target.Names), ExitCodes.Refused));
        }
        catch (Exception e) when (IsBrokerError(e))
        {
            return (null, Fail(json, BrokerError(servers, e), ExitCodes.UsageOrIo));
        }
    }

    private static async Task<int> ShowAsync(Target target, string id, string? queueName, bool json, CancellationToken ct)
    {
        if (target.Servers is not { } servers)
        {
            return Fail(json, target.Error!, ExitCodes.UsageOrIo);
        }

        await using var queues = new ErrorQueues(servers, target.Names);
        var (held, failed) = await TakeAsync(queues, servers, target, id, queueName, json, ct);
        if (held is null)
        {
            return failed;
        }

        await using (held)
        {
            // Read, then back to its place: show changes nothing.
            await held.ReturnAsync();
            var letter = held.Letter;
            var body = Body(held.Body.Span);
            if (json)
            {
                var shown = new JsonObject { ["ok"] = true };
                var described = JsonSerializer.SerializeToNode(LetterJson(letter), Json)!.AsObject();
                foreach (var (name, value) in described.ToList())
                {
                    described.Remove(name);
                    shown[name] = value;
                }

                shown["headers"] = new JsonObject(letter.Headers.Select(h => KeyValuePair.Create(h.Key, (JsonNode?)JsonValue.Create(h.Value))));
                shown["body"] = body;
                shown["body_base64"] = body is null ? Convert.ToBase64String(held.Body.Span) : null;
                Console.WriteLine(shown.ToJsonString(Json));
                return ExitCodes.Ok;
            }

            Console.WriteLine($"message id     {letter.Id}");
            Console.WriteLine($"type           {letter.MessageType ?? "?"}");
            Console.WriteLine($"envelope       {letter.EnvelopeId?.ToString() ?? "-"}");
            Console.WriteLine($"queue          {letter.Queue} (failed in {letter.SourceQueue})");
            Console.WriteLine($"fault          {Fault(letter)}");
            Console.WriteLine($"failed at      {Time(letter.FailedAt)}; first {Time(letter.FirstFailedAt)}; re-sent {letter.Resends} time(s)");
            Console.WriteLine($"retries        {letter.RetryCount?.ToString(CultureInfo.InvariantCulture) ?? "?"}");
            Console.WriteLine($"body           {letter.BodyBytes} bytes, SHA-256 {letter.BodySha256}");
            Console.WriteLine("headers");
            foreach (var (name, value) in letter.Headers)
            {
                Console.WriteLine($"  {name}: {Elide(value, 500)}");
            }

            Console.WriteLine("body (long strings shortened; --json for all of it)");
            Console.WriteLine(body is null ? $"  (not JSON; {letter.BodyBytes} bytes)" : Shortened(body).ToJsonString(IndentedJson));
            return ExitCodes.Ok;
        }
    }

    private static async Task<int> ActAsync(
        Target target, Action action, string id, string operatorName, string? reason, string? queueName, bool json, CancellationToken ct)
    {
        if (target.Servers is not { } servers)
        {
            return Fail(json, target.Error!, ExitCodes.UsageOrIo);
        }

        if (Invalid(operatorName, MaxOperatorLength, required: true) is { } badOperator)
        {
            return Fail(json, $"--operator {badOperator}", ExitCodes.UsageOrIo);
        }

        if (Invalid(reason, MaxReasonLength, required: action == Action.Discard) is { } badReason)
        {
            return Fail(json, $"--reason {badReason}", ExitCodes.UsageOrIo);
        }

        operatorName = operatorName.Trim();
        reason = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim();
        await using var queues = new ErrorQueues(servers, target.Names);
        var (held, failed) = await TakeAsync(queues, servers, target, id, queueName, json, ct);
        if (held is null)
        {
            return failed;
        }

        await using (held)
        {
            var letter = held.Letter;
            // Only the queue whose _error this is ever fed it; a fault header naming another queue is not followed.
            if (action == Action.Resend && letter.InputQueue is { } input && input != letter.SourceQueue)
            {
                return Fail(json, $"Refused: {letter.Id} is in {letter.Queue}, but its {DeadLetter.InputAddressHeader} names {input}; it is left where it is.", ExitCodes.Refused);
            }

            Guid evidenceId;
            EnvelopeRejected? notice;
            try
            {
                (evidenceId, notice) = await RecordAsync(servers, target.Names, letter, action, operatorName, reason, ct);
            }
            catch (Exception e) when (IsDatabaseError(e))
            {
                return Fail(json, $"Nothing done: the action could not be recorded in the hub's evidence log ({e.Message}); {letter.Id} is still in {letter.Queue}.", ExitCodes.UsageOrIo);
            }

            try
            {
                if (action == Action.Resend)
                {
                    await held.RepublishAsync(letter.SourceQueue, ct);
                }
                else if (notice is not null)
                {
                    await SendAsync(servers, target.Names.AgencyQueue(notice.SenderCode), notice, ct);
                }

                await held.RemoveAsync(ct);
            }
            catch (Exception e) when (IsBrokerError(e) || e is RabbitMQ.Client.Exceptions.PublishException or MassTransitException)
            {
                return Fail(json, $"Recorded as evidence {evidenceId}, but the broker failed ({e.Message}): {letter.Id} is still in {letter.Queue}. Run the command again.", ExitCodes.UsageOrIo);
            }

            var verb = action == Action.Resend ? "re-sent" : "discarded";
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    ok = true,
                    action = action == Action.Resend ? "resend" : "discard",
                    message_id = letter.Id,
                    message_type = letter.MessageType,
                    envelope_id = letter.EnvelopeId,
                    queue = letter.Queue,
                    to_queue = action == Action.Resend ? letter.SourceQueue : null,
                    body_sha256 = letter.BodySha256,
                    @operator = operatorName,
                    reason,
                    evidence_id = evidenceId,
                    sender_notified = notice is not null,
                }, Json));
            }
            else
            {
                Console.WriteLine($"{verb} {letter.Id} ({letter.MessageType ?? "?"}{(letter.EnvelopeId is { } e ? $", envelope {e}" : string.Empty)}) "
                    + (action == Action.Resend ? $"from {letter.Queue} to {letter.SourceQueue}" : $"from {letter.Queue}"));
                Console.WriteLine($"recorded as OperatorAction evidence {evidenceId}");
                if (notice is not null)
                {
                    Console.WriteLine($"told {notice.SenderCode}'s gateway that the document is rejected ({notice.Reason})");
                }
            }

            return ExitCodes.Ok;
        }
    }

    /// <summary>
    /// Appends the OperatorAction record (before anything is done, so that nothing done goes unrecorded) and decides
    /// whether the sender must be told: a discarded submission the hub never stored would otherwise show as held
    /// for ever, so its sender's gateway gets <see cref="EnvelopeRejected"/> with <c>processing-failed</c>. A
    /// submission the hub did store already has its answer (re-send it to repeat that answer).
    /// </summary>
    private static async Task<(Guid EvidenceId, EnvelopeRejected? Notice)> RecordAsync(
        ServerSettings servers, ExchangeNames names, DeadLetter letter, Action action, string operatorName, string? reason, CancellationToken ct)
    {
        await using var db = LocalDeployment.CreateHubDb(servers.PostgresConnectionString(names.HubDatabase));
        var now = DateTimeOffset.UtcNow;
        // The record is the hub's: it carries the issuer the hub writes (Router:HubName), read from its newest record.
        var issuer = await db.Evidence.AsNoTracking().OrderByDescending(e => e.Seq).Select(e => e.Issuer).FirstOrDefaultAsync(ct) ?? new RouterOptions().HubName;
        var type = letter.MessageType ?? "unknown";
        var why = reason ?? "none given";
        var detail = action == Action.Resend
            ? $"Operator {operatorName} re-sent {type} message {letter.Id} from {letter.Queue} to {letter.SourceQueue}; body SHA-256 {letter.BodySha256}; "
              + $"first failed {Time(letter.FirstFailedAt)}, re-sent before {letter.Resends} time(s); reason: {why}"
            : $"Operator {operatorName} discarded {type} message {letter.Id} from {letter.Queue}; body SHA-256 {letter.BodySha256}; "
              + $"first failed {Time(letter.FirstFailedAt)}; reason: {why}";

        EnvelopeRejected? notice = null;
        if (action == Action.Discard && letter.MessageType == nameof(SubmitEnvelope) && letter.EnvelopeId is { } envelopeId
            && AgencyCode.TryParse(letter.SenderCode, out var sender, out _)
            && !await db.Envelopes.AnyAsync(e => e.EnvelopeId == envelopeId, ct)
            && (await DirectoryStore.LatestAsync(db, ct))?.Find(sender.Value) is not null)
        {
            notice = new EnvelopeRejected(envelopeId, sender.Value, ReasonCode.ProcessingFailed.ToCode(),
                $"The hub could not process this submission and its operator {operatorName} discarded it (reason: {why}). Submit the document again if it is still to be sent.",
                now);
            detail += $"; {sender.Value} told the document is rejected";
        }

        var recipient = letter.RecipientCode is { Length: > 64 } longCode ? longCode[..64] : letter.RecipientCode;
        var evidenceId = db.AddEvidence(
            EvidenceKind.OperatorAction, letter.EnvelopeId ?? Guid.Empty, recipient,
            action == Action.Resend ? ReasonCode.MessageResent : ReasonCode.MessageDiscarded, detail, letter.PackageSha256, issuer, now);
        await db.SaveChangesAsync(ct);
        return (evidenceId, notice);
    }

    /// <summary>A MassTransit message to a queue, as the hub would send it (the gateway's consumer reads MassTransit's envelope).</summary>
    private static async Task SendAsync<T>(ServerSettings servers, string queue, T message, CancellationToken ct)
        where T : class
    {
        var bus = Bus.Factory.CreateUsingRabbitMq(cfg => cfg.Host(servers));
        await bus.StartAsync(ct);
        try
        {
            await bus.SendToQueueAsync(queue, message, ct);
        }
        finally
        {
            await bus.StopAsync(CancellationToken.None);
        }
    }

    private sealed record SearchOrder(IReadOnlyList<string> Queues, string? Error);

    /// <summary>Where to look for a message: the one queue named, else every error queue of the deployment.</summary>
    private static async Task<SearchOrder> SearchOrderAsync(ErrorQueues queues, string? queueName, ExchangeNames names, CancellationToken ct)
    {
        if (queueName is null)
        {
            return new((await queues.ListAsync(ct)).Select(q => q.Name).ToList(), null);
        }

        return queues.Resolve(queueName) is { } one ? new([one], null) : new([], NotAnErrorQueue(queueName, names));
    }

    private static object LetterJson(DeadLetter l) => new
    {
        message_id = l.Id,
        queue = l.Queue,
        source_queue = l.SourceQueue,
        message_type = l.MessageType,
        envelope_id = l.EnvelopeId,
        sender_code = l.SenderCode,
        recipient_code = l.RecipientCode,
        package_sha256 = l.PackageSha256,
        reason = l.Reason,
        exception_type = l.ExceptionType,
        exception_message = l.ExceptionMessage,
        failed_at = l.FailedAt,
        first_failed_at = l.FirstFailedAt,
        input_address = l.InputAddress,
        consumer_type = l.ConsumerType,
        retry_count = l.RetryCount,
        resends = l.Resends,
        body_sha256 = l.BodySha256,
        body_bytes = l.BodyBytes,
    };

    private static JsonNode? Body(ReadOnlySpan<byte> body)
    {
        try
        {
            return JsonNode.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>The body with every long string (a package in base64) cut short, for a terminal.</summary>
    private static JsonNode Shortened(JsonNode node) => node switch
    {
        JsonObject o => o.Aggregate(new JsonObject(), (copy, kv) => { copy[kv.Key] = kv.Value is null ? null : Shortened(kv.Value); return copy; }),
        JsonArray a => new JsonArray(a.Select(v => v is null ? null : Shortened(v)).ToArray()),
        JsonValue v when v.TryGetValue<string>(out var s) => JsonValue.Create(Elide(s, 200)),
        _ => node.DeepClone(),
    };

    private static string Elide(string text, int length) =>
        text.Length <= length ? text : string.Create(CultureInfo.InvariantCulture, $"{text[..60]}… ({text.Length} characters)");

    private static string Fault(DeadLetter l) =>
        l.ExceptionType is null && l.ExceptionMessage is null ? l.Reason ?? "?" : $"{ShortException(l.ExceptionType)}: {Elide(l.ExceptionMessage ?? string.Empty, 160)}";

    private static string ShortException(string? type) => DeadLetter.ShortTypeName(type) ?? "?";

    private static string Time(DateTimeOffset? at) => at?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "?";

    /// <summary>Null when <paramref name="text"/> is acceptable for evidence; else what is wrong with it.</summary>
    private static string? Invalid(string? text, int maxLength, bool required)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return required ? "is required and may not be blank." : null;
        }

        if (text.Length > maxLength)
        {
            return $"may have at most {maxLength} characters.";
        }

        return text.Any(char.IsControl) ? "may not contain control characters (line breaks, tabs)." : null;
    }

    private static string PrefixNote(ExchangeNames names) => names.Prefix.Length == 0 ? string.Empty : $" (prefix {names.Prefix})";

    private static string NotFound(string id, ExchangeNames names) =>
        $"No message {id} in the error queues of this deployment{PrefixNote(names)}: see `exchange dlq list`.";

    private static string NotAnErrorQueue(string name, ExchangeNames names) =>
        $"'{name}' is not an error queue of this deployment{PrefixNote(names)}: it must be {names.HubQueue}_error or {names.AgencyQueue(string.Empty)}…_error, "
        + "or the name of the queue it serves.";

    private static bool IsBrokerError(Exception e) =>
        e is BrokerUnreachableException or OperationInterruptedException or HttpRequestException or SocketException or IOException or TimeoutException
            or TaskCanceledException;

    private static bool IsDatabaseError(Exception e) =>
        e is NpgsqlException or DbUpdateException or SocketException or TimeoutException or InvalidOperationException;

    private static string BrokerError(ServerSettings servers, Exception e) =>
        $"Cannot read the broker (AMQP {servers.AmqpHost}:{servers.AmqpPort}, management API {servers.AmqpManagementUri}): {e.Message}";

    /// <summary>The message on standard error; with --json also {"ok": false, "error": …} as the last line.</summary>
    private static int Fail(bool json, string message, int exitCode)
    {
        Console.Error.WriteLine(message);
        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new { ok = false, error = message }, Json));
        }

        return exitCode;
    }
}
