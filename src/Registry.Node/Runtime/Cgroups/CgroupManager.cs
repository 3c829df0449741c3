using System.Text.RegularExpressions;

namespace Registry.Node.Runtime.Cgroups;

/// <summary>Where containers' cgroups go.</summary>
public sealed record CgroupManagerOptions
{
    /// <summary>Relative path under which each container gets <c>PARENT/&lt;container-id&gt;</c>.</summary>
    public string Parent { get; init; } = "registry-node";

    /// <summary>
    /// True: the parent is placed under this process's own cgroup in each hierarchy, so
    /// containers share whatever limits the agent's cgroup carries (a nested agent, or tests).
    /// False: under each hierarchy's root as this process sees it (docker's layout).
    /// </summary>
    public bool NestUnderOwnCgroup { get; init; }
}

/// <summary>
/// Creates and opens containers' cgroups on the version the host uses for its controllers:
/// <see cref="CgroupV2"/> on unified hosts, <see cref="CgroupV1"/> on v1 and hybrid hosts.
/// Everything that can be checked without touching the system is checked first.
/// </summary>
public sealed partial class CgroupManager
{
    private readonly ICgroupFileSystem _fs;
    private readonly int _hostCpus;
    private readonly List<string> _parentSegments;

    public CgroupManager(CgroupLayout layout, CgroupManagerOptions options, ICgroupFileSystem fs, int? hostCpus = null)
    {
        Layout = layout;
        Options = options;
        _fs = fs;
        _hostCpus = hostCpus ?? Environment.ProcessorCount;
        _parentSegments = SplitParent(options.Parent);
    }

    public CgroupLayout Layout { get; }

    public CgroupManagerOptions Options { get; }

    /// <summary>A manager for this host's detected layout, working on the real cgroupfs.</summary>
    public static CgroupManager ForHost(CgroupManagerOptions? options = null) =>
        new(CgroupLayout.Detect(), options ?? new CgroupManagerOptions(), HostCgroupFileSystem.Instance);

    /// <summary>The parent directory of containers' cgroups in each hierarchy (one on v2),
    /// keyed by controller on v1 and by "" on v2.</summary>
    public IReadOnlyDictionary<string, string> ParentDirectories()
    {
        if (Layout.Version == CgroupVersion.V2)
        {
            return new Dictionary<string, string> { [""] = Combine(BaseOf(Layout.Unified!), _parentSegments) };
        }

        return Layout.AvailableControllers.ToDictionary(
            c => c, c => Combine(BaseOf(Layout.V1Controllers[c]), _parentSegments), StringComparer.Ordinal);
    }

