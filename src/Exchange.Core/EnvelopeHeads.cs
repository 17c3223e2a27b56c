using System.Security.Cryptography;
using System.Text;

namespace Exchange.Core;

/// <summary>
/// What a checkpoint of format 2 commits to besides the chain's head: every envelope's newest record as of the
/// checkpoint (its "head"), so that an evidence bundle can prove it holds all of an envelope's records up to a
/// checkpoint signed long after the last of them (issue #16, item 1) with a few hundred bytes, not the whole chain
/// in between. Together with each record's envelope_prev_hash (record format 2), a bundle whose envelope chain ends
/// at the head the checkpoint names holds every record of the envelope sealed up to that checkpoint.
/// <para>
/// The commitment is a fixed binary Merkle tree over <see cref="Buckets"/> buckets. An envelope falls in the bucket
/// named by the first two bytes of SHA-256 of its id in its lowercase "D" text form (time-ordered ids spread evenly).
/// A bucket's hash is SHA-256(0x00 ‖ for each of its envelopes in id order: the id's 16 bytes in RFC 4122 order ‖
/// the head's record_hash as 32 bytes); an empty bucket's is SHA-256(0x00). A node is SHA-256(0x01 ‖ left ‖ right),
/// and the root, in lowercase hex, is the checkpoint's <c>envelope_heads_root</c>. A proof for one envelope is its
/// bucket's entries and the 16 sibling hashes from the bucket up (see docs/evidence.md, "Envelope heads"). The
/// 0x00/0x01 prefixes keep a bucket from passing for a node (as in RFC 6962 §2.1).
/// </para>
/// </summary>
public static class EnvelopeHeads
{
    public const int Depth = 16;
    public const int Buckets = 1 << Depth;

    /// <summary>The 32-byte hashes of an empty subtree at each height (0: an empty bucket).</summary>
    private static readonly byte[][] Empty = EmptySubtrees();

    public static int BucketOf(Guid envelopeId)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.ASCII.GetBytes(envelopeId.ToString("D")), digest);
        return (digest[0] << 8) | digest[1];
    }

    /// <summary>The hash of a bucket holding <paramref name="entries"/> (any order; sorted here as PostgreSQL sorts uuids).</summary>
    /// <exception cref="ArgumentException">An envelope appears twice or a record hash is not 64 lowercase hex digits.</exception>
    public static byte[] BucketHash(IEnumerable<EnvelopeHead> entries)
    {
        ArgumentNullException.ThrowIfNull(entries);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData([0x00]);
        Span<byte> id = stackalloc byte[16];
        Guid? previous = null;
        foreach (var entry in entries.OrderBy(e => e.EnvelopeId.ToString("D"), StringComparer.Ordinal))
        {
            if (entry.EnvelopeId == previous)
            {
                throw new ArgumentException($"envelope {entry.EnvelopeId} appears twice in a bucket.", nameof(entries));
            }

            if (!EvidenceChain.IsHash(entry.RecordHash))
            {
                throw new ArgumentException($"record_hash '{entry.RecordHash}' is not 64 lowercase hex digits.", nameof(entries));
            }

            entry.EnvelopeId.TryWriteBytes(id, bigEndian: true, out _);
            hash.AppendData(id);
            hash.AppendData(Convert.FromHexString(entry.RecordHash));
            previous = entry.EnvelopeId;
        }

        return hash.GetHashAndReset();
    }

    /// <summary>The root over the non-empty buckets given (every other bucket is empty), in lowercase hex.</summary>
    public static string Root(IReadOnlyDictionary<int, byte[]> buckets) => EnvelopeHeadTree.From(buckets).Root;

    /// <summary>The 16 sibling hashes from <paramref name="bucket"/> up to the root, lowest first, in lowercase hex.</summary>
    public static IReadOnlyList<string> Path(IReadOnlyDictionary<int, byte[]> buckets, int bucket) => EnvelopeHeadTree.From(buckets).Path(bucket);

    /// <summary>The root a proof leads to: the bucket's hash folded with its siblings, lowest first.</summary>
    /// <exception cref="ArgumentException">Not 16 siblings of 64 lowercase hex digits, or a bucket out of range.</exception>
    public static string RootFromProof(int bucket, byte[] bucketHash, IReadOnlyList<string> siblings)
    {
        ArgumentNullException.ThrowIfNull(bucketHash);
        ArgumentNullException.ThrowIfNull(siblings);
        if (bucket is < 0 or >= Buckets || siblings.Count != Depth || siblings.Any(s => !EvidenceChain.IsHash(s)))
        {
            throw new ArgumentException($"a proof names a bucket from 0 to {Buckets - 1} and {Depth} sibling hashes of 64 lowercase hex digits.");
        }

        var node = bucketHash;
        for (var level = 0; level < Depth; level++)
        {
            var sibling = Convert.FromHexString(siblings[level]);
            node = ((bucket >> level) & 1) == 0 ? Node(node, sibling) : Node(sibling, node);
        }

        return Convert.ToHexStringLower(node);
    }

    internal static byte[] EmptySubtree(int height) => Empty[height];

    internal static byte[] Node(byte[] left, byte[] right)
    {
        Span<byte> input = stackalloc byte[65];
        input[0] = 0x01;
        left.CopyTo(input[1..]);
        right.CopyTo(input[33..]);
        return SHA256.HashData(input);
    }

    private static byte[][] EmptySubtrees()
    {
        var empty = new byte[Depth + 1][];
        empty[0] = SHA256.HashData([0x00]);
        for (var height = 1; height <= Depth; height++)
        {
            empty[height] = Node(empty[height - 1], empty[height - 1]);
        }

        return empty;
    }
}

