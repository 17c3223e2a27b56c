using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Exchange.IntegrationTests.NationalAxis;

/// <summary>
/// A client of the national axis's protocol that behaves as the axis's SDK does (samples/national-axis): every
/// parameter an <c>XroadVnpt-</c> header, the signed set as a JSON object with its HMAC-SHA256 under the secret, and
/// the SDK's habits: the timestamp of the moment the client object was made on every call, and the headers of earlier
/// calls (<c>from</c>, <c>to</c>, <c>hash-file</c>) carried over into later ones and signed with them.
/// </summary>
public sealed class AxisSdkClient(Uri endpoint, string systemId, string secret)
{
    private const string Prefix = "XroadVnpt-";

    // The SDK formats ddMMyyyy'T'HHmmss then '+' and the milliseconds in four digits (not a zone).
    private readonly string _timestamp = DateTime.Now.ToString("ddMMyyyy'T'HHmmss", CultureInfo.InvariantCulture) + "+" + DateTime.Now.Millisecond.ToString("0000", CultureInfo.InvariantCulture);

    // Headers stay on the client object from one call to the next, as the SDK's do.
    private readonly List<KeyValuePair<string, string>> _sticky = [];

    public string SystemId => systemId;

    /// <summary>
    /// <c>sendEdoc</c>; without <paramref name="to"/> no <c>to</c> header is added (the SDK's own examples send none). As
    /// the SDK does, the body is the package followed by CR LF, and the digest (of the package alone) is spelt with each
    /// byte in hex without its leading zero.
    /// </summary>
    public Task<JsonElement> SendEdocAsync(byte[] package, string from, IReadOnlyList<string>? to, string messageType = "edoc") =>
        CallAsync("sendEdoc", [("servicetype", "eDoc"), ("messagetype", messageType), ("hash-file", SdkHex(SHA256.HashData(package))),
            ("from", from), .. to is null ? Array.Empty<(string, string)>() : [("to", JsonSerializer.Serialize(to))]], [.. package, (byte)'\r', (byte)'\n'], "application/octet-stream");

    /// <summary>What SDKVXP 2.0.1 sends as a digest: <c>Integer.toHexString</c> of each byte, so <c>06</c> becomes <c>6</c>.</summary>
    public static string SdkHex(byte[] digest) => string.Concat(digest.Select(b => b.ToString("x", CultureInfo.InvariantCulture)));

    public Task<JsonElement> GetReceivedEdocListAsync(string messageType = "edoc") =>
        CallAsync("getReceivedEdocList", [("servicetype", "eDoc"), ("messagetype", messageType)], []);

    public Task<JsonElement> GetEdocAsync(string docId) => CallAsync("getEdoc", [("docId", docId), ("filePath", "xml")], "{}"u8.ToArray());

    public Task<JsonElement> UpdateStatusAsync(string docId, string status) => CallAsync("updateStatus", [("docId", docId), ("status", status)], "{}"u8.ToArray());

    public Task<JsonElement> GetSentEdocListAsync(string docId, string messageType = "edoc") =>
        CallAsync("getSentEdocList", [("servicetype", "eDoc"), ("messagetype", messageType), ("docId", docId)], []);

    public Task<JsonElement> CountReceiveEdocAsync() => CallAsync("countReceiveEdoc", [("servicetype", "eDoc")], "{}"u8.ToArray());

    public Task<JsonElement> CountReceiveStatusAsync() => CallAsync("countReceiveStatus", [("servicetype", "eDoc")], "{}"u8.ToArray());

