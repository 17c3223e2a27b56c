using System.Diagnostics;
using Exchange.Cli;
using Exchange.Core;
using Exchange.ServiceDefaults.Broker;

namespace Exchange.IntegrationTests.Hostile;

/// <summary>
/// Hostile input at the gateway's HTTP API and straight on the bus (issue #6): every row of <see cref="HostileCorpus"/>
/// gets its reason code, nothing is accepted or delivered that should not be, and every host still answers. After
/// the corpus, the process (which hosts the hub and every gateway) has not grown beyond a bound, and the broker has
/// no queue or exchange for a made-up agency.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class HostileInputTests : ProvinceFixture
{
    // Small limits keep "over the limit" inputs a few megabytes; the defaults are documented in docs/security.md.
    public const int MaxPackageBytes = 4 * 1024 * 1024;
    public const int MaxAttachmentBytes = 2 * 1024 * 1024;
    public const int MaxSignatureBytes = 64 * 1024;

    /// <summary>
    /// Growth of the managed heap (live objects after a full collection) that the corpus, run twice, may leave once the
    /// hosts have been quiet for <see cref="Quiet"/>. Every input is garbage once its case is answered; what may stay
    /// is caches of a fixed size (EF Core's compiled queries, MassTransit's send endpoints, connection pools). The two
    /// passes send over 50 MiB, so a host that kept even a third of what it refused would break this bound.
    /// </summary>
    private const long MaxRetainedBytes = 16L * 1024 * 1024;

    /// <summary>
    /// How far the working set may stay above where it started. The runtime keeps memory it has committed and the
    /// buffer pools keep arrays for a while, so this is a coarse bound: a host that held an inflated bomb (512 MiB,
    /// 1 GiB) or a copy of every input would exceed it.
    /// </summary>
    private const long MaxWorkingSetGrowth = 512L * 1024 * 1024;

    /// <summary>
    /// The shared buffer pools (ArrayPool) keep large arrays rented during a burst and let go of the ones unused for a
    /// minute at the next full collection; retained growth is measured after that, not during the burst.
    /// </summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(65);

    /// <summary>How far the process's peak working set may rise while a compressed bomb goes through (it inflates to 512 MiB or 1 GiB).</summary>
    private const long MaxBombPeakRise = 256L * 1024 * 1024;

    private HostileWorld _world = null!;
    private long _heapBefore;
    private long _workingSetBefore;
    private long _sentCases;

    public static IReadOnlyDictionary<string, string?> Limits { get; } = new Dictionary<string, string?>
    {
        ["Gateway:MaxPackageBytes"] = $"{MaxPackageBytes}",
        ["Gateway:MaxAttachmentBytes"] = $"{MaxAttachmentBytes}",
        ["Gateway:MaxSignatureBytes"] = $"{MaxSignatureBytes}",
        ["Router:MaxPackageBytes"] = $"{MaxPackageBytes}",
        ["Router:MaxAttachmentBytes"] = $"{MaxAttachmentBytes}",
        ["Router:MaxSignatureBytes"] = $"{MaxSignatureBytes}",
    };

    protected override IReadOnlyDictionary<string, string?>? HostSettings => Limits;

    /// <summary>Every agency but two: Trúc Bạch (its deliveries wait for a receipt) and Sở TT&amp;TT (its certificate is revoked).</summary>
    protected override IReadOnlyCollection<string>? GatewayAgencies =>
        SampleDirectory.Load().Agencies.Select(a => a.Code).Where(c => c is not HostileWorld.Silent and not HostileWorld.Revoked).ToList();

    public static IEnumerable<HostileCase> Corpus => HostileCorpus.Cases;

    [OneTimeSetUp]
    public async Task Prepare()
    {
        _world = new HostileWorld(Province);
        await _world.PrepareAsync();
        // Every gateway parses and keeps the hub's signed directory once, when its snapshot arrives after start: on a
        // fresh machine that can still be under way here, and must not be counted as growth the corpus caused.
        await WaitForSignedDirectoryAsync();

        (_heapBefore, _workingSetBefore) = Memory();
        TestContext.Progress.WriteLine($"Before the corpus: managed heap {Mib(_heapBefore)}, working set {Mib(_workingSetBefore)}.");
    }

    [OneTimeTearDown]
    public async Task Dispose()
    {
        if (_world is not null)
        {
            await _world.DisposeAsync();
        }
    }

    [Test]
    public void The_corpus_has_at_least_sixty_named_cases_and_covers_every_channel()
    {
        var cases = HostileCorpus.Cases.ToList();

        Assert.That(cases, Has.Count.GreaterThanOrEqualTo(60));
        Assert.That(cases.Select(c => c.ToString()), Is.Unique);
        Assert.That(cases.Select(c => c.Channel).Distinct(), Is.EquivalentTo(Enum.GetValues<Channel>()));
        Assert.That(cases.Where(c => c.Reason is not null).Select(c => c.Reason), Has.All.Matches<string>(r => ReasonCodes.TryParse(r, out _)));
    }

    [Test]
    [Order(1)]
    [TestCaseSource(nameof(Corpus))]
    public async Task Answers_with_its_reason_and_accepts_nothing(HostileCase hostile)
    {
        var before = await _world.SnapshotAsync();
        var (_, workingSet) = Memory();
        var peak = PeakWorkingSet();

        var outcome = await hostile.Run(_world);
        Interlocked.Increment(ref _sentCases);
        TestContext.Out.WriteLine($"{outcome.Status?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "bus"} {outcome.Reason ?? "(no reason)"}: {outcome.Detail}");

        Assert.Multiple(async () =>
        {
            Assert.That(outcome.Reason, Is.EqualTo(hostile.Reason), outcome.Detail);
            if (hostile.Status is { } status)
            {
                Assert.That(outcome.Status, Is.EqualTo(status), outcome.Detail);
            }

            Assert.That(outcome.Status, Is.Not.EqualTo(500), "never a fault");
            var after = await _world.SnapshotAsync();
            Assert.That(after, Is.EqualTo(Expected(hostile, outcome, before)), "what was accepted, stored or delivered");
            Assert.That(await _world.DeadHostsAsync(), Is.Empty, "hosts that stopped answering /health/live");
        });

        if (hostile.Expect == Expect.Carried)
        {
            // A bomb inflated anywhere in this process would have pushed the peak up by hundreds of megabytes.
            var rise = PeakWorkingSet() - Math.Max(peak, workingSet);
            TestContext.Out.WriteLine($"Peak working set rose by {Mib(Math.Max(0, rise))} while the bomb went through.");
            Assert.That(rise, Is.LessThan(MaxBombPeakRise));
        }
    }

    [Test]
    [Order(2)]
    public async Task After_the_corpus_the_hosts_have_not_grown_and_no_made_up_agency_has_a_queue()
    {
        Assume.That(Interlocked.Read(ref _sentCases), Is.GreaterThanOrEqualTo(60), "the corpus ran first");

        // The same inputs a second time must get the same answers (nothing a first refusal left behind changes them).
        var (heap, workingSet) = Memory();
        TestContext.Out.WriteLine($"After the corpus ({_sentCases} cases): managed heap {Mib(heap)}, working set {Mib(workingSet)}; {Generations()}.");
        var wrong = new List<string>();
        foreach (var hostile in HostileCorpus.Cases)
        {
            var outcome = await hostile.Run(_world);
            if (outcome.Reason != hostile.Reason)
            {
                wrong.Add($"{hostile}: {outcome.Reason} ({outcome.Detail})");
            }
        }

        Assert.That(wrong, Is.Empty, "the second pass answers as the first");
        (heap, workingSet) = Memory();
        TestContext.Out.WriteLine($"After the corpus a second time: managed heap {Mib(heap)}, working set {Mib(workingSet)}; {Generations()}.");

        await Task.Delay(Quiet);
        Memory();
        (heap, workingSet) = Memory();
        TestContext.Out.WriteLine($"After {Quiet.TotalSeconds:0} s quiet: managed heap {Mib(heap)} ({Mib(heap - _heapBefore)} more than before the corpus), working set {Mib(workingSet)} ({Mib(workingSet - _workingSetBefore)} more); {Generations()}.");
        Assert.That(heap - _heapBefore, Is.LessThan(MaxRetainedBytes), "managed heap retained by two passes of the corpus");
        Assert.That(workingSet - _workingSetBefore, Is.LessThan(MaxWorkingSetGrowth), "working set growth");
        Assert.That(await _world.DeadHostsAsync(), Is.Empty);

        // Only the hub's queues (its own, and the one hubs relay to) and the directory's agencies' queues exist (with
        // MassTransit's _error and _skipped companions), and their exchanges and the agencies' outbound exchanges:
        // nothing for a code a hostile input made up.
        var names = Province.Names;
        var stems = new List<string> { names.HubQueue, names.RelayInQueue };
        stems.AddRange(Province.Directory.Agencies.Select(a => names.AgencyQueue(a.Code)));
        var allowed = stems.SelectMany(s => new[] { s, s + BrokerNames.ErrorSuffix, s + BrokerNames.SkippedSuffix, BrokerNames.OutboundExchange(s) }).ToHashSet(StringComparer.Ordinal);
        var (queues, exchanges) = await _world.BrokerNamesAsync();
        Assert.That(queues.Concat(exchanges).Where(n => !allowed.Contains(n)), Is.Empty);
        foreach (var code in HostileWorld.MadeUp)
        {
            Assert.That(queues, Has.None.StartsWith(names.AgencyQueue(code)), code);
        }
    }

    private static string Generations()
    {
        var info = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        string[] names = ["gen0", "gen1", "gen2", "large objects", "pinned objects"];
        return string.Join(", ", info.GenerationInfo.ToArray().Select((g, i) => $"{(i < names.Length ? names[i] : $"gen{i}")} {Mib(g.SizeAfterBytes)}"));
    }

    /// <summary>
    /// What the counts must be after the case: unchanged for a refusal (except that a document the gateway took
    /// and the hub refused keeps its outbox row), one more accepted envelope, delivery and inbox row for a carried
    /// bomb.
    /// </summary>
    private static HostileWorld.Snapshot Expected(HostileCase hostile, Outcome outcome, HostileWorld.Snapshot before) => hostile.Expect switch
    {
        Expect.Carried => before with
        {
            AcceptedEnvelopes = before.AcceptedEnvelopes + 1,
            Deliveries = before.Deliveries + 1,
            InboxRows = before.InboxRows + 1,
            OutboxRows = before.OutboxRows + (hostile.Channel == Channel.DocumentsApi ? 1 : 0),
        },
        _ when outcome.Status == 202 => before with { OutboxRows = before.OutboxRows + 1 },
        _ => before,
    };

    private static (long Heap, long WorkingSet) Memory()
    {
        var heap = GC.GetTotalMemory(forceFullCollection: true);
        using var process = Process.GetCurrentProcess();
        return (heap, process.WorkingSet64);
    }

    private static long PeakWorkingSet()
    {
        using var process = Process.GetCurrentProcess();
        return process.PeakWorkingSet64;
    }

    private static string Mib(long bytes) => FormattableString.Invariant($"{bytes / 1024.0 / 1024.0:0.0} MiB");
}
