using System.Security.Cryptography;
using Exchange.Core;

namespace Exchange.Signing.Evidence;

/// <summary>The verdict on one checkpoint signature.</summary>
/// <param name="Problem">Null when the checkpoint is validly signed by an acceptable sealing certificate.</param>
/// <param name="Signer">The valid signer, when there is one.</param>
public sealed record CheckpointCheck(EvidenceProblem? Problem, SignerReport? Signer, IReadOnlyList<string> Warnings)
{
    public bool Valid => Problem is null;
}

/// <summary>
/// Checks a checkpoint's detached CMS (RFC 5652) over its canonical bytes: the signature chains to a trust anchor
/// (archive policy: validity at signing time), the signer is the certificate stored with the checkpoint and, when
/// sealing certificates are pinned, one of them. Every certificate of a CA would otherwise do: an agency's
/// organisation certificate from the same CA chains just as well, so an auditor should pin the hub's.
/// </summary>
public sealed class CheckpointVerifier
{
    private readonly SignatureVerifier _signatures;
    private readonly HashSet<string> _pinned;

    /// <param name="pinnedSealCertificateSha256">Lowercase hex SHA-256 of acceptable sealing certificates (DER);
    /// empty: any certificate that chains to the anchor, reported as a warning.</param>
    public CheckpointVerifier(SignatureVerifier signatures, IEnumerable<string>? pinnedSealCertificateSha256 = null)
    {
        ArgumentNullException.ThrowIfNull(signatures);
        _signatures = signatures;
        _pinned = new HashSet<string>(pinnedSealCertificateSha256 ?? [], StringComparer.OrdinalIgnoreCase);
    }

    public bool Pinned => _pinned.Count > 0;

    public CheckpointCheck Verify(SignedCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var index = checkpoint.Checkpoint.ChainIndex;
        byte[] canonical;
        try
        {
            canonical = EvidenceChain.Canonical(checkpoint.Checkpoint);
        }
        catch (ArgumentException e)
        {
            return new(new EvidenceProblem(EvidenceProblemKind.CheckpointSignature, $"checkpoint {index} cannot be put in canonical form: {e.Message}", index), null, []);
        }

        var result = _signatures.Verify(canonical, checkpoint.Signature, SignaturePolicy.Archive);
        if (!result.Valid)
        {
            return new(new EvidenceProblem(EvidenceProblemKind.CheckpointSignature,
                $"the signature of checkpoint {index} (sealed at {EvidenceChain.FormatTime(checkpoint.Checkpoint.SealedAt)}) does not verify: {result.Reason.ToCode()}: {result.Detail}", index), null, []);
        }

        var stored = Convert.ToHexStringLower(SHA256.HashData(checkpoint.Certificate));
        var signer = result.ValidSigners.FirstOrDefault(s => s.CertificateSha256 == stored);
        if (signer is null)
        {
            var actual = result.ValidSigners.First();
            return new(new EvidenceProblem(EvidenceProblemKind.CheckpointSigner,
                $"checkpoint {index} is signed by '{actual.Subject}' (sha256 {actual.CertificateSha256}), not by the certificate stored with it (sha256 {stored})", index), actual, []);
        }

        if (_pinned.Count > 0 && !_pinned.Contains(signer.CertificateSha256))
        {
            return new(new EvidenceProblem(EvidenceProblemKind.CheckpointSigner,
                $"checkpoint {index} is signed by '{signer.Subject}' (sha256 {signer.CertificateSha256}), which is not a pinned hub sealing certificate", index), signer, []);
        }

        return new(null, signer, signer.Warnings);
    }
}
