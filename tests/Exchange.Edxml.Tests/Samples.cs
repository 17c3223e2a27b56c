using System.Text;

namespace Exchange.Edxml.Tests;

/// <summary>
/// The shared edXML samples (../shared/samples/edxml next to the checkout): real packages from the public SDK example
/// of the national document exchange axis, read in place and never copied into the repository.
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

    private static string Locate()
    {
        var start = AppContext.BaseDirectory;
        var directory = new DirectoryInfo(start);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Exchange.sln")))
        {
            directory = directory.Parent;
        }

        if (directory is null)
        {
            Assert.Fail($"Cannot find the samples: no folder above {start} holds Exchange.sln.");
        }

        var folder = Path.GetFullPath(Path.Combine(directory!.FullName, "..", "shared", "samples", "edxml"));
        if (!Directory.Exists(folder) || Directory.GetFiles(folder, "*.edxml").Length == 0)
        {
            Assert.Fail(
                $"The shared edXML samples are missing: expected *.edxml in {folder} (../shared/samples/edxml beside the "
                + "checkout). They are not copied into the repository; restore the shared folder to run these tests.");
        }

        return folder;
    }
}
