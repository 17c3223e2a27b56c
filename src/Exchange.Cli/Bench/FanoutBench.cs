using System.Diagnostics;
using Exchange.Core;
using Exchange.Gateway;
using Exchange.ServiceDefaults;
using Exchange.Signing;
using Microsoft.EntityFrameworkCore;

namespace Exchange.Cli.Bench;

/// <summary>
/// A province's peak: one directive to every ward of a district of <c>n</c> wards, addressed as one group
/// (<c>communes:000.00.29.H29</c>) through the province's gateway. The hub expands it, stores a delivery and evidence
/// per ward, forwards, verifies every ward's signed receipt and records it; the province's gateway records every
/// confirmation. The wards are a <see cref="RecipientFarm"/>.
/// </summary>
internal static class FanoutBench
{
    public const string Prefix = "bench-fanout-";
    private const string District = "000.00.29.H29";

    public sealed record Result(int Recipients, double FirstSeconds, double Seconds, int Confirmed, int Refused);

    public static async Task<Result> RunAsync(int recipients, int size, TimeSpan timeout, ConsoleProgress console, CancellationToken ct)
    {
        var servers = ServerSettings.FromEnvironment();
        var sample = SampleDirectory.Load();
        var pki = DevPki.LoadOrCreate(ExchangeHome.Pki, sample.Agencies.Select(a => (a.Code, a.Name)));
        var farmSigner = CmsSigner.FromPkcs12(pki.IssueRogueCertificate("Bench recipient farm"), pki.Password);
        // Level-4 groups 000-999 under level-3 groups 01, 02, …: a district of any size with valid QCVN 102:2016 codes.
        var wards = Enumerable.Range(0, recipients).Select(i => $"{i % 1000:000}.{1 + (i / 1000):00}.29.H29").ToList();
        var directory = sample with
        {
            Agencies =
            [
                .. sample.Agencies,
                new Agency(District, "UBND Quận đo tải", AgencyKind.District, SampleDirectory.Province, []),
                .. wards.Select(w => new Agency(w, $"UBND Phường đo tải {w}", AgencyKind.Commune, District, [farmSigner.CertificateSha256])),
            ],
        };

        // Per-agency broker users for a thousand wards would be a thousand users to provision; the hub and the farm use
        // the administrator here, which changes nothing on the path measured.
        var settings = new DeploymentSettings(servers, ExchangeHome.Pki, directory, Prefix, GatewayAgencies: [SampleDirectory.Province]) { FreshDatabases = true };
        await using var deployment = await LocalDeployment.StartAsync(settings, console.Stages("starting "), ct);
        var verifier = new SignatureVerifier(TrustStore.Load(new TrustOptions { TrustAnchorFiles = [pki.RootCertificatePath], CrlFiles = [pki.CrlPath] }));
        console.Stage($"recipient farm for {recipients} wards");
        await using var farm = await RecipientFarm.StartAsync(servers, deployment.Names, wards, farmSigner, verifier, ct);

        var client = new GatewayClient(deployment.Gateways[SampleDirectory.Province].Http);
        var payload = new byte[size];
        new Random(42).NextBytes(payload);
        console.Stage("first directive (cold: the JIT compiles the path as it goes)");
        var (firstSeconds, _) = await DirectiveAsync();
        console.Stage("second directive (measured)");
        var (seconds, confirmed) = await DirectiveAsync();
        return new Result(recipients, firstSeconds, seconds, confirmed, farm.Refused);

        async Task<(double Seconds, int Confirmed)> DirectiveAsync()
        {
            var clock = Stopwatch.StartNew();
            var answer = await client.SendDocumentAsync(
                new DocumentMetadata([$"communes:{District}"], "Chỉ thị khẩn về phòng, chống lụt bão", CodeNotation: "CT-UBND", Priority: 3),
                [("chi-thi.bin", "application/octet-stream", payload)], ct);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
            deadline.CancelAfter(timeout);
            await using var db = deployment.CreateGatewayDb(SampleDirectory.Province);
            var done = 0;
            await console.TrackAsync("receipts", recipients, async report =>
            {
                while (!deadline.IsCancellationRequested && done < recipients)
                {
                    done = await db.OutboxReceipts.CountAsync(r => r.EnvelopeId == answer.EnvelopeId, ct);
                    report(done);
                    await Task.Delay(20, ct);
                }
            });
            return (Math.Round(clock.Elapsed.TotalSeconds, 3), done);
        }
    }
}
