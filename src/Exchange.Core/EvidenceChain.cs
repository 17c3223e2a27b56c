using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Exchange.Core;

/// <summary>
/// One evidence record as it is sealed into the hub's hash chain: the facts of the event plus its place in the
/// chain (<see cref="ChainIndex"/>) and the hash of the record before it (<see cref="PrevHash"/>).
/// </summary>
/// <param name="Kind">The <see cref="EvidenceKind"/> name; a string so that a verifier built before a kind was added
/// still verifies records of that kind.</param>
/// <param name="EnvelopePrevHash">The record_hash of the same envelope's record before this one in the chain (64 zeros
/// for its first): the envelope's own chain, which shows a record of the envelope missing from between two others
/// (<see cref="EvidenceChain.RecordFormatV2"/>). Null in records sealed before it existed (format 1).</param>
public sealed record EvidenceRecord(
    Guid EvidenceId,
    string Kind,
    Guid EnvelopeId,
    string? RecipientCode,
    string Reason,
    string Detail,
    string? PackageSha256,
    string Issuer,
    DateTimeOffset IssuedAt,
    long ChainIndex,
    string PrevHash,
    string? EnvelopePrevHash = null);

/// <summary>A record with the hash stored beside it when it was sealed (which a verifier recomputes and compares).</summary>
public sealed record SealedEvidence(EvidenceRecord Record, string RecordHash);

/// <summary>What the hub signs at a checkpoint: the chain up to <see cref="ChainIndex"/> ends in <see cref="RecordHash"/>.</summary>
/// <param name="EnvelopeHeadsRoot">The root over every envelope's newest record as of the checkpoint
/// (<see cref="EnvelopeHeads"/>, checkpoint format 2); null in checkpoints signed before it existed (format 1).</param>
public sealed record EvidenceCheckpoint(long ChainIndex, string RecordHash, DateTimeOffset SealedAt, string? EnvelopeHeadsRoot = null);

/// <summary>A checkpoint with the hub's detached CMS signature over its canonical bytes and the sealing certificate (DER).</summary>
public sealed record SignedCheckpoint(EvidenceCheckpoint Checkpoint, byte[] Signature, byte[] Certificate);

/// <summary>
/// One position of the chain as stored: the record at <see cref="ChainIndex"/>, the checkpoint at that index, or
/// both. <see cref="Malformed"/> describes a stored row that cannot be read as a sealed record (e.g. a chain index
/// without hashes), which a verifier reports instead of the record.
/// </summary>
public sealed record ChainEntry(long ChainIndex, SealedEvidence? Record, SignedCheckpoint? Checkpoint, string? Malformed = null);

/// <summary>
/// The canonical byte form of evidence records and checkpoints, and the hash chain over them. The form is JSON
/// canonicalised by RFC 8785 (JCS): keys sorted, no whitespace, strings escaped only where JSON requires, UTF-8.
/// It is documented in docs/evidence.md so that an auditor can recompute every hash with standard tools; never
/// change it — a new form gets a new <c>format</c> value.
/// <code>
/// {"chain_index":42,"detail":"…","envelope_id":"…","evidence_id":"…","format":"exchange-evidence-record/1",
///  "issued_at":"2027-03-01T08:15:00.123456Z","issuer":"exchange-hub","kind":"SubmissionAcceptance",
///  "package_sha256":"…"|null,"prev_hash":"…","reason":"ok","recipient":"…"|null}
/// record_hash = lowercase hex SHA-256 of those bytes; prev_hash of record 1 = 64 zeros.
/// Format 2 (every record sealed since) adds one member, the envelope's own link:
/// {"chain_index":43,"detail":"…","envelope_id":"…","envelope_prev_hash":"…","evidence_id":"…","format":"exchange-evidence-record/2",…}
/// envelope_prev_hash = the record_hash of the same envelope's previous record (64 zeros for its first).
/// {"chain_index":42,"format":"exchange-evidence-checkpoint/1","record_hash":"…","sealed_at":"…"}
/// Checkpoint format 2 (every checkpoint signed since) adds the root over every envelope's newest record:
/// {"chain_index":42,"envelope_heads_root":"…","format":"exchange-evidence-checkpoint/2","record_hash":"…","sealed_at":"…"}
/// </code>
/// </summary>
public static class EvidenceChain
{
    public const string RecordFormat = "exchange-evidence-record/1";

    /// <summary>Records that also link to their envelope's previous record (issue #16, item 1: a bundle that leaves out one
    /// of an envelope's records between two others no longer verifies).</summary>
    public const string RecordFormatV2 = "exchange-evidence-record/2";
    public const string CheckpointFormat = "exchange-evidence-checkpoint/1";

