using System.Text.Json;
using Exchange.Gateway;
using Exchange.Persistence.Gateway;
using Exchange.ServiceDefaults;
using Npgsql;

namespace Exchange.Cli.Chaos;

/// <summary>The settings of one chaos run (see <see cref="Commands.ChaosCommand"/>).</summary>
/// <param name="SettleTimeout">How long settling goes on while no further document becomes final.</param>
/// <param name="Rate">Documents per second at most (0: as fast as the gateways accept them); a lower rate spreads a short run over its faults.</param>
/// <param name="Deadline">The hub's delivery deadline for the run's documents (priority 0): past it a delivery is forwarded again, then expires.</param>
public sealed record ChaosOptions(
    int Count, int Concurrency, double Rate, TimeSpan Timeout, TimeSpan SettleTimeout, TimeSpan RestartAfter, TimeSpan Deadline, FileInfo ServicesScript)
{
    /// <summary>The cluster's faults (<c>services.sh up --cluster</c>) instead of the single servers' (<see cref="ChaosRun"/>).</summary>
    public bool Cluster { get; init; }
}

/// <summary>Progress lines on standard error, with the seconds since the run started; standard output carries only the result.</summary>
internal sealed class ChaosLog(DateTimeOffset started, string label = "chaos")
{
    public DateTimeOffset Started { get; } = started;

    public double Seconds(DateTimeOffset at) => Math.Round((at - Started).TotalSeconds, 1);

    public void Line(string text) => Console.Error.WriteLine($"{label}: {Seconds(DateTimeOffset.UtcNow),7:0.0}s {text}");
}

/// <summary>One document of the run: who sends it to whom, and what should become of it.</summary>
internal sealed record ChaosDocument(int Index, string Sender, IReadOnlyList<string> To, bool ExpectRejected)
{
    /// <summary>Sending agencies: the city, two departments.</summary>
    public static readonly string[] Senders = [SampleDirectory.Province, SampleDirectory.HomeAffairs, SampleDirectory.Finance];

    /// <summary>Receiving agencies: a district and two communes. <see cref="KilledGateway"/> is one of them.</summary>
    public static readonly string[] Recipients = [SampleDirectory.BaDinhDistrict, SampleDirectory.PhucXaWard, SampleDirectory.HangBuomWard];

    /// <summary>The recipient gateway the run kills.</summary>
    public const string KilledGateway = SampleDirectory.PhucXaWard;

    /// <summary>A well-formed code the directory does not hold: the hub refuses such a document (unknown-recipient), with evidence.</summary>
    public const string UnknownAgency = "000.00.99.H29";

    /// <summary>
    /// Document <paramref name="index"/>: senders and recipients in turn; every tenth to two recipients; every fiftieth to
    /// an agency that does not exist, so that the rejection path runs through the faults too.
    /// </summary>
    public static ChaosDocument Plan(int index)
    {
        var sender = Senders[index % Senders.Length];
        if (index % 50 == 49)
        {
            return new ChaosDocument(index, sender, [UnknownAgency], ExpectRejected: true);
        }

        var first = (index / Senders.Length) % Recipients.Length;
        IReadOnlyList<string> to = index % 10 == 4
            ? [Recipients[first], Recipients[(first + 1) % Recipients.Length]]
            : [Recipients[first]];
        return new ChaosDocument(index, sender, to, ExpectRejected: false);
    }
}

/// <summary>A document the sender's gateway accepted (202 with an envelope id): it counts as sent.</summary>
/// <param name="SubmittedAt">When the attempt that was accepted started.</param>
internal sealed record SentDocument(ChaosDocument Document, Guid EnvelopeId, DateTimeOffset SubmittedAt, int Attempts);

/// <summary>A fault injected: when, and how long until the component was back (restarted and ready).</summary>
internal sealed record InjectedFault(string Fault, string? Target, DateTimeOffset At, TimeSpan Down);

