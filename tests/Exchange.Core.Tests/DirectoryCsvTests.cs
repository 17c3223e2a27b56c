using Exchange.Core;

namespace Exchange.Core.Tests;

public sealed class DirectoryCsvTests
{
    private const string Sha = "2714d098e58ddaadca1e28e1a2a22603cbb09b21fcf80734f5e742b23fee2c12";

    [Test]
    public void Reads_agencies_with_quoted_names_empty_parent_and_certificates()
    {
        var csv = "code,name,kind,parent,certificates\r\n"
            + "000.00.00.H29,\"UBND Thành phố Hà Nội, cơ quan chủ quản\",Province,,\r\n"
            + $"000.00.21.H29,UBND Quận Ba Đình,district,000.00.00.H29,{Sha.ToUpperInvariant()};{Sha}\r\n"
            + "\r\n";

        var document = DirectoryCsv.Parse(csv);

        Assert.That(document.Agencies, Has.Count.EqualTo(2));
        Assert.That(document.Agencies[0].Name, Is.EqualTo("UBND Thành phố Hà Nội, cơ quan chủ quản"));
        Assert.That(document.Agencies[0].Parent, Is.Null);
        Assert.That(document.Agencies[1].Kind, Is.EqualTo(AgencyKind.District));
        Assert.That(document.Agencies[1].Certificates, Is.EqualTo(new[] { Sha, Sha }));
    }

    [Test]
    public void Reads_a_doubled_quote_inside_a_quoted_field()
    {
        var document = DirectoryCsv.Parse("code,name,kind,parent,certificates\n000.00.01.H29,\"Sở \"\"Nội vụ\"\"\",Department,000.00.00.H29,\n");

        Assert.That(document.Agencies.Single().Name, Is.EqualTo("Sở \"Nội vụ\""));
    }

    [TestCase("name,code,kind,parent,certificates\n", "Line 1")]
    [TestCase("code,name,kind,parent,certificates\n000.00.01.H29,Sở,Ministry,,\n", "Line 2: kind 'Ministry'")]
    [TestCase("code,name,kind,parent,certificates\n000.00.01.H29,Sở,Department,,abc\n", "Line 2: 'abc'")]
    [TestCase("code,name,kind,parent,certificates\n000.00.01.H29,Sở,Department\n", "Line 2: 3 fields")]
    [TestCase("code,name,kind,parent,certificates\n000.00.01.H29,\"Sở,Department,,\n", "not closed")]
    public void Refuses_malformed_input_naming_the_line(string csv, string expected)
    {
        var error = Assert.Throws<FormatException>(() => DirectoryCsv.Parse(csv));

        Assert.That(error!.Message, Does.Contain(expected));
    }
}
