using Exchange.Core;
using Exchange.Edxml.Internal;
using static Exchange.Edxml.Internal.EdxmlNames;

namespace Exchange.Edxml;

/// <summary>Writes status packages in the shape of the status_*.edxml samples: UTF-8 without BOM, deterministic.</summary>
public static class EdxmlStatusWriter
{
    public static byte[] Write(EdxmlStatus status) => Write(status, limits: null);

    public static byte[] Write(EdxmlStatus status, EdxmlLimits? limits)
    {
        ArgumentNullException.ThrowIfNull(status);
        ArgumentNullException.ThrowIfNull(status.From);
        if (string.IsNullOrWhiteSpace(status.ResponseForOrganId))
        {
            throw new EdxmlException(ReasonCode.PackageInvalid, "A status package needs ResponseForOrganId: it is addressed by it.");
        }

        if (string.IsNullOrWhiteSpace(status.ResponseForDocumentId))
        {
            throw new EdxmlException(ReasonCode.PackageInvalid, "A status package needs ResponseForDocumentId.");
        }

        if (!Enum.IsDefined(status.Code))
        {
            throw new EdxmlException(ReasonCode.PackageInvalid, $"{(int)status.Code} is not a status edXML defines (01-06, 13, 15, 16).");
        }

        using var output = new MemoryStream(4096);
        using (var x = new EdxmlXmlWriter(output, limits))
        {
            x.StartRoot();
            x.Start(Envelope);
            x.Start(Header);
            x.Start(MessageHeader);
            EdxmlWriter.WriteOrganisation(x, From, status.From);
            x.Start(ResponseFor);
            x.Text(OrganId, status.ResponseForOrganId);
            x.Text(Code, status.ResponseForCode);
            x.Date(PromulgationDate, status.ResponseForPromulgationDate);
            x.Text(DocumentId, status.ResponseForDocumentId);
            x.End();
            EdxmlWriter.WriteStaff(x, status.Staff);
            x.Text(EdxmlNames.StatusCode, ((int)status.Code).ToString("D2", System.Globalization.CultureInfo.InvariantCulture));
            x.Text(Description, status.Description);
            x.Timestamp(Timestamp, status.Timestamp);
            x.End();
            x.End();
            x.End();
            x.End();
        }

        return output.ToArray();
    }
}
