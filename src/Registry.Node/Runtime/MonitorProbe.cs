using System.Globalization;

namespace Registry.Node.Runtime;

/// <summary>
/// Whether the rn-init monitor recorded in a container's state still runs. A pid alone is not
/// enough: after the monitor died (SIGKILL, a reboot) the pid may belong to another process, so
/// its start time since boot (field 22 of <c>/proc/PID/stat</c>) and the boot id must match too.
/// </summary>
internal static class MonitorProbe
{
    private static readonly Lazy<string?> CurrentBootId = new(() =>
    {
        try
        {
            return File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim();
        }
        catch (IOException)
        {
            return null;
        }
    });

    public static string? BootId => CurrentBootId.Value;

    /// <summary>The process's start time in clock ticks since boot; null if it is gone or a zombie.</summary>
    public static ulong? StartTime(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }

        // "PID (COMM) STATE PPID …": COMM may hold spaces and parentheses, so fields count from the last ')'.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        if (fields.Length < 20 || fields[0] == "Z" || fields[0] == "X")
        {
            return null;
        }

        return ulong.TryParse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture, out var start) ? start : null;
    }

    public static bool IsAlive(ContainerStateFile state)
    {
        if (state.MonitorPid is not { } pid || StartTime(pid) is not { } start)
        {
            return false;
        }

        return (state.MonitorStartTime is not { } recorded || recorded == start)
            && (state.BootId is null || state.BootId == BootId);
    }
}
