using System.Globalization;

namespace Registry.Bench;

/// <summary>Reads a process's user+system CPU time from /proc/PID/stat.</summary>
internal sealed class ProcessCpu(int pid, int clockTicksPerSecond)
{
    public double ReadSeconds()
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        // The command name (field 2) may contain spaces, so count fields from the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var utime = long.Parse(fields[11], CultureInfo.InvariantCulture);
        var stime = long.Parse(fields[12], CultureInfo.InvariantCulture);
        return (double)(utime + stime) / clockTicksPerSecond;
    }
}
