using Exchange.Contracts;

namespace Exchange.Router;

/// <summary>
/// A bus message is JSON that anyone with broker access can write: a member left out or set to null arrives as
/// null whatever the record's type says. The hub reads each as empty, so the ordinary checks refuse the message
/// with their reason codes (an empty signature is <c>malformed</c>, an empty package <c>package-invalid</c>)
/// instead of a NullReferenceException that would be retried eight times and dead-lettered.
/// </summary>
internal static class MissingFields
{
    public static SubmitEnvelope Filled(this SubmitEnvelope m) => m with
    {
        SenderCode = m.SenderCode ?? string.Empty,
        RecipientCodes = m.RecipientCodes ?? [],
        Package = m.Package ?? [],
        Signature = m.Signature ?? [],
    };

    public static SubmitDeliveryReceipt Filled(this SubmitDeliveryReceipt m) => m with
    {
        RecipientCode = m.RecipientCode ?? string.Empty,
        Receipt = m.Receipt ?? [],
        ReceiptSignature = m.ReceiptSignature ?? [],
    };

    public static SubmitStatus Filled(this SubmitStatus m) => m with
    {
        ReporterCode = m.ReporterCode ?? string.Empty,
        RecipientCode = m.RecipientCode ?? string.Empty,
        Package = m.Package ?? [],
        Signature = m.Signature ?? [],
    };

    public static ReportDeliveryFailure Filled(this ReportDeliveryFailure m) => m with
    {
        RecipientCode = m.RecipientCode ?? string.Empty,
        Reason = m.Reason ?? string.Empty,
        Detail = m.Detail ?? string.Empty,
    };

    public static ReportHandover Filled(this ReportHandover m) => m with { RecipientCode = m.RecipientCode ?? string.Empty };
}
