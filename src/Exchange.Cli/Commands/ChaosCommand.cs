using System.CommandLine;
using Exchange.Cli.Chaos;

namespace Exchange.Cli.Commands;

/// <summary>
/// `exchange chaos`: sends documents through the real path (gateways' HTTP API → hub → recipient gateways → signed
/// receipts back) with the hub and every gateway in a process of its own, while it kills the hub with SIGKILL twice,
/// restarts RabbitMQ, restarts PostgreSQL and kills one recipient gateway; then waits for the system to settle and
/// checks that every document was delivered or rejected with evidence, none lost, none held twice, and the evidence
/// chain intact. The last line of standard output is one JSON object. Loopback only; bounded by --timeout.
/// It restarts the servers through deploy/local/services.sh: run it only on servers of your own. With --cluster it runs on
/// the cluster of services.sh up --cluster and injects the cluster's faults instead (a RabbitMQ node stopped and started,
/// PostgreSQL failed over to its standby).
/// </summary>
public static class ChaosCommand
{
    public static Command Create()
    {
        var count = new Option<int>("--count") { Description = "Documents to send.", DefaultValueFactory = _ => 10_000 };
        var concurrency = new Option<int>("--concurrency") { Description = "HTTP submissions in flight at once.", DefaultValueFactory = _ => 8 };
        // The whole path does about 60-70 documents/s on two idle cores (exchange bench); the gateways accept several times
        // that. Sent faster than the hub can route, the run builds a backlog of its own making, which then dominates the
        // recovery times and sets the deadline chaser forwarding everything again.
        var rate = new Option<double>("--rate")
        {
            Description = "Documents per second at most (below what the hub can route, so that recovery times measure the faults); 0 sends as fast as the gateways accept them.",
            DefaultValueFactory = _ => 20,
        };
        var timeout = new Option<int>("--timeout") { Description = "Seconds the whole run may take (sending and settling); then it stops and reports.", DefaultValueFactory = _ => 3600 };
        var settle = new Option<int>("--settle-timeout")
        {
            Description = "After the last submission, seconds to keep waiting while no further document becomes delivered or rejected (the rest then count as lost).",
            DefaultValueFactory = _ => 180,
        };
        var restartAfter = new Option<int>("--restart-after") { Description = "Seconds a killed host stays down before it is started again.", DefaultValueFactory = _ => 3 };
        var deadline = new Option<int>("--deadline")
        {
            Description = "Seconds the hub gives a delivery before it forwards it again, then expires it (Router:Deadlines:Normal): short, so that the deadline chaser works during the faults.",
            DefaultValueFactory = _ => 30,
        };
        var services = new Option<FileInfo>("--services")
        {
            Description = "The script that restarts the servers (restart-rabbitmq, restart-postgres).",
            DefaultValueFactory = _ => new FileInfo(Path.Combine("deploy", "local", "services.sh")),
        };
        var cluster = new Option<bool>("--cluster")
        {
            Description = "On the cluster (services.sh up --cluster): stop and start a RabbitMQ node, fail PostgreSQL over to its standby and rebuild the standby, instead of the single servers' faults.",
        };
        var command = new Command("chaos", "Send documents through the real path while killing the hub and a gateway and restarting RabbitMQ and PostgreSQL; check nothing is lost or duplicated.")
        {
            count, concurrency, rate, timeout, settle, restartAfter, deadline, services, cluster,
        };
        command.SetAction(async (p, ct) =>
        {
            var options = new ChaosOptions(
                p.GetValue(count), p.GetValue(concurrency), p.GetValue(rate), TimeSpan.FromSeconds(p.GetValue(timeout)), TimeSpan.FromSeconds(p.GetValue(settle)),
                TimeSpan.FromSeconds(p.GetValue(restartAfter)), TimeSpan.FromSeconds(p.GetValue(deadline)), p.GetValue(services)!)
            {
                Cluster = p.GetValue(cluster),
            };
            if (options.Count < 1 || options.Concurrency < 1 || options.Rate < 0 || options.Timeout <= TimeSpan.Zero || options.SettleTimeout <= TimeSpan.Zero || options.RestartAfter < TimeSpan.Zero || options.Deadline <= TimeSpan.Zero)
            {
                await Console.Error.WriteLineAsync("--count, --concurrency, --timeout, --settle-timeout and --deadline must be at least 1, --rate and --restart-after at least 0.");
                return ExitCodes.UsageOrIo;
            }

            if (!options.ServicesScript.Exists)
            {
                await Console.Error.WriteLineAsync($"No services script at {options.ServicesScript.FullName}: run from the checkout root or pass --services.");
                return ExitCodes.UsageOrIo;
            }

            return await ChaosRun.RunAsync(options, ct);
        });
        return command;
    }
}
