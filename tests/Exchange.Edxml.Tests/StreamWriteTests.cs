using Exchange.Core;
using Exchange.Tests.Shared;

namespace Exchange.Edxml.Tests;

/// <summary>
/// <see cref="EdxmlWriter.Write(Stream, EdxmlHeader, IReadOnlyList{EdxmlAttachmentSource}, EdxmlLimits?, CancellationToken)"/>:
/// the bytes <see cref="EdxmlWriter.Write(EdxmlPackage, EdxmlLimits?)"/> writes, with attachments read from streams
/// in blocks, the same limits enforced before anything is written, and memory that does not grow with the attachments.
/// </summary>
public class StreamWriteTests
{
    private const long MiB = 1024 * 1024;

    /// <summary>Attachment sizes around the writer's 48 KiB block (49152 bytes) and the 3 bytes of a base64 group.</summary>
    private static readonly int[] Sizes = [0, 1, 2, 3, 4, 49_151, 49_152, 49_153, 150_001];

    public static IEnumerable<TestCaseData> Packages()
    {
        var directive = RoundTripTests.VietnameseDirective(100_002);
        yield return new TestCaseData(directive with { Attachments = [] }).SetArgDisplayNames("no attachment");
        foreach (var size in Sizes)
        {
            yield return new TestCaseData(directive with { Attachments = [new EdxmlAttachment($"tệp {size}.bin", "application/octet-stream", Bytes(size, seed: size))] })
                .SetArgDisplayNames($"one attachment of {size} bytes");
        }

        yield return new TestCaseData(directive with
        {
            Attachments =
            [
                .. directive.Attachments,
                new EdxmlAttachment("trống.txt", "text/plain", [], "Tệp rỗng") { ContentId = "cid:trong" },
            ],
        }).SetArgDisplayNames("three attachments, one empty");
    }

    [TestCaseSource(nameof(Packages))]
    public void Writes_the_bytes_the_byte_writer_writes(EdxmlPackage package)
    {
        var expected = EdxmlWriter.Write(package);
        using var output = new MemoryStream();

        var written = EdxmlWriter.Write(output, package.Header, Sources(package));

        Assert.Multiple(() =>
        {
            Assert.That(output.ToArray(), Is.EqualTo(expected));
            Assert.That(written, Is.EqualTo(expected.Length));
            Assert.That(EdxmlWriter.Write(new MemoryStream(), package.Header, Sources(package), new EdxmlLimits()), Is.EqualTo(expected.Length), "under the default limits");

            // The size is known before writing: a limit of exactly that size passes, one byte less is refused.
            Assert.That(EdxmlWriter.Write(Stream.Null, package.Header, Sources(package), new EdxmlLimits { MaxPackageBytes = expected.Length }), Is.EqualTo(expected.Length));
            Assert.That(
                Assert.Throws<EdxmlException>(() => EdxmlWriter.Write(Stream.Null, package.Header, Sources(package), new EdxmlLimits { MaxPackageBytes = expected.Length - 1 }))!.Message,
                Does.Contain($"would be {expected.Length} bytes"));
        });
    }

    [Test]
    public void Opens_each_attachment_once_and_disposes_it()
    {
        var package = RoundTripTests.VietnameseDirective(1000);
        var opened = new List<OnePassStream>();
        var sources = package.Attachments
            .Select(a => new EdxmlAttachmentSource(a.Name, a.ContentType, a.Content.Length, () =>
            {
                var stream = OnePassStream.Over(a.Content);
                opened.Add(stream);
                return stream;
            }))
            .ToList();

        EdxmlWriter.Write(Stream.Null, package.Header, sources);

        Assert.That(opened, Has.Count.EqualTo(2));
        Assert.That(opened.Select(s => s.CanRead), Has.All.False, "disposed (a disposed stream cannot be read)");
    }