/// <summary>Runs the chaos run: start, send while injecting faults, settle, check, report.</summary>
internal static class ChaosRun
{
    /// <summary>
    /// The faults, in order, and when each is injected: once this share of the documents has been submitted. Sending
    /// goes on while a fault lasts, up to the next fault's share, and waits there until the fault is over: so every
    /// fault meets documents in flight and documents sent after it, however long a restart takes.
    /// </summary>
    private static readonly (string Fault, double After)[] Plan =
    [
        ("kill-router", 0.10),
        ("restart-rabbitmq", 0.28),
        ("restart-postgres", 0.46),
        ("kill-router", 0.64),
        ("kill-gateway", 0.82),
    ];

    /// <summary>
    /// The faults of a cluster run (services.sh up --cluster): one RabbitMQ node stopped while documents flow, then started
    /// again; the PostgreSQL primary stopped and its standby promoted, the writers finding the new primary; the old primary
    /// made a standby of the new one. Each is a command of the services script of the same name.
    /// </summary>
    private static readonly (string Fault, double After)[] ClusterPlan =
    [
        ("stop-rabbitmq-node", 0.15),
        ("start-rabbitmq-node", 0.35),
        ("failover-postgres", 0.55),
        ("rebuild-standby", 0.75),
    ];

    public static async Task<int> RunAsync(ChaosOptions options, CancellationToken ct)
    {
        var log = new ChaosLog(DateTimeOffset.UtcNow);
        if (Environment.GetEnvironmentVariable("EXCHANGE_EXTERNAL_SERVERS") is "1" or "true")
        {
            await Console.Error.WriteLineAsync("The chaos run restarts PostgreSQL and RabbitMQ: it runs only on servers this checkout started (deploy/local/services.sh up), not with EXCHANGE_EXTERNAL_SERVERS=1.");
            return ExitCodes.UsageOrIo;
        }

        var runDeadline = log.Started + options.Timeout;
        var servers = ServerSettings.FromEnvironment();
        if (options.Cluster && (servers.AmqpHosts.Count == 0 || servers.PostgresHosts is null || !servers.AmqpQuorum))
        {
            // Faults a single server would not survive: the hosts must know every node, and the queues must be replicated.
            await Console.Error.WriteLineAsync("--cluster needs the cluster's settings (EXCHANGE_AMQP_HOSTS, EXCHANGE_AMQP_QUORUM=1, EXCHANGE_PG_HOSTS): run deploy/local/chaos.sh --cluster.");
            return ExitCodes.UsageOrIo;
        }

        await using var province = new ChaosProvince(servers, log);
        try
        {
            await province.StartAsync([.. ChaosDocument.Senders, .. ChaosDocument.Recipients], options.Deadline, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            log.Line($"could not start: {e.Message}");
            Console.WriteLine(JsonSerializer.Serialize(new { error = $"could not start: {e.Message}" }));
            return ExitCodes.UsageOrIo;
        }

        var sent = new SentDocument?[options.Count];
        var plan = options.Cluster ? ClusterPlan : Plan;
        var thresholds = plan.Select(f => (int)Math.Ceiling(f.After * options.Count)).ToArray();
        var accepted = 0;
        var finished = 0;
        var faultsOver = 0;
        var refused = 0;
        var retries = 0;
        var sendingDone = false;
        var injectingDone = false;
        var faults = new List<InjectedFault>();
        string? failure = null;
        var payload = new byte[2048];
        new Random(6).NextBytes(payload);
        var date = DateOnly.FromDateTime(DateTime.UtcNow);
        var runTag = Guid.NewGuid().ToString("N")[..8];
        var sendStarted = DateTimeOffset.UtcNow;
        log.Line($"sending {options.Count} documents, {options.Concurrency} at a time{(options.Rate > 0 ? $", at most {options.Rate}/s" : string.Empty)}, from {ChaosDocument.Senders.Length} agencies to {ChaosDocument.Recipients.Length}");

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var next = -1;
        var workers = Enumerable.Range(0, options.Concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < options.Count && !stop.IsCancellationRequested)
            {
                // Past the next fault's share only once the fault before it is over (see Plan).
                var mustBeOver = thresholds.Count(t => t <= i) - 1;
                while (Volatile.Read(ref faultsOver) < mustBeOver && !Volatile.Read(ref injectingDone))
                {
                    await Task.Delay(100, stop.Token);
                }

                if (options.Rate > 0 && sendStarted + TimeSpan.FromSeconds(i / options.Rate) - DateTimeOffset.UtcNow is { Ticks: > 0 } wait)
                {
                    await Task.Delay(wait, stop.Token);
                }

                var document = ChaosDocument.Plan(i);
                var outcome = await SubmitAsync(province.Client(document.Sender), document, date, runTag, payload, runDeadline, log, stop.Token);
                Interlocked.Add(ref retries, Math.Max(0, (outcome.Sent?.Attempts ?? outcome.Attempts) - 1));
                if (outcome.Sent is { } ok)
                {
                    sent[i] = ok;
                    Interlocked.Increment(ref accepted);
                }
                else if (outcome.Refused)
                {
                    Interlocked.Increment(ref refused);
                }

                Interlocked.Increment(ref finished);
            }
        }).ToList();

