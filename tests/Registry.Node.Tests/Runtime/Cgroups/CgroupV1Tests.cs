using Registry.Node.Runtime.Cgroups;

namespace Registry.Node.Tests.Runtime.Cgroups;

/// <summary>
/// The v1 cgroup on this host's real v1 hierarchies (hybrid: a controller-less cgroup2 mount
/// beside them), as root. Each test has its own parent cgroup, removed afterwards.
/// </summary>
public sealed class CgroupV1Tests
{
    private const long MiB = 1024 * 1024;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task CreateWritesLimitsThatTheKernelReportsBack()
    {
        await using var scope = RealCgroupScope.ForV1();
        var cgroup = (CgroupV1)scope.Create("limits", new CgroupLimits(MemoryBytes: 64 * MiB, MemoryAndSwapBytes: 128 * MiB, Cpus: 0.5, PidsMax: 20));

        var memory = cgroup.DirectoryOf("memory")!;
        Assert.Equal("67108864", Read(memory, "memory.limit_in_bytes"));
        Assert.Equal("134217728", Read(memory, "memory.memsw.limit_in_bytes"));
        Assert.Equal("50000", Read(cgroup.DirectoryOf("cpu")!, "cpu.cfs_quota_us"));
        Assert.Equal("100000", Read(cgroup.DirectoryOf("cpu")!, "cpu.cfs_period_us"));
        Assert.Equal("20", Read(cgroup.DirectoryOf("pids")!, "pids.max"));
        Assert.Equal(new CgroupLimits(64 * MiB, 128 * MiB, 0.5, 20), cgroup.ReadLimits());
    }

    [Fact]
    public async Task CreateWithoutLimitsLeavesTheKernelDefaults()
    {
        await using var scope = RealCgroupScope.ForV1();
        var cgroup = (CgroupV1)scope.Create("defaults", CgroupLimits.None);

        Assert.Equal("max", Read(cgroup.DirectoryOf("pids")!, "pids.max"));
        Assert.Equal("-1", Read(cgroup.DirectoryOf("cpu")!, "cpu.cfs_quota_us"));
        Assert.Equal(CgroupLimits.None, cgroup.ReadLimits());
    }

    [Fact]
    public async Task WarmUpMovesThisProcessToTheCgroupItIsIn()
    {
        await using var scope = RealCgroupScope.ForV1();
        var before = await File.ReadAllTextAsync("/proc/self/cgroup");

        var thread = scope.Manager.WarmUpMigration();

        Assert.NotNull(thread);
        Assert.True(thread.Join(Timeout), "the warm-up write did not return");
        Assert.Equal(before, await File.ReadAllTextAsync("/proc/self/cgroup"));
    }

    [Fact]
    public async Task CgroupsAreMadeUnderThisProcesssOwnCgroupInEachHierarchy()
    {
        await using var scope = RealCgroupScope.ForV1();
        var cgroup = (CgroupV1)scope.Create("nested", CgroupLimits.None);

        foreach (var controller in new[] { "memory", "cpu", "pids" })
        {
            var hierarchy = scope.Layout.V1Controllers[controller];
            var own = ProcSelfCgroupPath(controller);
            var expected = Path.Combine(hierarchy.MountPoint + own.TrimEnd('/'), scope.Manager.Options.Parent, "nested");
            Assert.Equal(expected, cgroup.DirectoryOf(controller));
            Assert.True(File.Exists(Path.Combine(expected, "cgroup.procs")), $"{expected} is a real cgroup");
        }
    }

    [Fact]
    public async Task ChildProcessIsListedInEveryHierarchyAndCountedInPidsCurrent()
    {
        await using var scope = RealCgroupScope.ForV1();
        var cgroup = (CgroupV1)scope.Create("member", CgroupLimits.None);

        var process = scope.Run(cgroup, "exec sleep 30");
        // Pages are charged to the cgroup that allocates them: wait until sleep runs inside it.
        await WaitUntilAsync(() => File.ReadAllText($"/proc/{process.Id}/comm").Trim() == "sleep" && cgroup.ReadUsage().MemoryBytes > 0);

        foreach (var directory in cgroup.Directories)
        {
            Assert.Contains(process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), Read(directory, "cgroup.procs").Split('\n'));
        }

