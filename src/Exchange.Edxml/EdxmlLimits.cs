namespace Exchange.Edxml;

/// <summary>
/// Named limits applied when reading (and, through the writer overloads that take them, when writing) a package.
/// A package that exceeds one is refused with <see cref="Exchange.Core.ReasonCode.TooLarge"/>.
/// </summary>
public sealed class EdxmlLimits
{
    internal static readonly EdxmlLimits Default = new();

    /// <summary>
    /// Largest package accepted, in bytes (also the cap on XML characters read). A <c>long</c>, so that a policy may
    /// allow packages past 2 GiB: the stream overloads of <see cref="EdxmlReader"/> and <see cref="EdxmlWriter"/> never
    /// hold a package in one array.
    /// </summary>
    public long MaxPackageBytes { get; set; } = 64 * 1024 * 1024;

    /// <summary>Most <c>Attachment</c> elements (and manifest <c>Reference</c> elements) in one package.</summary>
    public int MaxAttachments { get; set; } = 100;

    /// <summary>
    /// Most <c>To</c> elements in one package. The same bound applies to every other repeated header element
    /// (TraceHeader, ToPlaces/Place, Appendix, ResponseFor, ReceiverList/Receiver, ReplacementInfo, OrganIdList/OrganId),
    /// so that no list in a header can grow without limit.
    /// </summary>
    public int MaxRecipients { get; set; } = 2000;

    /// <summary>
    /// Largest attachment, in bytes once decoded. Checked by <see cref="EdxmlReader.Read"/> and <see cref="EdxmlReader.Validate"/>,
    /// which stop at the first block past it; a package's size already bounds it, this lets a policy keep single files smaller.
    /// </summary>
    public long MaxAttachmentBytes { get; set; } = 32 * 1024 * 1024;

    /// <summary>Longest text of one header field, in characters (attachment content is not a field).</summary>
    public int MaxFieldLength { get; set; } = 4000;

    /// <summary>
    /// Longest tag (with its attributes), comment, processing instruction, CDATA section or run of white space between
    /// elements, in bytes: the XML reader holds each of these whole before the parser sees it, so each is bounded while
    /// the bytes come in. QCVN 102:2016's tags are a few dozen bytes; a field in CDATA is at most
    /// <see cref="MaxFieldLength"/> characters, a few kilobytes.
    /// </summary>
    public int MaxMarkupBytes { get; set; } = 64 * 1024;
}
