using System.Globalization;

namespace Registry.Node.Runtime.Cgroups;

/// <summary>
/// A container's cgroup on the unified (v2) hierarchy: one directory whose controllers were
/// enabled through every ancestor's cgroup.subtree_control.
/// </summary>
public sealed class CgroupV2 : ICgroup
{
    private readonly ICgroupFileSystem _fs;

    internal CgroupV2(ICgroupFileSystem fs, string id, string directory)
    {
        _fs = fs;
        Id = id;
        Directory = directory;
    }

    public string Id { get; }

    public CgroupVersion Version => CgroupVersion.V2;

    public string Directory { get; }

    public IReadOnlyList<string> Directories => [Directory];

    /// <summary>
    /// Makes the directories from <paramref name="baseDirectory"/> down to the container's, enabling
    /// <paramref name="controllers"/> at each level, then writes the limits. On failure the
    /// container's directory is removed again.
    /// </summary>
    internal static CgroupV2 Create(
        ICgroupFileSystem fs, string baseDirectory, IReadOnlyList<string> relativeSegments, string id,
        IReadOnlyList<string> controllers, CgroupLimits limits)
    {
        var offered = ReadControllers(fs, baseDirectory);
        var missing = controllers.Where(c => !offered.Contains(c)).ToList();
        if (missing.Count > 0)
        {
            throw new CgroupException(
                $"cgroup v2 at {baseDirectory} does not offer the {string.Join(", ", missing)} controller(s) " +
                $"(its cgroup.controllers lists \"{string.Join(' ', offered)}\"); the parent cgroup must delegate them");
        }

        // Controllers flow downwards: each level must enable them for its children, or the
        // container's directory would have no memory.max, cpu.max or pids.max to write.
        var directory = baseDirectory;
        foreach (var segment in relativeSegments)
        {
            EnableControllers(fs, directory, controllers);
            directory = Path.Combine(directory, segment);
            fs.CreateDirectory(directory);
        }

        EnableControllers(fs, directory, controllers);
        var leaf = Path.Combine(directory, id);
        var made = fs.CreateDirectory(leaf);
        if (!made && !fs.DirectoryExists(leaf))
        {
            throw new CgroupException($"cannot use {leaf} as a cgroup: a control file has that name");
        }

        if (!made && CgroupFiles.ReadPids(fs, leaf).Count > 0)
        {
            throw new CgroupException($"cgroup {leaf} already exists and holds processes: another container has the id {id}");
        }

        var cgroup = new CgroupV2(fs, id, leaf);
        try
        {
            cgroup.WriteLimits(limits);
        }
        catch (Exception)
        {
            TryRemoveEmpty(fs, leaf);
            throw;
        }

        return cgroup;
    }

    public void AddProcess(int pid) => Write("cgroup.procs", CgroupFiles.Decimal(pid));

    public IReadOnlyList<int> Processes() => CgroupFiles.ReadPids(_fs, Directory);

    public CgroupLimits ReadLimits()
    {
        var memory = CgroupFiles.ReadNumber(_fs, File("memory.max"));
        var swap = _fs.TryReadFile(File("memory.swap.max"))?.Trim();
        long? memoryAndSwap = swap switch
        {
            null or "" => null,
            "max" => memory is null ? null : -1,
            _ => memory + CgroupFiles.ParseLimit(swap, File("memory.swap.max")),
        };

        double? cpus = null;
        var period = CgroupLimits.DefaultCpuPeriod;
        if (_fs.TryReadFile(File("cpu.max")) is { } cpuMax)
        {
            // "QUOTA PERIOD", where QUOTA may be "max".
            var parts = cpuMax.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (parts.Length == 2)
            {
                period = long.Parse(parts[1], CultureInfo.InvariantCulture);
                if (parts[0] != "max")
                {
                    cpus = long.Parse(parts[0], CultureInfo.InvariantCulture) / (double)period;
                }
            }
        }

        return new CgroupLimits(memory, memoryAndSwap, cpus, CgroupFiles.ReadNumber(_fs, File("pids.max")), period);
    }

    public CgroupUsage ReadUsage() => new(
        CgroupFiles.ReadNumber(_fs, File("memory.current")),
        CgroupFiles.ReadNumber(_fs, File("pids.current")));

