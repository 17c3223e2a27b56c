using Exchange.Edxml;

namespace Exchange.IntegrationTests;

/// <summary>Packages the tests sign and send themselves, bypassing a gateway's writer.</summary>
internal static class TestPackages
{
    /// <summary>A one-file letter from <paramref name="from"/> to <paramref name="to"/>, dated today, with a fresh number.</summary>
    public static byte[] Letter(string from, string to, string notation = "TEST", string subject = "Văn bản kiểm thử")
    {
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var number = Guid.NewGuid().ToString("N")[..10];
        return EdxmlWriter.Write(new EdxmlPackage(new EdxmlHeader
        {
            From = new EdxmlOrganisation(from),
            To = [new EdxmlOrganisation(to)],
            DocumentId = EdxmlDocumentId.Format(from, today, $"{number}/{notation}"),
            CodeNumber = number,
            CodeNotation = notation,
            Subject = subject,
            PromulgationDate = today,
        }, [new EdxmlAttachment("a.txt", "text/plain", "x"u8.ToArray())]));
    }
}
