using Registry.Node.Runtime.Cgroups;

namespace Registry.Node.Tests.Runtime.Cgroups;

public sealed class CgroupLimitsTests
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public void NoLimitsAreValid() => Assert.Empty(CgroupLimits.None.Validate(hostCpus: 2));

    [Fact]
    public void FractionalCpusBecomeAQuotaOfThePeriod()
    {
        Assert.Equal(150_000, new CgroupLimits(Cpus: 1.5).CpuQuotaMicroseconds);
        Assert.Equal(5_000, new CgroupLimits(Cpus: 0.1, CpuPeriodMicroseconds: 50_000).CpuQuotaMicroseconds);
    }

    [Fact]
    public void SwapIsMemoryAndSwapMinusMemory()
    {
        Assert.Equal(32 * MiB, new CgroupLimits(MemoryBytes: 64 * MiB, MemoryAndSwapBytes: 96 * MiB).SwapBytes);
        Assert.Equal(-1, new CgroupLimits(MemoryBytes: 64 * MiB, MemoryAndSwapBytes: -1).SwapBytes);
    }

    [Theory]
    [InlineData(0, "memory limit must be positive")]
    [InlineData(-5, "memory limit must be positive")]
    [InlineData(1024, "below the minimum")]
    [InlineData(1L << 60, "absurdly large")]
    public void BadMemoryLimitsAreRefused(long memory, string expected) =>
        Assert.Contains(expected, Assert.Single(new CgroupLimits(MemoryBytes: memory).Validate(2)), StringComparison.Ordinal);

    [Fact]
    public void MemoryAndSwapNeedsAMemoryLimit() =>
        Assert.Contains("needs a memory limit", Assert.Single(new CgroupLimits(MemoryAndSwapBytes: 64 * MiB).Validate(2)), StringComparison.Ordinal);

    [Fact]
    public void MemoryAndSwapBelowMemoryIsRefused() =>
        Assert.Contains("at least the memory limit", Assert.Single(new CgroupLimits(64 * MiB, 32 * MiB).Validate(2)), StringComparison.Ordinal);

    [Theory]
    [InlineData(0.0, "positive")]
    [InlineData(-1.0, "positive")]
    [InlineData(double.NaN, "positive")]
    [InlineData(3.0, "exceeds the 2 CPUs")]
    [InlineData(0.001, "below the kernel's minimum")]
    public void BadCpuLimitsAreRefused(double cpus, string expected) =>
        Assert.Contains(expected, Assert.Single(new CgroupLimits(Cpus: cpus).Validate(2)), StringComparison.Ordinal);

    [Fact]
    public void AnOutOfRangeCpuPeriodIsRefused() =>
        Assert.Contains("cpu period", Assert.Single(new CgroupLimits(CpuPeriodMicroseconds: 10).Validate(2)), StringComparison.Ordinal);

    [Theory]
    [InlineData(0L, "must be positive")]
    [InlineData(-1L, "must be positive")]
    [InlineData(1L << 40, "kernel's maximum")]
    public void BadPidsLimitsAreRefused(long pids, string expected) =>
        Assert.Contains(expected, Assert.Single(new CgroupLimits(PidsMax: pids).Validate(2)), StringComparison.Ordinal);

    [Fact]
    public void EnsureValidListsEveryProblem()
    {
        var error = Assert.Throws<InvalidCgroupLimitsException>(() => new CgroupLimits(MemoryBytes: 0, Cpus: -1, PidsMax: 0).EnsureValid(2));

        Assert.Equal(3, error.Problems.Count);
        Assert.StartsWith("invalid resource limits: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LimitsNameTheControllersTheyNeed() =>
        Assert.Equal(["memory", "cpu", "pids"], new CgroupLimits(MemoryBytes: 64 * MiB, Cpus: 1, PidsMax: 10).RequiredControllers());

    [Theory]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData("-x")]
    public void ContainerIdsThatCouldLeaveTheParentAreRefused(string id) =>
        Assert.Throws<ArgumentException>(() => CgroupManager.ValidateName(id, "container id"));

    [Theory]
    [InlineData("../escape")]
    [InlineData("a/../b")]
    [InlineData("/")]
    public void ParentsThatCouldLeaveTheHierarchyAreRefused(string parent)
    {
        var layout = new CgroupLayout(CgroupVersion.V2, new CgroupHierarchy(CgroupVersion.V2, "/nonexistent", "/", [], "/"), new Dictionary<string, CgroupHierarchy>());

        Assert.Throws<ArgumentException>(() => new CgroupManager(layout, new CgroupManagerOptions { Parent = parent }, HostCgroupFileSystem.Instance));
    }
}
