using System.Globalization;
using System.Text;
using Registry.Node.Runtime.Security;

namespace Registry.Node.Runtime;

/// <summary>
/// Writes rn-init's instructions: NUL-terminated <c>key=value</c> entries (native/rn-spec.c lists
/// the keys). NUL is the one byte no argument, variable or path can hold, so nothing needs quoting.
/// </summary>
internal static class InitSpec
{
    /// <param name="snapshotsRoot">The directory holding the snapshots; lower dirs are passed relative to it.</param>
    /// <param name="chainIdsTopFirst">The image's snapshots, top layer first (overlayfs' lowerdir order).</param>
    public static byte[] Build(
        ContainerPaths paths, string snapshotsRoot, IEnumerable<string> chainIdsTopFirst, ProcessSpec process,
        NetworkMode network, IEnumerable<string> cgroupDirectories, ContainerSecurity security, IEnumerable<(string Key, string Value)>? attachments = null)
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
        // Compiled filters are kept in the node's seccomp/, beside containers/ (paths.Directory is containers/<id>).
        var nodeRoot = Path.GetDirectoryName(Path.GetDirectoryName(paths.Directory)!)!;
        entries.AddRange(security.SpecEntries(Path.Combine(nodeRoot, "seccomp")));
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

    /// <summary>The entries of a spec file <see cref="Encode"/> wrote.</summary>
    internal static IReadOnlyList<(string Key, string Value)> Decode(byte[] spec) =>
    [
        .. Encoding.UTF8.GetString(spec).Split('\0', StringSplitOptions.RemoveEmptyEntries).Select(entry =>
        {
            var equals = entry.IndexOf('=', StringComparison.Ordinal);
            return equals < 0 ? throw new InvalidDataException($"a spec entry has no '=': {entry}") : (entry[..equals], entry[(equals + 1)..]);
        }),
    ];

    // overlayfs splits its options at ',' and lowerdir at ':'; a state root with either cannot be mounted.
    private static string OverlayPath(string path) =>
        path.AsSpan().IndexOfAny(",:\\") < 0 ? path : throw new ContainerConfigException($"the path {path} contains ',', ':' or '\\', which overlayfs options cannot carry");
}

/// <summary>The spec of <c>rn-init --exec</c>: a process to run in the namespaces of the container's pid 1.</summary>
internal static class ExecSpec
{
    /// <param name="containerSpec">The container's own spec: its capabilities, no_new_privs and seccomp filter are the process's too, as with docker exec.</param>
    public static byte[] Build(int containerPid, ProcessSpec process, IEnumerable<string> cgroupDirectories, byte[] containerSpec)
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
        entries.AddRange(InitSpec.Decode(containerSpec).Where(e => ContainerSecurity.SpecKeys.Contains(e.Key)));
        entries.AddRange(cgroupDirectories.Select(d => ("cgroup", d)));

        return InitSpec.Encode(entries);
    }
}
