using BenchmarkDotNet.Attributes;
using Exchange.Edxml;

namespace Exchange.Benchmarks;

/// <summary>
/// Reading the header of a ~10 KB edXML package (QCVN 102:2016) written by <see cref="EdxmlWriter"/>: what the hub does
/// for routing on every envelope. ReadHeader still checks the whole package's well-formedness and structure but skips
/// attachment bodies; Read (which also decodes the base64) is measured beside it for comparison.
/// </summary>
[MemoryDiagnoser]
public class EdxmlBenchmarks
{
    private byte[] _package = null!;

    [GlobalSetup]
    public void Setup()
    {
        _package = EdxmlWriter.Write(Directive());
        if (_package.Length is < 9_000 or > 12_000)
        {
            throw new InvalidOperationException($"the benchmark package is {_package.Length} bytes, not about 10 KB");
        }

        if (EdxmlReader.ReadHeader(_package).To.Count != 2)
        {
            throw new InvalidOperationException("the benchmark package does not read back");
        }

        Console.WriteLine($"// edXML package: {_package.Length} bytes");
    }

    [Benchmark(Baseline = true, Description = "EdxmlReader.ReadHeader (10 KB package)")]
    public EdxmlHeader ReadHeader() => EdxmlReader.ReadHeader(_package);

    [Benchmark(Description = "EdxmlReader.Read (header and attachments)")]
    public EdxmlPackage Read() => EdxmlReader.Read(_package);

    /// <summary>A directive from a city to a district and a ward, with a full header (about 6 KB of XML) and two
    /// attachments of 3.5 KB together (base64 in the package), like the edXML tests' round-trip package.</summary>
    private static EdxmlPackage Directive()
    {
        var signed = new byte[3_000];
        new Random(20160101).NextBytes(signed);
        var appendix = new byte[500];
        new Random(20160102).NextBytes(appendix);
        var vietnam = TimeSpan.FromHours(7);

        var header = new EdxmlHeader
        {
            From = new EdxmlOrganisation(
                "000.00.00.H29", "UBND Thành phố Hà Nội", "UBND Thành phố Hà Nội", "Số 79 Đinh Tiên Hoàng, Hoàn Kiếm, Hà Nội",
                "vanthu@hanoi.gov.vn", "024 3825 3536", "024 3825 3537", "https://hanoi.gov.vn"),
            To =
            [
                new EdxmlOrganisation("000.00.41.H29", "UBND quận Ba Đình"),
                new EdxmlOrganisation("000.01.41.H29", "UBND phường Phúc Xá", OrganizationInCharge: "UBND quận Ba Đình"),
            ],
            DocumentId = EdxmlDocumentId.Format("000.00.00.H29", new DateOnly(2024, 3, 15), "123/UBND-KGVX"),
            CodeNumber = "123",
            CodeNotation = "UBND-KGVX",
            Subject = "V/v triển khai gửi, nhận văn bản điện tử có ký số trên Trục liên thông",
            Content = "Đề nghị các đơn vị khẩn trương triển khai.\r\nBáo cáo kết quả trước ngày 30/4.",
            DocumentTypeCode = 1,
            DocumentTypeDetail = 0,
            DocumentTypeName = "Công văn",
            PromulgationPlace = "Hà Nội",
            PromulgationDate = new DateOnly(2024, 3, 15),
            SignerCompetence = "KT. CHỦ TỊCH",
            SignerPosition = "Phó Chủ tịch",
            SignerFullName = "Nguyễn Văn Ấn",
            DueDate = new DateOnly(2024, 4, 30),
            ToPlaces = ["Như trên", "Lưu: VT, KGVX"],
            Priority = 2,
            SphereOfPromulgation = "Lưu hành nội bộ",
            TyperNotation = "NVA",
            PromulgationAmount = 5,
            PageAmount = 3,
            Direction = true,
            Appendixes = ["Phụ lục I: Danh sách đơn vị", "Phụ lục II: Biểu mẫu"],
            SteeringType = 1,
            Staff = new EdxmlStaffInfo("Văn phòng UBND", "Trần Thị Bích", "bich@hanoi.gov.vn", "0912345678"),
            Trace = [new EdxmlTraceEntry("000.00.00.H29", new DateTimeOffset(2024, 3, 15, 9, 30, 0, vietnam))],
        };

        return new EdxmlPackage(
            header,
            [
                new EdxmlAttachment("Công văn 123.pdf", "application/pdf", signed, "Văn bản ký số"),
                new EdxmlAttachment("Phụ lục.pdf", "application/pdf", appendix),
            ]);
    }
}
