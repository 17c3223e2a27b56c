using Exchange.Contracts;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.Signing;
using Microsoft.Extensions.Options;

namespace Exchange.Router;

/// <summary>What the hub concluded about one submission.</summary>
public sealed record SubmissionVerdict(
    ReasonCode Reason,
    string Detail,
    EdxmlHeader? Header = null,
    IReadOnlyList<string>? Recipients = null,
    string? SignerCertificateSha256 = null)
{
    public bool Accepted => Reason == ReasonCode.Ok;

    /// <summary>Every signer of the CMS as verified; empty when the signature could not be read.</summary>
    public IReadOnlyList<SignerRecord> Signers { get; init; } = [];

    /// <summary>SHA-256 of each valid signer's signature value: what identifies this act of signing (replay check).</summary>
    public IReadOnlyList<string> SignatureValues { get; init; } = [];
}

/// <summary>One signer of a submission as stored with the envelope (hub.envelopes.signers).</summary>
public sealed record SignerRecord(
    string Subject, string Issuer, string SerialNumber, string CertificateSha256, string DigestAlgorithm, string SignatureAlgorithm,
    DateTimeOffset? SigningTime, string Verdict, bool BoundToSender);

/// <summary>
/// Decides whether a submission is genuine and routable. The signature is checked first and over the exact
/// bytes received; routing facts are then read from the signed package, never from the bus message alone
/// (the message's sender and recipients must agree with the package or it is refused).
/// </summary>
public sealed class SubmissionCheck(SignatureVerifier verifier, IOptions<RouterOptions> options)
{
    public SubmissionVerdict Check(SubmitEnvelope message, AgencyDirectory directory)
    {
        var limits = options.Value;
        if (message.Package.Length > limits.MaxPackageBytes)
        {
            return new(ReasonCode.TooLarge, $"The package is {message.Package.Length} bytes; the limit is {limits.MaxPackageBytes}.");
        }

        if (message.Signature.Length > limits.MaxSignatureBytes)
        {
            return new(ReasonCode.TooLarge, $"The signature is {message.Signature.Length} bytes; the limit is {limits.MaxSignatureBytes}.");
        }

        var signature = verifier.Verify(message.Package, message.Signature);
        var verdict = Decide(message, directory, signature);
        var sender = AgencyCode.TryParse(verdict.Header?.From.OrganId, out var code, out _) ? code.Value : null;
        return verdict with
        {
            Signers = signature.Signers.Select(s => new SignerRecord(
                s.Subject, s.Issuer, s.SerialNumber, s.CertificateSha256, s.DigestAlgorithm, s.SignatureAlgorithm, s.SigningTime,
                s.Verdict.ToCode(), sender is not null && s.Valid && directory.IsBound(sender, s.CertificateSha256))).ToList(),
            SignatureValues = signature.ValidSigners.Select(s => s.SignatureValueSha256).ToList(),
        };
    }

    private SubmissionVerdict Decide(SubmitEnvelope message, AgencyDirectory directory, VerificationResult signature)
    {
        var limits = options.Value;
        if (!signature.Valid)
        {
            return new(signature.Reason, signature.Detail);
        }

        EdxmlHeader header;
        try
        {
            // Attachments are checked (base64, size) but never kept or opened: the hub carries them as they are.
            header = EdxmlReader.Validate(message.Package, limits.ToEdxmlLimits());
        }
        catch (EdxmlException e)
        {
            return new(e.Reason, e.Message);
        }

        if (!AgencyCode.TryParse(header.From.OrganId, out var from, out var fromError))
        {
            return new(ReasonCode.InvalidAgencyCode, $"From/OrganId '{header.From.OrganId}': {fromError}");
        }

        if (!AgencyCode.TryParse(message.SenderCode, out var claimed, out _) || claimed != from)
        {
            return new(ReasonCode.SenderMismatch, $"The bus message names sender '{Untrusted.Quote(message.SenderCode)}' but the signed package is from '{from}'.");
        }

        if (directory.Find(from.Value) is null)
        {
            return new(ReasonCode.UnknownSender, $"Sender '{from}' is not in directory version {directory.Version}.");
        }

        if (header.To.Count == 0)
        {
            return new(ReasonCode.PackageInvalid, "The package names no recipient (To).");
        }

        if (!Addressing.TryCheck(from.Value, header.To.Select(t => t.OrganId), out var addressing, out var addressingDetail))
        {
            return new(addressing, addressingDetail);
        }

        var recipients = new List<string>(header.To.Count);
        foreach (var to in header.To)
        {
            if (!AgencyCode.TryParse(to.OrganId, out var code, out var error))
            {
                return new(ReasonCode.InvalidAgencyCode, $"To/OrganId '{to.OrganId}': {error}");
            }

            if (directory.Find(code.Value) is null)
            {
                return new(ReasonCode.UnknownRecipient, $"Recipient '{code}' is not in directory version {directory.Version}.");
            }

            if (!recipients.Contains(code.Value))
            {
                recipients.Add(code.Value);
            }
        }

        var claimedRecipients = message.RecipientCodes
            .Select(c => AgencyCode.TryParse(c, out var code, out _) ? code.Value : c)
            .ToHashSet(StringComparer.Ordinal);
        if (!claimedRecipients.SetEquals(recipients))
        {
            return new(ReasonCode.RecipientMismatch, "The bus message's recipients differ from the signed package's To list.");
        }

        // Nghị định 30/2020: a CMS may carry the signer's personal signature and the organisation's; the hub
        // needs at least one valid signature by a certificate the directory binds to the sending agency.
        var bound = signature.ValidSigners.FirstOrDefault(s => directory.IsBound(from.Value, s.CertificateSha256));
        if (bound is null)
        {
            var signers = string.Join("; ", signature.ValidSigners.Select(s => $"{s.Subject} (sha256 {s.CertificateSha256})"));
            return new(ReasonCode.SignerNotBound, $"No valid signer is registered to '{from}' in directory version {directory.Version}: {signers}.");
        }

        return new(ReasonCode.Ok, $"Signed by {bound.Subject}; {signature.Signers.Count} signer(s) reported.", header, recipients, bound.CertificateSha256);
    }
}
