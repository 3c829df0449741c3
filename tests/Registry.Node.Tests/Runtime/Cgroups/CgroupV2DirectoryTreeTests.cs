using Registry.Node.Runtime.Cgroups;
using Registry.Testing;

namespace Registry.Node.Tests.Runtime.Cgroups;

/// <summary>
/// v2 limit logic against a directory tree shaped like a cgroup2 mount (see
/// <see cref="CgroupTreeFileSystem"/>): this host's memory, cpu and pids controllers are bound to
/// v1, so no real cgroup2 hierarchy here can carry memory.max, cpu.max or pids.max. The tree shows
/// which files get which values and which controllers get enabled; it enforces nothing.
/// </summary>
public sealed class CgroupV2DirectoryTreeTests : IDisposable
{
    private const long MiB = 1024 * 1024;

    private readonly TemporaryDirectory _temp = new("registry-cgroup-tree");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void DirectoryTree_LimitsAreWrittenToTheV2Files()
    {
        var (manager, fs) = Manager("memory", "cpu", "pids", "io");

        var cgroup = (CgroupV2)manager.Create("c1", new CgroupLimits(MemoryBytes: 64 * MiB, MemoryAndSwapBytes: 96 * MiB, Cpus: 1.5, PidsMax: 20));

        Assert.Equal(Path.Combine(fs.Root, "registry-node", "c1"), cgroup.Directory);
        Assert.Equal("67108864", Read(cgroup, "memory.max"));
        Assert.Equal("33554432", Read(cgroup, "memory.swap.max")); // v2 limits swap alone: 96 - 64 MiB
        Assert.Equal("150000 100000", Read(cgroup, "cpu.max"));
        Assert.Equal("20", Read(cgroup, "pids.max"));
    }

    [Fact]
    public void DirectoryTree_LimitsReadBackAsGiven()
    {
        var (manager, _) = Manager("memory", "cpu", "pids");
        var limits = new CgroupLimits(MemoryBytes: 64 * MiB, MemoryAndSwapBytes: 96 * MiB, Cpus: 0.25, PidsMax: 20, CpuPeriodMicroseconds: 50_000);

        var cgroup = manager.Create("c1", limits);

        Assert.Equal(limits, cgroup.ReadLimits());
    }

    [Fact]
    public void DirectoryTree_UnlimitedSwapIsWrittenAsMax()
    {
        var (manager, _) = Manager("memory");

        var cgroup = (CgroupV2)manager.Create("c1", new CgroupLimits(MemoryBytes: 64 * MiB, MemoryAndSwapBytes: -1));

        Assert.Equal("max", Read(cgroup, "memory.swap.max"));
        Assert.Equal("67108864", Read(cgroup, "memory.max"));
    }

    [Fact]
    public void DirectoryTree_ControllersAreEnabledAtEveryLevelDownToTheContainer()
    {
        var (manager, fs) = Manager(["memory", "cpu", "pids", "io"], parent: "registry-node/pool");

        var cgroup = (CgroupV2)manager.Create("c1", new CgroupLimits(PidsMax: 10));

        // Every managed controller the root offers, not just pids, so usage is readable too;
        // io is not managed and stays off.
        Assert.Equal("memory cpu pids", Read(fs.Root, "cgroup.subtree_control"));
        Assert.Equal("memory cpu pids", Read(Path.Combine(fs.Root, "registry-node"), "cgroup.subtree_control"));
        Assert.Equal("memory cpu pids", Read(Path.Combine(fs.Root, "registry-node", "pool"), "cgroup.subtree_control"));
        Assert.Equal("memory cpu pids", Read(cgroup.Directory, "cgroup.controllers"));
        Assert.Equal("", Read(cgroup.Directory, "cgroup.subtree_control")); // a leaf holds processes, so it delegates nothing
    }

