using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Exchange.Cli.Province;

/// <summary>A gateway's national-axis client: what a document system is configured with for <c>/vdxp</c>.</summary>
public sealed record ProvinceVdxp(string Url, string SystemId, string Secret);

/// <summary>One agency's gateway of the province and the development credentials of its document system.</summary>
public sealed record ProvinceGateway(string Agency, string Name, string Kind, string Url, string ApiKey, ProvinceVdxp Vdxp);

public sealed record ProvinceHub(string Url);

public sealed record ProvinceAudit(string Url, string ApiKey);

/// <summary>What `exchange province up --json` prints: where every host listens and the credentials to use it.</summary>
public sealed record ProvinceAnswer(IReadOnlyList<ProvinceGateway> Gateways, ProvinceHub Hub, ProvinceAudit Audit);

/// <summary>
/// The province as it was set up once and is started again on every `up`: the name prefix, the port of every host and
/// the development credentials (<c>province.json</c>, mode 0600, under EXCHANGE_HOME, which is git-ignored). Fixed
/// ports and credentials made once are what let a document system be configured with a URL and a key that keep
/// working across restarts.
/// </summary>
public sealed record ProvincePlan(string Prefix, int BasePort, string? DirectoryFile, ProvinceAnswer Answer)
{
    /// <summary>The first port of the default plan: the hub 18080, the audit host 18081, gateways from 18100 in directory order.</summary>
    public const int DefaultBasePort = 18080;

    /// <summary>The default name prefix of the province's databases, queues and broker users, apart from the demo's.</summary>
    public const string DefaultPrefix = "province-";

    public const int AuditOffset = 1;

    public const int GatewayOffset = 20;

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public static string HubUrl(int basePort) => Url(basePort);

    public static string AuditUrl(int basePort) => Url(basePort + AuditOffset);

    public static string GatewayUrl(int basePort, int index) => Url(basePort + GatewayOffset + index);

    private static string Url(int port) => $"http://127.0.0.1:{port}";

    /// <summary>Every port the plan uses.</summary>
    public IEnumerable<int> Ports =>
        Answer.Gateways.Select(g => g.Url).Append(Answer.Hub.Url).Append(Answer.Audit.Url).Select(u => new Uri(u).Port);

    public static ProvincePlan? Load(string path)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        return JsonSerializer.Deserialize<ProvincePlan>(File.ReadAllText(path), Json)
            ?? throw new InvalidDataException($"{path} is empty.");
    }

    /// <summary>Writes the file readable by its owner only (it holds keys), replacing it in one step.</summary>
    public void Save(string path) => ProvinceFiles.WritePrivate(path, JsonSerializer.Serialize(this, Json));
}

/// <summary>Where the province keeps its files under EXCHANGE_HOME.</summary>
public static class ProvinceFiles
{
    public static string Folder => Path.Combine(Signing.ExchangeHome.Path, "province");

    public static string PlanPath => Path.Combine(Folder, "province.json");

    public static string StatePath => Path.Combine(Folder, "state.json");

    public static string LogFolder => Path.Combine(Signing.ExchangeHome.Path, "logs", "province");

    public static string SupervisorLog => Path.Combine(LogFolder, "supervisor.log");

    /// <summary>Writes a file only its owner may read, through a temporary file and a rename, so a reader never sees half of it.</summary>
    public static void WritePrivate(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(content);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
