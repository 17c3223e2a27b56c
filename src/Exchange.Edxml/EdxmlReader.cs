using Exchange.Edxml.Internal;

namespace Exchange.Edxml;

/// <summary>
/// Reads edXML document packages (QCVN 102:2016/BTTTT) safely: no DTD, no external resolution, bounded by
/// <see cref="EdxmlLimits"/>. Bad input always ends in an <see cref="EdxmlException"/> whose reason is
/// <c>PackageInvalid</c> or <c>TooLarge</c>, never in another exception.
/// </summary>
public static class EdxmlReader
{
    /// <summary>
    /// Reads the header for routing. The whole package is still checked for well-formedness and structure (so a
    /// truncated package is refused), but attachment bodies are skipped, not decoded: when this succeeds,
    /// <see cref="Read"/> can fail only on an attachment's base64.
    /// </summary>
    public static EdxmlHeader ReadHeader(ReadOnlyMemory<byte> package, EdxmlLimits? limits = null) =>
        EdxmlParser.Parse(package, limits, AttachmentBodies.Skip).ToHeader();

    /// <summary>
    /// Reads the header and checks every attachment's base64 and size without keeping the bytes, in constant memory:
    /// when this succeeds, so does <see cref="Read"/> under the same limits. What a carrier runs before it accepts a
    /// package it will pass on unopened (attachments are never decompressed or interpreted, only decoded from base64).
    /// </summary>
    public static EdxmlHeader Validate(ReadOnlyMemory<byte> package, EdxmlLimits? limits = null) =>
        EdxmlParser.Parse(package, limits, AttachmentBodies.Check).ToHeader();

    /// <summary>
    /// <see cref="ReadHeader(ReadOnlyMemory{byte}, EdxmlLimits?)"/> for a package read from a stream (a request body, a
    /// package read back from storage in chunks): read once, front to back, without seeking, and left open. A stream
    /// that does not know its length is held to <see cref="EdxmlLimits.MaxPackageBytes"/> by counting what it yields.
    /// </summary>
    public static EdxmlHeader ReadHeader(Stream package, EdxmlLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(package);
        return EdxmlParser.Parse(package, limits, AttachmentBodies.Skip).ToHeader();
    }

    /// <summary>
    /// <see cref="Validate(ReadOnlyMemory{byte}, EdxmlLimits?)"/> for a package read from a stream, once, front to back,
    /// and left open. Memory stays constant whatever the package's size: the hub checks a package stored in chunks
    /// this way without ever holding it.
    /// </summary>
    public static EdxmlHeader Validate(Stream package, EdxmlLimits? limits = null)
    {
        ArgumentNullException.ThrowIfNull(package);
        return EdxmlParser.Parse(package, limits, AttachmentBodies.Check).ToHeader();
    }

    /// <summary>Reads the header and decodes every attachment.</summary>
    public static EdxmlPackage Read(ReadOnlyMemory<byte> package, EdxmlLimits? limits = null)
    {
        var message = EdxmlParser.Parse(package, limits, AttachmentBodies.Decode);
        return new EdxmlPackage(message.ToHeader(), message.ToAttachments());
    }

    /// <summary>Whether a (well-formed) package is a document or a status package; attachment bodies are skipped.</summary>
    public static EdxmlPackageKind GetKind(ReadOnlyMemory<byte> package, EdxmlLimits? limits = null) =>
        EdxmlParser.Parse(package, limits, AttachmentBodies.Skip).StatusCode is null
            ? EdxmlPackageKind.Document
            : EdxmlPackageKind.Status;
}
