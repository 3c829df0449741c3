using System.Text;
using static Registry.Node.Runtime.RuntimeSyscalls;

namespace Registry.Node.Runtime;

/// <summary>
/// Reads files of an image's root filesystem straight from its snapshots (overlay lower dirs,
/// top first), merged as overlayfs merges them (whiteouts, opaque directories, upper entries
/// hiding lower ones), without mounting anything.
/// <para>
/// The image is hostile input. Symbolic links are resolved inside the image's root: an absolute
/// target starts again at the image's root and ".." stops there, so an image whose /etc/passwd
/// links to "/etc/shadow" or "../../../../etc/shadow" reads its own file or nothing, never the
/// host's. On the host side every path is inspected with lstat and only real directories are
/// descended into, so a link planted in a layer is never followed by the kernel either.
/// </para>
/// </summary>
internal sealed class ImageRootFiles
{
    private const int MaxSymlinks = 40;
    private const string OpaqueXattr = "trusted.overlay.opaque";

    private readonly IReadOnlyList<string> _layersTopFirst;

    public ImageRootFiles(IReadOnlyList<string> layersTopFirst) => _layersTopFirst = layersTopFirst;

    /// <summary>The file's content, or null when the image has no regular file there (or it is larger than <paramref name="maxBytes"/>).</summary>
    public string? ReadText(string path, int maxBytes = 1 << 20)
    {
        var hostPath = Resolve(path);
        if (hostPath is null || new FileInfo(hostPath).Length > maxBytes)
        {
            return null;
        }

        return File.ReadAllText(hostPath, Encoding.UTF8);
    }

    /// <summary>The host path of the layer file that <paramref name="path"/> names in the merged root, or null.</summary>
    public string? Resolve(string path)
    {
        var remaining = new LinkedList<string>(Split(path));
        var directory = new List<string>();
        // The layers whose copy of the current directory takes part in the merge, top first.
        var merged = _layersTopFirst.ToList();
        var links = 0;
        while (remaining.First is { } first)
        {
            var name = first.Value;
            remaining.RemoveFirst();
            if (name == ".")
            {
                continue;
            }

            if (name == "..")
            {
                // ".." at the root stays at the root, as in the container.
                if (directory.Count > 0)
                {
                    directory.RemoveAt(directory.Count - 1);
                    merged = MergedLayersOf(directory);
                }

                continue;
            }

            var entry = Lookup(merged, directory, name);
            switch (entry.Kind)
            {
                case EntryKind.Directory:
                    directory.Add(name);
                    merged = entry.Layers;
                    break;
                case EntryKind.Symlink:
                    if (++links > MaxSymlinks)
                    {
                        return null;
                    }

                    var target = new FileInfo(entry.HostPath!).LinkTarget ?? "";
                    if (target.StartsWith('/'))
                    {
                        directory.Clear();
                        merged = [.. _layersTopFirst];
                    }

                    foreach (var part in Split(target).Reverse())
                    {
                        remaining.AddFirst(part);
                    }

                    break;
                case EntryKind.File:
                    return remaining.Count == 0 ? entry.HostPath : null;
                default:
                    return null;
            }
        }

        return null;
    }

    private List<string> MergedLayersOf(List<string> directory)
    {
        var merged = _layersTopFirst.ToList();
        var walked = new List<string>();
        foreach (var name in directory)
        {
            merged = Lookup(merged, walked, name).Layers;
            walked.Add(name);
        }

        return merged;
    }

    private static Entry Lookup(List<string> merged, List<string> directory, string name)
    {
        var layers = new List<string>();
        foreach (var layer in merged)
        {
            var hostPath = Path.Combine([layer, .. directory, name]);
            if (LstatType(hostPath) is not { } stat)
            {
                continue;
            }

            var isWhiteout = stat.Type == S_IFCHR && stat.RdevMajor == 0 && stat.RdevMinor == 0;
            if (stat.Type == S_IFDIR)
            {
                layers.Add(layer);
                if (IsOpaque(hostPath))
                {
                    break;
                }

                continue;
            }

            if (layers.Count > 0 || isWhiteout)
            {
                // A whiteout, or a non-directory under a directory of an upper layer: lower copies are hidden.
                break;
            }

            return stat.Type switch
            {
                S_IFLNK => new Entry(EntryKind.Symlink, hostPath, []),
                S_IFREG => new Entry(EntryKind.File, hostPath, []),
                _ => new Entry(EntryKind.Missing, null, []),
            };
        }

        return layers.Count > 0 ? new Entry(EntryKind.Directory, null, layers) : new Entry(EntryKind.Missing, null, []);
    }

    private static bool IsOpaque(string directory)
    {
        var value = new byte[1];
        return Snapshots.SnapshotSyscalls.lgetxattr(directory, OpaqueXattr, value, 1) == 1 && value[0] == (byte)'y';
    }

    private static string[] Split(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);

    private enum EntryKind
    {
        Missing,
        Directory,
        File,
        Symlink,
    }

    private sealed record Entry(EntryKind Kind, string? HostPath, List<string> Layers);
}
