namespace Exchange.IntegrationTests.Hostile;

/// <summary>Where a hostile input enters the system.</summary>
public enum Channel
{
    /// <summary><c>POST /api/documents</c> on a gateway (multipart: metadata and files).</summary>
    DocumentsApi,

    /// <summary><c>POST /api/packages</c> on a gateway (multipart: a ready package and its signature).</summary>
    PackagesApi,

    /// <summary>The status endpoints and the reads of a gateway's HTTP API.</summary>
    StatusApi,

    /// <summary>A raw HTTP/1.1 request on a gateway's socket: what HttpClient refuses to send.</summary>
    RawHttp,

    /// <summary>Straight to the hub's queue, logged in as the broker administrator.</summary>
    BusAsAdmin,

    /// <summary>Through an agency's own outbound exchange, logged in with that agency's broker credentials.</summary>
    BusAsAgency,
}

/// <summary>What a case must end in, beyond its reason.</summary>
public enum Expect
{
    /// <summary>Refused: nothing accepted, stored for delivery or delivered anywhere.</summary>
    Refused,

    /// <summary>A repeat of something already done: answered as before, nothing recorded or delivered again.</summary>
    Idempotent,

    /// <summary>
    /// Carried unopened to its one recipient (a compressed bomb the hub never inflates): delivered exactly once,
    /// and the process's memory did not jump while it went through.
    /// </summary>
    Carried,

    /// <summary>Not a message at all: it leaves the hub's queue for a dead-letter queue and the hub keeps serving.</summary>
    DeadLettered,
}

/// <summary>What the system answered: the reason code (problem <c>reason</c> or the hub's evidence), and the HTTP status if any.</summary>
public sealed record Outcome(string? Reason, int? Status, string Detail);

/// <summary>
/// One row of the corpus: a name that says what the input is, where it enters, the reason code it must get and
/// how the input is built and sent (<see cref="Run"/> builds, sends and observes the answer).
/// </summary>
public sealed record HostileCase(string Name, Channel Channel, string? Reason, Func<HostileWorld, Task<Outcome>> Run)
{
    /// <summary>The HTTP status the answer must have, when it matters.</summary>
    public int? Status { get; init; }

    public Expect Expect { get; init; } = Expect.Refused;

    /// <summary>The test's name: the channel and the case, e.g. <c>BusAsAdmin: XML with a DTD</c>.</summary>
    public override string ToString() => $"{Channel}: {Name}";
}
