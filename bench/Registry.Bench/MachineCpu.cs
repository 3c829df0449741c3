using System.Diagnostics;
using System.Globalization;

namespace Registry.Bench;

/// <summary>
/// Measures how much of the machine's CPU went to processes other than the benchmark (this tool
/// and the servers under test). On a shared machine that is what makes a figure unreliable.
/// </summary>
internal sealed class MachineCpu(IReadOnlyList<ProcessCpu> servers, int clockTicksPerSecond)
{
    private const double QuietPercent = 20;

    private TimeSpan _waitBudget;

    public static MachineCpu Create(IEnumerable<ProcessCpu?> servers, int clockTicksPerSecond, TimeSpan waitBudget) =>
        new(servers.OfType<ProcessCpu>().ToList(), clockTicksPerSecond) { _waitBudget = waitBudget };

    public Sample Start() => new(this, ReadStat(), OwnTicks());

    /// <summary>
    /// Waits, in half-second samples, until others use under 20% of the CPU; the total wait over the
    /// whole run is bounded, after which it returns at once.
    /// </summary>
    public async Task WaitForQuietAsync()
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var sample = Start();
            await Task.Delay(500);
            if (sample.OtherPercent() < QuietPercent || clock.Elapsed >= _waitBudget)
            {
                break;
            }
        }

        _waitBudget -= clock.Elapsed < _waitBudget ? clock.Elapsed : _waitBudget;
        if (clock.Elapsed > TimeSpan.FromSeconds(1))
        {
            Console.WriteLine($"  waited {clock.Elapsed.TotalSeconds:0} s for other work on the machine");
        }
    }

    /// <summary>(busy, total) ticks of all CPUs from the first line of /proc/stat.</summary>
    private static (long Busy, long Total) ReadStat()
    {
        using var reader = new StreamReader("/proc/stat");
        var fields = (reader.ReadLine() ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries);
        long Field(int i) => i < fields.Length ? long.Parse(fields[i], CultureInfo.InvariantCulture) : 0;
        // Fields: user nice system idle iowait irq softirq steal. Interrupt time is left out of
        // "busy": loopback TCP is processed in softirq context, which is charged to no process, so
        // the benchmark's own traffic would otherwise count as someone else's work.
        var busy = Field(1) + Field(2) + Field(3) + Field(8);
        return (busy, busy + Field(4) + Field(5) + Field(6) + Field(7));
    }

    private double OwnTicks()
    {
        using var self = Process.GetCurrentProcess();
        return (self.TotalProcessorTime.TotalSeconds + servers.Sum(s => s.ReadSeconds())) * clockTicksPerSecond;
    }

    internal sealed class Sample(MachineCpu owner, (long Busy, long Total) stat, double ownTicks)
    {
        /// <summary>Percent of all CPUs used by other processes since the sample started.</summary>
        public double OtherPercent()
        {
            var now = ReadStat();
            var total = now.Total - stat.Total;
            if (total <= 0)
            {
                return 0;
            }

            var others = now.Busy - stat.Busy - (owner.OwnTicks() - ownTicks);
            return Math.Clamp(100.0 * others / total, 0, 100);
        }
    }
}
