using System.Text;

namespace Registry.Node.Runtime.Cgroups;

public enum CgroupVersion
{
    V1 = 1,
    V2 = 2,
}

/// <summary>
/// One mounted cgroup hierarchy as this process sees it.
/// </summary>
/// <param name="MountPoint">Where it is mounted, e.g. /sys/fs/cgroup/memory.</param>
/// <param name="MountRoot">The cgroup the mount shows as its root (mountinfo field 4): "/" unless
/// the host bind-mounted only a subtree, as container engines do.</param>
/// <param name="Controllers">v1: the controllers bound to it; v2: cgroup.controllers of its root.</param>
/// <param name="ProcessPath">This process's cgroup in it, from /proc/self/cgroup; null if unlisted.</param>
public sealed record CgroupHierarchy(
    CgroupVersion Version,
    string MountPoint,
    string MountRoot,
    IReadOnlyList<string> Controllers,
    string? ProcessPath)
{
    /// <summary>The directory of this process's own cgroup, or null when the mount does not show it
    /// (the process sits outside the subtree this mount exposes).</summary>
    public string? OwnDirectory
    {
        get
        {
            if (ProcessPath is null)
            {
                return null;
            }

            var root = MountRoot.TrimEnd('/');
            if (ProcessPath != root && !ProcessPath.StartsWith(root + "/", StringComparison.Ordinal))
            {
                return null;
            }

            var relative = ProcessPath[root.Length..].Trim('/');
            return relative.Length == 0 ? MountPoint : Path.Combine(MountPoint, relative);
        }
    }
}

/// <summary>
/// Which cgroup version this host uses for the controllers a container needs, and where each
/// hierarchy is. Hybrid hosts (v1 controllers beside a controller-less cgroup2 "unified" mount,
/// as this project's build machine has) count as v1: the limits must go where the controllers are.
/// </summary>
public sealed record CgroupLayout(
    CgroupVersion Version,
    CgroupHierarchy? Unified,
    IReadOnlyDictionary<string, CgroupHierarchy> V1Controllers)
{
    /// <summary>The controllers a container's limits use.</summary>
    public static readonly IReadOnlyList<string> ManagedControllers = ["memory", "cpu", "pids"];

    public bool IsHybrid => Version == CgroupVersion.V1 && Unified is not null;

    /// <summary>The managed controllers this layout offers.</summary>
    public IReadOnlyList<string> AvailableControllers => Version == CgroupVersion.V2
        ? ManagedControllers.Where(c => Unified!.Controllers.Contains(c)).ToList()
        : ManagedControllers.Where(V1Controllers.ContainsKey).ToList();

    /// <summary>Reads /proc/self/mountinfo and /proc/self/cgroup of the running process.</summary>
    public static CgroupLayout Detect() => Parse(
        File.ReadAllText("/proc/self/mountinfo"),
        File.ReadAllText("/proc/self/cgroup"),
        dir => HostCgroupFileSystem.Instance.TryReadFile(Path.Combine(dir, "cgroup.controllers")));

    /// <param name="mountInfo">Text of /proc/PID/mountinfo.</param>
    /// <param name="procCgroup">Text of /proc/PID/cgroup.</param>
    /// <param name="readControllers">Reads cgroup.controllers of a cgroup2 mount point (null if unreadable).</param>
    public static CgroupLayout Parse(string mountInfo, string procCgroup, Func<string, string?> readControllers)
    {
        var memberships = ParseProcCgroup(procCgroup);
        CgroupHierarchy? unified = null;
        var v1 = new Dictionary<string, CgroupHierarchy>(StringComparer.Ordinal);

        foreach (var line in mountInfo.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // id parent major:minor root mountpoint options [optional…] - fstype source superoptions
            var fields = line.Split(' ');
            var separator = Array.IndexOf(fields, "-");
            if (separator < 6 || fields.Length < separator + 4)
            {
                continue;
            }

            var fsType = fields[separator + 1];
            var root = Unescape(fields[3]);
            var mountPoint = Unescape(fields[4]);
            if (fsType == "cgroup2")
            {
                // The first cgroup2 mount is the host's; later ones (a test's own mount, a bind)
                // show the same hierarchy and must not displace it.
                if (unified is null)
                {
                    var controllers = (readControllers(mountPoint) ?? "")
                        .Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
                    memberships.TryGetValue("", out var path);
                    unified = new CgroupHierarchy(CgroupVersion.V2, mountPoint, root, controllers, path);
                }
            }
            else if (fsType == "cgroup")
            {
                var controllers = fields[separator + 3].Split(',')
                    .Where(o => o is not ("rw" or "ro") && !o.StartsWith("name=", StringComparison.Ordinal)
                                && !o.Contains('=', StringComparison.Ordinal) && o is not ("noprefix" or "xattr" or "clone_children" or "cpuset_v2_mode"))
                    .ToList();
                if (controllers.Count == 0)
                {
                    continue; // a named hierarchy such as name=systemd carries no resource controller
                }

                var key = string.Join(',', controllers.Order(StringComparer.Ordinal));
                memberships.TryGetValue(key, out var path);
                var hierarchy = new CgroupHierarchy(CgroupVersion.V1, mountPoint, root, controllers, path);
                foreach (var controller in controllers)
                {
                    v1.TryAdd(controller, hierarchy);
                }
            }
        }

        var version = ManagedControllers.Any(v1.ContainsKey) ? CgroupVersion.V1
            : unified is not null ? CgroupVersion.V2
            : throw new CgroupException("no cgroup filesystem is mounted (neither cgroup v1 controllers nor cgroup2): the kernel or host lacks cgroups");
        return new CgroupLayout(version, unified, v1);
    }

    /// <summary>Maps the sorted controller list of each line ("" for the v2 line) to its path.</summary>
    private static Dictionary<string, string> ParseProcCgroup(string text)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            // hierarchy-id:controller-list:path — the path itself may contain ':'.
            var first = line.IndexOf(':', StringComparison.Ordinal);
            var second = first < 0 ? -1 : line.IndexOf(':', first + 1);
            if (second < 0)
            {
                continue;
            }

            var controllers = line[(first + 1)..second].Split(',', StringSplitOptions.RemoveEmptyEntries)
                .Where(c => !c.StartsWith("name=", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal);
            var key = line[..first] == "0" ? "" : string.Join(',', controllers);
            if (key.Length == 0 && line[..first] != "0")
            {
                continue;
            }

            result.TryAdd(key, line[(second + 1)..]);
        }

        return result;
    }

    /// <summary>mountinfo writes space, tab, newline and backslash as octal escapes (\040 …).</summary>
    private static string Unescape(string field)
    {
        if (!field.Contains('\\', StringComparison.Ordinal))
        {
            return field;
        }

        var builder = new StringBuilder(field.Length);
        for (var i = 0; i < field.Length; i++)
        {
            if (field[i] == '\\' && IsOctal(field, i + 1))
            {
                builder.Append((char)Convert.ToInt32(field.Substring(i + 1, 3), 8));
                i += 3;
            }
            else
            {
                builder.Append(field[i]);
            }
        }

        return builder.ToString();
    }

    private static bool IsOctal(string s, int start) =>
        start + 3 <= s.Length && s.Substring(start, 3).All(c => c is >= '0' and <= '7');
}
