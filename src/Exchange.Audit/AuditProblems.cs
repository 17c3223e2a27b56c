using Exchange.Core;
using Microsoft.AspNetCore.Http;

namespace Exchange.Audit;

/// <summary>RFC 9457 problem details carrying the shared reason code, as the gateway answers them.</summary>
public static class AuditProblems
{
    public static IResult Result(ReasonCode reason, int status, string detail) =>
        Results.Problem(
            statusCode: status,
            title: reason.ToCode(),
            detail: detail,
            type: $"urn:exchange:reason:{reason.ToCode()}",
            extensions: new Dictionary<string, object?> { ["reason"] = reason.ToCode() });

    public static IResult Invalid(string detail) => Result(ReasonCode.InvalidRequest, StatusCodes.Status400BadRequest, detail);

    /// <summary>The same answer whether the document does not exist or the caller may not see it.</summary>
    public static IResult NotFound(string what) => Result(ReasonCode.NotFound, StatusCodes.Status404NotFound, $"No {what} that this key may read.");

    public static IResult Forbidden(string detail) => Result(ReasonCode.Forbidden, StatusCodes.Status403Forbidden, detail);
}
