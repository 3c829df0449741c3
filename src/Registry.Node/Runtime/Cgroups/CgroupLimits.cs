using System.Globalization;

namespace Registry.Node.Runtime.Cgroups;

/// <summary>
/// Resource limits for one container; every field is optional (null = no limit). Validated as a
/// whole before any cgroup is made, so a bad value never leaves a half-configured cgroup behind.
/// </summary>
/// <param name="MemoryBytes">Hard memory limit (v2 memory.max, v1 memory.limit_in_bytes).</param>
/// <param name="MemoryAndSwapBytes">Memory plus swap, as docker's --memory-swap: at least
/// <paramref name="MemoryBytes"/>, or -1 for unlimited swap. Needs <paramref name="MemoryBytes"/>.</param>
/// <param name="Cpus">Fractional CPUs (1.5 = one and a half CPUs of time per period).</param>
/// <param name="PidsMax">Most tasks (processes and threads) the cgroup may hold.</param>
/// <param name="CpuPeriodMicroseconds">CFS period; the quota is <paramref name="Cpus"/> times it.</param>
public sealed record CgroupLimits(
    long? MemoryBytes = null,
    long? MemoryAndSwapBytes = null,
    double? Cpus = null,
    long? PidsMax = null,
    long CpuPeriodMicroseconds = CgroupLimits.DefaultCpuPeriod)
{
    public const long DefaultCpuPeriod = 100_000;

    /// <summary>Docker's floor: below this a container cannot even start its runtime.</summary>
    public const long MinimumMemory = 6 * 1024 * 1024;

    /// <summary>Beyond any machine; a value this large is a unit mistake, not a limit.</summary>
    public const long MaximumMemory = 1L << 50;

    /// <summary>The kernel's PID_MAX_LIMIT: no cgroup can hold more tasks than this.</summary>
    public const long MaximumPids = 4 * 1024 * 1024;

    // The kernel accepts periods of 1 ms to 1 s and quotas of at least 1 ms.
    private const long MinimumPeriod = 1_000;
    private const long MaximumPeriod = 1_000_000;
    private const long MinimumQuota = 1_000;

    public static CgroupLimits None { get; } = new();

    public bool IsEmpty => MemoryBytes is null && MemoryAndSwapBytes is null && Cpus is null && PidsMax is null;

    /// <summary>The CFS quota in microseconds per <see cref="CpuPeriodMicroseconds"/>, or null.</summary>
    public long? CpuQuotaMicroseconds => Cpus is { } cpus ? (long)Math.Round(cpus * CpuPeriodMicroseconds) : null;

    /// <summary>Swap alone (v2 memory.swap.max): memory+swap minus memory; -1 for unlimited.</summary>
    public long? SwapBytes => MemoryAndSwapBytes switch
    {
        null => null,
        -1 => -1,
        { } both => both - MemoryBytes!.Value,
    };

    /// <summary>Controllers these limits need.</summary>
    public IReadOnlyList<string> RequiredControllers()
    {
        var controllers = new List<string>();
        if (MemoryBytes is not null || MemoryAndSwapBytes is not null)
        {
            controllers.Add("memory");
        }

        if (Cpus is not null)
        {
            controllers.Add("cpu");
        }

        if (PidsMax is not null)
        {
            controllers.Add("pids");
        }

        return controllers;
    }

    /// <summary>Every problem with these limits; empty when they are usable on a host with
    /// <paramref name="hostCpus"/> CPUs.</summary>
    public IReadOnlyList<string> Validate(int hostCpus)
    {
        var problems = new List<string>();
        if (MemoryBytes is { } memory)
        {
            if (memory <= 0)
            {
                problems.Add($"memory limit must be positive, got {memory}");
            }
            else if (memory < MinimumMemory)
            {
                problems.Add($"memory limit {memory} bytes is below the minimum of {MinimumMemory} bytes (6 MiB)");
            }
            else if (memory > MaximumMemory)
            {
                problems.Add($"memory limit {memory} bytes is absurdly large (more than 1 PiB)");
            }
        }

        if (MemoryAndSwapBytes is { } both)
        {
            if (MemoryBytes is null)
            {
                problems.Add("a memory+swap limit needs a memory limit as well");
            }
            else if (both != -1 && both < MemoryBytes)
            {
                problems.Add($"memory+swap limit {both} must be at least the memory limit {MemoryBytes} (or -1 for unlimited swap)");
            }
            else if (both > MaximumMemory)
            {
                problems.Add($"memory+swap limit {both} bytes is absurdly large (more than 1 PiB)");
            }
        }

        if (CpuPeriodMicroseconds is < MinimumPeriod or > MaximumPeriod)
        {
            problems.Add($"cpu period must be between {MinimumPeriod} and {MaximumPeriod} microseconds, got {CpuPeriodMicroseconds}");
        }

        if (Cpus is { } cpus)
        {
            if (double.IsNaN(cpus) || double.IsInfinity(cpus) || cpus <= 0)
            {
                problems.Add($"cpus must be a positive number, got {cpus.ToString(CultureInfo.InvariantCulture)}");
            }
            else if (cpus > hostCpus)
            {
                problems.Add($"cpus {cpus.ToString(CultureInfo.InvariantCulture)} exceeds the {hostCpus} CPUs of this host");
            }
            else if (CpuQuotaMicroseconds < MinimumQuota)
            {
                problems.Add($"cpus {cpus.ToString(CultureInfo.InvariantCulture)} gives a quota below the kernel's minimum of {MinimumQuota} microseconds per period");
            }
        }

        if (PidsMax is { } pids)
        {
            if (pids <= 0)
            {
                problems.Add($"pids limit must be positive, got {pids} (leave it unset for no limit)");
            }
            else if (pids > MaximumPids)
            {
                problems.Add($"pids limit {pids} exceeds the kernel's maximum of {MaximumPids}");
            }
        }

        return problems;
    }

    /// <summary>Throws <see cref="InvalidCgroupLimitsException"/> listing every problem.</summary>
    public void EnsureValid(int hostCpus)
    {
        var problems = Validate(hostCpus);
        if (problems.Count > 0)
        {
            throw new InvalidCgroupLimitsException(problems);
        }
    }
}
