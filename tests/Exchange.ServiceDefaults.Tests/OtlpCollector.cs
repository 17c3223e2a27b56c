using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace Exchange.ServiceDefaults.Tests;

/// <summary>
/// A stand-in OTLP/HTTP collector that keeps each request's path and body. It is an HttpListener,
/// not an ASP.NET Core app, so that its own requests do not make spans for the exporter under test.
/// </summary>
internal sealed class OtlpCollector : IAsyncDisposable
{
    readonly HttpListener listener = new();
    readonly Task loop;

    public OtlpCollector()
    {
        Port = TestHosts.ClosedPort();
        listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        listener.Start();
        loop = Task.Run(Serve);
    }

    public int Port { get; }

    public Uri Endpoint => new($"http://127.0.0.1:{Port}");

    public ConcurrentQueue<(string Path, string ContentType, byte[] Body)> Requests { get; } = new();

    /// <summary>The bodies sent to one signal's path, as Latin-1 text: protobuf keeps strings as their UTF-8 bytes.</summary>
    public string Received(string path) => string.Join("\n", Requests
        .Where(r => r.Path == path)
        .Select(r => Encoding.Latin1.GetString(r.Body)));

    async Task Serve()
    {
        while (listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            Requests.Enqueue((context.Request.Url!.AbsolutePath, context.Request.ContentType ?? "", body.ToArray()));
            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/x-protobuf";
            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        listener.Stop();
        listener.Close();
        await loop;
    }
}