/// <summary>An envelope's newest record as of a checkpoint.</summary>
public sealed record EnvelopeHead(Guid EnvelopeId, string RecordHash);

/// <summary>
/// The proof that <see cref="EnvelopeId"/>'s newest record as of checkpoint <see cref="CheckpointIndex"/> is the one
/// its bucket's entry names: the bucket's entries and the sibling hashes from the bucket up (<see cref="EnvelopeHeads"/>).
/// </summary>
public sealed record EnvelopeHeadProof(Guid EnvelopeId, long CheckpointIndex, int Bucket, IReadOnlyList<EnvelopeHead> Entries, IReadOnlyList<string> Siblings)
{
    /// <summary>The root the proof leads to.</summary>
    /// <exception cref="ArgumentException">The proof is malformed (see <see cref="EnvelopeHeads.RootFromProof"/>).</exception>
    public string Root() => EnvelopeHeads.RootFromProof(Bucket, EnvelopeHeads.BucketHash(Entries), Siblings);
}

/// <summary>
/// The <see cref="EnvelopeHeads"/> tree kept whole: built once from the buckets (a hash per non-empty node), then updated
/// one bucket at a time (16 hashes per change), for the sealer between checkpoints and for a reader that follows the
/// chain record by record, such as the log verifier recomputing each checkpoint's root.
/// </summary>
public sealed class EnvelopeHeadTree
{
    // Heap layout: node 1 is the root, node i has children 2i and 2i+1, bucket b is node Buckets + b. Null: empty.
    private readonly byte[]?[] _nodes;

    public EnvelopeHeadTree() => _nodes = new byte[2 * EnvelopeHeads.Buckets][];

    private EnvelopeHeadTree(byte[]?[] nodes) => _nodes = nodes;

    /// <summary>The tree over the non-empty buckets given, built bottom-up (empty subtrees cost nothing).</summary>
    public static EnvelopeHeadTree From(IReadOnlyDictionary<int, byte[]> buckets)
    {
        ArgumentNullException.ThrowIfNull(buckets);
        var tree = new EnvelopeHeadTree();
        foreach (var (bucket, hash) in buckets)
        {
            CheckBucket(bucket, hash);
            tree._nodes[EnvelopeHeads.Buckets + bucket] = hash;
        }

        for (var height = 1; height <= EnvelopeHeads.Depth; height++)
        {
            for (var node = EnvelopeHeads.Buckets >> height; node < EnvelopeHeads.Buckets >> (height - 1); node++)
            {
                if (tree._nodes[2 * node] is not null || tree._nodes[(2 * node) + 1] is not null)
                {
                    tree._nodes[node] = EnvelopeHeads.Node(tree.Get(2 * node, height - 1), tree.Get((2 * node) + 1, height - 1));
                }
            }
        }

        return tree;
    }

    /// <summary>A copy to change without changing this one (the nodes are shared; they are never modified).</summary>
    public EnvelopeHeadTree Clone() => new((byte[]?[])_nodes.Clone());

    public void SetBucket(int bucket, byte[] hash)
    {
        CheckBucket(bucket, hash);
        var node = EnvelopeHeads.Buckets + bucket;
        _nodes[node] = hash;
        for (var height = 1; height <= EnvelopeHeads.Depth; height++)
        {
            node >>= 1;
            _nodes[node] = EnvelopeHeads.Node(Get(2 * node, height - 1), Get((2 * node) + 1, height - 1));
        }
    }

    /// <summary>The root in lowercase hex.</summary>
    public string Root => Convert.ToHexStringLower(Get(1, EnvelopeHeads.Depth));

    /// <summary>The 16 sibling hashes from <paramref name="bucket"/> up to the root, lowest first, in lowercase hex.</summary>
    public IReadOnlyList<string> Path(int bucket)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bucket);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(bucket, EnvelopeHeads.Buckets);
        var path = new List<string>(EnvelopeHeads.Depth);
        var node = EnvelopeHeads.Buckets + bucket;
        for (var height = 0; height < EnvelopeHeads.Depth; height++, node >>= 1)
        {
            path.Add(Convert.ToHexStringLower(Get(node ^ 1, height)));
        }

        return path;
    }

    private byte[] Get(int node, int height) => _nodes[node] ?? EnvelopeHeads.EmptySubtree(height);

    private static void CheckBucket(int bucket, byte[] hash)
    {
        ArgumentNullException.ThrowIfNull(hash);
        if (bucket is < 0 or >= EnvelopeHeads.Buckets || hash.Length != 32)
        {
            throw new ArgumentException($"bucket {bucket} is out of range or its hash is not 32 bytes.");
        }
    }
}