        Assert.Equal([process.Id], cgroup.Processes());
        Assert.Equal(1, cgroup.ReadUsage().Pids);
        Assert.True(cgroup.ReadUsage().MemoryBytes > 0);
    }

    [Fact]
    public async Task PidsLimitMakesForksBeyondItFail()
    {
        await using var scope = RealCgroupScope.ForV1();
        var cgroup = (CgroupV1)scope.Create("forks", new CgroupLimits(PidsMax: 5));

        // The shell plus 4 sleeps fill the limit; the remaining forks must fail.
        var process = scope.Run(cgroup, "i=0; while [ $i -lt 20 ]; do sleep 30 & i=$((i+1)); done; wait");
        await WaitUntilAsync(() => process.HasExited || cgroup.ReadUsage().Pids == 5);

        // The shell may give up at the first refused fork and exit before its message has been read: wait for the
        // message, not for the exit (the sleeps it started keep its output pipes open).
        await WaitUntilAsync(() => process.Output.Contains("fork", StringComparison.OrdinalIgnoreCase));

        Assert.Contains("fork", process.Output, StringComparison.OrdinalIgnoreCase);
        Assert.True(cgroup.ReadUsage().Pids <= 5, $"pids.current {cgroup.ReadUsage().Pids} stays within pids.max 5");
        Assert.True(CgroupFilesKey(Read(cgroup.DirectoryOf("pids")!, "pids.events"), "max") > 0, "the kernel counted refused forks");
    }

    [Fact]
    public async Task CpuLimitThrottlesABusyLoop()
    {
        await using var scope = RealCgroupScope.ForV1();
        var cgroup = (CgroupV1)scope.Create("cpu", new CgroupLimits(Cpus: 0.1));

        scope.Run(cgroup, "while :; do :; done");
        await WaitUntilAsync(() => CgroupFilesKey(Read(cgroup.DirectoryOf("cpu")!, "cpu.stat"), "nr_throttled") > 2);

        Assert.True(CgroupFilesKey(Read(cgroup.DirectoryOf("cpu")!, "cpu.stat"), "nr_throttled") > 2);
    }

    [Fact]
    public async Task ProcessAllocatingPastTheMemoryLimitIsOomKilledAndReportedAsOom()
    {
        await using var scope = RealCgroupScope.ForV1();
        var cgroup = scope.Create("oom", new CgroupLimits(MemoryBytes: 32 * MiB, MemoryAndSwapBytes: 32 * MiB));
        Assert.False(cgroup.ReadOomStatus().OomKilled);

        // tail keeps a newline-free stream in memory: 200 MB against a 32 MB limit.
        var process = scope.Run(cgroup, "head -c 200M /dev/zero | tail > /dev/null");
        var exit = await process.WaitForExitAsync(Timeout);

        var oom = cgroup.ReadOomStatus();
        Assert.True(oom.OomKilled, $"OOM reported (exit {exit}, {oom})");
        Assert.True(oom.Exact, "this kernel has the oom_kill counter");
        Assert.True(oom.OomKills >= 1);
        Assert.Equal(128 + 9, exit); // the shell reports its pipeline's last process killed by SIGKILL
    }

    [Fact]
    public async Task KillAllEndsEveryProcessInTheCgroup()
    {
        await using var scope = RealCgroupScope.ForV1();
        var cgroup = scope.Create("kill", CgroupLimits.None);
        var process = scope.Run(cgroup, "sleep 30 & sleep 30 & sleep 30 & wait");
        await WaitUntilAsync(() => cgroup.Processes().Count == 4);

        await cgroup.KillAllAsync(Timeout, CancellationToken.None);

        Assert.Empty(cgroup.Processes());
        Assert.Equal(128 + 9, await process.WaitForExitAsync(Timeout));
    }

    [Fact]
    public async Task RemoveDeletesEveryDirectoryAfterTheProcessWasKilled()
    {
        await using var scope = RealCgroupScope.ForV1();
        var cgroup = scope.Create("removed", new CgroupLimits(MemoryBytes: 32 * MiB, PidsMax: 10));
        var process = scope.Run(cgroup, "exec sleep 30");
        using (var started = System.Diagnostics.Process.GetProcessById(process.Id))
        {
            started.Kill(); // by the pid this test started
        }

        await process.WaitForExitAsync(Timeout);

        await cgroup.RemoveAsync(Timeout, CancellationToken.None);

        Assert.All(cgroup.Directories, d => Assert.False(Directory.Exists(d), $"{d} removed"));
    }

    [Fact]
    public async Task RemoveKillsWhatIsStillRunningAndDeletesTheDirectories()
    {
        await using var scope = RealCgroupScope.ForV1();
        var cgroup = scope.Create("busy", CgroupLimits.None);
        var process = scope.Run(cgroup, "sleep 30 & wait");

        await cgroup.RemoveAsync(Timeout, CancellationToken.None);

        Assert.All(cgroup.Directories, d => Assert.False(Directory.Exists(d), $"{d} removed"));
        Assert.Equal(128 + 9, await process.WaitForExitAsync(Timeout));
    }

    [Fact]
    public async Task OpenFindsTheCgroupOfAnExistingContainer()
    {
        await using var scope = RealCgroupScope.ForV1();
        var created = scope.Create("reopened", new CgroupLimits(PidsMax: 7));

        var opened = scope.Manager.Open("reopened");

        Assert.NotNull(opened);
        Assert.Equal(created.Directories.Order(), opened.Directories.Order());
        Assert.Equal(7, opened.ReadLimits().PidsMax);
        Assert.Null(scope.Manager.Open("never-made"));
    }

    [Fact]
    public async Task InvalidLimitsAreRefusedBeforeAnyDirectoryIsMade()
    {
        await using var scope = RealCgroupScope.ForV1();

        var error = Assert.Throws<InvalidCgroupLimitsException>(() => scope.Manager.Create("refused", new CgroupLimits(MemoryBytes: 0, PidsMax: -1)));

        Assert.Equal(2, error.Problems.Count);
        Assert.All(scope.Manager.ParentDirectories().Values, d => Assert.False(Directory.Exists(d), $"{d} was not made"));
    }

    private static string Read(string directory, string file) => File.ReadAllText(Path.Combine(directory, file)).Trim();

    private static long CgroupFilesKey(string text, string key) =>
        text.Split('\n').Select(l => l.Split(' ')).Where(p => p.Length == 2 && p[0] == key).Select(p => long.Parse(p[1], System.Globalization.CultureInfo.InvariantCulture)).Single();

    private static string ProcSelfCgroupPath(string controller) =>
        File.ReadAllLines("/proc/self/cgroup").Select(l => l.Split(':', 3)).Single(p => p[1].Split(',').Contains(controller))[2];

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 1000 && !condition(); i++)
        {
            await Task.Delay(10);
        }
    }
}
