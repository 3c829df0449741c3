using Registry.Node.Runtime.Cgroups;

namespace Registry.Node.Tests.Runtime.Cgroups;

/// <summary>
/// A manager on the real cgroupfs with a parent of its own (<c>registry-node-test-&lt;random&gt;</c>,
/// nested under this test process's cgroups), and the cleanup of every cgroup and process a test
/// makes, whether it passed or not.
/// </summary>
internal sealed class RealCgroupScope : IAsyncDisposable
{
    private readonly List<ICgroup> _cgroups = [];
    private readonly List<GatedProcess> _processes = [];
    private bool _disposed;

    public RealCgroupScope(CgroupLayout layout)
    {
        Layout = layout;
        Manager = new CgroupManager(
            layout,
            new CgroupManagerOptions { Parent = "registry-node-test-" + Guid.NewGuid().ToString("N")[..10], NestUnderOwnCgroup = true },
            HostCgroupFileSystem.Instance);
    }

    public CgroupLayout Layout { get; }

    public CgroupManager Manager { get; }

    /// <summary>This host's layout, which the v1 tests need to be v1 (hybrid here).</summary>
    public static RealCgroupScope ForV1()
    {
        var layout = CgroupLayout.Detect();
        Assert.True(layout.Version == CgroupVersion.V1, $"the v1 tests need a host with cgroup v1 controllers; this host is {layout.Version}");
        return new RealCgroupScope(layout);
    }

    /// <summary>The host's cgroup2 mount taken as a v2 layout: on this hybrid host it is the
    /// controller-less "unified" mount, on a v2 host the real thing.</summary>
    public static RealCgroupScope ForV2()
    {
        var unified = CgroupLayout.Detect().Unified;
        Assert.True(unified is not null, "the real v2 tests need a cgroup2 mount");
        return new RealCgroupScope(new CgroupLayout(CgroupVersion.V2, unified, new Dictionary<string, CgroupHierarchy>()));
    }

    public ICgroup Create(string id, CgroupLimits limits) => Track(Manager.Create(id, limits));

    public T Track<T>(T cgroup) where T : ICgroup
    {
        _cgroups.Add(cgroup);
        return cgroup;
    }

    /// <summary>Starts the script gated, moves it into <paramref name="cgroup"/>, then lets it run.</summary>
    public GatedProcess Run(ICgroup cgroup, string script)
    {
        var process = GatedProcess.Start(script);
        _processes.Add(process);
        cgroup.AddProcess(process.Id);
        process.Release();
        return process;
    }

    /// <summary>Idempotent, so a test may clean up early and still be covered on failure.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        var failures = new List<Exception>();
        foreach (var cgroup in _cgroups)
        {
            try
            {
                await cgroup.RemoveAsync(TimeSpan.FromSeconds(10), CancellationToken.None);
            }
            catch (Exception e)
            {
                failures.Add(e);
            }
        }

        foreach (var process in _processes)
        {
            process.Dispose();
        }

        if (!Manager.RemoveParentsIfEmpty())
        {
            failures.Add(new InvalidOperationException("test cgroup parents still hold cgroups: " + string.Join(", ", Manager.ParentDirectories().Values)));
        }

        if (failures.Count > 0)
        {
            throw new AggregateException("cgroup cleanup failed", failures);
        }
    }
}
