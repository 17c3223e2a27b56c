using System.CommandLine;
using System.Text.Json;
using Exchange.Core;
using Exchange.Edxml;
using Exchange.Gateway;
using Exchange.ServiceDefaults;
using Exchange.Signing;
using Microsoft.EntityFrameworkCore;
using Spectre.Console;

namespace Exchange.Cli.Commands;

/// <summary>
/// `exchange demo`: a province's day in one command. Starts the hub and every agency's gateway against the
/// real servers, sends an official letter and a directive, tries a forged envelope, waits for the signed
/// receipts and prints every delivery with its evidence. With <c>--topology federated</c> the province's hub
/// and a hub for each district carry the same scenario, plus a report from a ward up to a department and a
/// letter addressed to a ward that was merged into its neighbour while the hubs ran.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "End with one JSON line summarising the run." };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for every receipt.", DefaultValueFactory = _ => 120 };
        var topology = new Option<string>("--topology") { Description = "single: one hub; federated: the province's hub and a hub per district.", DefaultValueFactory = _ => "single" };
        topology.AcceptOnlyFromAmong("single", "federated");
        var command = new Command("demo", "Run the sample province end to end on the local PostgreSQL and RabbitMQ.") { json, timeout, topology };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(json), TimeSpan.FromSeconds(parse.GetValue(timeout)), parse.GetValue(topology) == "federated", ct));
        return command;
    }

    private sealed record Sent(string Kind, Agency From, IReadOnlyList<string> To, SubmissionAnswer Answer, bool Genuine);

    private static async Task<int> RunAsync(bool json, TimeSpan timeout, bool federated, CancellationToken ct)
    {
        var console = new ConsoleProgress();
        // Each gateway logs in to RabbitMQ as its agencys own user. Hosts log errors only: the table below is the
        // report, and the forged envelope is expected to be refused.
        var settings = new DeploymentSettings(
            ServerSettings.FromEnvironment(), ExchangeHome.Pki, federated ? SampleDirectory.Federated() : SampleDirectory.Load(), LogLevel: "Error", PerAgencyBrokerUsers: true);
        LocalDeployment deployment;
        try
        {
            deployment = await LocalDeployment.StartAsync(settings, console.Stages("starting "), ct);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or System.Net.Sockets.SocketException or MassTransit.RabbitMqConnectionException or TimeoutException)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]Cannot reach the servers ({e.Message}).[/] Start them with: deploy/local/services.sh up");
            return ExitCodes.UsageOrIo;
        }

        await using (deployment)
        {
            var directory = deployment.Directory;
            console.Stage($"{1 + deployment.LowerHubs.Count} hub(s) and {deployment.Gateways.Count} gateways running, directory version {directory.Version}");

            var sent = new List<Sent>();
            var department = directory.Find(SampleDirectory.HomeAffairs)!;
            sent.Add(await SendAsync(deployment, "letter", department, [SampleDirectory.PhucXaWard], new DocumentMetadata(
                To: [SampleDirectory.PhucXaWard],
                Subject: "Công văn về việc rà soát biên chế công chức cấp xã năm 2027",
                CodeNotation: "SNV-TCBC", DocumentType: 2, DocumentTypeName: "Công văn", PromulgationPlace: "Hà Nội",
                SignerFullName: "Nguyễn Văn An", SignerPosition: "Giám đốc"), ct));

            var province = directory.Find(SampleDirectory.Province)!;
            var communes = directory.ChildrenOf(SampleDirectory.BaDinhDistrict).Where(a => a.Kind == AgencyKind.Commune).Select(a => a.Code).ToList();
            sent.Add(await SendAsync(deployment, "directive", province, communes, new DocumentMetadata(
                To: communes,
                Subject: "Chỉ thị về tăng cường công tác phòng, chống thiên tai năm 2027",
                CodeNotation: "CT-UBND", DocumentType: 3, DocumentTypeName: "Chỉ thị", PromulgationPlace: "Hà Nội", Priority: 1,
                DueDate: DateOnly.FromDateTime(DateTime.UtcNow.AddDays(14)), SignerFullName: "Trần Thị Bình", SignerPosition: "Chủ tịch"), ct));

            sent.Add(await SendForgedAsync(deployment, ct));
            if (federated)
            {
                sent.Add(await SendAsync(deployment, "report", directory.Find(SampleDirectory.PhucXaWard)!, [SampleDirectory.HomeAffairs], new DocumentMetadata(
                    To: [SampleDirectory.HomeAffairs],
                    Subject: "Báo cáo kết quả rà soát biên chế công chức phường Phúc Xá",
                    CodeNotation: "BC-UBND", DocumentType: 5, DocumentTypeName: "Báo cáo", PromulgationPlace: "Hà Nội"), ct));

                // Hàng Đào ward is merged into Hàng Buồm while the hubs run; a letter to its old code reaches Hàng Buồm.
                await deployment.ImportDirectoryAsync(DirectoryChanges.Merge(deployment.Directory.Document, SampleDirectory.HangDaoWard, SampleDirectory.HangBuomWard, DateTimeOffset.UtcNow), ct);
                await Task.Delay(TimeSpan.FromSeconds(1.5), ct); // hubs look for a newer directory version every second
                sent.Add(await SendAsync(deployment, "to merged ward", department, [SampleDirectory.HangDaoWard], new DocumentMetadata(
                    To: [SampleDirectory.HangDaoWard],
                    Subject: "Công văn về việc bàn giao hồ sơ lưu trữ sau sáp nhập phường",
                    CodeNotation: "SNV-VTLT", DocumentType: 2, DocumentTypeName: "Công văn", PromulgationPlace: "Hà Nội"), ct));
            }

            console.Stage($"sent {sent.Count} documents; waiting for receipts and verdicts");

            var states = await WaitAsync(deployment, sent, timeout, console, ct);
            return await ReportAsync(deployment, sent, states, json, ct);
        }
    }

    private static async Task<Sent> SendAsync(LocalDeployment deployment, string kind, Agency from, IReadOnlyList<string> to, DocumentMetadata metadata, CancellationToken ct)
    {
        var client = new GatewayClient(deployment.Gateways[from.Code].Http);
        var file = System.Text.Encoding.UTF8.GetBytes($"{metadata.Subject}\n\nNơi nhận: {string.Join(", ", to)}\n");
        var answer = await client.SendDocumentAsync(metadata, [($"{kind}.txt", "text/plain; charset=utf-8", file)], ct);
        return new Sent(kind, from, to, answer, Genuine: true);
    }

    /// <summary>
    /// An impostor writes in the Finance department's name but signs with a certificate from the same CA that
    /// no agency registered. The chain is valid; the directory binding is not, so the hub must refuse it.
    /// </summary>
    private static async Task<Sent> SendForgedAsync(LocalDeployment deployment, CancellationToken ct)
    {
        var victim = deployment.Directory.Find(SampleDirectory.Finance)!;
        var rogue = CmsSigner.FromPkcs12(deployment.Pki.IssueRogueCertificate("Phòng Tài chính giả mạo"), deployment.Pki.Password);
        var today = DateOnly.FromDateTime(DateTime.UtcNow);
        var codeNumber = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        var package = EdxmlWriter.Write(new EdxmlPackage(new EdxmlHeader
        {
            From = new EdxmlOrganisation(victim.Code, victim.Name),
            To = [new EdxmlOrganisation(SampleDirectory.HangBuomWard)],
            DocumentId = EdxmlDocumentId.Format(victim.Code, today, $"{codeNumber}/STC-KH"),
            CodeNumber = codeNumber,
            CodeNotation = "STC-KH",
            Subject = "Đề nghị chuyển kinh phí gấp vào tài khoản mới",
            PromulgationDate = today,
        }, []));
        var client = new GatewayClient(deployment.Gateways[victim.Code].Http);
        var answer = await client.SendPackageAsync(package, rogue.SignDetached(package), ct);
        return new Sent("forged", victim, [SampleDirectory.HangBuomWard], answer, Genuine: false);
    }

    private static async Task<Dictionary<Guid, DocumentState>> WaitAsync(
        LocalDeployment deployment, IReadOnlyList<Sent> sent, TimeSpan timeout, ConsoleProgress console, CancellationToken ct)
    {
        var states = new Dictionary<Guid, DocumentState>();
        var expected = sent.Sum(s => s.Genuine ? s.To.Count : 1);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        await console.TrackAsync("receipts and verdicts", expected, async report =>
        {
            while (!deadline.IsCancellationRequested)
            {
                foreach (var s in sent)
                {
                    if (await new GatewayClient(deployment.Gateways[s.From.Code].Http).GetDocumentAsync(s.Answer.EnvelopeId, ct) is { } state)
                    {
                        states[s.Answer.EnvelopeId] = state;
                    }
                }

                var done = sent.Sum(s => states.GetValueOrDefault(s.Answer.EnvelopeId) is not { } st ? 0
                    : st.State == "rejected" ? 1
                    : st.Recipients.Count(r => r.State == "delivered"));
                report(done);
                if (done >= expected)
                {
                    return;
                }

                try
                {
                    await Task.Delay(250, deadline.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });
        return states;
    }

    private static async Task<int> ReportAsync(
        LocalDeployment deployment, IReadOnlyList<Sent> sent, Dictionary<Guid, DocumentState> states, bool json, CancellationToken ct)
    {
        var ids = sent.Select(s => s.Answer.EnvelopeId).ToList();
        var evidenceRows = new List<Persistence.Hub.EvidenceRow>();
        var deliveryRows = new List<Persistence.Hub.DeliveryRow>();
        // Each envelope's evidence is kept by the hub that accepted it from its sender (null: the top hub).
        var top = deployment.Directory.TopHub;
        foreach (var byHub in sent.GroupBy(s => deployment.Directory.ServingHub(s.From.Code) is { } h && h != top ? h : null))
        {
            var origin = byHub.Select(s => s.Answer.EnvelopeId).ToList();
            await using var db = byHub.Key is null ? deployment.CreateHubDb() : deployment.CreateHubDbOf(byHub.Key);
            evidenceRows.AddRange(await db.Evidence.AsNoTracking().Where(e => origin.Contains(e.EnvelopeId)).OrderBy(e => e.Seq).ToListAsync(ct));
            deliveryRows.AddRange(await db.Deliveries.AsNoTracking().Where(d => origin.Contains(d.EnvelopeId)).ToListAsync(ct));
        }

        var evidence = evidenceRows.ToLookup(e => (e.EnvelopeId, e.RecipientCode));
        var routes = new List<object>();

        var table = new Table().Title("Deliveries").AddColumns("Document", "From", "To", "Outcome", "Evidence (hub)", "Receipt");
        int deliveries = 0, delivered = 0, rejected = 0;
        var ok = true;
        foreach (var s in sent)
        {
            var state = states.GetValueOrDefault(s.Answer.EnvelopeId);
            var submission = evidence[(s.Answer.EnvelopeId, null)].LastOrDefault();
            if (!s.Genuine)
            {
                var refused = state?.State == "rejected" && state.Reason == ReasonCode.SignerNotBound.ToCode();
                rejected += state?.State == "rejected" ? 1 : 0;
                ok &= refused;
                table.AddRow(Markup.Escape($"{s.Kind}\n{s.Answer.EnvelopeId}"), Markup.Escape(s.From.Name),
                    Markup.Escape(string.Join("\n", s.To.Select(to => $"{deployment.Directory.Find(to)?.Name}\n{to}"))),
                    refused ? $"[green]rejected: {state!.Reason}[/]" : $"[red]{Markup.Escape(state?.State ?? "no answer")}[/]",
                    Markup.Escape($"{submission?.Kind} ({submission?.Reason})"), "-");
                continue;
            }

            foreach (var to in state?.Recipients.Select(r => r.Code) ?? s.To)
            {
                deliveries++;
                var recipient = state?.Recipients.FirstOrDefault(r => r.Code == to);
                var isDelivered = recipient?.State == "delivered";
                delivered += isDelivered ? 1 : 0;
                ok &= isDelivered;
                var consignment = evidence[(s.Answer.EnvelopeId, to)].LastOrDefault();
                routes.Add(new
                {
                    document_id = s.Answer.EnvelopeId,
                    recipient = to,
                    state = recipient?.State ?? state?.State ?? "unknown",
                    hops = await HopsAsync(deployment, to, s.Answer.EnvelopeId, ct),
                    resolved_from = deliveryRows.FirstOrDefault(d => d.EnvelopeId == s.Answer.EnvelopeId && d.RecipientCode == to)?.ResolvedFrom,
                });
                table.AddRow(
                    Markup.Escape($"{s.Kind}\n{s.Answer.EnvelopeId}"),
                    Markup.Escape(s.From.Name),
                    Markup.Escape($"{deployment.Directory.Find(to)?.Name}\n{to}"),
                    isDelivered ? "[green]delivered[/]" : $"[red]{Markup.Escape(recipient?.State ?? state?.State ?? "no answer")}[/]",
                    Markup.Escape($"{submission?.Kind}\n{consignment?.Kind ?? "-"}"),
                    Markup.Escape(recipient?.ReceiptId?.ToString() ?? "-"));
            }
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine(ok
            ? "[green]Every genuine delivery was confirmed with a signed receipt and the forged envelope was rejected.[/]"
            : "[red]Not every genuine delivery was confirmed, or the forged envelope was not rejected as signer-not-bound.[/]");
        AnsiConsole.MarkupLineInterpolated($"Trust anchor: {deployment.Pki.RootCertificatePath}");

        if (json)
        {
            Console.WriteLine(JsonSerializer.Serialize(new
            {
                ok,
                documents = sent.Count,
                deliveries,
                delivered,
                rejected,
                document_ids = ids,
                edxml_document_ids = sent.Select(s => s.Answer.DocumentId),
                directory_version = deployment.Directory.Version,
                trust_anchor = deployment.Pki.RootCertificatePath,
                routes,
            }));
        }

        return ok ? ExitCodes.Ok : ExitCodes.Refused;
    }

    /// <summary>The hubs the envelope crossed to reach the recipient, in order, from the trace its gateway stored.</summary>
    private static async Task<IReadOnlyList<string>> HopsAsync(LocalDeployment deployment, string recipient, Guid envelopeId, CancellationToken ct)
    {
        if (!deployment.Gateways.TryGetValue(recipient, out var gateway)
            || await new GatewayClient(gateway.Http).GetInboxItemAsync(envelopeId, ct) is not { } item)
        {
            return [];
        }

        // The last entry is the recipient's own gateway storing it.
        return item.Trace.EnumerateArray().SkipLast(1).Select(e => e.GetProperty("Hub").GetString() ?? string.Empty).ToList();
    }
}
