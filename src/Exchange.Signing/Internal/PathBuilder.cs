using System.Security.Cryptography.X509Certificates;

namespace Exchange.Signing.Internal;

/// <summary>
/// Builds a certification path from a signer certificate up to a trust anchor (RFC 5280 §6.1 basic checks: names,
/// signatures, CA flag, keyCertSign, pathLenConstraint), over the certificates a CMS carries and the store's
/// intermediates. The search is bounded because the CMS certificates are the sender's choice: certificates with one
/// subject name that issue each other in loops make an unbounded depth-first search exponential (RFC 4158 §2.4.2,
/// §5 describe the loops and the need to prune). So:
/// candidate issuers are looked up by subject name and narrowed by key identifier (AKI/SKI, RFC 5280 §4.2.1.1);
/// each (certificate, issuer) signature is checked at most once per search (memo);
/// a path is at most <see cref="TrustOptions.MaxPathLength"/> certificates;
/// and a search may examine at most <see cref="TrustOptions.MaxPathCandidates"/> candidate issuers and check at
/// most <see cref="TrustOptions.MaxPathSignatureChecks"/> signatures, after which it stops and the chain is refused.
/// One instance per search; not thread-safe.
/// </summary>
internal sealed class PathBuilder
{
    private readonly TrustStore.Snapshot _store;
    private readonly TrustOptions _limits;
    private readonly Dictionary<string, List<CertificateInfo>> _bySubject = new(StringComparer.OrdinalIgnoreCase);
    private readonly HashSet<string> _anchors = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Subject, string Issuer), bool> _signatureChecked = [];
    private readonly List<string> _failure = [];
    private int _candidates;

    public PathBuilder(TrustStore.Snapshot store, IEnumerable<CertificateInfo> supplied, TrustOptions limits)
    {
        _store = store;
        _limits = limits;
        foreach (var anchor in store.Anchors)
        {
            _anchors.Add(anchor.Sha256);
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var candidate in supplied.Concat(store.Intermediates))
        {
            // The same certificate carried twice (or both carried and configured) is one candidate.
            if (!seen.Add(candidate.Sha256))
            {
                continue;
            }

            if (!_bySubject.TryGetValue(candidate.Subject, out var list))
            {
                _bySubject[candidate.Subject] = list = [];
            }

            list.Add(candidate);
        }
    }

    /// <summary>Set when the search stopped on a limit rather than running out of candidates.</summary>
    public string? Cut { get; private set; }

    public int SignatureChecks { get; private set; }

    /// <summary>Why the search failed: the limit that cut it, or the distinct reasons candidates were dropped.</summary>
    public string Failure(CertificateInfo signer) =>
        Cut ?? (_failure.Count > 0 ? string.Join("; ", _failure.Distinct()) : $"no issuer certificate for '{signer.Issuer}' was found in the CMS or the trust store");

    /// <summary>The path, signer first and anchor last, or null.</summary>
    public List<CertificateInfo>? Build(CertificateInfo signer)
    {
        var path = new List<CertificateInfo> { signer };
        return Extend(path) ? path : null;
    }

    private bool Extend(List<CertificateInfo> path)
    {
        var current = path[^1];
        if (current.UnknownCriticalExtension is { } critical && !_anchors.Contains(current.Sha256))
        {
            _failure.Add($"certificate '{current.Subject}' has an unsupported critical extension {critical}");
            return false;
        }

        if (_anchors.Contains(current.Sha256))
        {
            return true;
        }

        if (path.Count >= _limits.MaxPathLength)
        {
            _failure.Add("the chain is too long");
            return false;
        }

        foreach (var anchor in _store.Anchors)
        {
            if (current.NamesIssuer(anchor) && IssuedBy(current, anchor, path.Count, isAnchor: true))
            {
                path.Add(anchor);
                return true;
            }

            if (Cut is not null)
            {
                return false;
            }
        }

        if (!_bySubject.TryGetValue(current.Issuer, out var candidates))
        {
            return false;
        }

        foreach (var candidate in candidates)
        {
            if (candidate.Sha256 == current.Sha256 || !current.NamesIssuer(candidate) || path.Any(p => p.Sha256 == candidate.Sha256))
            {
                continue;
            }

            if (++_candidates > _limits.MaxPathCandidates)
            {
                Cut ??= $"the path search was cut after {_limits.MaxPathCandidates} candidate issuers (the CMS carries certificates that issue each other in loops, or too many)";
                return false;
            }

            if (!IssuedBy(current, candidate, path.Count, isAnchor: false))
            {
                if (Cut is not null)
                {
                    return false;
                }

                continue;
            }

            path.Add(candidate);
            if (Extend(path))
            {
                return true;
            }

            path.RemoveAt(path.Count - 1);
            if (Cut is not null)
            {
                return false;
            }
        }

        return false;
    }

    private bool IssuedBy(CertificateInfo subject, CertificateInfo issuer, int caBelow, bool isAnchor)
    {
        // caBelow counts the certificates already in the path; the intermediates among them are caBelow - 1.
        if (!isAnchor && !issuer.IsCa)
        {
            _failure.Add($"'{issuer.Subject}' is not a CA certificate (basicConstraints)");
            return false;
        }

        if (issuer.KeyUsage is { } usage && (usage & X509KeyUsageFlags.KeyCertSign) == 0)
        {
            _failure.Add($"'{issuer.Subject}' may not sign certificates (keyUsage)");
            return false;
        }

        if (issuer.PathLength is { } limit && caBelow - 1 > limit)
        {
            _failure.Add($"'{issuer.Subject}' allows at most {limit} intermediate CA certificate(s) below it (pathLenConstraint)");
            return false;
        }

        var pair = (subject.Sha256, issuer.Sha256);
        if (!_signatureChecked.TryGetValue(pair, out var verified))
        {
            if (SignatureChecks >= _limits.MaxPathSignatureChecks)
            {
                Cut ??= $"the path search was cut after {_limits.MaxPathSignatureChecks} signature checks (the CMS carries certificates that issue each other in loops, or too many)";
                return false;
            }

            SignatureChecks++;
            verified = VerifySignature(subject, issuer);
            _signatureChecked[pair] = verified;
        }

        if (!verified)
        {
            _failure.Add($"the signature on '{subject.Subject}' does not verify with the key of '{issuer.Subject}'");
        }

        return verified;
    }

    private bool VerifySignature(CertificateInfo subject, CertificateInfo issuer)
    {
        var scheme = Algorithms.Resolve(subject.SignatureAlgorithm, null, out var error);
        if (scheme is null)
        {
            _failure.Add($"certificate '{subject.Subject}': {error}");
            return false;
        }

        var hash = Algorithms.Hash(scheme.Hash, subject.Tbs.Span);
        return Algorithms.VerifyHash(issuer.Key, scheme, hash, subject.SignatureValue);
    }
}