    /// <summary>memory.events counts for this cgroup and its descendants; oom_kill is the number
    /// of processes the OOM killer took, which is what "killed for memory" means.</summary>
    public CgroupOomStatus ReadOomStatus() =>
        _fs.TryReadFile(File("memory.events")) is { } events
            ? new CgroupOomStatus(CgroupFiles.ReadKey(events, "oom_kill") ?? 0, false, true)
            : CgroupOomStatus.None;

    public async Task KillAllAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        // cgroup.kill (Linux 5.14+) kills the whole subtree atomically, fork races included;
        // older kernels get the signal loop.
        var useKillFile = _fs.FileExists(File("cgroup.kill"));
        if (useKillFile && Processes().Count > 0)
        {
            Write("cgroup.kill", "1");
        }

        await CgroupFiles.KillUntilEmptyAsync(_fs, Processes, signal: !useKillFile, $"cgroup {Directory}", timeout, cancellationToken);
    }

    public async Task RemoveAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = CgroupFiles.DeadlineAfter(timeout);
        if (_fs.DirectoryExists(Directory) && Processes().Count > 0)
        {
            await KillAllAsync(timeout, cancellationToken);
        }

        await CgroupFiles.RemoveTreeAsync(_fs, Directory, deadline, cancellationToken);
    }

    internal static IReadOnlyList<string> ReadControllers(ICgroupFileSystem fs, string directory) =>
        (fs.TryReadFile(Path.Combine(directory, "cgroup.controllers")) ?? "")
            .Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);

    private static void EnableControllers(ICgroupFileSystem fs, string directory, IReadOnlyList<string> controllers)
    {
        var enabled = (fs.TryReadFile(Path.Combine(directory, "cgroup.subtree_control")) ?? "")
            .Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        var toEnable = controllers.Where(c => !enabled.Contains(c)).ToList();
        if (toEnable.Count == 0)
        {
            // Writing would be a no-op anyway, but skipping it spares an EBUSY from a parent that
            // holds processes and already delegates what we need.
            return;
        }

        try
        {
            fs.WriteFile(Path.Combine(directory, "cgroup.subtree_control"), string.Join(' ', toEnable.Select(c => "+" + c)));
        }
        catch (CgroupFileException e) when (e.Errno == HostCgroupFileSystem.EBUSY)
        {
            throw new CgroupException(
                $"cannot enable {string.Join(", ", toEnable)} in {directory}: it holds processes, and cgroup v2 lets only " +
                "cgroups without processes delegate controllers. Move the agent into a leaf cgroup or use a parent outside its own cgroup", e);
        }
        catch (CgroupFileException e)
        {
            throw new CgroupException($"cannot enable {string.Join(", ", toEnable)} in {directory}: {e.Message}", e);
        }
    }

    private void WriteLimits(CgroupLimits limits)
    {
        if (limits.MemoryBytes is { } memory)
        {
            Write("memory.max", CgroupFiles.Decimal(memory));
        }

        if (limits.SwapBytes is { } swap)
        {
            if (!_fs.FileExists(File("memory.swap.max")))
            {
                throw new CgroupException($"a memory+swap limit was asked for, but {Directory} has no memory.swap.max: this kernel does not account swap");
            }

            Write("memory.swap.max", swap < 0 ? "max" : CgroupFiles.Decimal(swap));
        }

        if (limits.CpuQuotaMicroseconds is { } quota)
        {
            Write("cpu.max", $"{CgroupFiles.Decimal(quota)} {CgroupFiles.Decimal(limits.CpuPeriodMicroseconds)}");
        }

        if (limits.PidsMax is { } pids)
        {
            Write("pids.max", CgroupFiles.Decimal(pids));
        }
    }

    private void Write(string file, string value)
    {
        try
        {
            _fs.WriteFile(File(file), value);
        }
        catch (CgroupFileException e)
        {
            throw new CgroupException($"cannot set {file} of cgroup {Directory} to \"{value}\": {e.Message}", e);
        }
    }

    private string File(string name) => Path.Combine(Directory, name);

    private static void TryRemoveEmpty(ICgroupFileSystem fs, string directory)
    {
        try
        {
            fs.RemoveDirectory(directory);
        }
        catch (CgroupFileException)
        {
            // Best effort while reporting the original failure; a leftover empty cgroup is
            // reused by the next Create with the same id.
        }
    }
}
