using Exchange.Contracts;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.Persistence;
using Exchange.Signing;
using Microsoft.Extensions.Options;

namespace Exchange.Router;

/// <summary>What the hub concluded about one submission.</summary>
/// <param name="Recipients">The agencies to deliver to, each with the address it was resolved from when that was not its own code.</param>
public sealed record SubmissionVerdict(
    ReasonCode Reason,
    string Detail,
    EdxmlHeader? Header = null,
    IReadOnlyList<RoutedRecipient>? Recipients = null,
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
/// (the message's sender and recipients must agree with the package or it is refused). Addresses are resolved
/// against the directory at the time of routing: aliases and merged agencies' old codes to the agency answering for
/// them, groups to their members; the routing policy decides which kinds may write to which.
/// </summary>
public sealed class SubmissionCheck(SignatureVerifier verifier, IOptions<RouterOptions> options, IOptions<RoutingPolicy> policy)
{
    public SubmissionVerdict Check(SubmitEnvelope message, PackageBody package, AgencyDirectory directory, DateTimeOffset at) =>
        Check(package, message.Signature, message.SenderCode, directory, at,
            (header, sender) => ResolveRecipients(header, sender, message.RecipientCodes, directory, at));

    /// <summary>
    /// An envelope another hub relays: verified again in full (signature, sender's binding), and its recipients resolved
    /// again from the signed To list by this hub's directory. The relay names which of them this hub now answers for;
    /// one the signed To list does not resolve to is refused (<c>recipient-mismatch</c>): a hub takes no recipient on
    /// another hub's word, and the address each was resolved from is this hub's own resolution.
    /// </summary>
    public SubmissionVerdict CheckRelay(RelayEnvelope message, PackageBody package, AgencyDirectory directory, DateTimeOffset at) =>
        Check(package, message.Signature, message.SenderCode, directory, at, (header, sender) =>
        {
            var resolved = ResolveRecipients(header, sender, claimedAddresses: null, directory, at);
            if (!resolved.Accepted)
            {
                return resolved;
            }

            var signed = resolved.Recipients!.ToDictionary(r => r.Code, StringComparer.Ordinal);
            var relayed = new List<RoutedRecipient>();
            foreach (var code in message.Recipients.Select(r => r.Code).Distinct(StringComparer.Ordinal))
            {
                if (!signed.TryGetValue(code, out var recipient))
                {
                    return new(ReasonCode.RecipientMismatch,
                        $"Relayed recipient '{Untrusted.Quote(code)}' is not one the signed To list resolves to in directory version {directory.Version}.");
                }

                relayed.Add(recipient);
            }

            return new(ReasonCode.Ok, string.Empty, Recipients: relayed);
        });

    private SubmissionVerdict Check(
        PackageBody package, byte[] signatureBytes, string claimedSender, AgencyDirectory directory, DateTimeOffset at,
        Func<EdxmlHeader, Agency, SubmissionVerdict> recipients)
    {
        var limits = options.Value;
        if (package.Length > limits.MaxPackageBytes)
        {
            return new(ReasonCode.TooLarge, $"The package is {package.Length} bytes; the limit is {limits.MaxPackageBytes}.");
        }

        if (signatureBytes.Length > limits.MaxSignatureBytes)
        {
            return new(ReasonCode.TooLarge, $"The signature is {signatureBytes.Length} bytes; the limit is {limits.MaxSignatureBytes}.");
        }

        var signature = package.Read(bytes => verifier.Verify(bytes.Span, signatureBytes), stream => verifier.Verify(stream, signatureBytes));
        var verdict = Decide(package, claimedSender, signature, directory, at, recipients);
        var sender = AgencyCode.TryParse(verdict.Header?.From.OrganId, out var code, out _) ? code.Value : null;
        return verdict with
        {
            Signers = signature.Signers.Select(s => new SignerRecord(
                s.Subject, s.Issuer, s.SerialNumber, s.CertificateSha256, s.DigestAlgorithm, s.SignatureAlgorithm, s.SigningTime,
                s.Verdict.ToCode(), sender is not null && s.Valid && directory.IsBound(sender, s.CertificateSha256))).ToList(),
            SignatureValues = signature.ValidSigners.Select(s => s.SignatureValueSha256).ToList(),
        };
    }

    private SubmissionVerdict Decide(
        PackageBody package, string claimedSender, VerificationResult signature, AgencyDirectory directory, DateTimeOffset at,
        Func<EdxmlHeader, Agency, SubmissionVerdict> resolveRecipients)
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
            var edxmlLimits = limits.ToEdxmlLimits();
            header = package.Read(bytes => EdxmlReader.Validate(bytes, edxmlLimits), stream => EdxmlReader.Validate(stream, edxmlLimits));
        }
        catch (EdxmlException e)
        {
            return new(e.Reason, e.Message);
        }

        if (!AgencyCode.TryParse(header.From.OrganId, out var from, out var fromError))
        {
            return new(ReasonCode.InvalidAgencyCode, $"From/OrganId '{header.From.OrganId}': {fromError}");
        }

        if (!AgencyCode.TryParse(claimedSender, out var claimed, out _) || claimed != from)
        {
            return new(ReasonCode.SenderMismatch, $"The bus message names sender '{Untrusted.Quote(claimedSender)}' but the signed package is from '{from}'.");
        }

        if (directory.Find(from.Value) is not { } sender)
        {
            return new(ReasonCode.UnknownSender, $"Sender '{from}' is not in directory version {directory.Version}.");
        }

        if (!sender.IsActiveAt(at))
        {
            return new(ReasonCode.AgencyInactive, $"Sender '{from}' does not exist at {at:O} (valid {sender.ValidFrom:O} to {sender.ValidTo:O}, directory version {directory.Version}).");
        }

        var routed = resolveRecipients(header, sender);
        if (!routed.Accepted)
        {
            return routed;
        }

        // Nghị định 30/2020: a CMS may carry the signer's personal signature and the organisation's; the hub
        // needs at least one valid signature by a certificate the directory binds to the sending agency.
        var bound = signature.ValidSigners.FirstOrDefault(s => directory.IsBound(from.Value, s.CertificateSha256));
        if (bound is null)
        {
            var signers = string.Join("; ", signature.ValidSigners.Select(s => $"{s.Subject} (sha256 {s.CertificateSha256})"));
            return new(ReasonCode.SignerNotBound, $"No valid signer is registered to '{from}' in directory version {directory.Version}: {signers}.");
        }

        return new(ReasonCode.Ok, $"Signed by {bound.Subject}; {signature.Signers.Count} signer(s) reported.", header, routed.Recipients, bound.CertificateSha256);
    }

    /// <summary>
    /// The package's To list as agencies: codes, aliases and merged agencies' old codes resolved, groups expanded. With
    /// <paramref name="claimedAddresses"/> (a submission's bus message), they must be the To list's addresses.
    /// </summary>
    private SubmissionVerdict ResolveRecipients(
        EdxmlHeader header, Agency sender, IReadOnlyList<string>? claimedAddresses, AgencyDirectory directory, DateTimeOffset at)
    {
        if (header.To.Count == 0)
        {
            return new(ReasonCode.PackageInvalid, "The package names no recipient (To).");
        }

        if (!Addressing.TryCheck(sender.Code, header.To.Select(t => t.OrganId), out var addressing, out var addressingDetail))
        {
            return new(addressing, addressingDetail);
        }

        var rules = policy.Value;
        var addresses = new HashSet<string>(StringComparer.Ordinal);
        var recipients = new List<RoutedRecipient>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var to in header.To)
        {
            if (RecipientGroup.LooksLikeGroup(to.OrganId))
            {
                if (!RecipientGroup.TryParse(to.OrganId, out var group, out var groupError))
                {
                    return new(ReasonCode.InvalidAgencyCode, $"To/OrganId '{Untrusted.Quote(to.OrganId)}': {groupError}");
                }

                if (directory.Find(group.Root) is null)
                {
                    return new(ReasonCode.UnknownRecipient, $"Group '{group.Address}': '{group.Root}' is not in directory version {directory.Version}.");
                }

                var (allowed, why) = rules.CheckGroup(sender, group, directory);
                if (allowed != ReasonCode.Ok)
                {
                    return new(allowed, why);
                }

                var members = group.Expand(directory, at).Where(m => m.Code != sender.Code).ToList();
                if (members.Count == 0)
                {
                    return new(ReasonCode.UnknownRecipient, $"Group '{group.Address}' names no agency in directory version {directory.Version}.");
                }

                addresses.Add(group.Address);
                foreach (var member in members)
                {
                    if (Add(member, group.Address) is { } refused)
                    {
                        return refused;
                    }
                }

                continue;
            }

            if (!AgencyCode.TryParse(to.OrganId, out var code, out var error))
            {
                return new(ReasonCode.InvalidAgencyCode, $"To/OrganId '{Untrusted.Quote(to.OrganId)}': {error}");
            }

            var (resolved, reason, detail) = directory.Resolve(code.Value, at);
            if (resolved is null)
            {
                return new(reason, $"Recipient {detail}");
            }

            addresses.Add(code.Value);
            if (Add(resolved.Agency, resolved.ResolvedFrom) is { } refusal)
            {
                return refusal;
            }
        }

        if (recipients.Count > options.Value.MaxRecipients)
        {
            return new(ReasonCode.TooLarge, $"The package's To list names {recipients.Count} agencies; the limit is {options.Value.MaxRecipients}.");
        }

        if (claimedAddresses is not null && !claimedAddresses.Select(RecipientAddress.NormaliseOrKeep).ToHashSet(StringComparer.Ordinal).SetEquals(addresses))
        {
            return new(ReasonCode.RecipientMismatch, "The bus message's recipients differ from the signed package's To list.");
        }

        return new(ReasonCode.Ok, string.Empty, Recipients: recipients);

        SubmissionVerdict? Add(Agency recipient, string? resolvedFrom)
        {
            var (allowed, why) = rules.Check(sender, recipient);
            if (allowed != ReasonCode.Ok)
            {
                return new(allowed, why);
            }

            if (seen.Add(recipient.Code))
            {
                recipients.Add(new RoutedRecipient(recipient.Code, resolvedFrom));
            }

            return null;
        }
    }
}
