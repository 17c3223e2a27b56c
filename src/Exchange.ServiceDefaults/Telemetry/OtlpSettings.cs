using Microsoft.Extensions.Configuration;
using OpenTelemetry.Exporter;

namespace Exchange.ServiceDefaults;

/// <summary>Where to send traces, metrics and logs, when anywhere.</summary>
internal sealed record OtlpSettings(Uri Endpoint, OtlpExportProtocol Protocol, string? Headers)
{
    public const string EndpointKey = "OpenTelemetry:Otlp:Endpoint";
    public const string ProtocolKey = "OpenTelemetry:Otlp:Protocol";
    public const string HeadersKey = "OpenTelemetry:Otlp:Headers";

    // The OpenTelemetry specification's variables (opentelemetry.io/docs/specs/otel/protocol/exporter/).
    public const string EndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";
    public const string ProtocolVariable = "OTEL_EXPORTER_OTLP_PROTOCOL";
    public const string HeadersVariable = "OTEL_EXPORTER_OTLP_HEADERS";

    /// <summary>
    /// The configured collector, or null when none is configured. The configuration key wins over
    /// the environment variable; a host's configuration normally holds the environment too, and the
    /// variable is read directly as well for hosts whose configuration does not.
    /// </summary>
    /// <exception cref="InvalidOperationException">An endpoint or protocol is set but cannot be used.</exception>
    public static OtlpSettings? Resolve(IConfiguration configuration)
    {
        var (endpointSource, endpointText) = First(configuration, EndpointKey, EndpointVariable);
        if (endpointText is null)
            return null;

        if (!Uri.TryCreate(endpointText, UriKind.Absolute, out var endpoint)
            || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
        {
            throw new InvalidOperationException(
                $"{endpointSource} must be an absolute http:// or https:// address of an OTLP collector, such as http://127.0.0.1:4317.");
        }

        var (protocolSource, protocolText) = First(configuration, ProtocolKey, ProtocolVariable);
        var protocol = protocolText?.ToLowerInvariant() switch
        {
            null or "grpc" => OtlpExportProtocol.Grpc,
            "http/protobuf" => OtlpExportProtocol.HttpProtobuf,
            _ => throw new InvalidOperationException(
                $"{protocolSource} must be 'grpc' or 'http/protobuf', but it is '{protocolText}'."),
        };

        var (_, headers) = First(configuration, HeadersKey, HeadersVariable);
        return new OtlpSettings(endpoint, protocol, headers);
    }

    /// <summary>
    /// The address one signal is sent to. With http/protobuf the base endpoint gets the signal's path
    /// appended (v1/traces, v1/metrics, v1/logs), as the specification says for the generic variable;
    /// the exporter does not do it when the endpoint is set in code, as it is here.
    /// </summary>
    public Uri SignalEndpoint(string signal)
    {
        if (Protocol != OtlpExportProtocol.HttpProtobuf)
            return Endpoint;
        var baseAddress = Endpoint.AbsoluteUri.EndsWith('/') ? Endpoint.AbsoluteUri : Endpoint.AbsoluteUri + "/";
        return new Uri(new Uri(baseAddress), "v1/" + signal);
    }

    public void Apply(OtlpExporterOptions options, string signal)
    {
        options.Endpoint = SignalEndpoint(signal);
        options.Protocol = Protocol;
        if (!string.IsNullOrWhiteSpace(Headers))
            options.Headers = Headers;
    }

    static (string Source, string? Value) First(IConfiguration configuration, string key, string variable)
    {
        var fromKey = configuration[key];
        if (!string.IsNullOrWhiteSpace(fromKey))
            return (key, fromKey.Trim());
        var fromVariable = configuration[variable];
        if (string.IsNullOrWhiteSpace(fromVariable))
            fromVariable = Environment.GetEnvironmentVariable(variable);
        return string.IsNullOrWhiteSpace(fromVariable) ? (variable, null) : (variable, fromVariable.Trim());
    }
}
