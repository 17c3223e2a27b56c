using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Exchange.ServiceDefaults;

/// <summary>
/// Writes a health report as JSON:
/// <c>{"status":"Unhealthy","durationMs":12.3,"checks":[{"name":"postgres","status":"Unhealthy","durationMs":11.9,"description":"...","tags":["ready"]}]}</c>.
/// Exceptions are not written: the HTTP response is for probes and dashboards, the log has the details.
/// </summary>
internal static class HealthResponseWriter
{
    public static async Task WriteAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";

        await using var json = new Utf8JsonWriter(context.Response.Body);
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteNumber("durationMs", Math.Round(report.TotalDuration.TotalMilliseconds, 1));
        json.WriteStartArray("checks");
        foreach (var (name, entry) in report.Entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            json.WriteStartObject();
            json.WriteString("name", name);
            json.WriteString("status", entry.Status.ToString());
            json.WriteNumber("durationMs", Math.Round(entry.Duration.TotalMilliseconds, 1));
            if (entry.Description is { Length: > 0 } description)
                json.WriteString("description", description);
            json.WriteStartArray("tags");
            foreach (var tag in entry.Tags)
                json.WriteStringValue(tag);
            json.WriteEndArray();
            json.WriteEndObject();
        }

        json.WriteEndArray();
        json.WriteEndObject();
        await json.FlushAsync(context.RequestAborted);
    }
}
