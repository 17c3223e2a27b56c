namespace Exchange.Cli.Bench;

/// <summary>
/// CPU time spent on the whole machine while a bench measures, split into this process (the hub and gateways the
/// bench runs in-process), PostgreSQL and RabbitMQ. Throughput on a shared two-core machine moves with whatever
/// else runs; CPU time per document does not, so it is what tells one change from another. Linux only (<c>/proc</c>).
/// </summary>
public sealed class CpuMeter
{
    // proc(5): times in /proc are in clock ticks, USER_HZ, which is 100 on every Linux the project runs on.
    private const double TicksPerSecond = 100;

    private readonly Snapshot _start = Snapshot.Take();

    /// <summary>Milliseconds of CPU per item since this meter was made, or null where <c>/proc</c> is missing.</summary>
    public CpuPerItem? PerItem(int items)
    {
        if (!Snapshot.Available || items <= 0)
        {
            return null;
        }

        var end = Snapshot.Take();
        double Ms(long ticks) => Math.Round(ticks / TicksPerSecond * 1000 / items, 2);
        long Delta(string name) => end.ByName.GetValueOrDefault(name) - _start.ByName.GetValueOrDefault(name);
        var machine = end.Machine - _start.Machine;
        var own = end.Own - _start.Own;
        var postgres = Delta("postgres");
        var rabbitmq = Delta("beam.smp");
        return new CpuPerItem(Ms(machine), Ms(own), Ms(postgres), Ms(rabbitmq), Ms(machine - own - postgres - rabbitmq));
    }

    private sealed record Snapshot(long Machine, long Own, Dictionary<string, long> ByName)
    {
        public static bool Available => File.Exists("/proc/stat");

        public static Snapshot Take()
        {
            if (!Available)
            {
                return new Snapshot(0, 0, []);
            }

            // First line of /proc/stat: cpu user nice system idle iowait irq softirq steal ...; busy is all but idle and iowait.
            var fields = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
            var machine = fields.Sum() - fields[3] - fields[4];
            var byName = new Dictionary<string, long>(StringComparer.Ordinal);
            long own = 0;
            foreach (var folder in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(folder), out var pid) || ProcessTicks(folder) is not { } ticks)
                {
                    continue;
                }

                if (pid == Environment.ProcessId)
                {
                    own = ticks.Total;
                }

                byName[ticks.Name] = byName.GetValueOrDefault(ticks.Name) + ticks.Total;
            }

            return new Snapshot(machine, own, byName);
        }

        /// <summary>utime + stime of a process (fields 14 and 15 of /proc/PID/stat, after the command name in parentheses).</summary>
        private static (string Name, long Total)? ProcessTicks(string folder)
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(folder, "stat"));
                var open = stat.IndexOf('(');
                var close = stat.LastIndexOf(')');
                var rest = stat[(close + 2)..].Split(' ');
                return (stat[(open + 1)..close], long.Parse(rest[11]) + long.Parse(rest[12]));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
            {
                return null; // the process ended while it was read
            }
        }
    }
}

/// <summary>CPU milliseconds per item: the machine in all, this process (the in-process hosts), PostgreSQL, RabbitMQ and the rest.</summary>
public sealed record CpuPerItem(double Total, double Hosts, double Postgres, double Rabbitmq, double Other);
