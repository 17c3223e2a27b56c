using Exchange.Signing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Exchange.Cli.Hosting;

/// <summary>
/// The development PKI's RFC 3161 timestamp authority over HTTP (RFC 3161 §3.4: POST application/timestamp-query,
/// answer application/timestamp-reply) at <c>/tsa</c>, for local deployments and tests: the router's
/// <c>Router:Evidence:TimestampUrl</c> points at it. A deployment uses an independent authority instead.
/// </summary>
public sealed class DevTimestampHost : IAsyncDisposable
{
    /// <summary>A TimeStampReq is a hash and a few fields: far below this.</summary>
    private const int MaxRequestBytes = 16 * 1024;

    private readonly WebApplication _app;

    private DevTimestampHost(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    public Uri Url { get; }

    public static async Task<DevTimestampHost> StartAsync(DevPki pki, string listen = "http://127.0.0.1:0", CancellationToken cancellationToken = default)
    {
        var authority = new DevTimestampAuthority(pki);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(listen);
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        app.MapPost("/tsa", async (HttpRequest request, CancellationToken ct) =>
        {
            if (request.ContentType?.Split(';')[0].Trim() != "application/timestamp-query")
            {
                return Results.StatusCode(StatusCodes.Status415UnsupportedMediaType);
            }

            using var body = new MemoryStream();
            var buffer = new byte[4096];
            int read;
            while ((read = await request.Body.ReadAsync(buffer, ct)) > 0)
            {
                if (body.Length + read > MaxRequestBytes)
                {
                    return Results.StatusCode(StatusCodes.Status413PayloadTooLarge);
                }

                body.Write(buffer, 0, read);
            }

            return authority.Respond(body.ToArray()) is { } reply
                ? Results.Bytes(reply, "application/timestamp-reply")
                : Results.BadRequest();
        });
        await app.StartAsync(cancellationToken);
        return new DevTimestampHost(app, new Uri(new Uri(app.Urls.First()), "/tsa"));
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
