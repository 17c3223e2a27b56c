using System.Text;

namespace Exchange.Edxml.Tests;

/// <summary>
/// The edXML samples (tests/Exchange.Edxml.Tests/samples): real packages from the public SDK example of the national
/// document exchange axis, quirks included.
/// </summary>
internal static class Samples
{
    public static readonly string[] DocumentFiles =
    [
        "edoc.edxml",
        "edoc_new.edxml",
        "edoc_replacement.edxml",
        "edoc_revocation.edxml",
        "edoc_update.edxml",
        "vdxp-2019-5-852e179c.edxml",
        "vdxp-2025-10-874e0f18.edxml",
        "vdxp-2025-10-9e272474.edxml",
    ];

    public static readonly string[] StatusFiles =
    [
        "status.edxml",
        "status_acceptance_03.edxml",
        "status_assignment_04.edxml",
        "status_cancellation_13.edxml",
        "status_change-acceptance_15.edxml",
        "status_change-rejection_16.edxml",
        "status_finish_06.edxml",
        "status_inbox_01.edxml",
        "status_processing_05.edxml",
        "status_rejection_02.edxml",
    ];

    private static readonly Lazy<string> FolderPath = new(Locate);

    public static string Folder => FolderPath.Value;

    public static byte[] Bytes(string name) => File.ReadAllBytes(Path.Combine(Folder, name));

    public static string Text(string name) => Encoding.UTF8.GetString(Bytes(name));

    public static byte[] Utf8(string xml) => Encoding.UTF8.GetBytes(xml);

    // The samples travel with the tests (copied next to the test assembly by the project file) so a clone
    // runs them anywhere; samples/README.md says where they come from.
    private static string Locate()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "samples");
        if (!File.Exists(Path.Combine(folder, "edoc.edxml")))
        {
            Assert.Fail($"The edXML samples are missing from {folder}.");
        }

        return folder;
    }
}
