using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Exchange.Gateway;
using Exchange.ServiceDefaults;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;

namespace Exchange.Cli;

/// <summary>
/// The calls a document system makes to its agency's gateway, over HTTP. Reads are retried on transient
/// failures; submissions are not: a POST repeated without an idempotency key could submit a document twice. A
/// caller that retries a submission passes the same <c>idempotencyKey</c> on every attempt (the gateway's
/// <c>Idempotency-Key</c> header), and gets the first attempt's document back. The <see cref="HttpClient"/>
/// carries the gateway API key (<see cref="Authorize"/>).
/// </summary>
public sealed class GatewayClient(HttpClient http)
{
    private static readonly ResiliencePipeline<HttpResponseMessage> Reads = Resilience.CreateHttpPipeline(NullLogger.Instance);

    /// <summary>Makes every request of <paramref name="http"/> present <paramref name="apiKey"/> (the X-Api-Key header).</summary>
    public static HttpClient Authorize(HttpClient http, string apiKey)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentException.ThrowIfNullOrWhiteSpace(apiKey);
        http.DefaultRequestHeaders.Remove(ServiceDefaults.Access.ApiKey.Header);
        http.DefaultRequestHeaders.Add(ServiceDefaults.Access.ApiKey.Header, apiKey.Trim());
        return http;
    }

    public Task<SubmissionAnswer> SendDocumentAsync(
        DocumentMetadata metadata, IEnumerable<(string Name, string ContentType, byte[] Content)> files, CancellationToken cancellationToken = default) =>
        SendDocumentAsync(metadata, files, null, cancellationToken);

    public Task<SubmissionAnswer> SendDocumentAsync(
        DocumentMetadata metadata, IEnumerable<(string Name, string ContentType, byte[] Content)> files, string? idempotencyKey, CancellationToken cancellationToken = default) =>
        SendDocumentAsync(metadata, files.Select(f => (f.Name, f.ContentType, (HttpContent)new ByteArrayContent(f.Content))), idempotencyKey, cancellationToken);

    /// <summary>A document whose files are streamed (a <see cref="StreamContent"/> each), for files too large to hold in memory.</summary>
    public async Task<SubmissionAnswer> SendDocumentAsync(
        DocumentMetadata metadata, IEnumerable<(string Name, string ContentType, HttpContent Content)> files, string? idempotencyKey, CancellationToken cancellationToken = default)
    {
        using var form = new MultipartFormDataContent
        {
            { new StringContent(JsonSerializer.Serialize(metadata, JsonSerializerOptions.Web), System.Text.Encoding.UTF8, "application/json"), "metadata" },
        };
        foreach (var (name, contentType, part) in files)
        {
            part.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
            form.Add(part, "files", name);
        }

        return await PostAsync(new Uri("/api/documents", UriKind.Relative), form, idempotencyKey, cancellationToken);
    }

    public Task<SubmissionAnswer> SendPackageAsync(byte[] package, byte[]? signature, CancellationToken cancellationToken = default) =>
        SendPackageAsync(package, signature, null, cancellationToken);

    public async Task<SubmissionAnswer> SendPackageAsync(byte[] package, byte[]? signature, string? idempotencyKey, CancellationToken cancellationToken = default)
    {
        using var form = new MultipartFormDataContent { { new ByteArrayContent(package), "package", "package.edxml" } };
        if (signature is not null)
        {
            form.Add(new ByteArrayContent(signature), "signature", "package.p7s");
        }

        return await PostAsync(new Uri("/api/packages", UriKind.Relative), form, idempotencyKey, cancellationToken);
    }

    /// <summary>Reports a status: as a recipient about a document in the inbox, or (13) as the sender about its own document.</summary>
    public async Task<StatusAnswer> ReportStatusAsync(Guid envelopeId, StatusReport report, bool asSender = false, CancellationToken cancellationToken = default)
    {
        var path = asSender ? $"/api/documents/{envelopeId}/status" : $"/api/inbox/{envelopeId}/status";
        using var response = await http.PostAsJsonAsync(new Uri(path, UriKind.Relative), report, JsonSerializerOptions.Web, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new GatewayRefusedException((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
        }

        return (await response.Content.ReadFromJsonAsync<StatusAnswer>(JsonSerializerOptions.Web, cancellationToken))!;
    }

    public async Task<InboxItem?> GetInboxItemAsync(Guid envelopeId, CancellationToken cancellationToken = default)
    {
        using var response = await Reads.ExecuteAsync(ct => new ValueTask<HttpResponseMessage>(http.GetAsync(new Uri($"/api/inbox/{envelopeId}", UriKind.Relative), ct)), cancellationToken);
        return response.IsSuccessStatusCode
            ? await response.Content.ReadFromJsonAsync<InboxItem>(JsonSerializerOptions.Web, cancellationToken)
            : null;
    }

    public async Task<DocumentState?> GetDocumentAsync(Guid envelopeId, CancellationToken cancellationToken = default)
    {
        using var response = await Reads.ExecuteAsync(ct => new ValueTask<HttpResponseMessage>(http.GetAsync(new Uri($"/api/documents/{envelopeId}", UriKind.Relative), ct)), cancellationToken);
        return response.IsSuccessStatusCode
            ? await response.Content.ReadFromJsonAsync<DocumentState>(JsonSerializerOptions.Web, cancellationToken)
            : null;
    }

    public async Task<IReadOnlyList<InboxItem>> GetInboxAsync(CancellationToken cancellationToken = default)
    {
        using var response = await Reads.ExecuteAsync(ct => new ValueTask<HttpResponseMessage>(http.GetAsync(new Uri("/api/inbox?limit=1000", UriKind.Relative), ct)), cancellationToken);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadFromJsonAsync<List<InboxItem>>(JsonSerializerOptions.Web, cancellationToken) ?? [];
    }

    /// <summary>SHA-256 (lowercase hex) of a package in the inbox, hashed as it streams in (a large one is never held).</summary>
    public async Task<string> PackageSha256Async(Guid envelopeId, CancellationToken cancellationToken = default)
    {
        using var response = await http.GetAsync(new Uri($"/api/inbox/{envelopeId}/package", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        response.EnsureSuccessStatusCode();
        await using var body = await response.Content.ReadAsStreamAsync(cancellationToken);
        return Convert.ToHexStringLower(await System.Security.Cryptography.SHA256.HashDataAsync(body, cancellationToken));
    }

    private async Task<SubmissionAnswer> PostAsync(Uri path, HttpContent content, string? idempotencyKey, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
        if (idempotencyKey is not null)
        {
            // A Structured Field string, as the draft defines the header (RFC 8941 §3.3.3).
            request.Headers.TryAddWithoutValidation(IdempotentSubmission.Header, $"\"{idempotencyKey}\"");
        }

        using var response = await http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new GatewayRefusedException((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
        }

        return (await response.Content.ReadFromJsonAsync<SubmissionAnswer>(JsonSerializerOptions.Web, cancellationToken))!;
    }
}

/// <summary>The gateway answered with a problem (RFC 9457); <see cref="Problem"/> holds its JSON, with a <c>reason</c> code.</summary>
public sealed class GatewayRefusedException(int status, string problem)
    : Exception($"The gateway refused the request ({status}): {problem}")
{
    public int Status { get; } = status;

    public string Problem { get; } = problem;
}
