using System.Globalization;
using System.Text;

namespace Registry.Node.Runtime;

/// <summary>
/// Writes rn-init's instructions: NUL-terminated <c>key=value</c> entries (native/rn-spec.c lists
/// the keys). NUL is the one byte no argument, variable or path can hold, so nothing needs quoting.
/// </summary>
internal static class InitSpec
{
    /// <summary>Docker's default capability set, by number (linux/capability.h).</summary>
    public static readonly IReadOnlyDictionary<string, int> DefaultCapabilities = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        ["CAP_CHOWN"] = 0,
        ["CAP_DAC_OVERRIDE"] = 1,
        ["CAP_FOWNER"] = 3,
        ["CAP_FSETID"] = 4,
        ["CAP_KILL"] = 5,
        ["CAP_SETGID"] = 6,
        ["CAP_SETUID"] = 7,
        ["CAP_SETPCAP"] = 8,
        ["CAP_NET_BIND_SERVICE"] = 10,
        ["CAP_NET_RAW"] = 13,
        ["CAP_SYS_CHROOT"] = 18,
        ["CAP_MKNOD"] = 27,
        ["CAP_AUDIT_WRITE"] = 29,
        ["CAP_SETFCAP"] = 31,
    };

    /// <param name="snapshotsRoot">The directory holding the snapshots; lower dirs are passed relative to it.</param>
    /// <param name="chainIdsTopFirst">The image's snapshots, top layer first (overlayfs' lowerdir order).</param>
    public static byte[] Build(
        ContainerPaths paths, string snapshotsRoot, IEnumerable<string> chainIdsTopFirst, ProcessSpec process,
        NetworkMode network, IEnumerable<string> cgroupDirectories, IEnumerable<(string Key, string Value)>? attachments = null)
    {
        var entries = new List<(string Key, string Value)>
        {
            ("rootfs", paths.RootFs),
            ("overlay_base", snapshotsRoot),
            ("upper", OverlayPath(paths.Upper)),
            ("work", OverlayPath(paths.Work)),
            ("hostname", process.Hostname),
            ("uid", process.User.Uid.ToString(CultureInfo.InvariantCulture)),
            ("gid", process.User.Gid.ToString(CultureInfo.InvariantCulture)),
            ("cwd", process.Cwd),
            ("network", network.ToString().ToLowerInvariant()),
        };
        entries.AddRange(chainIdsTopFirst.Select(c => ("lower", c)));
        entries.AddRange(process.User.AdditionalGids.Select(g => ("group", g.ToString(CultureInfo.InvariantCulture))));
        entries.AddRange(process.Env.Select(e => ("env", e)));
        entries.AddRange(process.Args.Select(a => ("arg", a)));
        entries.AddRange(DefaultCapabilities.Values.Order().Select(c => ("cap", c.ToString(CultureInfo.InvariantCulture))));
        entries.AddRange(cgroupDirectories.Select(d => ("cgroup", d)));
        entries.AddRange(attachments ?? []);

        return Encode(entries);
    }

    /// <summary>The spec file's format: NUL-terminated <c>key=value</c> entries; a value may not hold a NUL.</summary>
    internal static byte[] Encode(IEnumerable<(string Key, string Value)> entries)
    {
        var builder = new StringBuilder();
        foreach (var (key, value) in entries)
        {
            if (value.Contains('\0', StringComparison.Ordinal))
            {
                throw new ContainerConfigException($"{key} contains a NUL character");
            }

            builder.Append(key).Append('=').Append(value).Append('\0');
        }

        return Encoding.UTF8.GetBytes(builder.ToString());
    }

    // overlayfs splits its options at ',' and lowerdir at ':'; a state root with either cannot be mounted.
    private static string OverlayPath(string path) =>
        path.AsSpan().IndexOfAny(",:\\") < 0 ? path : throw new ContainerConfigException($"the path {path} contains ',', ':' or '\\', which overlayfs options cannot carry");
}

/// <summary>The spec of <c>rn-init --exec</c>: a process to run in the namespaces of the container's pid 1.</summary>
internal static class ExecSpec
{
    public static byte[] Build(int containerPid, ProcessSpec process, IEnumerable<string> cgroupDirectories)
    {
        var entries = new List<(string Key, string Value)>
        {
            ("pid", containerPid.ToString(CultureInfo.InvariantCulture)),
            ("uid", process.User.Uid.ToString(CultureInfo.InvariantCulture)),
            ("gid", process.User.Gid.ToString(CultureInfo.InvariantCulture)),
            ("cwd", process.Cwd),
        };
        entries.AddRange(process.User.AdditionalGids.Select(g => ("group", g.ToString(CultureInfo.InvariantCulture))));
        entries.AddRange(process.Env.Select(e => ("env", e)));
        entries.AddRange(process.Args.Select(a => ("arg", a)));
        entries.AddRange(InitSpec.DefaultCapabilities.Values.Order().Select(c => ("cap", c.ToString(CultureInfo.InvariantCulture))));
        entries.AddRange(cgroupDirectories.Select(d => ("cgroup", d)));

        return InitSpec.Encode(entries);
    }
}
