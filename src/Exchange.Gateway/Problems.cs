using Exchange.Core;
using Microsoft.AspNetCore.Http;

namespace Exchange.Gateway;

/// <summary>RFC 9457 problem details carrying the shared reason code, so callers branch on <c>reason</c>, not on prose.</summary>
public static class Problems
{
    public static IResult Refuse(ReasonCode reason, string detail, int status = StatusCodes.Status422UnprocessableEntity) =>
        Results.Problem(
            statusCode: status,
            title: reason.ToCode(),
            detail: detail,
            type: $"urn:exchange:reason:{reason.ToCode()}",
            extensions: new Dictionary<string, object?> { ["reason"] = reason.ToCode() });
}
