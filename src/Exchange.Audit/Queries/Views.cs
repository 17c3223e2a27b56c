namespace Exchange.Audit.Queries;

/// <summary>An edXML status code with its Vietnamese and English names (QCVN 102:2016).</summary>
public sealed record StatusName(int Code, string Vietnamese, string English)
{
    private static readonly Dictionary<int, StatusName> Names = new()
    {
        [1] = new(1, "Đã đến", "arrived"),
        [2] = new(2, "Từ chối tiếp nhận", "refused"),
        [3] = new(3, "Đã tiếp nhận", "accepted and registered"),
        [4] = new(4, "Đã phân công", "assigned"),
        [5] = new(5, "Đang xử lý", "in progress"),
        [6] = new(6, "Hoàn thành", "done"),
        [13] = new(13, "Đề nghị thu hồi", "recall requested"),
        [15] = new(15, "Đồng ý thu hồi/cập nhật", "recall or update agreed"),
        [16] = new(16, "Từ chối thu hồi/cập nhật", "recall or update refused"),
    };

    public static StatusName Of(int code) => Names.GetValueOrDefault(code) ?? new(code, "Không rõ", "unknown");

    public string Label => $"{Code:00} {Vietnamese}";
}

/// <summary>The newest status a recipient reported about a document.</summary>
public sealed record StatusBrief(int Code, string Name, DateTimeOffset StatusTime);

/// <summary>One row of a delivery search.</summary>
/// <param name="State">delivered, pending, failed or rejected (see <see cref="DeliveryFilter"/>).</param>
public sealed record DeliveryHit(
    Guid EnvelopeId,
    string? DocumentId,
    string? Subject,
    string Sender,
    string? SenderName,
    string? Recipient,
    string? RecipientName,
    string State,
    string Reason,
    DateTimeOffset ReceivedAt,
    DateTimeOffset? ForwardedAt,
    DateTimeOffset? DeliveredAt,
    string? FailureReason,
    StatusBrief? LatestStatus);

/// <summary>A page of search results; <see cref="Next"/> is the cursor of the next page, null on the last.</summary>
public sealed record SearchPage(IReadOnlyList<DeliveryHit> Items, string? Next, int Limit);

public sealed record SignerView(
    string Subject,
    string Issuer,
    string SerialNumber,
    string CertificateSha256,
    string DigestAlgorithm,
    string SignatureAlgorithm,
    DateTimeOffset? SigningTime,
    string Verdict,
    bool BoundToSender,
    string Kind);

public sealed record DeliveryView(
    string Recipient,
    string? RecipientName,
    string State,
    DateTimeOffset ForwardedAt,
    DateTimeOffset? DeliveredAt,
    DateTimeOffset DueAt,
    bool Overdue,
    Guid? ReceiptId,
    string? FailureReason);

public sealed record EvidenceView(
    long Seq,
    long? ChainIndex,
    Guid EvidenceId,
    string Kind,
    Guid EnvelopeId,
    string? Recipient,
    string Reason,
    string Detail,
    string? PackageSha256,
    string Issuer,
    DateTimeOffset IssuedAt,
    string? RecordHash);

public sealed record StatusView(
    Guid StatusId,
    string Reporter,
    string? ReporterName,
    string Recipient,
    string? RecipientName,
    int Code,
    string Name,
    string? Description,
    DateTimeOffset StatusTime,
    DateTimeOffset ReceivedAt,
    string State,
    string Reason,
    string PackageSha256);

/// <summary>One document's full history as the caller may see it.</summary>
/// <param name="RequiredSignatures">Whether the content carries the organisation's and a person's signature (Nghị định 30/2020; docs/audit.md).</param>
/// <param name="Partial">True when the caller is one recipient: other recipients' deliveries, evidence and statuses are left out.</param>
public sealed record DocumentHistory(
    Guid EnvelopeId,
    string? DocumentId,
    string? Subject,
    string Sender,
    string? SenderName,
    string State,
    string Reason,
    string Detail,
    string PackageSha256,
    long? DirectoryVersion,
    DateTimeOffset SubmittedAt,
    DateTimeOffset ReceivedAt,
    bool RequiredSignatures,
    bool Partial,
    IReadOnlyList<SignerView> Signers,
    IReadOnlyList<DeliveryView> Deliveries,
    IReadOnlyList<EvidenceView> Evidence,
    IReadOnlyList<StatusView> Statuses);
