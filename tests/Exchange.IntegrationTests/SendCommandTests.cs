using System.CommandLine;
using System.Text.Json;
using Exchange.Cli;
using Exchange.Cli.Commands;
using Exchange.Edxml;
using Exchange.Signing;

namespace Exchange.IntegrationTests;

/// <summary>`exchange send` against a running province's gateway.</summary>
[TestFixture]
[NonParallelizable]
public sealed class SendCommandTests : ProvinceFixture
{
    private const string Sender = SampleDirectory.HomeAffairs;
    private const string Recipient = SampleDirectory.PhucXaWard;

    private string _folder = null!;

    [SetUp]
    public void Folder() => _folder = Directory.CreateTempSubdirectory("exchange-send-").FullName;

    private string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_folder, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    private async Task<(int Exit, string LastLine)> SendAsync(params string[] args)
    {
        var output = new StringWriter();
        var original = Console.Out;
        Console.SetOut(output);
        try
        {
            var exit = await new RootCommand { SendCommand.Create() }.Parse(["send", .. args]).InvokeAsync();
            var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            return (exit, lines.Length == 0 ? string.Empty : lines[^1]);
        }
        finally
        {
            Console.SetOut(original);
        }
    }


    private string GatewayUrl => Province.Gateways[Sender].App.Urls.First();

    private string ApiKey => Province.Gateways[Sender].ApiKey;

    [Test]
    public async Task Sends_a_package_the_gateway_signs_and_reports_it_delivered()
    {
        var package = Write("p.edxml", Letter());

        var (exit, last) = await SendAsync("--from", Sender, "--to", Recipient, "--package", package, "--gateway", GatewayUrl, "--api-key", ApiKey, "--json");

        Assert.That(exit, Is.EqualTo(ExitCodes.Ok), last);
        using var result = JsonDocument.Parse(last);
        Assert.That(result.RootElement.GetProperty("outcome").GetString(), Is.EqualTo("delivered"));
        Assert.That(result.RootElement.GetProperty("reason").GetString(), Is.EqualTo("ok"));
        Assert.That(result.RootElement.GetProperty("document_id").GetString(), Does.StartWith(Sender));
    }

    [Test]
    public async Task Reports_a_signature_no_agency_registered_as_rejected_signer_not_bound()
    {
        var bytes = Letter();
        using var rogue = CmsSigner.FromPkcs12(Province.Pki.IssueRogueCertificate("Người gửi giả"), Province.Pki.Password);

        var (exit, last) = await SendAsync("--from", Sender, "--to", Recipient, "--package", Write("p.edxml", bytes),
            "--signature", Write("p.p7s", rogue.SignDetached(bytes)), "--gateway", GatewayUrl, "--api-key", ApiKey, "--json");

        Assert.That(exit, Is.EqualTo(ExitCodes.Refused), last);
        using var result = JsonDocument.Parse(last);
        Assert.That(result.RootElement.GetProperty("outcome").GetString(), Is.EqualTo("rejected"));
        Assert.That(result.RootElement.GetProperty("reason").GetString(), Is.EqualTo("signer-not-bound"));
    }

    [Test]
    public async Task Refuses_a_command_line_that_disagrees_with_the_package_before_sending()
    {
        var package = Write("p.edxml", Letter());

        var (exit, _) = await SendAsync("--from", Sender, "--to", SampleDirectory.HangBuomWard, "--package", package, "--gateway", GatewayUrl, "--api-key", ApiKey);

        Assert.That(exit, Is.EqualTo(ExitCodes.UsageOrIo));
    }

    [Test]
    public async Task Refuses_to_send_without_a_key_and_reports_a_refused_key_as_a_usage_error()
    {
        var package = Write("p.edxml", Letter());
        var saved = Environment.GetEnvironmentVariable(SendCommand.ApiKeyVariable);
        Environment.SetEnvironmentVariable(SendCommand.ApiKeyVariable, null);
        try
        {
            var (withoutKey, _) = await SendAsync("--from", Sender, "--to", Recipient, "--package", package, "--gateway", GatewayUrl);
            var (wrongKey, _) = await SendAsync("--from", Sender, "--to", Recipient, "--package", package, "--gateway", GatewayUrl,
                "--api-key", Exchange.Gateway.Access.GatewayKeys.Prefix + Sender + "_" + new string('A', 43));

            Assert.That(withoutKey, Is.EqualTo(ExitCodes.UsageOrIo));
            Assert.That(wrongKey, Is.EqualTo(ExitCodes.UsageOrIo));
        }
        finally
        {
            Environment.SetEnvironmentVariable(SendCommand.ApiKeyVariable, saved);
        }
    }

    [Test]
    public async Task Reads_the_key_from_the_environment()
    {
        var package = Write("p.edxml", Letter());
        var saved = Environment.GetEnvironmentVariable(SendCommand.ApiKeyVariable);
        Environment.SetEnvironmentVariable(SendCommand.ApiKeyVariable, ApiKey);
        try
        {
            var (exit, last) = await SendAsync("--from", Sender, "--to", Recipient, "--package", package, "--gateway", GatewayUrl, "--json");

            Assert.That(exit, Is.EqualTo(ExitCodes.Ok), last);
        }
        finally
        {
            Environment.SetEnvironmentVariable(SendCommand.ApiKeyVariable, saved);
        }
    }

    private static byte[] Letter() => TestPackages.Letter(Sender, Recipient, "SEND", "Văn bản gửi bằng exchange send");
}