    /// <summary>Checkpoints that also commit to every envelope's newest record (<see cref="EnvelopeHeads"/>; issue #16,
    /// item 1: a bundle proves it holds all of an envelope's records up to a checkpoint signed after the last of them).</summary>
    public const string CheckpointFormatV2 = "exchange-evidence-checkpoint/2";

    /// <summary>The prev_hash of the first record (chain_index 1).</summary>
    public static readonly string GenesisHash = new('0', 64);

    /// <summary>JSON numbers are IEEE doubles (RFC 8785 §3.2.2.3): larger indexes would not round-trip.</summary>
    public const long MaxChainIndex = (1L << 53) - 1;

    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>UTC, truncated to the microsecond that PostgreSQL's timestamptz keeps.</summary>
    public static DateTimeOffset Normalize(DateTimeOffset time)
    {
        var utc = time.ToUniversalTime();
        return new DateTimeOffset(utc.Ticks - (utc.Ticks % 10), TimeSpan.Zero);
    }

    /// <summary>The one time form of the canonical bytes: UTC, six fractional digits, <c>Z</c>.</summary>
    public static string FormatTime(DateTimeOffset time) => Normalize(time).ToString(TimeFormat, CultureInfo.InvariantCulture);

    public static bool TryParseTime(string? text, out DateTimeOffset time) =>
        DateTimeOffset.TryParseExact(text, TimeFormat, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);

    /// <summary>Lowercase hex SHA-256 of canonical bytes.</summary>
    public static string Hash(ReadOnlySpan<byte> canonical) => Digests.Sha256Hex(canonical);

    public static string Hash(EvidenceRecord record) => Hash(Canonical(record));

    public static string Hash(EvidenceCheckpoint checkpoint) => Hash(Canonical(checkpoint));

    /// <summary>True for 64 lowercase hex digits (the only hash form the chain uses).</summary>
    public static bool IsHash(string? text) =>
        text is { Length: 64 } && text.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    /// <summary>The record with its place in the chain and in its envelope's chain: what the sealer stores and hashes.</summary>
    /// <param name="envelopePrevHash">The envelope's previous record_hash (format 2); null keeps the record's own (format 1 when it has none).</param>
    public static SealedEvidence Seal(EvidenceRecord unsealed, long chainIndex, string prevHash, string? envelopePrevHash = null)
    {
        ArgumentNullException.ThrowIfNull(unsealed);
        var record = unsealed with
        {
            ChainIndex = chainIndex, PrevHash = prevHash, EnvelopePrevHash = envelopePrevHash ?? unsealed.EnvelopePrevHash,
            IssuedAt = Normalize(unsealed.IssuedAt),
        };
        return new SealedEvidence(record, Hash(record));
    }

    /// <summary>The canonical bytes of a record (RFC 8785; keys in sorted order).</summary>
    /// <exception cref="ArgumentException">The chain index is out of range or the prev_hash is not a hash.</exception>
    public static byte[] Canonical(EvidenceRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        CheckIndex(record.ChainIndex);
        if (!IsHash(record.PrevHash))
        {
            throw new ArgumentException($"prev_hash '{record.PrevHash}' is not 64 lowercase hex digits.", nameof(record));
        }

        if (record.EnvelopePrevHash is not null && !IsHash(record.EnvelopePrevHash))
        {
            throw new ArgumentException($"envelope_prev_hash '{record.EnvelopePrevHash}' is not 64 lowercase hex digits.", nameof(record));
        }

        var json = new CanonicalJson();
        json.Number("chain_index", record.ChainIndex);
        json.String("detail", record.Detail);
        json.String("envelope_id", record.EnvelopeId.ToString("D"));
        if (record.EnvelopePrevHash is not null)
        {
            json.String("envelope_prev_hash", record.EnvelopePrevHash);
        }

        json.String("evidence_id", record.EvidenceId.ToString("D"));
        json.String("format", record.EnvelopePrevHash is null ? RecordFormat : RecordFormatV2);
        json.String("issued_at", FormatTime(record.IssuedAt));
        json.String("issuer", record.Issuer);
        json.String("kind", record.Kind);
        json.String("package_sha256", record.PackageSha256);
        json.String("prev_hash", record.PrevHash);
        json.String("reason", record.Reason);
        json.String("recipient", record.RecipientCode);
        return json.ToBytes();
    }

