using Exchange.Core;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Exchange.Gateway;

/// <summary>
/// RFC 9457 problem details carrying the shared reason code, so callers branch on <c>reason</c>, not on prose. Every
/// refusal the gateway makes goes through here: the endpoints' own, a request the framework could not read or bind
/// (<see cref="WriteStatusAsync"/>), and a request that broke a limit while it was read (<see cref="FromRequestException"/>).
/// </summary>
public static class Problems
{
    public static IResult Refuse(ReasonCode reason, string detail, int status = StatusCodes.Status422UnprocessableEntity) =>
        Results.Problem(
            statusCode: status,
            title: reason.ToCode(),
            detail: detail,
            type: $"urn:exchange:reason:{reason.ToCode()}",
            extensions: new Dictionary<string, object?> { ["reason"] = reason.ToCode() });

    /// <summary>A package the gateway could not read or write; over a limit is 413.</summary>
    public static IResult Refuse(Edxml.EdxmlException e) =>
        Refuse(e.Reason, e.Message, e.Reason == ReasonCode.TooLarge ? StatusCodes.Status413PayloadTooLarge : StatusCodes.Status422UnprocessableEntity);

    /// <summary>The request itself is wrong (its media type, a missing part, unreadable JSON): <c>invalid-request</c>.</summary>
    public static IResult Invalid(string detail, int status = StatusCodes.Status400BadRequest) => Refuse(ReasonCode.InvalidRequest, detail, status);

    public static IResult NotFound(string detail) => Refuse(ReasonCode.NotFound, detail, StatusCodes.Status404NotFound);

    /// <summary>
    /// The answer to an exception thrown while the request body was read, or null when it is not about the request.
    /// Kestrel throws <see cref="BadHttpRequestException"/> (413 when the body is over
    /// <see cref="GatewayOptions.MaxRequestBytes"/>); the multipart and form readers throw <see cref="InvalidDataException"/>
    /// for a limit (part length, header length, value count) and for broken framing, and an <see cref="IOException"/>
    /// ("Unexpected end of Stream") when the body ends before its closing boundary. The framework gives no type per limit, so its messages, which all say "limit", tell
    /// a limit from broken framing.
    /// </summary>
    public static IResult? FromRequestException(Exception exception) => exception switch
    {
        BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } e =>
            Refuse(ReasonCode.TooLarge, $"The request body is too large: {e.Message}", StatusCodes.Status413PayloadTooLarge),
        BadHttpRequestException e => Invalid($"The request could not be read: {e.Message}", e.StatusCode),
        InvalidDataException e when e.Message.Contains("limit", StringComparison.OrdinalIgnoreCase) =>
            Refuse(ReasonCode.TooLarge, $"The request is over a limit: {e.Message}", StatusCodes.Status413PayloadTooLarge),
        InvalidDataException e => Invalid($"The multipart body could not be read: {e.Message}"),
        IOException e when e.Message.StartsWith("Unexpected end of", StringComparison.Ordinal) =>
            Invalid($"The request body could not be read: {e.Message}"),
        _ => null,
    };

    /// <summary>The exception handler: a request that could not be read gets its reason; anything else is a fault (500, no reason).</summary>
    public static async Task WriteExceptionAsync(HttpContext context)
    {
        var error = context.Features.Get<IExceptionHandlerFeature>()?.Error;
        var answer = error is null ? null : FromRequestException(error);
        if (answer is null)
        {
            context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(Problems))
                .LogError(error, "Request {Method} {Path} failed", context.Request.Method, context.Request.Path);
            answer = Results.Problem(statusCode: StatusCodes.Status500InternalServerError, title: "fault",
                detail: "The gateway could not finish the request (database or broker unavailable?); try again.");
        }

        await answer.ExecuteAsync(context);
    }

    /// <summary>
    /// A 4xx answered with no body (no route, wrong method, a parameter or JSON body the framework could not bind, a
    /// media type it does not take) gets the problem body and reason code every other refusal has.
    /// </summary>
    public static Task WriteStatusAsync(StatusCodeContext context)
    {
        var http = context.HttpContext;
        var status = http.Response.StatusCode;
        var what = $"{http.Request.Method} {http.Request.Path}";
        var answer = status switch
        {
            StatusCodes.Status401Unauthorized => Refuse(ReasonCode.Unauthorized, $"{what} needs credentials.", status),
            StatusCodes.Status403Forbidden => Refuse(ReasonCode.Forbidden, $"{what} is not allowed for these credentials.", status),
            StatusCodes.Status404NotFound => NotFound($"Nothing at {what}."),
            StatusCodes.Status405MethodNotAllowed => Invalid($"{http.Request.Method} is not allowed on {http.Request.Path}.", status),
            StatusCodes.Status413PayloadTooLarge => Refuse(ReasonCode.TooLarge, $"The body of {what} is too large.", status),
            StatusCodes.Status415UnsupportedMediaType => Invalid($"{what} does not take a body of type '{Untrusted.Quote(http.Request.ContentType)}'.", status),
            >= 400 and < 500 => Invalid($"{what} could not be read or bound (HTTP {status}).", status),
            _ => null,
        };
        return answer is null ? Task.CompletedTask : answer.ExecuteAsync(http);
    }
}
