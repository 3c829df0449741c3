namespace Registry.Node.Runtime.Cgroups;

/// <summary>
/// A container's cgroup on v1 hierarchies: one directory per mounted controller hierarchy
/// (memory, cpu, pids), each holding the container's processes.
/// </summary>
public sealed class CgroupV1 : ICgroup
{
    private readonly ICgroupFileSystem _fs;
    private readonly IReadOnlyDictionary<string, string> _byController;

    internal CgroupV1(ICgroupFileSystem fs, string id, IReadOnlyDictionary<string, string> byController)
    {
        _fs = fs;
        Id = id;
        _byController = byController;
        Directories = byController.Values.Distinct(StringComparer.Ordinal).ToList();
    }

    public string Id { get; }

    public CgroupVersion Version => CgroupVersion.V1;

    public IReadOnlyList<string> Directories { get; }

    /// <summary>The directory in the hierarchy carrying <paramref name="controller"/>, or null.</summary>
    public string? DirectoryOf(string controller) => _byController.GetValueOrDefault(controller);

    /// <summary>
    /// Makes the container's directory in every hierarchy and writes the limits; on failure every
    /// directory made so far is removed again.
    /// </summary>
    internal static CgroupV1 Create(
        ICgroupFileSystem fs, IReadOnlyDictionary<string, string> parentByController, string id, CgroupLimits limits)
    {
        // Checked before any mkdir: asking for a swap limit on a kernel booted without swap
        // accounting must fail cleanly rather than after half the setup.
        if (limits.MemoryAndSwapBytes is not null
            && parentByController.TryGetValue("memory", out var memoryParent)
            && fs.DirectoryExists(memoryParent)
            && !fs.FileExists(Path.Combine(memoryParent, "memory.memsw.limit_in_bytes")))
        {
            throw new CgroupException("a memory+swap limit was asked for, but this kernel does not account swap (no memory.memsw.limit_in_bytes; boot with swapaccount=1)");
        }

        var created = new List<string>();
        var byController = new Dictionary<string, string>(StringComparer.Ordinal);
        try
        {
            foreach (var (controller, parent) in parentByController)
            {
                CreateParents(fs, parent);
                var directory = Path.Combine(parent, id);
                if (fs.CreateDirectory(directory))
                {
                    created.Add(directory);
                }
                else if (!fs.DirectoryExists(directory))
                {
                    throw new CgroupException($"cannot use {directory} as a cgroup: a control file has that name");
                }
                else if (CgroupFiles.ReadPids(fs, directory).Count > 0)
                {
                    throw new CgroupException($"cgroup {directory} already exists and holds processes: another container has the id {id}");
                }

                byController[controller] = directory;
            }

            var cgroup = new CgroupV1(fs, id, byController);
            cgroup.WriteLimits(limits);
            return cgroup;
        }
        catch (Exception)
        {
            foreach (var directory in created)
            {
                try
                {
                    fs.RemoveDirectory(directory);
                }
                catch (CgroupFileException)
                {
                    // Best effort while the original failure is reported.
                }
            }

            throw;
        }
    }

    public void AddProcess(int pid)
    {
        // Every hierarchy, so that each controller accounts the process; memory first, so a
        // process is never charged to a cpu or pids cgroup while escaping its memory limit.
        foreach (var directory in Ordered())
        {
            Write(directory, "cgroup.procs", CgroupFiles.Decimal(pid));
        }
    }

    public IReadOnlyList<int> Processes() =>
        Directories.SelectMany(d => CgroupFiles.ReadPids(_fs, d)).Distinct().Order().ToList();

    public CgroupLimits ReadLimits()
    {
        long? memory = null;
        long? memoryAndSwap = null;
        if (DirectoryOf("memory") is { } m)
        {
            memory = CgroupFiles.ReadNumber(_fs, Path.Combine(m, "memory.limit_in_bytes"));
            memoryAndSwap = CgroupFiles.ReadNumber(_fs, Path.Combine(m, "memory.memsw.limit_in_bytes"));
            if (memoryAndSwap is null && memory is not null && _fs.FileExists(Path.Combine(m, "memory.memsw.limit_in_bytes")))
            {
                memoryAndSwap = -1; // memory limited, swap not: what docker calls --memory-swap -1
            }
        }

        double? cpus = null;
        var period = CgroupLimits.DefaultCpuPeriod;
        if (DirectoryOf("cpu") is { } c)
        {
            period = CgroupFiles.ReadNumber(_fs, Path.Combine(c, "cpu.cfs_period_us")) ?? period;
            if (CgroupFiles.ReadNumber(_fs, Path.Combine(c, "cpu.cfs_quota_us")) is { } quota)
            {
                cpus = quota / (double)period;
            }
        }

        var pids = DirectoryOf("pids") is { } p ? CgroupFiles.ReadNumber(_fs, Path.Combine(p, "pids.max")) : null;
        return new CgroupLimits(memory, memoryAndSwap, cpus, pids, period);
    }