    [Test]
    public void Refuses_what_the_byte_writer_refuses_before_opening_an_attachment_or_writing_a_byte()
    {
        var package = RoundTripTests.VietnameseDirective(10_000);
        var size = EdxmlWriter.Write(package).Length;
        var cases = new Dictionary<string, EdxmlLimits>
        {
            ["one byte under the package's size"] = new() { MaxPackageBytes = size - 1 },
            ["attachments"] = new() { MaxAttachments = 1 },
            ["attachment bytes"] = new() { MaxAttachmentBytes = 9_999 },
            ["recipients"] = new() { MaxRecipients = 1 },
            ["field length"] = new() { MaxFieldLength = 20 },
        };

        foreach (var (name, limits) in cases)
        {
            var expected = Assert.Throws<EdxmlException>(() => EdxmlWriter.Write(package, limits))!;
            var opened = 0;
            var sources = Sources(package, () => opened++);
            using var output = new MemoryStream();

            var refused = Assert.Throws<EdxmlException>(() => EdxmlWriter.Write(output, package.Header, sources, limits))!;

            Assert.Multiple(() =>
            {
                Assert.That(refused.Reason, Is.EqualTo(expected.Reason).And.EqualTo(ReasonCode.TooLarge), name);
                Assert.That(refused.Message, Is.EqualTo(expected.Message), name);
                Assert.That(opened, Is.Zero, name);
                Assert.That(output.Length, Is.Zero, name);
            });
        }

        Assert.That(EdxmlWriter.Write(Stream.Null, package.Header, Sources(package), new EdxmlLimits { MaxPackageBytes = size }), Is.EqualTo(size), "exactly at the limit");
    }

    [TestCase(+1, "yielded only 1000")]
    [TestCase(-1, "yielded more")]
    public void Fails_when_an_attachment_stream_does_not_yield_its_length(int declaredMore, string says)
    {
        var package = RoundTripTests.VietnameseDirective(1000);
        var content = package.Attachments[1].Content;
        var sources = Sources(package);
        sources[1] = sources[1] with { Length = content.Length + declaredMore };
        using var output = new MemoryStream();

        var e = Assert.Throws<InvalidDataException>(() => EdxmlWriter.Write(output, package.Header, sources))!;

        Assert.Multiple(() =>
        {
            Assert.That(e.Message, Does.Contain("Attachment 2").And.Contain(says));

            // What was written by then is cut off mid-package: no reader takes it for a whole one.
            Assert.That(Assert.Throws<EdxmlException>(() => EdxmlReader.ReadHeader(output.ToArray()))!.Reason, Is.EqualTo(ReasonCode.PackageInvalid));
        });
    }

    [Test]
    public void Stops_when_cancelled()
    {
        var package = RoundTripTests.VietnameseDirective(1000);

        Assert.That(
            () => EdxmlWriter.Write(Stream.Null, package.Header, Sources(package), cancellationToken: new CancellationToken(canceled: true)),
            Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public void Writes_what_the_generated_package_stream_of_the_read_tests_yields()
    {
        // The read tests' generated packages stand for the writer's output: checked here on a few blocks.
        var header = RoundTripTests.VietnameseDirective(10).Header;
        var generated = new MemoryStream();
        new GeneratedPackageStream(header, 200_001, seed: 7).CopyTo(generated);
        using var output = new MemoryStream();

        EdxmlWriter.Write(output, header, [Generated(200_001, seed: 7)]);

        Assert.That(output.ToArray(), Is.EqualTo(generated.ToArray()));
    }

    [Test]
    public void Writes_a_256_MiB_attachment_in_constant_memory()
    {
        var header = RoundTripTests.VietnameseDirective(10).Header;
        var attachment = Generated(256 * MiB, seed: 256);
        var around = EdxmlWriter.Write(new EdxmlPackage(header, [new EdxmlAttachment(GeneratedPackageStream.AttachmentName, "application/octet-stream", [1, 2, 3])])).Length - 4;

        var before = GC.GetAllocatedBytesForCurrentThread();
        var written = EdxmlWriter.Write(Stream.Null, header, [attachment], new EdxmlLimits { MaxPackageBytes = 400 * MiB, MaxAttachmentBytes = 300 * MiB });
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        TestContext.Out.WriteLine($"{written:N0} bytes written, {allocated:N0} bytes allocated");
        Assert.Multiple(() =>
        {
            Assert.That(written, Is.EqualTo(around + (256 * MiB + 2) / 3 * 4));
            Assert.That(allocated, Is.LessThan(16 * MiB));
        });
    }

    /// <summary>The package's attachments as sources that read their bytes a few thousand at a time.</summary>
    private static List<EdxmlAttachmentSource> Sources(EdxmlPackage package, Action? opened = null) =>
        package.Attachments
            .Select(a => new EdxmlAttachmentSource(a.Name, a.ContentType, a.Content.Length, () =>
            {
                opened?.Invoke();
                return OnePassStream.Over(a.Content);
            }, a.Description) { ContentId = a.ContentId })
            .ToList();

    private static EdxmlAttachmentSource Generated(long length, ulong seed) =>
        new(GeneratedPackageStream.AttachmentName, "application/octet-stream", length, () => new GeneratedStream(length, seed));

    private static byte[] Bytes(int size, int seed)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }
}
