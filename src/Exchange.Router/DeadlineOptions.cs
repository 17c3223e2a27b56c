namespace Exchange.Router;

/// <summary>
/// How long a delivery may take, by the document's priority (QCVN 102:2016 OtherInfo/Priority), before the hub
/// forwards it again, and how many times it does so before the delivery expires (configuration section
/// "Router:Deadlines"). The defaults are a starting point for a province to set; Nghị định 30/2020 asks that
/// urgent documents be handled at once, and these bound how long "at once" may take on the wire.
/// </summary>
public sealed class DeadlineOptions
{
    public const string Section = "Router:Deadlines";

    /// <summary>Priority 0, thường.</summary>
    public TimeSpan Normal { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Priority 1, khẩn.</summary>
    public TimeSpan Urgent { get; set; } = TimeSpan.FromHours(8);

    /// <summary>Priority 2, thượng khẩn.</summary>
    public TimeSpan VeryUrgent { get; set; } = TimeSpan.FromHours(4);

    /// <summary>Priority 3, hỏa tốc.</summary>
    public TimeSpan Express { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Priority 4, hỏa tốc hẹn giờ.</summary>
    public TimeSpan ScheduledExpress { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Times a delivery is forwarded again after missing its deadline, before it expires.</summary>
    public int Retries { get; set; } = 1;

    /// <summary>How often the hub looks for deliveries past their deadline.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    public TimeSpan For(int priority) => priority switch
    {
        1 => Urgent,
        2 => VeryUrgent,
        3 => Express,
        4 => ScheduledExpress,
        _ => Normal,
    };
}
