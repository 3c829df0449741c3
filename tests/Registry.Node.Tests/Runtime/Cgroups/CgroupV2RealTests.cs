using System.Globalization;
using Registry.Node.Runtime.Cgroups;

namespace Registry.Node.Tests.Runtime.Cgroups;

/// <summary>
/// The v2 cgroup on the host's real cgroup2 mount (here the hybrid layout's "unified" mount,
/// which offers no memory, cpu or pids controller: those are bound to v1 on this host). What a
/// controller-less cgroup2 hierarchy can show is tested for real: making and removing cgroups,
/// membership, cgroup.kill, and enabling a controller it does offer through subtree_control.
/// </summary>
public sealed class CgroupV2RealTests
{
    private const string NeverMade = "registry-node-never-made";
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private static readonly string[] Candidates = ["memory", "pids", "cpu", "rdma", "misc"];

    [Fact]
    public async Task CreateMakesARealCgroupOnTheCgroup2Mount()
    {
        await using var scope = RealCgroupScope.ForV2();

        var cgroup = (CgroupV2)scope.Create("made", CgroupLimits.None);

        Assert.StartsWith(scope.Layout.Unified!.MountPoint + "/", cgroup.Directory, StringComparison.Ordinal);
        // Only the kernel makes these files appear in a new directory.
        Assert.True(File.Exists(Path.Combine(cgroup.Directory, "cgroup.events")), "the kernel populated the cgroup");
        Assert.Equal("populated 0", File.ReadAllLines(Path.Combine(cgroup.Directory, "cgroup.events"))[0]);
    }

    [Fact]
    public async Task ProcessAddedToTheCgroupIsAMemberOfIt()
    {
        await using var scope = RealCgroupScope.ForV2();
        var cgroup = (CgroupV2)scope.Create("member", CgroupLimits.None);

        var process = scope.Run(cgroup, "exec sleep 30");

        Assert.Equal([process.Id], cgroup.Processes());
        var relative = cgroup.Directory[scope.Layout.Unified!.MountPoint.Length..];
        var v2Line = File.ReadAllLines($"/proc/{process.Id}/cgroup").Single(l => l.StartsWith("0::", StringComparison.Ordinal));
        Assert.Equal("0::" + relative, v2Line);
    }

    [Fact]
    public async Task KillAllThroughCgroupKillEndsEveryProcess()
    {
        await using var scope = RealCgroupScope.ForV2();
        var cgroup = (CgroupV2)scope.Create("kill", CgroupLimits.None);
        Assert.True(File.Exists(Path.Combine(cgroup.Directory, "cgroup.kill")), "this kernel has cgroup.kill");
        var process = scope.Run(cgroup, "sleep 30 & sleep 30 & wait");
        for (var i = 0; i < 500 && cgroup.Processes().Count < 3; i++)
        {
            await Task.Delay(10);
        }

        await cgroup.KillAllAsync(Timeout, CancellationToken.None);

        Assert.Empty(cgroup.Processes());
        Assert.Equal(128 + 9, await process.WaitForExitAsync(Timeout));
    }

    [Fact]
    public async Task RemoveDeletesTheCgroupAndCgroupsMadeInsideIt()
    {
        await using var scope = RealCgroupScope.ForV2();
        var cgroup = (CgroupV2)scope.Create("removed", CgroupLimits.None);
        Directory.CreateDirectory(Path.Combine(cgroup.Directory, "inner")); // as a container with its own cgroup namespace might
        scope.Run(cgroup, "exec sleep 30");

        await cgroup.RemoveAsync(Timeout, CancellationToken.None);

        Assert.False(Directory.Exists(cgroup.Directory));
    }

