using System.Globalization;

namespace Registry.Bench;

/// <summary>
/// Reads the user+system CPU time of one server from /proc/PID/stat; a server made of several processes (replicas
/// behind a load balancer) is the sum over their pids.
/// </summary>
internal sealed class ProcessCpu(IReadOnlyList<int> pids, int clockTicksPerSecond)
{
    /// <summary>"PID" or "PID+PID+...".</summary>
    public static ProcessCpu Parse(string pids, int clockTicksPerSecond) =>
        new(pids.Split('+', StringSplitOptions.RemoveEmptyEntries).Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToList(), clockTicksPerSecond);

    public double ReadSeconds() => pids.Sum(ReadTicks) / (double)clockTicksPerSecond;

    private static long ReadTicks(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) may contain spaces, so count fields from the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }
}
