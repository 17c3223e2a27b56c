namespace Exchange.Router.Evidence;

/// <summary>
/// Settings of the evidence sealer: section <c>Router:Evidence</c>, plus the sealing certificate from
/// <c>Router:SealPkcs12Path</c> and <c>Router:SealPkcs12Password</c>.
/// </summary>
public sealed class EvidenceSealerOptions
{
    public const string Section = "Router:Evidence";

    /// <summary>A signed checkpoint at least every this many sealed records.</summary>
    public int CheckpointEvery { get; set; } = 1000;

    /// <summary>A signed checkpoint at least this often while records are being sealed.</summary>
    public TimeSpan CheckpointInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>A checkpoint once nothing new has been sealed for this long, so that a quiet hub's last records
    /// are signed within about a second rather than waiting for <see cref="CheckpointInterval"/>.</summary>
    public TimeSpan CheckpointIdle { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the sealer sleeps when it has caught up: the upper bound of the sealing lag.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Records sealed per transaction.</summary>
    public int BatchSize { get; set; } = 1000;

    /// <summary>The hub's sealing certificate with its private key (PKCS#12). Unset: the chain is extended but no
    /// checkpoint is signed (a warning at start).</summary>
    public string? SealPkcs12Path { get; set; }

    public string? SealPkcs12Password { get; set; }

    /// <summary>An RFC 3161 timestamp authority (HTTP, application/timestamp-query) that stamps the newest signed
    /// checkpoint. Unset: no timestamps (a warning at start).</summary>
    public string? TimestampUrl { get; set; }

    /// <summary>How often the newest checkpoint is looked at for a timestamp.</summary>
    public TimeSpan TimestampInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long one request to the authority may take.</summary>
    public TimeSpan TimestampTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
