namespace Registry.Node.Runtime.Cgroups;

/// <summary>Current consumption, as the kernel accounts it; null where the controller is absent.</summary>
public sealed record CgroupUsage(long? MemoryBytes, long? Pids);

/// <summary>
/// What the kernel says about out-of-memory events in a cgroup.
/// </summary>
/// <param name="OomKills">Processes the OOM killer chose inside this cgroup (or, when not
/// <paramref name="Exact"/>, the number of times the limit was hit).</param>
/// <param name="UnderOom">An OOM is in progress right now (v1 under_oom).</param>
/// <param name="Exact">False on v1 kernels older than 4.13, which expose no oom_kill counter: then
/// an OOM kill is inferred from the limit having been hit.</param>
public sealed record CgroupOomStatus(long OomKills, bool UnderOom, bool Exact)
{
    public static CgroupOomStatus None { get; } = new(0, false, true);

    public bool OomKilled => OomKills > 0 || UnderOom;
}

/// <summary>
/// One container's cgroup: a single directory on v2, one per controller hierarchy on v1.
/// Synchronous members are single reads or writes of cgroupfs files; members that must wait for
/// the kernel to finish (processes exiting) are asynchronous and bounded.
/// </summary>
public interface ICgroup
{
    /// <summary>The container id this cgroup was made for.</summary>
    string Id { get; }

    CgroupVersion Version { get; }

    /// <summary>Every directory backing this cgroup (one on v2).</summary>
    IReadOnlyList<string> Directories { get; }

    /// <summary>Moves a process (and so its future children) into the cgroup. Call it while the
    /// process is still held before exec: children forked before the move stay outside, and on
    /// v1 the move is one write per hierarchy.</summary>
    void AddProcess(int pid);

    /// <summary>The pids currently in the cgroup.</summary>
    IReadOnlyList<int> Processes();

    /// <summary>The limits as the kernel holds them now, read back from the cgroup files.</summary>
    CgroupLimits ReadLimits();

    CgroupUsage ReadUsage();

    CgroupOomStatus ReadOomStatus();

    /// <summary>SIGKILLs every process in the cgroup and waits until it is empty.</summary>
    /// <exception cref="CgroupException">Processes remained after <paramref name="timeout"/>.</exception>
    Task KillAllAsync(TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Kills anything still inside, then removes the cgroup's directories (nested cgroups
    /// first). Already-removed directories are fine, so cleanup can be repeated.</summary>
    Task RemoveAsync(TimeSpan timeout, CancellationToken cancellationToken);
}
