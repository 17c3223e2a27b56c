namespace Exchange.Edxml;

/// <summary>
/// <c>MessageHeader/StatusCode</c> of a status package (QCVN 102:2016, status of document handling), written as two
/// digits (<c>01</c>…<c>16</c>).
/// </summary>
public enum StatusCode
{
    /// <summary>01: đã đến — the document system received it, no clerk has handled it yet.</summary>
    Arrived = 1,

    /// <summary>02: từ chối tiếp nhận — refused.</summary>
    Refused = 2,

    /// <summary>03: đã tiếp nhận — accepted and registered in the incoming book.</summary>
    Accepted = 3,

    /// <summary>04: phân công — assigned for handling.</summary>
    Assigned = 4,

    /// <summary>05: đang xử lý — in progress.</summary>
    InProgress = 5,

    /// <summary>06: hoàn thành — done.</summary>
    Done = 6,

    /// <summary>13: the sender asks to recall (or update) the document.</summary>
    RecallRequested = 13,

    /// <summary>15: the recipient agrees to the recall or update.</summary>
    RecallAgreed = 15,

    /// <summary>16: the recipient refuses the recall or update.</summary>
    RecallRefused = 16,
}

/// <summary>
/// A status package: who reports (<see cref="From"/>), about which document (<c>ResponseFor</c>), what happened and when.
/// </summary>
public sealed record EdxmlStatus
{
    public required EdxmlOrganisation From { get; init; }

    /// <summary>
    /// <c>ResponseFor/OrganId</c>: the organisation the status is addressed to (the document's sender for 01–06, 15,
    /// 16; the recipient for 13). A status package has no <c>To</c>, so this is what routes it; never empty.
    /// </summary>
    public required string ResponseForOrganId { get; init; }

    /// <summary><c>ResponseFor/Code</c>, e.g. <c>7816/VPCP-TTĐT</c>.</summary>
    public string? ResponseForCode { get; init; }

    /// <summary><c>ResponseFor/PromulgationDate</c>.</summary>
    public DateOnly? ResponseForPromulgationDate { get; init; }

    /// <summary>
    /// <c>ResponseFor/DocumentId</c>; when absent, derived as <c>OrganId,PromulgationDate,Code</c> of the document
    /// (the document's OrganId is <see cref="From"/> for 13, <see cref="ResponseForOrganId"/> otherwise).
    /// </summary>
    public required string ResponseForDocumentId { get; init; }

    public required StatusCode Code { get; init; }

    public string? Description { get; init; }

    /// <summary><c>MessageHeader/Timestamp</c>; written as <c>yyyy/MM/dd HH:mm:ss</c> in Vietnam time (UTC+7), whole seconds.</summary>
    public required DateTimeOffset Timestamp { get; init; }

    /// <summary><c>MessageHeader/StaffInfo</c>: the clerk who reports.</summary>
    public EdxmlStaffInfo? Staff { get; init; }
}
