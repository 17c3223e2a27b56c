using System.Text.Json;
using System.Text.Json.Nodes;
using Exchange.Core;

namespace Exchange.Signing.Evidence;

/// <summary>
/// A signed checkpoint kept outside the hub (issue #16 item 12): by a gateway that was shown it, or exported by an
/// auditor with its RFC 3161 timestamp token. Deleting the newest records together with their checkpoints leaves the
/// hub's own data consistent; a checkpoint held elsewhere for an index beyond the chain's end, or committing to
/// another record hash than the chain has at its index, shows the truncation (docs/evidence.md, "Anchors").
/// </summary>
/// <param name="Checkpoint">The checkpoint, its detached CMS signature (RFC 5652) and the sealing certificate.</param>
/// <param name="Source">Who kept it (a gateway's agency code, a file name): for the report.</param>
/// <param name="TimestampToken">An RFC 3161 TimeStampToken whose message imprint is the SHA-256 of
/// <see cref="SignedCheckpoint.Signature"/>, when one was obtained.</param>
public sealed record ChainAnchor(SignedCheckpoint Checkpoint, string Source, byte[]? TimestampToken = null)
{
    /// <summary>The anchor file's format name; the file is one JSON object.</summary>
    public const string Format = "exchange-evidence-anchor/1";

    /// <summary>The JSON form: the checkpoint's canonical bytes, signature, certificate and token in base64, so that
    /// the exact signed bytes travel (re-serialising the fields could not be trusted to reproduce them).</summary>
    public string ToJson()
    {
        var json = new JsonObject
        {
            ["format"] = Format,
            ["source"] = Source,
            ["chainIndex"] = Checkpoint.Checkpoint.ChainIndex,
            ["recordHash"] = Checkpoint.Checkpoint.RecordHash,
            ["sealedAt"] = EvidenceChain.FormatTime(Checkpoint.Checkpoint.SealedAt),
            ["checkpoint"] = Convert.ToBase64String(EvidenceChain.Canonical(Checkpoint.Checkpoint)),
            ["signature"] = Convert.ToBase64String(Checkpoint.Signature),
            ["certificate"] = Convert.ToBase64String(Checkpoint.Certificate),
        };
        if (TimestampToken is not null)
        {
            json["timestampToken"] = Convert.ToBase64String(TimestampToken);
        }

        return json.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Reads an anchor file. The readable fields (chainIndex, recordHash, sealedAt) are for people: only the
    /// canonical checkpoint bytes are believed.</summary>
    /// <exception cref="FormatException">Not an anchor file.</exception>
    public static ChainAnchor Parse(string json, string source)
    {
        JsonObject root;
        try
        {
            root = JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = 8 }) as JsonObject
                ?? throw new FormatException("an anchor file is one JSON object");
        }
        catch (JsonException e)
        {
            throw new FormatException($"not JSON: {e.Message}", e);
        }

        if (Text(root, "format") != Format)
        {
            throw new FormatException($"format is not \"{Format}\"");
        }

        var canonical = Bytes(root, "checkpoint") ?? throw new FormatException("checkpoint is missing");
        if (!EvidenceChain.TryParseCheckpoint(canonical, out var checkpoint, out var error))
        {
            throw new FormatException($"checkpoint: {error}");
        }

        var signature = Bytes(root, "signature") ?? throw new FormatException("signature is missing");
        var certificate = Bytes(root, "certificate") ?? throw new FormatException("certificate is missing");
        var label = Text(root, "source") is { Length: > 0 } held ? $"{source} ({held})" : source;
        return new ChainAnchor(new SignedCheckpoint(checkpoint!, signature, certificate), label, Bytes(root, "timestampToken"));
    }

    private static string? Text(JsonObject root, string name) =>
        root[name] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;

    private static byte[]? Bytes(JsonObject root, string name)
    {
        if (Text(root, name) is not { } text)
        {
            return null;
        }

        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException)
        {
            throw new FormatException($"{name} is not base64");
        }
    }
}
