using System.Security.Cryptography.X509Certificates;
using Exchange.Signing.Internal;

namespace Exchange.Signing;

/// <summary>
/// Trust anchors, extra CA certificates and CRLs. Readers work on an immutable snapshot, writers swap in a new one,
/// so it is safe to share between threads; every change bumps <see cref="Generation"/>, which is how
/// <see cref="SignatureVerifier"/> knows its cached chain and revocation verdicts are stale.
/// </summary>
public sealed class TrustStore
{
    private readonly object _gate = new();
    private readonly CrlFetcher? _fetcher;
    private readonly OcspClient? _ocsp;
    private volatile Snapshot _snapshot;

    private TrustStore(TrustOptions options, Snapshot snapshot)
    {
        Options = options;
        _snapshot = snapshot;
        if (options.FetchCrlDistributionPoints)
        {
            _fetcher = new CrlFetcher(options);
        }

        if (!string.IsNullOrWhiteSpace(options.OcspResponderUrl) || options.OcspFromCertificates)
        {
            _ocsp = new OcspClient(options);
        }
    }

    public TrustOptions Options { get; }

    public IReadOnlyList<X509Certificate2> Anchors => _snapshot.AnchorCertificates;

    public IReadOnlyList<X509Certificate2> Intermediates => _snapshot.Intermediates.Select(i => i.Certificate).ToList();

    /// <summary>Issuer, thisUpdate and nextUpdate of every loaded CRL.</summary>
    public IReadOnlyList<(string Issuer, DateTimeOffset ThisUpdate, DateTimeOffset? NextUpdate, int RevokedCount)> Crls =>
        _snapshot.Crls.Select(c => (c.Issuer, c.ThisUpdate, c.NextUpdate, c.Revoked.Count)).ToList();

    /// <summary>Changes with every added anchor, intermediate or CRL and every reload.</summary>
    public long Generation => _snapshot.Generation;

    internal Snapshot Current => _snapshot;

    /// <summary>Reads the files named by <paramref name="options"/>. A missing or unreadable file is an error.</summary>
    public static TrustStore Load(TrustOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new TrustStore(options, ReadFiles(options, 1));
    }

    /// <summary>A store from certificates and CRLs in memory (tests, tools).</summary>
    public static TrustStore FromCertificates(
        IEnumerable<X509Certificate2> anchors,
        IEnumerable<X509Certificate2>? intermediates = null,
        IEnumerable<byte[]>? crls = null,
        TrustOptions? options = null)
    {
        var snapshot = new Snapshot(
            anchors.Select(a => CertificateInfo.Parse(a.RawData)).ToList(),
            (intermediates ?? []).Select(i => CertificateInfo.Parse(i.RawData)).ToList(),
            (crls ?? []).SelectMany(RevocationList.Load).ToList(),
            1);
        return new TrustStore(options ?? new TrustOptions(), snapshot);
    }

    /// <summary>Adds a CRL (PEM or DER). It takes effect at once, including for verdicts already cached.</summary>
    public void AddCrl(byte[] derOrPem)
    {
        ArgumentNullException.ThrowIfNull(derOrPem);
        var added = RevocationList.Load(derOrPem);
        if (added.Count == 0)
        {
            throw new ArgumentException("No CRL found in the given bytes.", nameof(derOrPem));
        }

        Update(s => s with { Crls = Merge(s.Crls, added) });
    }

    public void AddAnchor(X509Certificate2 anchor)
    {
        ArgumentNullException.ThrowIfNull(anchor);
        var info = CertificateInfo.Parse(anchor.RawData);
        Update(s => s with { Anchors = [.. s.Anchors, info] });
    }

    public void AddIntermediate(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var info = CertificateInfo.Parse(certificate.RawData);
        Update(s => s with { Intermediates = [.. s.Intermediates, info] });
    }

    /// <summary>Re-reads the files named by <see cref="Options"/> (e.g. after a CRL file was replaced). CRLs added
    /// with <see cref="AddCrl"/> that are newer than the files' are kept.</summary>
    public void Reload()
    {
        lock (_gate)
        {
            var fresh = ReadFiles(Options, _snapshot.Generation + 1);
            _snapshot = fresh with { Crls = Merge(fresh.Crls, _snapshot.Crls) };
        }
    }