        var allSent = Task.WhenAll(workers);
        var sending = allSent.ContinueWith(_ => Volatile.Write(ref sendingDone, true), TaskScheduler.Default);
        var injecting = Task.Run(async () =>
        {
            for (var k = 0; k < plan.Length; k++)
            {
                var (fault, threshold) = (plan[k].Fault, thresholds[k]);
                while (Volatile.Read(ref finished) < threshold && !Volatile.Read(ref sendingDone))
                {
                    await Task.Delay(100, stop.Token);
                }

                if (Volatile.Read(ref finished) < threshold)
                {
                    log.Line($"sending ended before {fault} was due; not injected");
                    return;
                }

                var target = fault == "kill-gateway" ? ChaosDocument.KilledGateway : null;
                log.Line($"fault: {fault}{(target is null ? string.Empty : " " + target)} ({Volatile.Read(ref accepted)} accepted)");
                var at = DateTimeOffset.UtcNow;
                switch (fault)
                {
                    case "kill-router":
                        await province.KillRouterAsync(options.RestartAfter, stop.Token);
                        break;
                    case "kill-gateway":
                        await province.KillGatewayAsync(target!, options.RestartAfter, stop.Token);
                        break;
                    default:
                        await province.RestartServerAsync(options.ServicesScript, fault, stop.Token);
                        break;
                }

                var down = DateTimeOffset.UtcNow - at;
                lock (faults)
                {
                    faults.Add(new InjectedFault(fault, target, at, down));
                }

                Interlocked.Increment(ref faultsOver);
                log.Line($"fault: {fault} done; back after {down.TotalSeconds:0.0} s");
            }
        }, stop.Token);
        _ = injecting.ContinueWith(_ => Volatile.Write(ref injectingDone, true), TaskScheduler.Default);