    /// <summary>
    /// Moving a process into a cgroup (a write to cgroup.procs) takes the kernel's cgroup
    /// threadgroup lock for writing, and the first such write after a quiet spell waits for an RCU
    /// grace period: 10 to 20 ms here, most of a container's start. A later write within about
    /// one grace period does not wait. This starts that wait now, on a background thread, by
    /// writing this process's pid into the cgroup it already is in (a move to where it is, which
    /// changes nothing), so that it passes while registry-node prepares the container, and
    /// rn-init's join of the container's cgroup a few milliseconds later finds the lock ready.
    /// Failures are ignored: this only saves time. Returns the thread, null when this process's
    /// cgroup is not visible.
    /// </summary>
    public Thread? WarmUpMigration()
    {
        var own = Layout.Version == CgroupVersion.V2
            ? Layout.Unified?.OwnDirectory
            : Layout.V1Controllers.Values.Select(h => h.OwnDirectory).FirstOrDefault(d => d is not null);
        if (own is null)
        {
            return null;
        }

        var procs = Path.Combine(own, "cgroup.procs");
        var pid = Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture);
        var thread = new Thread(() =>
        {
            try
            {
                _fs.WriteFile(procs, pid);
            }
            catch (IOException)
            {
            }
        })
        {
            IsBackground = true,
            Name = "cgroup warm-up",
        };
        thread.Start();
        return thread;
    }

    /// <summary>Validates, then creates the container's cgroup with <paramref name="limits"/>.</summary>
    /// <exception cref="InvalidCgroupLimitsException">The limits are unusable; nothing was touched.</exception>
    /// <exception cref="CgroupException">The host lacks a needed controller, or the kernel refused.</exception>
    public ICgroup Create(string containerId, CgroupLimits limits)
    {
        ValidateName(containerId, "container id");
        limits.EnsureValid(_hostCpus);
        var required = limits.RequiredControllers();
        var missing = required.Where(c => !Layout.AvailableControllers.Contains(c)).ToList();
        if (missing.Count > 0)
        {
            throw new CgroupException(
                $"this host's cgroup {(Layout.Version == CgroupVersion.V2 ? "v2" : "v1")} layout has no {string.Join(", ", missing)} controller, " +
                "so the requested limits cannot be enforced");
        }

        // The shared parent (registry-node/) may be removed by RemoveParentsIfEmpty of another process between our
        // mkdir of it and of the container's own directory; that is ENOENT, and making both again is the answer.
        const int NoSuchEntry = 2;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return CreateOnce(containerId, limits, required);
            }
            catch (CgroupFileException e) when (e.Errno == NoSuchEntry && attempt < 5)
            {
            }
        }
    }

    private ICgroup CreateOnce(string containerId, CgroupLimits limits, IReadOnlyCollection<string> required)
    {
        if (Layout.Version == CgroupVersion.V2)
        {
            var baseDirectory = BaseOf(Layout.Unified!);
            // Enable every managed controller the base offers, not only the limited ones, so that
            // usage (memory.current, pids.current) and OOM events are readable for every container.
            var offered = CgroupV2.ReadControllers(_fs, baseDirectory);
            var controllers = CgroupLayout.ManagedControllers.Where(c => offered.Contains(c) || required.Contains(c)).ToList();
            return CgroupV2.Create(_fs, baseDirectory, _parentSegments, containerId, controllers, limits);
        }

        return CgroupV1.Create(_fs, ParentDirectories(), containerId, limits);
    }

    /// <summary>The cgroup of an existing container (after an agent restart), or null if none of
    /// its directories exist.</summary>
    public ICgroup? Open(string containerId)
    {
        ValidateName(containerId, "container id");
        var parents = ParentDirectories();
        if (Layout.Version == CgroupVersion.V2)
        {
            var directory = Path.Combine(parents[""], containerId);
            return _fs.DirectoryExists(directory) ? new CgroupV2(_fs, containerId, directory) : null;
        }

        var byController = parents
            .Select(p => (Controller: p.Key, Directory: Path.Combine(p.Value, containerId)))
            .Where(p => _fs.DirectoryExists(p.Directory))
            .ToDictionary(p => p.Controller, p => p.Directory, StringComparer.Ordinal);
        return byController.Count == 0 ? null : new CgroupV1(_fs, containerId, byController);
    }

    /// <summary>
    /// Removes the parent directories the manager made, deepest first, stopping at the first one
    /// that still holds cgroups. Returns true when every parent is gone.
    /// </summary>
    public bool RemoveParentsIfEmpty()
    {
        var allGone = true;
        foreach (var parent in ParentDirectories().Values.Distinct(StringComparer.Ordinal))
        {
            var directory = parent;
            for (var level = 0; level < _parentSegments.Count; level++, directory = Path.GetDirectoryName(directory)!)
            {
                try
                {
                    _fs.RemoveDirectory(directory);
                }
                catch (CgroupFileException e) when (e.Errno == HostCgroupFileSystem.ENOENT)
                {
                }
                catch (CgroupFileException e) when (e.Errno is HostCgroupFileSystem.EBUSY or HostCgroupFileSystem.ENOTEMPTY)
                {
                    allGone = false;
                    break;
                }
            }
        }

        return allGone;
    }

    internal static void ValidateName(string name, string what)
    {
        if (!NamePattern().IsMatch(name))
        {
            throw new ArgumentException(
                $"{what} \"{name}\" is not a valid cgroup name: use 1-128 letters, digits, '_', '.' or '-', starting with a letter or digit",
                nameof(name));
        }
    }

    private string BaseOf(CgroupHierarchy hierarchy) =>
        Options.NestUnderOwnCgroup ? hierarchy.OwnDirectory ?? hierarchy.MountPoint : hierarchy.MountPoint;

    private static string Combine(string directory, IReadOnlyList<string> segments) =>
        segments.Aggregate(directory, Path.Combine);

    private static List<string> SplitParent(string parent)
    {
        // Segments are checked one by one, so "..", "." or an absolute path can never lead the
        // manager outside the hierarchy it was given.
        var segments = parent.Split('/', StringSplitOptions.RemoveEmptyEntries).ToList();
        if (segments.Count == 0)
        {
            throw new ArgumentException("the cgroup parent must name at least one directory", nameof(parent));
        }

        foreach (var segment in segments)
        {
            ValidateName(segment, "cgroup parent segment");
        }

        return segments;
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$")]
    private static partial Regex NamePattern();
}
