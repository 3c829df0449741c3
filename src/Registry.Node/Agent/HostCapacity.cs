using System.Globalization;

namespace Registry.Node.Agent;

/// <summary>What this machine offers, as the registry places containers by it: CPUs, memory, free disk under the node's root.</summary>
internal static class HostCapacity
{
    public static NodeCapacity Measure(string nodeRoot) =>
        new(Environment.ProcessorCount, MemoryBytes(), DiskFreeBytes(nodeRoot));

    /// <summary>MemTotal of /proc/meminfo (the kernel counts in KiB).</summary>
    internal static long MemoryBytes()
    {
        foreach (var line in File.ReadLines("/proc/meminfo"))
        {
            if (line.StartsWith("MemTotal:", StringComparison.Ordinal))
            {
                var kib = line["MemTotal:".Length..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
                return long.Parse(kib, NumberStyles.None, CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidDataException("/proc/meminfo has no MemTotal line");
    }

    /// <summary>Free space of the file system that holds the node's root, available to its (root) user.</summary>
    internal static long DiskFreeBytes(string nodeRoot) => new DriveInfo(Path.GetFullPath(nodeRoot)).AvailableFreeSpace;
}
