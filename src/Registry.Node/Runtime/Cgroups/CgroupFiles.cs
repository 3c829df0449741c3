using System.Diagnostics;
using System.Globalization;

namespace Registry.Node.Runtime.Cgroups;

/// <summary>Parsing and bounded waiting shared by the v1 and v2 cgroups.</summary>
internal static class CgroupFiles
{
    public const int SigKill = 9;

    /// <summary>v1 reports "no limit" as a page-rounded LONG_MAX; anything this large is unlimited.</summary>
    private const long UnlimitedThreshold = 1L << 62;

    public static long? ReadNumber(ICgroupFileSystem fs, string path)
    {
        var text = fs.TryReadFile(path)?.Trim();
        return text is null or "" or "max" ? null : ParseLimit(text, path);
    }

    /// <summary>A limit value: "max", -1 and v1's near-LONG_MAX all mean no limit.</summary>
    public static long? ParseLimit(string text, string source)
    {
        text = text.Trim();
        if (text == "max")
        {
            return null;
        }

        if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            throw new CgroupException($"{source}: expected a number or \"max\", found \"{text}\"");
        }

        return value is < 0 or >= UnlimitedThreshold ? null : value;
    }

    /// <summary>The value of one "key value" line of a flat-keyed file (memory.events, memory.oom_control).</summary>
    public static long? ReadKey(string? text, string key)
    {
        if (text is null)
        {
            return null;
        }

        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && line.AsSpan(0, space).SequenceEqual(key)
                && long.TryParse(line.AsSpan(space + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
        }

        return null;
    }

    public static IReadOnlyList<int> ReadPids(ICgroupFileSystem fs, string directory)
    {
        var text = fs.TryReadFile(Path.Combine(directory, "cgroup.procs"));
        if (text is null)
        {
            return [];
        }

        var pids = new List<int>();
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            if (int.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                pids.Add(pid);
            }
        }

        return pids;
    }

    /// <summary>A Stopwatch timestamp <paramref name="timeout"/> from now.</summary>
    public static long DeadlineAfter(TimeSpan timeout) =>
        Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);

    public static string Decimal(long value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// SIGKILLs whatever <paramref name="members"/> lists until it lists nothing. Repeated because a
    /// process may fork between the read and the kill; bounded because a process stuck in the
    /// kernel (D state) must surface as an error rather than hang the agent.
    /// </summary>
    public static async Task KillUntilEmptyAsync(
        ICgroupFileSystem fs, Func<IReadOnlyList<int>> members, bool signal, string what, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var start = Stopwatch.GetTimestamp();
        while (true)
        {
            var pids = members();
            if (pids.Count == 0)
            {
                return;
            }

            if (Stopwatch.GetElapsedTime(start) >= timeout)
            {
                throw new CgroupException($"{what} still holds processes {string.Join(", ", pids)} after {timeout.TotalSeconds:0.#} s");
            }

            if (signal)
            {
                foreach (var pid in pids)
                {
                    fs.SignalProcess(pid, SigKill);
                }
            }

            await Task.Delay(10, cancellationToken);
        }
    }

    /// <summary>
    /// rmdir with bounded retries: right after its last process exits the kernel may still count
    /// the cgroup as populated for a moment (EBUSY). Missing directories count as removed.
    /// </summary>
    public static async Task RemoveTreeAsync(ICgroupFileSystem fs, string directory, long deadline, CancellationToken cancellationToken)
    {
        if (!fs.DirectoryExists(directory))
        {
            return;
        }

        // A container with its own cgroup namespace may have made cgroups below ours; rmdir
        // refuses a cgroup with children, so they go first.
        foreach (var child in fs.ListDirectories(directory))
        {
            await RemoveTreeAsync(fs, child, deadline, cancellationToken);
        }

        while (true)
        {
            try
            {
                fs.RemoveDirectory(directory);
                return;
            }
            catch (CgroupFileException e) when (e.Errno == HostCgroupFileSystem.ENOENT)
            {
                return;
            }
            catch (CgroupFileException e) when (e.Errno is HostCgroupFileSystem.EBUSY or HostCgroupFileSystem.ENOTEMPTY
                                                && Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(10, cancellationToken);
            }
            catch (CgroupFileException e)
            {
                throw new CgroupException($"cannot remove cgroup {directory}: {e.Message}", e);
            }
        }
    }
}