    public CgroupUsage ReadUsage() => new(
        DirectoryOf("memory") is { } m ? CgroupFiles.ReadNumber(_fs, Path.Combine(m, "memory.usage_in_bytes")) : null,
        DirectoryOf("pids") is { } p ? CgroupFiles.ReadNumber(_fs, Path.Combine(p, "pids.current")) : null);

    /// <summary>
    /// memory.oom_control has counted OOM kills in "oom_kill" since Linux 4.13. Older kernels only
    /// say whether an OOM is under way and how often the limit was hit (memory.failcnt): then a
    /// hit limit is reported as a probable OOM kill, marked inexact.
    /// </summary>
    public CgroupOomStatus ReadOomStatus()
    {
        if (DirectoryOf("memory") is not { } m)
        {
            return CgroupOomStatus.None;
        }

        var control = _fs.TryReadFile(Path.Combine(m, "memory.oom_control"));
        var underOom = CgroupFiles.ReadKey(control, "under_oom") is > 0;
        if (CgroupFiles.ReadKey(control, "oom_kill") is { } kills)
        {
            return new CgroupOomStatus(kills, underOom, true);
        }

        var failures = CgroupFiles.ReadNumber(_fs, Path.Combine(m, "memory.failcnt")) ?? 0;
        return new CgroupOomStatus(failures, underOom, false);
    }

    public Task KillAllAsync(TimeSpan timeout, CancellationToken cancellationToken) =>
        CgroupFiles.KillUntilEmptyAsync(_fs, Processes, signal: true, $"cgroup {Id}", timeout, cancellationToken);

    public async Task RemoveAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = CgroupFiles.DeadlineAfter(timeout);
        if (Directories.Any(_fs.DirectoryExists) && Processes().Count > 0)
        {
            await KillAllAsync(timeout, cancellationToken);
        }

        foreach (var directory in Directories)
        {
            await CgroupFiles.RemoveTreeAsync(_fs, directory, deadline, cancellationToken);
        }
    }

    private static void CreateParents(ICgroupFileSystem fs, string parent)
    {
        // mkdir -p, one level at a time, because cgroupfs has no recursive mkdir and the
        // hierarchy's own root always exists.
        var missing = new Stack<string>();
        for (var dir = parent; !fs.DirectoryExists(dir); dir = Path.GetDirectoryName(dir)!)
        {
            missing.Push(dir);
        }

        while (missing.TryPop(out var dir))
        {
            fs.CreateDirectory(dir);
        }
    }

    private IEnumerable<string> Ordered() =>
        DirectoryOf("memory") is { } m ? Directories.Where(d => d != m).Prepend(m) : Directories;

    private void WriteLimits(CgroupLimits limits)
    {
        if (DirectoryOf("memory") is { } m)
        {
            // The kernel insists memsw >= memory at every moment: memory first, then memsw.
            if (limits.MemoryBytes is { } memory)
            {
                Write(m, "memory.limit_in_bytes", CgroupFiles.Decimal(memory));
            }

            if (limits.MemoryAndSwapBytes is { } both)
            {
                Write(m, "memory.memsw.limit_in_bytes", CgroupFiles.Decimal(both));
            }
        }
        else if (limits.MemoryBytes is not null)
        {
            throw new CgroupException("a memory limit was asked for, but no cgroup v1 memory hierarchy is mounted");
        }

        if (limits.CpuQuotaMicroseconds is { } quota)
        {
            var c = DirectoryOf("cpu") ?? throw new CgroupException("a CPU limit was asked for, but no cgroup v1 cpu hierarchy is mounted");
            Write(c, "cpu.cfs_period_us", CgroupFiles.Decimal(limits.CpuPeriodMicroseconds));
            Write(c, "cpu.cfs_quota_us", CgroupFiles.Decimal(quota));
        }

        if (limits.PidsMax is { } pids)
        {
            var p = DirectoryOf("pids") ?? throw new CgroupException("a pids limit was asked for, but no cgroup v1 pids hierarchy is mounted");
            Write(p, "pids.max", CgroupFiles.Decimal(pids));
        }
    }

    private void Write(string directory, string file, string value)
    {
        try
        {
            _fs.WriteFile(Path.Combine(directory, file), value);
        }
        catch (CgroupFileException e)
        {
            throw new CgroupException($"cannot set {file} of cgroup {directory} to \"{value}\": {e.Message}", e);
        }
    }
}