        using (var progress = new Timer(_ => log.Line($"accepted {Volatile.Read(ref accepted)}/{options.Count}, {Volatile.Read(ref retries)} submission(s) retried"), null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10)))
        {
            try
            {
                await injecting;
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                // A component that does not come back is the run's finding: stop sending and report.
                failure = $"fault injection failed: {e.Message}";
                log.Line(failure);
                await stop.CancelAsync();
            }

            await sending;
        }

        ct.ThrowIfCancellationRequested();
        if (allSent.IsFaulted && failure is null)
        {
            failure = $"sending failed: {allSent.Exception.InnerException?.Message}";
            log.Line(failure);
        }

        var sentDocuments = sent.OfType<SentDocument>().ToList();
        var sendSeconds = (DateTimeOffset.UtcNow - sendStarted).TotalSeconds;
        log.Line($"sending done: {sentDocuments.Count} accepted, {refused} refused, {options.Count - sentDocuments.Count - refused} not sent in time, {retries} submission(s) retried, {sendSeconds:0.0} s");

        // This process's own pooled connections died with the PostgreSQL restart; the hosts recover theirs by retrying.
        NpgsqlConnection.ClearAllPools();
        var check = new ChaosCheck(province, sentDocuments);
        var settledAt = DateTimeOffset.UtcNow;
        if (failure is null)
        {
            settledAt = await check.SettleAsync(options.SettleTimeout, runDeadline, log, ct);
        }

        log.Line("stopping the hosts");
        await province.StopAsync();
        log.Line("checking the databases and the evidence chain");
        ChaosResult result;
        try
        {
            result = await check.RunAsync(faults, log, ct);
        }
        catch (Exception e) when (Resilience.IsTransientDatabaseFailure(e) || e is NpgsqlException)
        {
            // The servers did not come back: nothing can be shown to have arrived.
            failure ??= $"could not read the databases: {e.Message}";
            log.Line(failure);
            result = new ChaosResult(0, 0, sentDocuments.Count, 0, 0, false, 0, 0, 0, [], null);
        }

        var seconds = (settledAt - sendStarted).TotalSeconds;
        var report = new
        {
            mode = options.Cluster ? "cluster" : "single",
            count = options.Count,
            sent = sentDocuments.Count,
            delivered = result.Delivered,
            rejected = result.Rejected,
            lost = result.Lost,
            duplicates = result.Duplicates,
            unexpected = result.Unexpected,
            refused,
            unsent = options.Count - sentDocuments.Count - refused,
            submission_retries = retries,
            evidence_intact = result.EvidenceIntact,
            evidence_records = result.EvidenceRecords,
            deadline_reforwards = result.Reforwards,
            deadline_expiries = result.Expiries,
            faults = result.Faults,
            recovery_s = result.RecoverySeconds,
            seconds = Math.Round(seconds, 1),
            docs_per_s = seconds > 0 ? Math.Round((result.Delivered + result.Rejected) / seconds, 1) : 0,
            error = failure,
        };
        var ok = failure is null && report.unsent == 0 && refused == 0 && result.Passed;
        log.Line(ok
            ? $"PASSED: {report.delivered} delivered, {report.rejected} rejected, none lost or duplicated, evidence intact"
            : $"FAILED: lost {report.lost}, duplicates {report.duplicates}, unexpected {report.unexpected}, refused {refused}, unsent {report.unsent}, evidence intact {report.evidence_intact}{(failure is null ? string.Empty : ", " + failure)} (logs in {province.LogFolder})");
        Console.WriteLine(JsonSerializer.Serialize(report));
        return ok ? ExitCodes.Ok : ExitCodes.Refused;
    }

    private sealed record Submission(SentDocument? Sent, bool Refused, int Attempts);

    /// <summary>
    /// Submits one document through its sender's gateway until the gateway accepts it, retrying faults (no answer,
    /// a timeout, a 5xx while its database restarts) with the same idempotency key, so that an attempt that was
    /// stored but whose answer was lost is answered with the stored document rather than stored twice.
    /// </summary>
    private static async Task<Submission> SubmitAsync(
        GatewayClient client, ChaosDocument document, DateOnly date, string runTag, byte[] payload, DateTimeOffset deadline, ChaosLog log, CancellationToken ct)
    {
        var metadata = new DocumentMetadata(
            document.To, $"Văn bản thử sự cố {runTag} số {document.Index + 1}",
            CodeNumber: (document.Index + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), CodeNotation: "CHAOS",
            PromulgationDate: date, Content: "Chaos run document.");
        var key = $"chaos-{runTag}-{document.Index}";
        var attempts = 0;
        while (DateTimeOffset.UtcNow < deadline)
        {
            attempts++;
            var at = DateTimeOffset.UtcNow;
            try
            {
                var answer = await client.SendDocumentAsync(metadata, [("chaos.bin", "application/octet-stream", payload)], key, ct);
                return new Submission(new SentDocument(document, answer.EnvelopeId, at, attempts), false, attempts);
            }
            catch (GatewayRefusedException e) when (!Resilience.IsTransientHttpStatus((System.Net.HttpStatusCode)e.Status))
            {
                log.Line($"document {document.Index} refused by its gateway: {e.Message}");
                return new Submission(null, true, attempts);
            }
            catch (Exception e) when (e is GatewayRefusedException or HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                // No answer, or a fault answer: the gateway or its database is restarting. Try again, same key.
            }

            await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(3000, 200 * Math.Pow(2, Math.Min(attempts, 5)))), ct);
        }

        return new Submission(null, false, attempts);
    }
}