    /// <summary>Fetches a CRL for <paramref name="certificate"/> from its distribution points when configured to;
    /// returns true when a CRL was added.</summary>
    internal bool TryFetchCrl(CertificateInfo certificate, CertificateInfo issuer, DateTimeOffset now, out string detail)
    {
        detail = string.Empty;
        if (_fetcher is null)
        {
            return false;
        }

        var crl = _fetcher.Fetch(certificate, issuer, now, out detail);
        if (crl is null)
        {
            return false;
        }

        Update(s => s with { Crls = Merge(s.Crls, [crl]) });
        return true;
    }

    /// <summary>Asks the configured OCSP responder(s), when there are any; null when there is no definite answer.</summary>
    internal RevocationStatus? CheckOcsp(CertificateInfo certificate, CertificateInfo issuer, DateTimeOffset now, out DateTimeOffset until, out string detail)
    {
        until = now;
        detail = string.Empty;
        return _ocsp?.Check(certificate, issuer, now, out until, out detail);
    }

    private void Update(Func<Snapshot, Snapshot> change)
    {
        lock (_gate)
        {
            var next = change(_snapshot);
            _snapshot = next with { Generation = _snapshot.Generation + 1 };
        }
    }

    /// <summary>Keeps, per issuer, every CRL not superseded by a newer one from the same issuer name and key.</summary>
    private static List<RevocationList> Merge(IReadOnlyList<RevocationList> existing, IReadOnlyList<RevocationList> added)
    {
        // Preference within an issuer: newest thisUpdate, then highest crlNumber (two CRLs issued within one second
        // carry the same thisUpdate), then the one added last.
        var all = added.Concat(existing).DistinctBy(c => c.Sha256).ToList();
        return all
            .GroupBy(c => (c.Issuer, Aki: c.AuthorityKeyId is null ? string.Empty : Convert.ToHexString(c.AuthorityKeyId)))
            // Keep two per issuer: a newer CRL whose signature later turns out bad must not hide the good one.
            .SelectMany(g => g.OrderByDescending(c => c.ThisUpdate).ThenByDescending(c => c.Number ?? -1).Take(2))
            .ToList();
    }

    private static Snapshot ReadFiles(TrustOptions options, long generation)
    {
        var anchors = options.TrustAnchorFiles.SelectMany(f => ReadCertificates(f, "trust anchor")).ToList();
        var intermediates = options.IntermediateFiles.SelectMany(f => ReadCertificates(f, "intermediate")).ToList();
        var crls = new List<RevocationList>();
        foreach (var file in options.CrlFiles)
        {
            try
            {
                crls = Merge(crls, RevocationList.Load(File.ReadAllBytes(file)));
            }
            catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or System.Formats.Asn1.AsnContentException or FormatException)
            {
                throw new InvalidDataException($"CRL file '{file}' could not be read: {e.Message}", e);
            }
        }

        return new Snapshot(anchors, intermediates, crls, generation);
    }

    internal static List<CertificateInfo> ReadCertificates(string file, string what)
    {
        byte[] data;
        try
        {
            data = File.ReadAllBytes(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FileNotFoundException($"The {what} file '{file}' could not be read: {e.Message}", file, e);
        }

        try
        {
            var certs = Der.PemOrDer(data, "CERTIFICATE").Select(CertificateInfo.Parse).ToList();
            return certs.Count > 0 ? certs : throw new InvalidDataException($"The {what} file '{file}' holds no certificate.");
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or System.Formats.Asn1.AsnContentException or FormatException)
        {
            throw new InvalidDataException($"The {what} file '{file}' is not a PEM or DER certificate: {e.Message}", e);
        }
    }

    internal sealed record Snapshot(
        IReadOnlyList<CertificateInfo> Anchors,
        IReadOnlyList<CertificateInfo> Intermediates,
        IReadOnlyList<RevocationList> Crls,
        long Generation)
    {
        private IReadOnlyList<X509Certificate2>? _anchorCertificates;

        public IReadOnlyList<X509Certificate2> AnchorCertificates =>
            _anchorCertificates ??= Anchors.Select(a => a.Certificate).ToList();

        /// <summary>The CRLs of <paramref name="issuer"/>, preferred first.</summary>
        public IEnumerable<RevocationList> CrlsFor(CertificateInfo issuer) => Crls.Where(c => c.IsFor(issuer));
    }
}
