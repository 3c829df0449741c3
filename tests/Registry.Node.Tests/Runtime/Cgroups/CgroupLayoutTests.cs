using Registry.Node.Runtime.Cgroups;

namespace Registry.Node.Tests.Runtime.Cgroups;

public sealed class CgroupLayoutTests
{
    private const string PureV2MountInfo =
        "22 1 0:21 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n" +
        "35 22 0:30 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n";

    private const string HybridMountInfo =
        "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n" +
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n" +
        "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n" +
        "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n" +
        "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n" +
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";

    private const string HybridProcCgroup =
        "9:name=systemd:/user.slice\n8:pids:/user.slice/user-0.slice\n4:memory:/agents/node-1\n2:cpu,cpuacct:/\n0::/user.slice\n";

    [Fact]
    public void PureV2WithControllersIsV2()
    {
        var layout = CgroupLayout.Parse(PureV2MountInfo, "0::/system.slice/registry-node.service\n", _ => "cpuset cpu io memory hugetlb pids rdma misc\n");

        Assert.Equal(CgroupVersion.V2, layout.Version);
        Assert.False(layout.IsHybrid);
        Assert.Equal(["memory", "cpu", "pids"], layout.AvailableControllers);
        Assert.Equal("/sys/fs/cgroup/system.slice/registry-node.service", layout.Unified!.OwnDirectory);
    }

    [Fact]
    public void HybridUsesV1ForTheControllersBesideTheUnifiedMount()
    {
        var layout = CgroupLayout.Parse(HybridMountInfo, HybridProcCgroup, _ => "");

        Assert.Equal(CgroupVersion.V1, layout.Version);
        Assert.True(layout.IsHybrid);
        Assert.Equal("/sys/fs/cgroup/unified", layout.Unified!.MountPoint);
        Assert.Equal(["memory", "cpu", "pids"], layout.AvailableControllers);
        Assert.Same(layout.V1Controllers["cpu"], layout.V1Controllers["cpuacct"]);
        Assert.DoesNotContain("systemd", layout.V1Controllers.Keys);
    }

    [Fact]
    public void EachV1HierarchyKnowsWhereThisProcessSits()
    {
        var layout = CgroupLayout.Parse(HybridMountInfo, HybridProcCgroup, _ => "");

        Assert.Equal("/sys/fs/cgroup/memory/agents/node-1", layout.V1Controllers["memory"].OwnDirectory);
        Assert.Equal("/sys/fs/cgroup/pids/user.slice/user-0.slice", layout.V1Controllers["pids"].OwnDirectory);
        Assert.Equal("/sys/fs/cgroup/cpu,cpuacct", layout.V1Controllers["cpu"].OwnDirectory);
    }

    [Fact]
    public void PureV1WithoutACgroup2MountIsV1()
    {
        var mountInfo = string.Join('\n', HybridMountInfo.Split('\n').Where(l => !l.Contains("cgroup2", StringComparison.Ordinal)));

        var layout = CgroupLayout.Parse(mountInfo, HybridProcCgroup, _ => "");

        Assert.Equal(CgroupVersion.V1, layout.Version);
        Assert.False(layout.IsHybrid);
        Assert.Null(layout.Unified);
    }

    [Fact]
    public void ASubtreeMountMapsThisProcessRelativeToTheMountRoot()
    {
        // Inside a container engine's container without a cgroup namespace: the host bind-mounted
        // only the container's subtree, and /proc/self/cgroup names host paths.
        var mountInfo = "35 22 0:30 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";

        var layout = CgroupLayout.Parse(mountInfo, "0::/docker/abc/agent\n", _ => "memory pids");

        Assert.Equal("/sys/fs/cgroup/agent", layout.Unified!.OwnDirectory);
    }

    [Fact]
    public void AProcessOutsideTheMountedSubtreeHasNoOwnDirectory()
    {
        var mountInfo = "35 22 0:30 /docker/abc /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n";

        var layout = CgroupLayout.Parse(mountInfo, "0::/elsewhere\n", _ => "memory");

        Assert.Null(layout.Unified!.OwnDirectory);
    }

    [Fact]
    public void EscapedMountPointsAreDecoded()
    {
        var mountInfo = "35 22 0:30 / /mnt/cgroup\\040two rw - cgroup2 cgroup2 rw\n";

        var layout = CgroupLayout.Parse(mountInfo, "0::/\n", _ => "memory");

        Assert.Equal("/mnt/cgroup two", layout.Unified!.MountPoint);
    }

    [Fact]
    public void TheFirstCgroup2MountWinsOverLaterOnes()
    {
        var mountInfo = PureV2MountInfo + "99 22 0:30 / /tmp/extra rw - cgroup2 none rw\n";

        var layout = CgroupLayout.Parse(mountInfo, "0::/\n", _ => "memory");

        Assert.Equal("/sys/fs/cgroup", layout.Unified!.MountPoint);
    }

    [Fact]
    public void NoCgroupMountIsAClearError()
    {
        var error = Assert.Throws<CgroupException>(() => CgroupLayout.Parse("22 1 0:21 / / rw - ext4 /dev/sda1 rw\n", "", _ => null));

        Assert.Contains("no cgroup filesystem", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThisHostIsDetectedAsHybridWithV1Controllers()
    {
        var layout = CgroupLayout.Detect();

        Assert.Equal(CgroupVersion.V1, layout.Version);
        Assert.True(layout.IsHybrid, "a cgroup2 'unified' mount sits beside the v1 hierarchies");
        Assert.Equal(["memory", "cpu", "pids"], layout.AvailableControllers);
        var memoryLine = File.ReadAllLines("/proc/self/cgroup").Single(l => l.Split(':')[1] == "memory");
        Assert.Equal(layout.V1Controllers["memory"].MountPoint + memoryLine.Split(':', 3)[2].TrimEnd('/'), layout.V1Controllers["memory"].OwnDirectory);
    }
}
