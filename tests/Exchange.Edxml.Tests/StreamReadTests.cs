using System.Text.RegularExpressions;
using Exchange.Core;
using Exchange.Tests.Shared;

namespace Exchange.Edxml.Tests;

/// <summary>
/// <see cref="EdxmlReader.ReadHeader(Stream, EdxmlLimits?)"/> and <see cref="EdxmlReader.Validate(Stream, EdxmlLimits?)"/>:
/// the header or the refusal the byte overloads give for the same bytes, from a stream read once, front to back,
/// whether or not it can seek; and validation in constant memory whatever the package's size.
/// </summary>
public class StreamReadTests
{
    public enum StreamKind
    {
        /// <summary>A MemoryStream: it knows its length.</summary>
        Seekable,

        /// <summary>No length, no seeking, short reads: a request body or a chunked read from the database.</summary>
        ForwardOnly,

        /// <summary>One byte per read: the stray-prefix peek and the XML reader's buffering must not care.</summary>
        OneByteAtATime,
    }

    private const long MiB = 1024 * 1024;

    public static IEnumerable<string> DocumentFiles => Samples.DocumentFiles;

    private static string Package => Samples.Text("vdxp-2019-5-852e179c.edxml");

    [Test]
    public void Reads_and_validates_every_sample_from_a_stream_as_from_its_bytes([ValueSource(nameof(DocumentFiles))] string file, [Values] StreamKind kind)
    {
        var bytes = Samples.Bytes(file);

        AssertSameOutcome(bytes, kind);
    }

    [TestCase(0.1)]
    [TestCase(0.5)]
    [TestCase(0.9)]
    [TestCase(0.999)]
    public void Refuses_a_truncated_package_as_the_bytes_are_refused(double keep)
    {
        foreach (var file in new[] { "vdxp-2019-5-852e179c.edxml", "edoc_new.edxml" })
        {
            var bytes = Samples.Bytes(file);
            var truncated = bytes[..(int)(bytes.Length * keep)];

            AssertSameOutcome(truncated, StreamKind.ForwardOnly, file);
            Assert.That(Outcome(() => EdxmlReader.Validate(OnePassStream.Over(truncated))), Does.StartWith("PackageInvalid"), file);
        }
    }

    [TestCase("UEsDB$$$", "not valid base64")]
    [TestCase("UEsDBBQ", "not a multiple of 4")]
    [TestCase("UEs=UEsD", "not valid base64")]
    [TestCase("UEsDBB<b/>QA", "must hold only base64")]
    public void Refuses_broken_base64_as_the_bytes_are_refused(string content, string says)
    {
        var bytes = Samples.Utf8(Regex.Replace(Package, "(<edXML:ContentTransferEncoded[^>]*>)[^<]*", "${1}" + content));

        AssertSameOutcome(bytes, StreamKind.ForwardOnly);
        Assert.That(Outcome(() => EdxmlReader.Validate(OnePassStream.Over(bytes))), Does.StartWith("PackageInvalid").And.Contain(says));
    }

    [Test]
    public void Refuses_an_attachment_over_the_size_limit_as_the_bytes_are_refused()
    {
        var bytes = Samples.Utf8(Regex.Replace(Package, "(<edXML:ContentTransferEncoded[^>]*>)[^<]*", "${1}" + Convert.ToBase64String(new byte[100_001])));
        var limits = new EdxmlLimits { MaxAttachmentBytes = 100_000 };

        AssertSameOutcome(bytes, StreamKind.ForwardOnly, limits: limits);
        Assert.That(Outcome(() => EdxmlReader.Validate(OnePassStream.Over(bytes), limits)), Does.StartWith("TooLarge").And.Contain("MaxAttachmentBytes"));
    }