    [Fact]
    public async Task AControllerTheHierarchyOffersIsEnabledForTheContainerThroughSubtreeControl()
    {
        await using var scope = RealCgroupScope.ForV2();
        var unified = scope.Layout.Unified!;
        // hugetlb is the one controller this host leaves on cgroup2; on a v2 host every controller is.
        var controller = unified.Controllers.FirstOrDefault(c => c is "hugetlb" or "pids" or "memory");
        Assert.True(controller is not null, $"the cgroup2 mount offers a controller to enable (it offers \"{string.Join(' ', unified.Controllers)}\")");
        var baseDirectory = unified.OwnDirectory ?? unified.MountPoint;
        var parent = scope.Manager.ParentDirectories()[""];
        var baseControl = Path.Combine(baseDirectory, "cgroup.subtree_control");
        var enabledBefore = Words(baseControl).Contains(controller);
        try
        {
            var cgroup = scope.Track(CgroupV2.Create(
                HostCgroupFileSystem.Instance, baseDirectory, [Path.GetFileName(parent)], "enabled", [controller], CgroupLimits.None));

            Assert.Contains(controller, Words(baseControl));
            Assert.Contains(controller, Words(Path.Combine(parent, "cgroup.subtree_control")));
            Assert.Contains(controller, Words(Path.Combine(cgroup.Directory, "cgroup.controllers")));
            Assert.True(File.Exists(Path.Combine(cgroup.Directory, "hugetlb.2MB.max")) || controller != "hugetlb", "the kernel gave the container the controller's files");
        }
        finally
        {
            // The base is the host's root cgroup here: give it back as it was, once our cgroups
            // (which keep the controller enabled below it) are gone.
            try
            {
                await scope.DisposeAsync();
            }
            finally
            {
                if (!enabledBefore)
                {
                    HostCgroupFileSystem.Instance.WriteFile(baseControl, "-" + controller);
                }
            }
        }

        Assert.Equal(enabledBefore, Words(baseControl).Contains(controller));
    }

    [Fact]
    public async Task AControllerTheHierarchyDoesNotOfferIsRefusedWithItsName()
    {
        await using var scope = RealCgroupScope.ForV2();
        var unified = scope.Layout.Unified!;
        var absent = Candidates.First(c => !unified.Controllers.Contains(c));

        var error = Assert.Throws<CgroupException>(() => CgroupV2.Create(
            HostCgroupFileSystem.Instance, unified.OwnDirectory ?? unified.MountPoint, [NeverMade], "c1", [absent], CgroupLimits.None));

        Assert.Contains(absent, error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(unified.OwnDirectory ?? unified.MountPoint, NeverMade)));
    }

    [Fact]
    public async Task ALimitNeedingAControllerThisCgroup2MountLacksIsRefused()
    {
        await using var scope = RealCgroupScope.ForV2();
        Assert.DoesNotContain("memory", scope.Layout.Unified!.Controllers); // true on this hybrid host

        var error = Assert.Throws<CgroupException>(() => scope.Manager.Create("c1", new CgroupLimits(MemoryBytes: 64L << 20)));

        Assert.Contains("memory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFreshCgroup2MountShowsTheSameHierarchyAndDoesNotChangeDetection()
    {
        var before = CgroupLayout.Detect();
        var mountPoint = Directory.CreateTempSubdirectory("registry-cgroup2-").FullName;
        try
        {
            Run("mount", "-t", "cgroup2", "none", mountPoint);
            try
            {
                var unified = before.Unified!;
                Assert.Equal(
                    File.ReadAllText(Path.Combine(unified.MountPoint, "cgroup.controllers")),
                    File.ReadAllText(Path.Combine(mountPoint, "cgroup.controllers")));
                var after = CgroupLayout.Detect();
                Assert.Equal(before.Unified!.MountPoint, after.Unified!.MountPoint);
                Assert.Equal(before.Version, after.Version);
            }
            finally
            {
                Run("umount", mountPoint);
            }
        }
        finally
        {
            Directory.Delete(mountPoint);
        }
    }

    private static string[] Words(string path) => File.ReadAllText(path).Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);

    private static void Run(string file, params string[] args)
    {
        var info = new System.Diagnostics.ProcessStartInfo(file) { RedirectStandardError = true };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        using var process = System.Diagnostics.Process.Start(info)!;
        var error = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromSeconds(10)), $"{file} finished");
        Assert.True(process.ExitCode == 0, $"{file} {string.Join(' ', args)}: exit {process.ExitCode.ToString(CultureInfo.InvariantCulture)} {error}");
    }
}
