using Exchange.Signing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Exchange.Router.Evidence;

/// <summary>
/// The hub's sealing certificate with its key (<c>Router:SealPkcs12Path</c>): it signs the evidence chain's checkpoints
/// and each directory version the gateways receive (<see cref="DirectorySeal"/>). Loaded once, on first use. Unset, the
/// signer is null: checkpoints are not signed and gateways refuse the directory (a warning says so).
/// </summary>
public sealed class HubSeal : IDisposable
{
    private readonly Lazy<CmsSigner?> _signer;

    public HubSeal(IOptions<EvidenceSealerOptions> options, ILogger<HubSeal> logger)
    {
        _signer = new Lazy<CmsSigner?>(() =>
        {
            var settings = options.Value;
            if (string.IsNullOrWhiteSpace(settings.SealPkcs12Path))
            {
                logger.LogWarning("Router:SealPkcs12Path is not set: evidence is hash-chained but no checkpoint is signed, so a rewrite of the whole chain "
                    + "would go unnoticed, and gateways refuse the directory, which they accept only signed");
                return null;
            }

            var signer = CmsSigner.FromPkcs12(settings.SealPkcs12Path, settings.SealPkcs12Password ?? string.Empty);
            logger.LogInformation("Sealing with {Subject} (sha256 {Sha256})", signer.Certificate.Subject, signer.CertificateSha256);
            return signer;
        });
    }

    public CmsSigner? Signer => _signer.Value;

    public void Dispose()
    {
        if (_signer.IsValueCreated)
        {
            _signer.Value?.Dispose();
        }
    }
}