    [Test]
    public void Refuses_a_package_over_the_size_limit_whether_or_not_the_stream_knows_its_length()
    {
        var bytes = Samples.Bytes("edoc_new.edxml");
        var limits = new EdxmlLimits { MaxPackageBytes = 100_000 };

        // 1. A stream that knows its length is refused before it is read, as the bytes are.
        AssertSameOutcome(bytes, StreamKind.Seekable, limits: limits);

        // 2. One that does not is refused once it has yielded more than the limit.
        using var stream = OnePassStream.Over(bytes);
        var e = Assert.Throws<EdxmlException>(() => EdxmlReader.ReadHeader(stream, limits))!;
        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.TooLarge));
            Assert.That(e.Message, Does.Contain("more than 100000 bytes").And.Contain("MaxPackageBytes"));
            Assert.That(stream.BytesRead, Is.LessThan(bytes.Length), "it stops reading");
        });
    }

    [Test]
    public void Counts_stray_bytes_before_the_declaration_against_the_size_limit()
    {
        // edoc_new.edxml starts with "1212" before <?xml: the byte overload counts them, so does the stream overload.
        var bytes = Samples.Bytes("edoc_new.edxml");
        var limits = new EdxmlLimits { MaxPackageBytes = bytes.Length - 1 };

        Assert.Multiple(() =>
        {
            Assert.That(Outcome(() => EdxmlReader.ReadHeader(OnePassStream.Over(bytes), limits)), Does.StartWith("TooLarge"));
            Assert.That(Outcome(() => EdxmlReader.ReadHeader(OnePassStream.Over(bytes), new EdxmlLimits { MaxPackageBytes = bytes.Length })), Does.StartWith("Ok"));
        });
    }

    [Test]
    public void Refuses_an_empty_stream([Values] StreamKind kind)
    {
        var e = Assert.Throws<EdxmlException>(() => EdxmlReader.ReadHeader(Open([], kind)))!;

        Assert.Multiple(() =>
        {
            Assert.That(e.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
            Assert.That(e.Message, Is.EqualTo("The package is empty."));
        });
    }

    [Test]
    public void Reads_a_seekable_stream_from_where_it_stands_and_leaves_it_open()
    {
        var bytes = Samples.Bytes("vdxp-2019-5-852e179c.edxml");
        using var stream = new MemoryStream([.. "<not-the-package/>"u8, .. bytes]);
        stream.Position = "<not-the-package/>".Length;

        var header = EdxmlReader.Validate(stream, new EdxmlLimits { MaxPackageBytes = bytes.Length });

        Assert.Multiple(() =>
        {
            Assert.That(Structural.Difference(EdxmlReader.Validate(bytes), header), Is.Null);
            Assert.That(stream.CanRead, Is.True, "not disposed");
            Assert.That(stream.Position, Is.EqualTo(stream.Length), "read to its end");
        });
    }

    [Test]
    public void Refuses_damaged_packages_from_a_stream_as_from_their_bytes()
    {
        // The damage of RefusalTests.Never_throws_anything_but_an_edxml_exception_for_damaged_packages, fewer rounds.
        var random = new Random(102_2016);
        var original = Samples.Bytes("vdxp-2019-5-852e179c.edxml");
        for (var round = 0; round < 600; round++)
        {
            var damaged = original.ToList();
            var at = random.Next(damaged.Count);
            switch (round % 3)
            {
                case 0:
                    damaged[at] = (byte)random.Next(256);
                    break;
                case 1:
                    damaged.RemoveRange(at, Math.Min(random.Next(1, 20), damaged.Count - at));
                    break;
                default:
                    damaged.RemoveRange(at, damaged.Count - at);
                    break;
            }

            AssertSameOutcome([.. damaged], StreamKind.ForwardOnly, $"round {round}");
        }
    }

    [Test]
    public void Validates_a_250_MB_package_from_a_stream_in_constant_memory()
    {
        // 187 MiB of attachment is 250 MB of base64; the limits are raised to let it through.
        var limits = new EdxmlLimits { MaxPackageBytes = 300 * MiB, MaxAttachmentBytes = 200 * MiB };
        var header = RoundTripTests.VietnameseDirective(10).Header;
        var package = new GeneratedPackageStream(header, 187 * MiB);
        var skipping = new GeneratedPackageStream(header, 187 * MiB);

        var before = GC.GetAllocatedBytesForCurrentThread();
        var validated = EdxmlReader.Validate(package, limits);
        var validating = GC.GetAllocatedBytesForCurrentThread() - before;

        before = GC.GetAllocatedBytesForCurrentThread();
        var read = EdxmlReader.ReadHeader(skipping, limits);
        var readingHeader = GC.GetAllocatedBytesForCurrentThread() - before;

        TestContext.Out.WriteLine($"{package.PackageLength:N0} bytes: Validate allocated {validating:N0} bytes, ReadHeader {readingHeader:N0}");
        Assert.Multiple(() =>
        {
            Assert.That(package.PackageLength, Is.GreaterThan(250_000_000));
            Assert.That(validated.DocumentId, Is.EqualTo(header.DocumentId));
            Assert.That(Structural.Difference(validated, read), Is.Null);
            Assert.That(validating, Is.LessThan(16 * MiB), "Validate");
            Assert.That(readingHeader, Is.LessThan(16 * MiB), "ReadHeader");
        });
    }

    [Test]
    public void Stops_reading_a_large_stream_at_the_first_limit_it_passes()
    {
        var header = RoundTripTests.VietnameseDirective(10).Header;

        // The default limits: the attachment passes MaxAttachmentBytes (32 MiB) first.
        var attachment = Assert.Throws<EdxmlException>(() => EdxmlReader.Validate(new GeneratedPackageStream(header, 100 * MiB)))!;

        // Attachments allowed, the package passes MaxPackageBytes (64 MiB), counted as it is read.
        var package = Assert.Throws<EdxmlException>(() => EdxmlReader.Validate(new GeneratedPackageStream(header, 100 * MiB), new EdxmlLimits { MaxAttachmentBytes = 200 * MiB }))!;

        Assert.Multiple(() =>
        {
            Assert.That(attachment.Reason, Is.EqualTo(ReasonCode.TooLarge));
            Assert.That(attachment.Message, Does.Contain("MaxAttachmentBytes"));
            Assert.That(package.Reason, Is.EqualTo(ReasonCode.TooLarge));
            Assert.That(package.Message, Does.Contain($"more than {64 * MiB} bytes").And.Contain("MaxPackageBytes"));
        });
    }

    private static Stream Open(byte[] bytes, StreamKind kind) => kind switch
    {
        StreamKind.Seekable => new MemoryStream(bytes, writable: false),
        StreamKind.ForwardOnly => OnePassStream.Over(bytes),
        _ => OnePassStream.Over(bytes, maxRead: 1),
    };

    /// <summary>ReadHeader and Validate from a stream give what they give from the bytes: the same header, or the same refusal.</summary>
    private static void AssertSameOutcome(byte[] bytes, StreamKind kind, string? because = null, EdxmlLimits? limits = null)
    {
        foreach (var (name, fromBytes, fromStream) in new (string, Func<EdxmlHeader>, Func<Stream, EdxmlHeader>)[]
        {
            ("ReadHeader", () => EdxmlReader.ReadHeader(bytes, limits), s => EdxmlReader.ReadHeader(s, limits)),
            ("Validate", () => EdxmlReader.Validate(bytes, limits), s => EdxmlReader.Validate(s, limits)),
        })
        {
            using var stream = Open(bytes, kind);
            var (expected, refusal) = Try(fromBytes);
            var (actual, streamRefusal) = Try(() => fromStream(stream));
            var what = $"{name} {because}";
            if (refusal is not null || streamRefusal is not null)
            {
                Assert.That(Describe(streamRefusal), Is.EqualTo(Describe(refusal)), what);
                continue;
            }

            Assert.That(Structural.Difference(expected, actual), Is.Null, what);
            if (stream is OnePassStream onePass)
            {
                Assert.That(onePass.BytesRead, Is.EqualTo(bytes.Length), $"{what}: read once, to the end");
            }
        }
    }

    private static (EdxmlHeader? Header, EdxmlException? Refusal) Try(Func<EdxmlHeader> read)
    {
        try
        {
            return (read(), null);
        }
        catch (EdxmlException e)
        {
            return (null, e);
        }
    }

    private static string Describe(EdxmlException? refusal) => refusal is null ? "accepted" : $"{refusal.Reason}: {refusal.Message}";

    private static string Outcome(Func<EdxmlHeader> read) => Try(read) is (_, { } refusal) ? Describe(refusal) : "Ok";
}
