using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Exchange.ServiceDefaults;

/// <summary>
/// ASP.NET Core's "Microsoft.AspNetCore" source starts a server span per request but, without
/// OpenTelemetry.Instrumentation.AspNetCore (not available here), sets no tags on it. This
/// middleware, first in the pipeline, adds the HTTP semantic-convention tags
/// (opentelemetry.io/docs/specs/semconv/http/http-spans/) and names the span "METHOD route".
/// Health probes are marked unsampled so that a probe every few seconds does not flood the collector.
/// </summary>
internal sealed class RequestActivityEnricher : IStartupFilter
{
    public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
    {
        app.Use(Enrich);
        next(app);
    };

    static async Task Enrich(HttpContext context, RequestDelegate next)
    {
        var activity = Activity.Current;
        if (activity is null || activity.Source.Name != "Microsoft.AspNetCore" || !activity.IsAllDataRequested)
        {
            await next(context);
            return;
        }

        var request = context.Request;
        if (request.Path.StartsWithSegments(ServiceDefaultsExtensions.HealthPathPrefix, StringComparison.OrdinalIgnoreCase))
        {
            activity.IsAllDataRequested = false;
            activity.ActivityTraceFlags &= ~ActivityTraceFlags.Recorded;
            await next(context);
            return;
        }

        activity.SetTag("http.request.method", request.Method);
        activity.SetTag("url.scheme", request.Scheme);
        activity.SetTag("url.path", request.Path.Value);
        activity.SetTag("server.address", request.Host.Host);
        if (request.Host.Port is { } port)
            activity.SetTag("server.port", port);
        activity.SetTag("network.protocol.version", request.Protocol.StartsWith("HTTP/", StringComparison.Ordinal) ? request.Protocol[5..] : request.Protocol);

        try
        {
            await next(context);
        }
        catch (Exception exception)
        {
            activity.SetTag("error.type", exception.GetType().FullName);
            activity.SetStatus(ActivityStatusCode.Error);
            throw;
        }
        finally
        {
            // The route template ("/documents/{id}"), not the path, names the span: it keeps names low-cardinality.
            if ((context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText is { } route)
            {
                activity.SetTag("http.route", route);
                activity.DisplayName = $"{request.Method} {route}";
            }
            else
            {
                activity.DisplayName = request.Method;
            }
        }

        var status = context.Response.StatusCode;
        activity.SetTag("http.response.status_code", status);
        if (status >= 500)
        {
            activity.SetTag("error.type", status.ToString(System.Globalization.CultureInfo.InvariantCulture));
            activity.SetStatus(ActivityStatusCode.Error);
        }
    }
}
