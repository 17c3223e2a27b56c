namespace Exchange.Audit.Compliance;

/// <summary>
/// One signer of a document as the compliance rule needs it: whether the hub found its signature valid, whether
/// the directory (the version the envelope was routed under) binds its certificate to the sender, and whether it
/// binds it to any agency at all.
/// </summary>
public sealed record SignerFact(bool Valid, bool BoundToSender, bool BoundToAnyAgency);

/// <summary>What a signer is, for people reading a document's history.</summary>
public enum SignerKind
{
    /// <summary>The signature did not verify (bad signature, untrusted, revoked, …).</summary>
    Invalid,

    /// <summary>A valid signature by a certificate the directory binds to the sending agency.</summary>
    Organisation,

    /// <summary>A valid signature by a certificate the directory binds to some other agency.</summary>
    OtherAgency,

    /// <summary>A valid signature by a certificate the directory binds to no agency: a person's certificate.</summary>
    Personal,
}

/// <summary>
/// Nghị định 30/2020/NĐ-CP (Điều 13, and Phụ lục I on the form of electronic documents) wants an outgoing
/// electronic document to carry the competent signer's own digital signature and the issuing organisation's.
/// The hub already requires the organisation's (a valid signer bound to the sender, or it refuses the
/// envelope); this rule adds the person's: at least one other valid signer whose certificate the directory
/// binds to no agency. A document signed only by its gateway with the organisation certificate (a transport
/// signature) does not carry the required signatures.
/// </summary>
public static class SignatureRule
{
    public static SignerKind Classify(SignerFact signer)
    {
        ArgumentNullException.ThrowIfNull(signer);
        if (!signer.Valid)
        {
            return SignerKind.Invalid;
        }

        if (signer.BoundToSender)
        {
            return SignerKind.Organisation;
        }

        return signer.BoundToAnyAgency ? SignerKind.OtherAgency : SignerKind.Personal;
    }

    public static bool HasOrganisationSignature(IEnumerable<SignerFact> signers) =>
        signers.Any(s => Classify(s) == SignerKind.Organisation);

    public static bool HasPersonalSignature(IEnumerable<SignerFact> signers) =>
        signers.Any(s => Classify(s) == SignerKind.Personal);

    /// <summary>Both signatures: the organisation's and a person's.</summary>
    public static bool CarriesRequiredSignatures(IReadOnlyCollection<SignerFact> signers)
    {
        ArgumentNullException.ThrowIfNull(signers);
        return HasOrganisationSignature(signers) && HasPersonalSignature(signers);
    }
}