    public Task<JsonElement> CallAsync(string operation, IEnumerable<(string Name, string Value)> parameters, byte[] body, string contentType = "application/json")
    {
        foreach (var (name, value) in parameters)
        {
            _sticky.RemoveAll(h => h.Key == name);
            _sticky.Add(new(name, value));
        }

        var headers = new List<KeyValuePair<string, string>> { new("systemid", systemId) };
        headers.AddRange(_sticky);
        headers.Add(new("timestamp", _timestamp));
        headers.Add(new("Content-Type", contentType));
        var signed = "{" + string.Join(",", headers.Select(h => $"{JsonSerializer.Serialize(Prefix + h.Key)}:{JsonSerializer.Serialize(h.Value)}")) + "}";
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(endpoint, operation)) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(Prefix + name, value);
        }

        request.Headers.TryAddWithoutValidation(Prefix + "sign-header-key", string.Join(";", headers.Select(h => h.Key)));
        request.Headers.TryAddWithoutValidation(Prefix + "sign-header", signed);
        request.Headers.TryAddWithoutValidation(Prefix + "hash-header", Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), Encoding.UTF8.GetBytes(signed))));
        request.Headers.TryAddWithoutValidation(Prefix + "version", "3.0.201608");
        return SendAsync(request);
    }

    /// <summary>Sends a request and reads its answer the way the SDK does: the body as a JSON object, whatever the HTTP status.</summary>
    public static async Task<JsonElement> SendAsync(HttpRequestMessage request)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        using var answer = JsonDocument.Parse(text);
        return answer.RootElement.Clone();
    }
}

/// <summary>One request of the SDK's captures (samples/national-axis), as sent.</summary>
public sealed record CapturedRequest(string Method, string Operation, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    // Connection-level headers the HTTP client sets itself.
    private static readonly HashSet<string> HopHeaders = new(StringComparer.OrdinalIgnoreCase) { "Host", "Content-Length", "Connection", "Expect", "Accept-Encoding" };

    public string? Header(string name) => Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    /// <summary>Every request of a capture file: <c>==== METHOD /operation</c>, headers, <c>-- body (N bytes) --</c>, then N bytes.</summary>
    public static IReadOnlyList<CapturedRequest> Load(string file)
    {
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "samples", "national-axis", file));
        var requests = new List<CapturedRequest>();
        var text = Encoding.UTF8.GetString(bytes);
        var position = 0;
        while ((position = text.IndexOf("==== ", position, StringComparison.Ordinal)) >= 0)
        {
            var lineEnd = text.IndexOf('\n', position);
            var startLine = text[(position + 5)..lineEnd].Trim().Split(' ');
            var headers = new List<KeyValuePair<string, string>>();
            var cursor = lineEnd + 1;
            int length;
            while (true)
            {
                var end = text.IndexOf('\n', cursor);
                var line = text[cursor..end].TrimEnd('\r');
                cursor = end + 1;
                if (line.StartsWith("-- body (", StringComparison.Ordinal))
                {
                    length = int.Parse(line["-- body (".Length..line.IndexOf(' ', "-- body (".Length)], CultureInfo.InvariantCulture);
                    break;
                }

                var colon = line.IndexOf(':', StringComparison.Ordinal);
                headers.Add(new(line[..colon], line[(colon + 1)..].TrimStart()));
            }

            // The capture files are ASCII up to the bodies, so character and byte offsets agree there.
            var body = bytes.AsSpan(Encoding.UTF8.GetByteCount(text.AsSpan(0, cursor)), length).ToArray();
            requests.Add(new CapturedRequest(startLine[0], startLine[1].TrimStart('/'), headers, body));
            position = cursor + length;
        }

        return requests;
    }

    /// <summary>This request to <paramref name="endpoint"/>, with every header as captured but the connection's own.</summary>
    public HttpRequestMessage ToRequest(Uri endpoint, Func<string, string, string>? edit = null)
    {
        var request = new HttpRequestMessage(new HttpMethod(Method), new Uri(endpoint, Operation)) { Content = new ByteArrayContent(Body) };
        foreach (var (name, value) in Headers.Where(h => !HopHeaders.Contains(h.Key)))
        {
            var sent = edit?.Invoke(name, value) ?? value;
            if (string.Equals(name, "Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                request.Content.Headers.TryAddWithoutValidation(name, sent);
            }
            else
            {
                request.Headers.TryAddWithoutValidation(name, sent);
            }
        }

        return request;
    }
}
