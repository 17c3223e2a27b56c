using System.Text;
using Exchange.Core;

namespace Exchange.Audit.Tests;

/// <summary>
/// The canonical byte form of evidence records and checkpoints (RFC 8785, docs/evidence.md). The expected bytes and
/// hashes below were written by hand from the documented form and hashed with coreutils
/// (<c>printf '%s' '…' | sha256sum</c>), not produced by the code under test.
/// </summary>
[TestFixture]
public sealed class CanonicalFormTests
{
    private static readonly EvidenceRecord Canned = new(
        EvidenceId: Guid.Parse("0195f3a2-7c4e-7b10-8a3d-5e6f70819203"),
        Kind: nameof(EvidenceKind.SubmissionAcceptance),
        EnvelopeId: Guid.Parse("0195f3a2-7c40-7000-9000-000000000001"),
        RecipientCode: null,
        Reason: "ok",
        Detail: "Signed by CN=Sở Nội vụ; 1 signer(s) reported. Directory version 3.",
        PackageSha256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        Issuer: "exchange-hub",
        // 15:15 in Hà Nội (UTC+7) with 100 ns precision: the canonical form is UTC, truncated to microseconds.
        IssuedAt: new DateTimeOffset(2027, 3, 1, 15, 15, 0, TimeSpan.FromHours(7)).AddTicks(1_234_567),
        ChainIndex: 42,
        PrevHash: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");

    private const string CannedCanonical =
        """{"chain_index":42,"detail":"Signed by CN=Sở Nội vụ; 1 signer(s) reported. Directory version 3.","envelope_id":"0195f3a2-7c40-7000-9000-000000000001","evidence_id":"0195f3a2-7c4e-7b10-8a3d-5e6f70819203","format":"exchange-evidence-record/1","issued_at":"2027-03-01T08:15:00.123456Z","issuer":"exchange-hub","kind":"SubmissionAcceptance","package_sha256":"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08","prev_hash":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","reason":"ok","recipient":null}""";

    private const string CannedHash = "038d56827a26f8604501681027eba4bd9838d7d96100fffa04befcbfb1c521ec";

    [Test]
    public void Record_canonical_bytes_are_sorted_compact_utf8_json_in_utc_microseconds()
    {
        var bytes = EvidenceChain.Canonical(Canned);

        Assert.That(Encoding.UTF8.GetString(bytes), Is.EqualTo(CannedCanonical));
        Assert.That(bytes, Is.EqualTo(Encoding.UTF8.GetBytes(CannedCanonical)));
    }

    [Test]
    public void Record_hash_is_sha256_of_the_canonical_bytes()
    {
        Assert.That(EvidenceChain.Hash(Canned), Is.EqualTo(CannedHash));
    }

    [Test]
    public void Checkpoint_canonical_bytes_hold_index_hash_and_time()
    {
        var checkpoint = new EvidenceCheckpoint(42, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            new DateTimeOffset(2027, 3, 1, 8, 15, 10, TimeSpan.Zero).AddTicks(10));

        Assert.That(Encoding.UTF8.GetString(EvidenceChain.Canonical(checkpoint)), Is.EqualTo(
            """{"chain_index":42,"format":"exchange-evidence-checkpoint/1","record_hash":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","sealed_at":"2027-03-01T08:15:10.000001Z"}"""));
        Assert.That(EvidenceChain.Hash(checkpoint), Is.EqualTo("5eec1706d077b9b18e9f6c0f623ec230a03b0645963a1103610415aa7e94437d"));
    }

    [Test]
    public void Checkpoint_format_2_adds_the_envelope_heads_root_and_reads_back()
    {
        var checkpoint = new EvidenceCheckpoint(42, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            new DateTimeOffset(2027, 3, 1, 8, 15, 10, TimeSpan.Zero).AddTicks(10), new string('c', 64));

        var bytes = EvidenceChain.Canonical(checkpoint);

        Assert.That(Encoding.UTF8.GetString(bytes), Is.EqualTo(
            $$"""{"chain_index":42,"envelope_heads_root":"{{new string('c', 64)}}","format":"exchange-evidence-checkpoint/2","record_hash":"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855","sealed_at":"2027-03-01T08:15:10.000001Z"}"""));
        Assert.That(EvidenceChain.TryParseCheckpoint(bytes, out var parsed, out var error), Is.True, error);
        Assert.That(parsed, Is.EqualTo(checkpoint));

        // A format 1 name with the root, or format 2 without it, is not canonical.
        var mislabelled = Encoding.UTF8.GetString(bytes).Replace("checkpoint/2", "checkpoint/1", StringComparison.Ordinal);
        Assert.That(EvidenceChain.TryParseCheckpoint(Encoding.UTF8.GetBytes(mislabelled), out _, out _), Is.False);
        var format1 = Encoding.UTF8.GetString(EvidenceChain.Canonical(checkpoint with { EnvelopeHeadsRoot = null })).Replace("checkpoint/1", "checkpoint/2", StringComparison.Ordinal);
        Assert.That(EvidenceChain.TryParseCheckpoint(Encoding.UTF8.GetBytes(format1), out _, out _), Is.False);
    }

    [Test]
    public void Strings_escape_only_what_json_requires()
    {
        // RFC 8785 §3.2.2.2: '"', '\' and U+0000..U+001F are escaped (short forms where JSON has them); DEL,
        // U+2028 and Vietnamese letters are written as UTF-8.
        var record = Canned with { Detail = "tab\there \"q\" back\\ nl\n cr\r bell\u0007 del\u007f ls\u2028 Ậ" };

        var text = Encoding.UTF8.GetString(EvidenceChain.Canonical(record));

        Assert.That(text, Does.Contain("\"detail\":\"tab\\there \\\"q\\\" back\\\\ nl\\n cr\\r bell\\u0007 del\u007f ls\u2028 Ậ\""));
    }

    [Test]
    public void Absent_recipient_and_digest_are_json_null()
    {
        var text = Encoding.UTF8.GetString(EvidenceChain.Canonical(Canned with { PackageSha256 = null }));

        Assert.That(text, Does.Contain("\"package_sha256\":null"));
        Assert.That(text, Does.EndWith("\"recipient\":null}"));
    }

    [Test]
    public void Every_field_changes_the_hash()
    {
        var variants = new[]
        {
            Canned with { EvidenceId = Guid.NewGuid() },
            Canned with { Kind = nameof(EvidenceKind.SubmissionRejection) },
            Canned with { EnvelopeId = Guid.NewGuid() },
            Canned with { RecipientCode = "000.01.21.H29" },
            Canned with { Reason = "signature-invalid" },
            Canned with { Detail = Canned.Detail + "." },
            Canned with { PackageSha256 = null },
            Canned with { Issuer = "other-hub" },
            Canned with { IssuedAt = Canned.IssuedAt.AddTicks(10) },
            Canned with { ChainIndex = 43 },
            Canned with { PrevHash = new string('0', 64) },
        };

        Assert.That(variants.Select(EvidenceChain.Hash).Append(CannedHash).Distinct().Count(), Is.EqualTo(variants.Length + 1));
    }

    [Test]
    public void Canonical_bytes_read_back_to_the_same_record()
    {
        var ok = EvidenceChain.TryParseRecord(Encoding.UTF8.GetBytes(CannedCanonical), out var parsed, out var error);

        Assert.That(ok, Is.True, error);
        Assert.That(EvidenceChain.Hash(parsed!), Is.EqualTo(CannedHash));
        Assert.That(parsed!.IssuedAt, Is.EqualTo(EvidenceChain.Normalize(Canned.IssuedAt)));
    }

    private static IEnumerable<TestCaseData> NonCanonical()
    {
        static TestCaseData Case(string name, Func<string, string> change) => new TestCaseData(change).SetName($"Refuses_{name}");

        yield return Case("whitespace", t => t.Replace("\"chain_index\":42", "\"chain_index\": 42", StringComparison.Ordinal));
        yield return Case("unsorted_members", t => "{\"reason\":\"ok\"," + t[1..].Replace(",\"reason\":\"ok\"", string.Empty, StringComparison.Ordinal));
        yield return Case("uppercase_guid", t => t.Replace("0195f3a2-7c4e-7b10-8a3d-5e6f70819203", "0195F3A2-7C4E-7B10-8A3D-5E6F70819203", StringComparison.Ordinal));
        yield return Case("time_with_offset", t => t.Replace("08:15:00.123456Z", "08:15:00.123456+00:00", StringComparison.Ordinal));
        yield return Case("time_with_three_digits", t => t.Replace("08:15:00.123456Z", "08:15:00.123Z", StringComparison.Ordinal));
        yield return Case("repeated_member", t => t.Replace("\"issuer\":\"exchange-hub\"", "\"issuer\":\"exchange-hub\",\"issuer\":\"exchange-hub\"", StringComparison.Ordinal));
        yield return Case("unknown_member", t => t.Replace("\"recipient\":null", "\"recipient\":null,\"zzz\":1", StringComparison.Ordinal));
        yield return Case("missing_member", t => t.Replace(",\"recipient\":null", string.Empty, StringComparison.Ordinal));
        yield return Case("escaped_non_ascii", t => t.Replace("Sở", "S\\u1edf", StringComparison.Ordinal));
        yield return Case("escaped_slash", t => t.Replace("exchange-hub", "exchange\\/hub", StringComparison.Ordinal));
        yield return Case("index_as_string", t => t.Replace("\"chain_index\":42", "\"chain_index\":\"42\"", StringComparison.Ordinal));
        yield return Case("index_as_float", t => t.Replace("\"chain_index\":42", "\"chain_index\":42.0", StringComparison.Ordinal));
        yield return Case("byte_order_mark", t => "\uFEFF" + t);
        yield return Case("trailing_newline", t => t + "\n");
        yield return Case("other_format", t => t.Replace("exchange-evidence-record/1", "exchange-evidence-record/2", StringComparison.Ordinal));
    }

    [TestCaseSource(nameof(NonCanonical))]
    public void Refuses_anything_but_the_canonical_form(Func<string, string> change)
    {
        var text = change(CannedCanonical);
        Assert.That(text, Is.Not.EqualTo(CannedCanonical), "the test must change something");

        var ok = EvidenceChain.TryParseRecord(Encoding.UTF8.GetBytes(text), out _, out var error);

        Assert.That(ok, Is.False);
        Assert.That(error, Is.Not.Empty);
    }

    [Test]
    public void The_first_record_links_to_the_genesis_hash()
    {
        var sealedRecord = EvidenceChain.Seal(Canned, 1, EvidenceChain.GenesisHash);

        Assert.That(sealedRecord.Record.PrevHash, Is.EqualTo(new string('0', 64)));
        Assert.That(sealedRecord.Record.ChainIndex, Is.EqualTo(1));
        Assert.That(sealedRecord.RecordHash, Is.EqualTo(EvidenceChain.Hash(sealedRecord.Record)));
    }

    [Test]
    public void Refuses_to_canonicalise_an_index_json_cannot_carry()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => EvidenceChain.Canonical(Canned with { ChainIndex = 1L << 53 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => EvidenceChain.Canonical(Canned with { ChainIndex = 0 }));
    }
}
