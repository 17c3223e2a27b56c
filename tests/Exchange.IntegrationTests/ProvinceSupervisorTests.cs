using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text.Json;
using Exchange.Signing;

namespace Exchange.IntegrationTests;

/// <summary>
/// `exchange province up|status|down` for real: the built tool starts its supervisor detached, which runs the hub, the
/// audit host and a gateway per agency as processes of their own. A two-agency directory, a run prefix of its own, free
/// ports and a private EXCHANGE_HOME keep it apart from the province a developer may be running.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ProvinceSupervisorTests
{
    private const string Province = "000.00.00.H29";
    private const string Department = "000.00.01.H29";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(180);

    private string _home = null!;

    [SetUp]
    public void Home()
    {
        // Emptied before the test, not after, so that a failed run leaves its state and logs to inspect.
        _home = Path.Combine(TestContext.CurrentContext.WorkDirectory, "province-home");
        if (Directory.Exists(_home))
        {
            Directory.Delete(_home, recursive: true);
        }

        Directory.CreateDirectory(_home);
    }

    [TearDown]
    public void Down()
    {
        // Whatever the outcome, no supervisor or host outlives the test.
        Exchange("down");
    }

    [Test]
    public async Task Keeps_every_host_running_restarts_a_killed_gateway_and_answers_up_again_with_the_same_credentials()
    {
        var directory = Path.Combine(_home, "directory.json");
        await File.WriteAllTextAsync(directory, $$"""
            {
              "agencies": [
                { "code": "{{Province}}", "name": "UBND Thành phố Hà Nội", "kind": "Province", "certificates": [] },
                { "code": "{{Department}}", "name": "Sở Nội vụ", "kind": "Department", "parent": "{{Province}}", "certificates": [] }
              ]
            }
            """);
        var prefix = $"{Servers.RunPrefix}{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}-";
        var basePort = FreePortPlan();

        // 1. up: every host ready, the answer names both gateways with their credentials.
        var up = Exchange("up", "--json", "--prefix", prefix, "--base-port", basePort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--directory", directory);
        Assert.That(up.Exit, Is.Zero, up.ToString());
        var answer = LastLine(up);
        using var json = JsonDocument.Parse(answer);
        var gateways = json.RootElement.GetProperty("gateways").EnumerateArray().ToList();
        Assert.That(gateways.Select(g => g.GetProperty("agency").GetString()), Is.EqualTo(new[] { Province, Department }));
        Assert.That(gateways.Select(g => g.GetProperty("kind").GetString()), Is.EqualTo(new[] { "Province", "Department" }));
        Assert.That(json.RootElement.GetProperty("hub").GetProperty("url").GetString(), Is.EqualTo($"http://127.0.0.1:{basePort}"));
        Assert.That(gateways[0].GetProperty("url").GetString(), Is.EqualTo($"http://127.0.0.1:{basePort + 20}"));
        Assert.That(up.Error, Does.Contain("ready"), "progress on standard error");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        foreach (var gateway in gateways)
        {
            var url = gateway.GetProperty("url").GetString()!;
            Assert.That(gateway.GetProperty("vdxp").GetProperty("url").GetString(), Is.EqualTo($"{url}/vdxp"));
            Assert.That(gateway.GetProperty("vdxp").GetProperty("system_id").GetString(), Does.StartWith(gateway.GetProperty("agency").GetString()!));
            Assert.That(gateway.GetProperty("vdxp").GetProperty("secret").GetString(), Is.Not.Empty);
            Assert.That((await http.GetAsync(new Uri($"{url}/health/ready"))).StatusCode, Is.EqualTo(HttpStatusCode.OK), url);

            // The key it printed is one the gateway accepts, and the API refuses a caller without one.
            Assert.That((await http.GetAsync(new Uri($"{url}/api/inbox"))).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
            using var inbox = new HttpRequestMessage(HttpMethod.Get, new Uri($"{url}/api/inbox"));
            inbox.Headers.Add("X-Api-Key", gateway.GetProperty("api_key").GetString());
            Assert.That((await http.SendAsync(inbox)).StatusCode, Is.EqualTo(HttpStatusCode.OK), $"{url} accepts its API key");
        }

        var audit = json.RootElement.GetProperty("audit");
        using (var deliveries = new HttpRequestMessage(HttpMethod.Get, new Uri($"{audit.GetProperty("url").GetString()}/api/deliveries")))
        {
            deliveries.Headers.Add("X-Api-Key", audit.GetProperty("api_key").GetString());
            Assert.That((await http.SendAsync(deliveries)).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the audit host accepts its auditors' key");
        }

        var plan = Path.Combine(_home, "province", "province.json");
        Assert.That(OperatingSystem.IsWindows() ? UnixFileMode.UserRead | UnixFileMode.UserWrite : File.GetUnixFileMode(plan), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), "the credentials file is its owner's only");

        // 2. SIGKILL one gateway: the supervisor starts it again on the same URL.
        var before = Host(Status(), $"gateway-{Department}");
        var killed = before.GetProperty("pid").GetInt32();
        using (var process = Process.GetProcessById(killed))
        {
            process.Kill(); // SIGKILL
            await process.WaitForExitAsync();
        }

        var deadline = DateTimeOffset.UtcNow + TimeSpan.FromSeconds(90);
        JsonElement after;
        while (true)
        {
            after = Host(Status(), $"gateway-{Department}");
            if (after.GetProperty("up").GetBoolean() && after.GetProperty("pid").ValueKind == JsonValueKind.Number && after.GetProperty("pid").GetInt32() != killed)
            {
                break;
            }

            Assert.That(DateTimeOffset.UtcNow, Is.LessThan(deadline), $"the killed gateway was not back within 90 s: {after}");
            await Task.Delay(500);
        }

        Assert.That(after.GetProperty("restarts").GetInt32(), Is.EqualTo(1));
        Assert.That(after.GetProperty("url").GetString(), Is.EqualTo(before.GetProperty("url").GetString()));
        Assert.That(await File.ReadAllTextAsync(Path.Combine(_home, "logs", "province", "supervisor.log")), Does.Contain($"gateway-{Department} (pid {killed}) exited without being told to (code 137)"));

        // 3. up again: the same answer, and nothing new started.
        var again = Exchange("up", "--json");
        Assert.That(again.Exit, Is.Zero, again.ToString());
        Assert.That(LastLine(again), Is.EqualTo(answer));
        Assert.That(again.Error, Does.Contain("runs already"));

        // 4. down: the supervisor and every host stop.
        var hosts = Status().GetProperty("hosts").EnumerateArray().Select(h => h.GetProperty("pid").GetInt32()).ToList();
        var down = Exchange("down");
        Assert.That(down.Exit, Is.Zero, down.ToString());
        Assert.That(down.Output, Does.Contain("stopped the supervisor"));
        var status = Exchange("status", "--json");
        Assert.That(status.Exit, Is.EqualTo(1), "status says no when the province is down");
        using var stopped = JsonDocument.Parse(LastLine(status));
        Assert.That(stopped.RootElement.GetProperty("supervisor").GetProperty("running").GetBoolean(), Is.False);
        Assert.That(hosts.Where(Alive), Is.Empty, "no host outlives down");
    }

    private JsonElement Status()
    {
        var run = Exchange("status", "--json");
        using var json = JsonDocument.Parse(LastLine(run));
        return json.RootElement.Clone();
    }

    private static JsonElement Host(JsonElement status, string name) =>
        status.GetProperty("hosts").EnumerateArray().Single(h => h.GetProperty("name").GetString() == name);

    private static bool Alive(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>A base port whose plan (hub, audit, two gateways 20 above) is free now.</summary>
    private static int FreePortPlan()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var basePort = 30000 + (RandomNumberGenerator.GetInt32(1000) * 25);
            if (new[] { 0, 1, 20, 21 }.All(offset => Free(basePort + offset)))
            {
                return basePort;
            }
        }

        throw new InvalidOperationException("No free port plan found.");
    }

    private static bool Free(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static string LastLine(Run run) =>
        run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault()
        ?? throw new AssertionException($"nothing on standard output:{run}");

    private sealed record Run(int Exit, string Output, string Error)
    {
        public override string ToString() => $"\nexit {Exit}\n--- stdout\n{Output}--- stderr\n{Error}";
    }

    /// <summary>Runs the built `exchange` (copied beside the tests) with the test's EXCHANGE_HOME and the servers' settings of this process.</summary>
    private Run Exchange(params string[] arguments)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet")
        {
            WorkingDirectory = _home,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "exchange.dll"));
        start.ArgumentList.Add("province");
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment[ExchangeHome.EnvironmentVariable] = _home;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(CommandTimeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"`exchange province {string.Join(' ', arguments)}` did not finish within {CommandTimeout.TotalSeconds} s.");
        }

        return new Run(process.ExitCode, output.Result, error.Result);
    }
}
