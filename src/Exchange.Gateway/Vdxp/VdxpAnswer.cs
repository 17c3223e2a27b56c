using System.Text.Encodings.Web;
using System.Text.Json;
using Exchange.Core;
using Microsoft.AspNetCore.Http;

namespace Exchange.Gateway.Vdxp;

/// <summary>
/// Answers of the national axis's protocol. The SDK never looks at the HTTP status: it parses every body as a JSON
/// object and reads <c>status</c> (<c>OK</c> or <c>FAIL</c>), <c>ErrorCode</c> (<c>0</c> on success) and
/// <c>ErrorDesc</c>. So every answer, refusals included, is 200 with such an object; a refusal's <c>ErrorCode</c> is
/// Exchange's stable reason code, and its <c>ErrorDesc</c> begins with it.
/// </summary>
public static class VdxpAnswer
{
    private static readonly JsonSerializerOptions Json = new()
    {
        // Agency names and subjects are Vietnamese: written as themselves, not as \u escapes.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>A success, with the operation's own members after the three the SDK always reads.</summary>
    public static IResult Ok(IEnumerable<KeyValuePair<string, object?>>? members = null, string description = "") =>
        Write("OK", "0", description, members);

    /// <summary>
    /// A refusal. <paramref name="members"/> are the ones the SDK reads even from a failed answer (a <c>sendEdoc</c>
    /// answer without <c>DocId</c> makes the SDK throw inside and hand the document system nothing).
    /// </summary>
    public static IResult Fail(ReasonCode reason, string detail, IEnumerable<KeyValuePair<string, object?>>? members = null) =>
        Write("FAIL", reason.ToCode(), $"{reason.ToCode()}: {detail}", members);

    /// <summary>The start of an OK answer whose last member is a string written by the caller (<c>getEdoc</c>'s base64 <c>data</c>).</summary>
    public static string OkPrefixForStringMember(string member) =>
        $"{{\"status\":\"OK\",\"ErrorCode\":\"0\",\"ErrorDesc\":\"\",{JsonSerializer.Serialize(member)}:\"";

    private static IResult Write(string status, string code, string description, IEnumerable<KeyValuePair<string, object?>>? members)
    {
        var answer = new Dictionary<string, object?> { ["status"] = status, ["ErrorCode"] = code, ["ErrorDesc"] = description };
        foreach (var (name, value) in members ?? [])
        {
            answer[name] = value;
        }

        return Results.Text(JsonSerializer.Serialize(answer, Json), "application/json; charset=utf-8", statusCode: StatusCodes.Status200OK);
    }
}
