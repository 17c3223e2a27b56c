using System.Security.Cryptography;
using System.Text;
using Exchange.Core;

namespace Exchange.Core.Tests;

/// <summary>The envelope heads commitment (<see cref="EnvelopeHeads"/>): the three ways to reach a root agree, and a
/// proof leads to the root only for the entries it was made for.</summary>
[TestFixture]
public sealed class EnvelopeHeadsTests
{
    private static readonly string HashA = new('a', 64);
    private static readonly string HashB = new('b', 64);

    private static List<EnvelopeHead> Heads(int count) =>
        Enumerable.Range(0, count).Select(i => new EnvelopeHead(Guid.CreateVersion7(), Convert.ToHexStringLower(SHA256.HashData([(byte)i, (byte)(i >> 8)])))).ToList();

    private static Dictionary<int, byte[]> Buckets(IEnumerable<EnvelopeHead> heads) =>
        heads.GroupBy(h => EnvelopeHeads.BucketOf(h.EnvelopeId)).ToDictionary(g => g.Key, g => EnvelopeHeads.BucketHash(g));

    [Test]
    public void The_bucket_is_the_first_two_bytes_of_sha256_of_the_id_text()
    {
        var id = Guid.Parse("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b");
        var digest = SHA256.HashData(Encoding.ASCII.GetBytes("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"));

        Assert.That(EnvelopeHeads.BucketOf(id), Is.EqualTo((digest[0] << 8) | digest[1]));
    }

    [Test]
    public void A_bucket_hash_is_sha256_of_0x00_and_each_id_and_hash_in_id_order()
    {
        var first = Guid.Parse("00000000-0000-0000-0000-000000000001");
        var second = Guid.Parse("ff000000-0000-0000-0000-000000000000");
        var expected = SHA256.HashData([0x00, .. first.ToByteArray(bigEndian: true), .. Convert.FromHexString(HashA), .. second.ToByteArray(bigEndian: true), .. Convert.FromHexString(HashB)]);

        Assert.That(EnvelopeHeads.BucketHash([new EnvelopeHead(second, HashB), new EnvelopeHead(first, HashA)]), Is.EqualTo(expected));
        Assert.Throws<ArgumentException>(() => EnvelopeHeads.BucketHash([new EnvelopeHead(first, HashA), new EnvelopeHead(first, HashB)]));
    }

    [Test]
    public void The_root_of_nothing_is_the_empty_tree_and_of_one_bucket_its_path()
    {
        var empty = SHA256.HashData([0x00]);
        var node = empty;
        for (var i = 0; i < EnvelopeHeads.Depth; i++)
        {
            node = SHA256.HashData([0x01, .. node, .. node]);
        }

        Assert.That(EnvelopeHeads.Root(new Dictionary<int, byte[]>()), Is.EqualTo(Convert.ToHexStringLower(node)));
        Assert.That(new EnvelopeHeadTree().Root, Is.EqualTo(Convert.ToHexStringLower(node)));
    }

    [Test]
    public void Root_tree_and_proofs_agree_and_a_changed_entry_breaks_the_proof()
    {
        var heads = Heads(3000);
        var buckets = Buckets(heads);
        var root = EnvelopeHeads.Root(buckets);
        var tree = new EnvelopeHeadTree();
        foreach (var (bucket, hash) in buckets)
        {
            tree.SetBucket(bucket, hash);
        }

        Assert.That(tree.Root, Is.EqualTo(root));
        foreach (var head in heads.Take(50))
        {
            var bucket = EnvelopeHeads.BucketOf(head.EnvelopeId);
            var entries = heads.Where(h => EnvelopeHeads.BucketOf(h.EnvelopeId) == bucket).ToList();
            var proof = new EnvelopeHeadProof(head.EnvelopeId, 1, bucket, entries, EnvelopeHeads.Path(buckets, bucket));
            Assert.That(proof.Root(), Is.EqualTo(root));

            var older = proof with { Entries = [.. entries.Select(e => e.EnvelopeId == head.EnvelopeId ? e with { RecordHash = HashA } : e)] };
            Assert.That(older.Root(), Is.Not.EqualTo(root));
            var shortened = proof with { Entries = [.. entries.Where(e => e.EnvelopeId != head.EnvelopeId)] };
            Assert.That(shortened.Root(), Is.Not.EqualTo(root));
            var moved = proof with { Bucket = bucket ^ 1 };
            Assert.That(moved.Root(), Is.Not.EqualTo(root));
        }
    }
}
