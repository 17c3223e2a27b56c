using System.CommandLine;
using System.Text.Json;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.Gateway;

namespace Exchange.Cli.Commands;

/// <summary>
/// `exchange send`: submits a ready edXML package through the sender's gateway (which signs it unless a
/// detached signature is given) and waits for the outcome: delivered to every recipient, or rejected with a
/// reason code.
/// </summary>
public static class SendCommand
{
    public const string GatewayVariable = "EXCHANGE_GATEWAY_URL";

    /// <summary>The gateway API key (`exchange gateway key create --role agency`); the environment keeps it out of `ps`.</summary>
    public const string ApiKeyVariable = "EXCHANGE_GATEWAY_API_KEY";

    public static Command Create()
    {
        var from = new Option<string>("--from") { Description = "The sending agency's code; must be the package's From.", Required = true };
        var to = new Option<string>("--to") { Description = "Recipient codes, comma-separated; must be the package's To list.", Required = true };
        var package = new Option<FileInfo>("--package") { Description = "The edXML package.", Required = true };
        var signature = new Option<FileInfo?>("--signature") { Description = "A detached CMS over the package's exact bytes; without it the gateway signs." };
        var gateway = new Option<string?>("--gateway") { Description = $"The sender's gateway, e.g. http://127.0.0.1:5101 (default: ${GatewayVariable})." };
        var apiKey = new Option<string?>("--api-key") { Description = $"The gateway API key of the sending agency (default: ${ApiKeyVariable}, which other users cannot read from the process list)." };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for the outcome.", DefaultValueFactory = _ => 120 };
        var json = new Option<bool>("--json") { Description = "End with one JSON line: document_id, outcome, reason, recipients." };
        var command = new Command("send", "Send a package through the sender's gateway and wait for the outcome.") { from, to, package, signature, gateway, apiKey, timeout, json };
        command.SetAction((p, ct) => RunAsync(
            p.GetValue(from)!, p.GetValue(to)!, p.GetValue(package)!, p.GetValue(signature),
            p.GetValue(gateway) ?? Environment.GetEnvironmentVariable(GatewayVariable),
            p.GetValue(apiKey) ?? Environment.GetEnvironmentVariable(ApiKeyVariable),
            TimeSpan.FromSeconds(p.GetValue(timeout)), p.GetValue(json), ct));
        return command;
    }

    private static async Task<int> RunAsync(
        string from, string to, FileInfo packageFile, FileInfo? signatureFile, string? gateway, string? apiKey, TimeSpan timeout, bool json, CancellationToken ct)
    {
        if (!Uri.TryCreate(gateway, UriKind.Absolute, out var gatewayUri))
        {
            return await UsageAsync($"Name the sender's gateway with --gateway URL or ${GatewayVariable}.");
        }

        if (string.IsNullOrWhiteSpace(apiKey))
        {
            return await UsageAsync($"Give the sending agency's gateway API key with --api-key or ${ApiKeyVariable} (exchange gateway key create --role agency makes one).");
        }

        byte[] package;
        byte[]? signature;
        try
        {
            package = await File.ReadAllBytesAsync(packageFile.FullName, ct);
            signature = signatureFile is null ? null : await File.ReadAllBytesAsync(signatureFile.FullName, ct);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return await UsageAsync($"Cannot read the package or signature: {e.Message}");
        }

        // Refuse a command line that disagrees with the package before anything leaves this machine.
        EdxmlHeader header;
        try
        {
            header = EdxmlReader.ReadHeader(package);
        }
        catch (EdxmlException e)
        {
            return await UsageAsync($"{e.Reason.ToCode()}: {e.Message}");
        }

        if (Normalise(header.From.OrganId) != Normalise(from))
        {
            return await UsageAsync($"{ReasonCode.SenderMismatch.ToCode()}: --from {from}, but the package is from {header.From.OrganId}.");
        }

        var requested = to.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Normalise).ToHashSet();
        if (!requested.SetEquals(header.To.Select(t => Normalise(t.OrganId))))
        {
            return await UsageAsync($"{ReasonCode.RecipientMismatch.ToCode()}: --to {to}, but the package is addressed to {string.Join(",", header.To.Select(t => t.OrganId))}.");
        }

        using var http = GatewayClient.Authorize(new HttpClient { BaseAddress = gatewayUri }, apiKey);
        var client = new GatewayClient(http);
        var console = new ConsoleProgress();
        SubmissionAnswer answer;
        try
        {
            answer = await client.SendPackageAsync(package, signature, ct);
        }
        catch (GatewayRefusedException e) when (e.Status is 401 or 403)
        {
            // The key, not the document: nothing was sent.
            return await UsageAsync($"The gateway refused the API key ({ReasonOf(e.Problem)}): {e.Problem}");
        }
        catch (GatewayRefusedException e)
        {
            return Report(json, header.DocumentId, null, "rejected", ReasonOf(e.Problem), e.Problem, []);
        }
        catch (HttpRequestException e)
        {
            return await UsageAsync($"Cannot reach the gateway at {gatewayUri}: {e.Message}");
        }

        console.Stage($"accepted by the gateway as envelope {answer.EnvelopeId}; waiting for the hub and the recipients");
        DocumentState? state = null;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        await console.TrackAsync("recipients confirmed", requested.Count, async report =>
        {
            while (!deadline.IsCancellationRequested)
            {
                state = await client.GetDocumentAsync(answer.EnvelopeId, ct);
                report(state?.Recipients.Count(r => r.State == "delivered") ?? 0);
                if (state?.State is "delivered" or "rejected")
                {
                    return;
                }

                try
                {
                    await Task.Delay(250, deadline.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });

        // "held": the hub holds it in its error queue until an operator re-sends or discards it; not final either.
        var outcome = state?.State is "delivered" or "rejected" or "held" ? state.State : "pending";
        return Report(json, answer.DocumentId, answer.EnvelopeId, outcome, state?.Reason, state?.Detail, state?.Recipients ?? []);
    }

    private static int Report(
        bool json, string documentId, Guid? envelopeId, string outcome, string? reason, string? detail, IReadOnlyList<RecipientState> recipients)
    {
        Console.WriteLine($"{outcome}{(reason is null or "ok" ? string.Empty : $": {reason}")} — {documentId}{(detail is { Length: > 0 } && outcome != "delivered" ? $"\n{detail}" : string.Empty)}");
        foreach (var r in recipients)
        {
            Console.WriteLine($"  {r.Code}  {r.State}{(r.ReceiptId is { } id ? $"  receipt {id}" : string.Empty)}");
        }

        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                document_id = documentId,
                envelope_id = envelopeId,
                outcome,
                reason = reason ?? (outcome == "delivered" ? "ok" : null),
                recipients = recipients.Select(r => new { code = r.Code, state = r.State, receipt_id = r.ReceiptId }),
            }));
        }

        // A document still pending when the wait ends is not a refusal, but it is not done either.
        return outcome == "delivered" ? ExitCodes.Ok : ExitCodes.Refused;
    }

    private static string? ReasonOf(string problem)
    {
        try
        {
            using var document = JsonDocument.Parse(problem);
            return document.RootElement.TryGetProperty("reason", out var reason) ? reason.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Normalise(string code) => AgencyCode.TryParse(code, out var parsed, out _) ? parsed.Value : code.Trim();

    private static async Task<int> UsageAsync(string message)
    {
        await Console.Error.WriteLineAsync(message);
        return ExitCodes.UsageOrIo;
    }
}