    /// <summary>The canonical bytes of a checkpoint: what the hub's CMS signature covers.</summary>
    public static byte[] Canonical(EvidenceCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        CheckIndex(checkpoint.ChainIndex);
        if (!IsHash(checkpoint.RecordHash))
        {
            throw new ArgumentException($"record_hash '{checkpoint.RecordHash}' is not 64 lowercase hex digits.", nameof(checkpoint));
        }

        if (checkpoint.EnvelopeHeadsRoot is not null && !IsHash(checkpoint.EnvelopeHeadsRoot))
        {
            throw new ArgumentException($"envelope_heads_root '{checkpoint.EnvelopeHeadsRoot}' is not 64 lowercase hex digits.", nameof(checkpoint));
        }

        var json = new CanonicalJson();
        json.Number("chain_index", checkpoint.ChainIndex);
        if (checkpoint.EnvelopeHeadsRoot is not null)
        {
            json.String("envelope_heads_root", checkpoint.EnvelopeHeadsRoot);
        }

        json.String("format", checkpoint.EnvelopeHeadsRoot is null ? CheckpointFormat : CheckpointFormatV2);
        json.String("record_hash", checkpoint.RecordHash);
        json.String("sealed_at", FormatTime(checkpoint.SealedAt));
        return json.ToBytes();
    }

    /// <summary>Reads canonical record bytes. Anything but the exact canonical form of a record is refused.</summary>
    public static bool TryParseRecord(ReadOnlySpan<byte> bytes, out EvidenceRecord? record, out string error)
    {
        record = null;
        var v2 = bytes.IndexOf("\"envelope_prev_hash\":"u8) >= 0;
        if (!TryReadObject(bytes, v2 ? RecordKeysV2 : RecordKeys, out var values, out error))
        {
            return false;
        }

        if (Text(values, "format") != (v2 ? RecordFormatV2 : RecordFormat))
        {
            error = $"format is not \"{(v2 ? RecordFormatV2 : RecordFormat)}\"";
            return false;
        }

        var envelopePrev = v2 ? Text(values, "envelope_prev_hash") : null;
        if (v2 && !IsHash(envelopePrev))
        {
            error = "envelope_prev_hash is not 64 lowercase hex digits";
            return false;
        }

        if (values["chain_index"].ValueKind != JsonValueKind.Number || !values["chain_index"].TryGetInt64(out var index) || index < 1 || index > MaxChainIndex)
        {
            error = "chain_index is not an integer between 1 and 2^53-1";
            return false;
        }

        if (!Guid.TryParseExact(Text(values, "evidence_id"), "D", out var evidenceId)
            || !Guid.TryParseExact(Text(values, "envelope_id"), "D", out var envelopeId))
        {
            error = "evidence_id or envelope_id is not a GUID";
            return false;
        }

        if (!TryParseTime(Text(values, "issued_at"), out var issuedAt))
        {
            error = "issued_at is not UTC ISO-8601 with six fractional digits";
            return false;
        }

        var prev = Text(values, "prev_hash");
        if (!IsHash(prev))
        {
            error = "prev_hash is not 64 lowercase hex digits";
            return false;
        }

        var detail = Text(values, "detail");
        var kind = Text(values, "kind");
        var reason = Text(values, "reason");
        var issuer = Text(values, "issuer");
        if (detail is null || kind is null || reason is null || issuer is null)
        {
            error = "detail, kind, reason and issuer must be strings";
            return false;
        }

        var parsed = new EvidenceRecord(
            evidenceId, kind, envelopeId, Text(values, "recipient"), reason, detail, Text(values, "package_sha256"), issuer, issuedAt, index, prev!, envelopePrev);
        if (!Canonical(parsed).AsSpan().SequenceEqual(bytes))
        {
            error = "not in canonical form (RFC 8785: sorted keys, no whitespace, minimal escaping, times as yyyy-MM-ddTHH:mm:ss.ffffffZ, lowercase GUIDs)";
            return false;
        }

        record = parsed;
        return true;
    }

    /// <summary>Reads canonical checkpoint bytes. Anything but the exact canonical form is refused.</summary>
    public static bool TryParseCheckpoint(ReadOnlySpan<byte> bytes, out EvidenceCheckpoint? checkpoint, out string error)
    {
        checkpoint = null;
        var v2 = bytes.IndexOf("\"envelope_heads_root\":"u8) >= 0;
        if (!TryReadObject(bytes, v2 ? CheckpointKeysV2 : CheckpointKeys, out var values, out error))
        {
            return false;
        }

        if (Text(values, "format") != (v2 ? CheckpointFormatV2 : CheckpointFormat))
        {
            error = $"format is not \"{(v2 ? CheckpointFormatV2 : CheckpointFormat)}\"";
            return false;
        }

        var headsRoot = v2 ? Text(values, "envelope_heads_root") : null;
        if (v2 && !IsHash(headsRoot))
        {
            error = "envelope_heads_root is not 64 lowercase hex digits";
            return false;
        }

        if (values["chain_index"].ValueKind != JsonValueKind.Number || !values["chain_index"].TryGetInt64(out var index) || index < 1 || index > MaxChainIndex)
        {
            error = "chain_index is not an integer between 1 and 2^53-1";
            return false;
        }

        var hash = Text(values, "record_hash");
        if (!IsHash(hash))
        {
            error = "record_hash is not 64 lowercase hex digits";
            return false;
        }

        if (!TryParseTime(Text(values, "sealed_at"), out var sealedAt))
        {
            error = "sealed_at is not UTC ISO-8601 with six fractional digits";
            return false;
        }

        var parsed = new EvidenceCheckpoint(index, hash!, sealedAt, headsRoot);
        if (!Canonical(parsed).AsSpan().SequenceEqual(bytes))
        {
            error = "not in canonical form (RFC 8785)";
            return false;
        }

        checkpoint = parsed;
        return true;
    }

