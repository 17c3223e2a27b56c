using System.Security.Cryptography;
using System.Text;
using Exchange.Core;
using Exchange.Persistence.Gateway;
using Microsoft.AspNetCore.Http;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Gateway;

/// <summary>
/// The <c>Idempotency-Key</c> request header of the submission endpoints (IETF draft-ietf-httpapi-idempotency-key-header):
/// a document system that lost the answer to a POST (a timeout, a dropped connection, the gateway or its database
/// restarting) sends the same request again with the same key and gets the document the first attempt stored,
/// never a second document. Without the header a POST is not safe to repeat.
/// </summary>
/// <param name="Key">The key, or null when the request has none.</param>
/// <param name="RequestSha256">SHA-256 over the request's form fields and files, to recognise a different request sent under a used key.</param>
public sealed record IdempotentSubmission(string? Key, string? RequestSha256)
{
    public const string Header = "Idempotency-Key";

    /// <summary>Longest key accepted; a UUID (the draft's recommendation) is 36 characters.</summary>
    public const int MaxKeyLength = 255;

    private static readonly IdempotentSubmission None = new(null, null);

    /// <summary>Reads the header and fingerprints the request; a malformed key is answered with a refusal.</summary>
    public static async Task<(IdempotentSubmission Submission, IResult? Refusal)> ReadAsync(HttpRequest request, IFormCollection form, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(form);
        if (!request.Headers.TryGetValue(Header, out var values))
        {
            return (None, null);
        }

        // The draft defines the value as a Structured Field string (RFC 8941 §3.3.3, quoted); a bare token is accepted too.
        var key = values.Count == 1 ? values[0]!.Trim() : string.Empty;
        if (key.Length >= 2 && key[0] == '"' && key[^1] == '"')
        {
            key = key[1..^1];
        }

        if (key.Length is 0 or > MaxKeyLength || key.Any(c => c is < ' ' or > '~' or '"' or '\\'))
        {
            return (None, Problems.Refuse(ReasonCode.InvalidRequest,
                $"The {Header} header must be one string of 1 to {MaxKeyLength} printable ASCII characters (a UUID is best).", StatusCodes.Status400BadRequest));
        }

        return (new IdempotentSubmission(key, await FingerprintAsync(form, ct)), null);
    }

    /// <summary>
    /// The answer for a request whose key is already stored: the stored document when it is the same request, a
    /// refusal when the key was used for another; null when the key is new (or there is none).
    /// </summary>
    public async Task<IResult?> StoredAnswerAsync(GatewayDbContext db, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(db);
        if (Key is null)
        {
            return null;
        }

        var stored = await db.Outbox.AsNoTracking()
            .Where(o => o.IdempotencyKey == Key)
            .Select(o => new { o.EnvelopeId, o.DocumentId, o.State, o.RequestSha256 })
            .FirstOrDefaultAsync(ct);
        if (stored is null)
        {
            return null;
        }

        if (stored.RequestSha256 != RequestSha256)
        {
            // The draft's answer to a key reused with another payload: 422, and nothing stored.
            return Problems.Refuse(ReasonCode.InvalidRequest,
                $"The {Header} was already used for a different request (envelope {stored.EnvelopeId}); use a new key for a new document.");
        }

        return Accepted(stored.EnvelopeId, stored.DocumentId, stored.State);
    }

    /// <summary>202 with the envelope id: what a new submission and its retries are answered.</summary>
    public static IResult Accepted(Guid envelopeId, string documentId, string state)
    {
        var location = $"/api/documents/{envelopeId}";
        return Results.Accepted(location, new SubmissionAnswer(envelopeId, documentId, state, location));
    }

    private static async Task<string> FingerprintAsync(IFormCollection form, CancellationToken ct)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        // Every piece length-prefixed, so that no two different requests hash the same bytes.
        void Add(ReadOnlySpan<byte> bytes)
        {
            Span<byte> length = stackalloc byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(length, bytes.Length);
            hash.AppendData(length);
            hash.AppendData(bytes);
        }

        void AddText(string? text) => Add(Encoding.UTF8.GetBytes(text ?? string.Empty));

        foreach (var field in form.OrderBy(f => f.Key, StringComparer.Ordinal))
        {
            AddText(field.Key);
            AddText(string.Join('\n', field.Value.ToArray()));
        }

        // Files in the order sent: attachments keep their order in the package.
        foreach (var file in form.Files)
        {
            AddText(file.Name);
            AddText(file.FileName);
            AddText(file.ContentType);
            using var content = new MemoryStream((int)file.Length);
            await file.CopyToAsync(content, ct);
            Add(content.GetBuffer().AsSpan(0, (int)content.Length));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }
}