    [Fact]
    public void DirectoryTree_AMissingControllerIsRefusedBeforeAnythingIsMade()
    {
        var (manager, fs) = Manager("cpu", "io");

        var error = Assert.Throws<CgroupException>(() => manager.Create("c1", new CgroupLimits(MemoryBytes: 64 * MiB)));

        Assert.Contains("memory", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(fs.Root, "registry-node")));
    }

    [Fact]
    public void DirectoryTree_OomKillCounterOfMemoryEventsIsReportedAsOom()
    {
        var (manager, _) = Manager("memory");
        var cgroup = (CgroupV2)manager.Create("c1", new CgroupLimits(MemoryBytes: 32 * MiB));
        Assert.False(cgroup.ReadOomStatus().OomKilled);

        // What the kernel writes after killing one process of the cgroup for memory.
        File.WriteAllText(Path.Combine(cgroup.Directory, "memory.events"), "low 0\nhigh 0\nmax 41\noom 1\noom_kill 1\noom_group_kill 0\n");

        Assert.Equal(new CgroupOomStatus(1, false, true), cgroup.ReadOomStatus());
        Assert.True(cgroup.ReadOomStatus().OomKilled);
    }

    [Fact]
    public void DirectoryTree_HitLimitWithoutKillIsNotAnOom()
    {
        var (manager, _) = Manager("memory");
        var cgroup = (CgroupV2)manager.Create("c1", new CgroupLimits(MemoryBytes: 32 * MiB));

        File.WriteAllText(Path.Combine(cgroup.Directory, "memory.events"), "low 0\nhigh 0\nmax 12\noom 0\noom_kill 0\noom_group_kill 0\n");

        Assert.False(cgroup.ReadOomStatus().OomKilled);
    }

    [Fact]
    public void DirectoryTree_UsageComesFromMemoryCurrentAndPidsCurrent()
    {
        var (manager, _) = Manager("memory", "pids");
        var cgroup = (CgroupV2)manager.Create("c1", CgroupLimits.None);
        File.WriteAllText(Path.Combine(cgroup.Directory, "memory.current"), "1048576\n");
        File.WriteAllText(Path.Combine(cgroup.Directory, "pids.current"), "3\n");

        Assert.Equal(new CgroupUsage(MiB, 3), cgroup.ReadUsage());
    }

    [Fact]
    public async Task DirectoryTree_RemoveDeletesNestedCgroupsFirstThenTheParents()
    {
        var (manager, fs) = Manager("memory");
        var cgroup = (CgroupV2)manager.Create("c1", CgroupLimits.None);
        fs.CreateDirectory(Path.Combine(cgroup.Directory, "inner"));

        await cgroup.RemoveAsync(TimeSpan.FromSeconds(5), CancellationToken.None);

        Assert.False(Directory.Exists(cgroup.Directory));
        Assert.True(manager.RemoveParentsIfEmpty());
        Assert.False(Directory.Exists(Path.Combine(fs.Root, "registry-node")));
    }

    [Fact]
    public void DirectoryTree_AnIdNamingAControlFileIsRefused()
    {
        var (manager, fs) = Manager("memory");
        manager.Create("c1", CgroupLimits.None);

        var error = Assert.Throws<CgroupException>(() => manager.Create("cgroup.procs", CgroupLimits.None));

        Assert.Contains("control file", error.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(fs.Root, "registry-node", "cgroup.procs")));
    }

    [Fact]
    public void DirectoryTree_WarmUpWritesThisProcessToItsOwnCgroupOnly()
    {
        var (manager, fs) = Manager("memory", "pids");

        var thread = manager.WarmUpMigration();

        Assert.NotNull(thread);
        Assert.True(thread.Join(TimeSpan.FromSeconds(20)));
        Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), Read(fs.Root, "cgroup.procs"));
        Assert.False(Directory.Exists(Path.Combine(fs.Root, "registry-node")));
    }

    private (CgroupManager Manager, CgroupTreeFileSystem Fs) Manager(params string[] controllers) => Manager(controllers, "registry-node");

    private (CgroupManager Manager, CgroupTreeFileSystem Fs) Manager(string[] controllers, string parent)
    {
        var fs = new CgroupTreeFileSystem(_temp.Combine("cgroup"), controllers);
        var unified = new CgroupHierarchy(CgroupVersion.V2, fs.Root, "/", controllers, "/");
        var layout = new CgroupLayout(CgroupVersion.V2, unified, new Dictionary<string, CgroupHierarchy>());
        return (new CgroupManager(layout, new CgroupManagerOptions { Parent = parent }, fs, hostCpus: 4), fs);
    }

    private static string Read(CgroupV2 cgroup, string file) => Read(cgroup.Directory, file);

    private static string Read(string directory, string file) => File.ReadAllText(Path.Combine(directory, file)).Trim();
}
