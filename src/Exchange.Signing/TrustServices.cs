using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Exchange.Signing;

public static class TrustServices
{
    /// <summary>
    /// Registers the trust store (configuration section "Trust") and one verifier for the process, whose caches
    /// every consumer shares. A host without a trust anchor refuses to start rather than refuse every document.
    /// </summary>
    public static IServiceCollection AddTrust(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TrustOptions>().Bind(configuration.GetSection(TrustOptions.SectionName))
            .Validate(o => o.TrustAnchorFiles.Count > 0, "No trust anchor is configured: set Trust:TrustAnchorFiles:0 to a CA certificate (PEM or DER).")
            .ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => TrustStore.Load(sp.GetRequiredService<IOptions<TrustOptions>>().Value));
        services.AddSingleton(sp => new SignatureVerifier(sp.GetRequiredService<TrustStore>(), sp.GetRequiredService<TimeProvider>()));
        return services;
    }
}