    private static readonly string[] RecordKeys =
        ["chain_index", "detail", "envelope_id", "evidence_id", "format", "issued_at", "issuer", "kind", "package_sha256", "prev_hash", "reason", "recipient"];

    private static readonly string[] RecordKeysV2 = [.. RecordKeys, "envelope_prev_hash"];

    private static readonly string[] CheckpointKeys = ["chain_index", "format", "record_hash", "sealed_at"];

    private static readonly string[] CheckpointKeysV2 = [.. CheckpointKeys, "envelope_heads_root"];

    private static void CheckIndex(long index)
    {
        if (index < 1 || index > MaxChainIndex)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, "A chain index runs from 1 to 2^53-1.");
        }
    }

    private static string? Text(Dictionary<string, JsonElement> values, string key) =>
        values[key].ValueKind == JsonValueKind.String ? values[key].GetString() : null;

    private static bool TryReadObject(ReadOnlySpan<byte> bytes, string[] keys, out Dictionary<string, JsonElement> values, out string error)
    {
        values = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        error = string.Empty;
        try
        {
            StrictUtf8.GetCharCount(bytes);
            using var document = JsonDocument.Parse(bytes.ToArray(), new JsonDocumentOptions { MaxDepth = 2 });
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                error = "not a JSON object";
                return false;
            }

            foreach (var property in document.RootElement.EnumerateObject())
            {
                if (!keys.Contains(property.Name, StringComparer.Ordinal))
                {
                    error = $"unexpected member \"{property.Name}\"";
                    return false;
                }

                if (!values.TryAdd(property.Name, property.Value.Clone()))
                {
                    error = $"member \"{property.Name}\" appears twice";
                    return false;
                }
            }
        }
        catch (Exception e) when (e is JsonException or DecoderFallbackException or ArgumentException)
        {
            error = $"not valid UTF-8 JSON: {e.Message}";
            return false;
        }

        var found = values;
        var missing = keys.FirstOrDefault(k => !found.ContainsKey(k));
        if (missing is not null)
        {
            error = $"member \"{missing}\" is missing";
            return false;
        }

        foreach (var (key, value) in values)
        {
            if (value.ValueKind is not (JsonValueKind.String or JsonValueKind.Null) && key != "chain_index")
            {
                error = $"member \"{key}\" is not a string or null";
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// RFC 8785 serialisation of a flat object whose members the caller writes in sorted order: strings escape
    /// only '"', '\' and U+0000..U+001F (with the short forms \b \t \n \f \r, else \u00xx lowercase), everything
    /// else is written as UTF-8; integers in plain decimal.
    /// </summary>
    private sealed class CanonicalJson
    {
        private readonly StringBuilder _text = new(512);
        private string? _lastKey;

        public void Number(string key, long value)
        {
            Key(key);
            _text.Append(value.ToString(CultureInfo.InvariantCulture));
        }

        public void String(string key, string? value)
        {
            Key(key);
            if (value is null)
            {
                _text.Append("null");
                return;
            }

            _text.Append('"');
            foreach (var c in value)
            {
                switch (c)
                {
                    case '"': _text.Append("\\\""); break;
                    case '\\': _text.Append("\\\\"); break;
                    case '\b': _text.Append("\\b"); break;
                    case '\t': _text.Append("\\t"); break;
                    case '\n': _text.Append("\\n"); break;
                    case '\f': _text.Append("\\f"); break;
                    case '\r': _text.Append("\\r"); break;
                    case < ' ': _text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)); break;
                    default: _text.Append(c); break;
                }
            }

            _text.Append('"');
        }

        /// <summary>UTF-8; a string that is not valid UTF-16 (a lone surrogate) cannot be canonical and throws.</summary>
        public byte[] ToBytes() => StrictUtf8.GetBytes(_text.Append('}').ToString());

        private void Key(string key)
        {
            if (_lastKey is not null && string.CompareOrdinal(_lastKey, key) >= 0)
            {
                throw new InvalidOperationException($"Canonical JSON members must be written in sorted order ('{_lastKey}' before '{key}').");
            }

            _text.Append(_lastKey is null ? "{" : ",").Append('"').Append(key).Append("\":");
            _lastKey = key;
        }
    }
}
