using Exchange.Edxml.Internal;

namespace Exchange.Edxml;

/// <summary>Reads edXML status packages, with the same safety rules as <see cref="EdxmlReader"/>.</summary>
public static class EdxmlStatusReader
{
    public static EdxmlStatus Read(ReadOnlyMemory<byte> package, EdxmlLimits? limits = null) =>
        EdxmlParser.Parse(package, limits, AttachmentBodies.Skip).ToStatus();
}
