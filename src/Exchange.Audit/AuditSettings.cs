using System.Globalization;
using Microsoft.Extensions.Configuration;

namespace Exchange.Audit;

/// <summary>The audit host's settings (section <c>Audit</c>; keys are read by <see cref="Access.ApiKeyRing"/>).</summary>
/// <param name="DeliveryDue">How long after forwarding a delivery counts as overdue (<c>Audit:DeliveryDue</c>, default 24:00:00).
/// The package's DueDate is not stored by the hub, so one due time applies to every delivery.</param>
/// <param name="CrlFiles">CRLs included in downloaded evidence bundles (<c>Trust:CrlFiles:N</c>, as the router reads them).</param>
public sealed record AuditSettings(TimeSpan DeliveryDue, IReadOnlyList<string> CrlFiles)
{
    public static readonly TimeSpan DefaultDeliveryDue = TimeSpan.FromHours(24);

    /// <summary>Largest paper-count request body accepted.</summary>
    public const int MaxPaperCountBodyBytes = 4096;

    public const int MaxPaperCount = 10_000_000;

    public const int MaxNoteLength = 500;

    /// <exception cref="InvalidOperationException">Audit:DeliveryDue is not a positive time span.</exception>
    public static AuditSettings FromConfiguration(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var due = DefaultDeliveryDue;
        if (configuration["Audit:DeliveryDue"] is { Length: > 0 } text
            && (!TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out due) || due <= TimeSpan.Zero))
        {
            throw new InvalidOperationException($"Audit:DeliveryDue '{text}' is not a positive time span like 24:00:00 or 2.00:00:00.");
        }

        var crls = configuration.GetSection("Trust:CrlFiles").GetChildren().Select(c => c.Value).OfType<string>().Where(v => v.Length > 0).ToList();
        return new AuditSettings(due, crls);
    }
}
