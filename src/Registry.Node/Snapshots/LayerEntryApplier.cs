using System.Formats.Tar;
using System.Globalization;
using System.Text;
using static Registry.Node.Snapshots.SnapshotSyscalls;

namespace Registry.Node.Snapshots;

/// <summary>
/// Turns tar entries into files of one snapshot, in stream order. Every name goes through
/// <see cref="SnapshotPath"/> and every disk operation through <see cref="SafeRoot"/>.
/// Directory modes and times are applied by <see cref="FinishDirectories"/>, after their
/// contents, so that creating children does not change a directory's mtime afterwards and a
/// read-only directory does not block its own contents.
/// </summary>
internal sealed class LayerEntryApplier(SafeRoot root, bool privileged)
{
    private const string WhiteoutPrefix = ".wh.";
    private const string WhiteoutMetaPrefix = ".wh..wh.";
    private const string OpaqueMarker = ".wh..wh..opq";
    private const uint PermissionBits = 0xfff; // rwx for all three plus setuid, setgid, sticky

    private static readonly byte[] OpaqueValue = "y"u8.ToArray();

    private readonly Dictionary<SnapshotPath, DirectoryMetadata> _directories = [];

    public LayerUnpackStats Stats { get; } = new();

    public async Task ApplyAsync(TarEntry entry, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var name = entry.Name;
        if (entry.EntryType is TarEntryType.GlobalExtendedAttributes)
        {
            return; // pax global headers carry defaults for tools, nothing for the file system
        }

        var path = SnapshotPath.Parse(name, name);
        if (path.IsRoot)
        {
            // "./" is how most layers begin: it sets the root's own metadata.
            _directories[path] = entry.EntryType == TarEntryType.Directory
                ? DirectoryMetadata.From(entry)
                : throw new HostileLayerException(name, "a non-directory entry names the snapshot root");
            return;
        }

        if (path.Leaf.StartsWith(WhiteoutPrefix, StringComparison.Ordinal))
        {
            ApplyWhiteout(name, path);
            return;
        }

        using var parent = root.OpenParent(name, path, create: true);
        switch (entry.EntryType)
        {
            case TarEntryType.RegularFile or TarEntryType.V7RegularFile or TarEntryType.ContiguousFile:
                await WriteFileAsync(entry, parent, path.Leaf, cancellationToken).ConfigureAwait(false);
                break;
            case TarEntryType.Directory:
                MakeDirectory(entry, path, parent);
                break;
            case TarEntryType.SymbolicLink:
                MakeSymlink(entry, parent, path.Leaf);
                break;
            case TarEntryType.HardLink:
                MakeHardlink(entry, path, parent);
                break;
            case TarEntryType.CharacterDevice or TarEntryType.BlockDevice or TarEntryType.Fifo:
                MakeNode(entry, parent, path.Leaf);
                break;
            default:
                throw new LayerUnpackException($"entry '{name}': unsupported tar entry type {entry.EntryType}");
        }
    }

    /// <summary>Applies owners, modes and times of directories, deepest first.</summary>
    public void FinishDirectories()
    {
        var rootPath = SnapshotPath.Parse("/", "/");
        // Without a "./" entry the root stays as the unpacker made it (0700): give it the usual 0755.
        _directories.TryAdd(rootPath, new DirectoryMetadata(0x1ed, 0, 0, null, KeepOwner: true));
        foreach (var (path, metadata) in _directories.OrderByDescending(d => d.Key.Components.Count))
        {
            // A directory that a later entry replaced (or that is now behind a symlink) is skipped.
            using var directory = root.TryOpenDirectory(path);
            if (directory is null)
            {
                continue;
            }

            if (privileged && !metadata.KeepOwner)
            {
                _ = fchown(directory.Fd, (uint)metadata.Uid, (uint)metadata.Gid);
            }

            Require(fchmod(directory.Fd, metadata.Mode), "chmod", path.ToString());
            if (metadata.FileTimes is { } times)
            {
                Require(futimens(directory.Fd, times), "set times of", path.ToString());
            }
        }
    }

    private async Task WriteFileAsync(TarEntry entry, SafeRoot.DirectoryHandle parent, string leaf, CancellationToken cancellationToken)
    {
        SafeRoot.Replace(entry.Name, parent, leaf, newIsDirectory: false);
        var stream = new FileStream(SafeRoot.CreateFile(entry.Name, parent, leaf), FileAccess.Write, bufferSize: 0);
        await using (stream.ConfigureAwait(false))
        {
            if (entry.DataStream is { } data)
            {
                // The tar reader's data stream ends at the entry's declared size or throws when
                // the layer ends first: a header claiming terabytes costs only what the stream has.
                await data.CopyToAsync(stream, 128 * 1024, cancellationToken).ConfigureAwait(false);
            }

            var fd = (int)stream.SafeFileHandle.DangerousGetHandle();
            ApplyXattrs(entry, fd);
            if (privileged)
            {
                // Before chmod: chown clears the setuid and setgid bits.
                Require(fchown(fd, (uint)entry.Uid, (uint)entry.Gid), "chown", entry.Name);
            }

            Require(fchmod(fd, (uint)entry.Mode & PermissionBits), "chmod", entry.Name);
            Require(futimens(fd, Times(entry)), "set times of", entry.Name);
        }

        Stats.Files++;
        Stats.FileBytes += entry.Length;
    }

    private void MakeDirectory(TarEntry entry, SnapshotPath path, SafeRoot.DirectoryHandle parent)
    {
        if (!SafeRoot.Replace(entry.Name, parent, path.Leaf, newIsDirectory: true))
        {
            SafeRoot.CreateDirectory(entry.Name, parent, path.Leaf);
        }

        using (var directory = root.TryOpenDirectory(path))
        {
            if (directory is not null)
            {
                ApplyXattrs(entry, directory.Fd);
            }
        }

        _directories[path] = DirectoryMetadata.From(entry);
        Stats.Directories++;
    }

    private void MakeSymlink(TarEntry entry, SafeRoot.DirectoryHandle parent, string leaf)
    {
        // The target may point anywhere, "/etc" or "../../..": it is content for the container
        // to resolve inside its own root, and nothing here ever resolves it.
        var target = entry.LinkName;
        if (string.IsNullOrEmpty(target) || target.Contains('\0', StringComparison.Ordinal))
        {
            throw new HostileLayerException(entry.Name, "the symlink target is empty or contains NUL");
        }

        SafeRoot.Replace(entry.Name, parent, leaf, newIsDirectory: false);
        SafeRoot.CreateSymlink(entry.Name, parent, leaf, target);
        SetOwnerAndTimes(entry, parent, leaf);
        Stats.Symlinks++;
    }

    private void MakeHardlink(TarEntry entry, SnapshotPath path, SafeRoot.DirectoryHandle parent)
    {
        // The target is a name in this layer, parsed and walked exactly like an entry name:
        // "/etc/shadow" means the layer's own etc/shadow, "../x" and "evil/x" through a
        // planted symlink are refused by the same checks.
        var target = SnapshotPath.Parse(entry.Name, entry.LinkName);
        if (target.IsRoot)
        {
            throw new HostileLayerException(entry.Name, "it hardlinks the snapshot root");
        }

        if (target.Equals(path))
        {
            throw new LayerUnpackException($"hardlink '{entry.Name}' points to itself");
        }

        using var targetParent = root.OpenParent(entry.Name, target, create: false);
        SafeRoot.Replace(entry.Name, parent, path.Leaf, newIsDirectory: false);
        SafeRoot.CreateHardlink(entry.Name, targetParent, target.Leaf, parent, path.Leaf);
        Stats.Hardlinks++;
    }

    private void MakeNode(TarEntry entry, SafeRoot.DirectoryHandle parent, string leaf)
    {
        var type = entry.EntryType switch
        {
            TarEntryType.CharacterDevice => S_IFCHR,
            TarEntryType.BlockDevice => S_IFBLK,
            _ => S_IFIFO,
        };
        if (type != S_IFIFO && !privileged)
        {
            Stats.SkippedDevices++; // mknod of a device needs CAP_MKNOD; a fifo does not
            return;
        }

        var device = entry is PosixTarEntry posix && type != S_IFIFO
            ? MakeDev((uint)posix.DeviceMajor, (uint)posix.DeviceMinor)
            : 0UL;
        SafeRoot.Replace(entry.Name, parent, leaf, newIsDirectory: false);
        SafeRoot.CreateNode(entry.Name, parent, leaf, type | 0x180, device);
        if (privileged)
        {
            Require(SafeRoot.SetOwner(parent, leaf, entry.Uid, entry.Gid), "chown", entry.Name);
        }

        Require(SafeRoot.SetNodeMode(parent, leaf, (uint)entry.Mode & PermissionBits), "chmod", entry.Name);
        Require(SafeRoot.SetTimes(parent, leaf, Times(entry)), "set times of", entry.Name);
        Stats.Devices++;
    }

    private void ApplyWhiteout(string name, SnapshotPath path)
    {
        if (path.Leaf == OpaqueMarker)
        {
            RequirePrivilege(name);
            // The marker's directory is walked (and created) like any parent; then the
            // directory itself is marked, through its descriptor.
            using var directory = root.OpenParent(name, path, create: true);
            Require(fsetxattr(directory.Fd, "trusted.overlay.opaque", OpaqueValue, (nuint)OpaqueValue.Length, 0), "mark opaque", name);
            Stats.OpaqueDirectories++;
            return;
        }

        if (path.Leaf.StartsWith(WhiteoutMetaPrefix, StringComparison.Ordinal))
        {
            return; // aufs bookkeeping such as ".wh..wh.plnk": meaningless to overlayfs
        }

        var hidden = path.Leaf[WhiteoutPrefix.Length..];
        if (hidden is "" or "." or "..")
        {
            // ".wh..." would otherwise whiteout "..", i.e. mknod in the parent of the parent.
            throw new HostileLayerException(name, "the whiteout names no file");
        }

        RequirePrivilege(name);
        using var parent = root.OpenParent(name, path, create: true);
        // Whiteouts hide lower layers only: an entry of this layer with the same name stays.
        if (SafeRoot.Probe(parent, hidden) == SafeRoot.EntryKind.Missing)
        {
            SafeRoot.CreateNode(name, parent, hidden, S_IFCHR, 0);
            Stats.Whiteouts++;
        }
    }

    private void RequirePrivilege(string name)
    {
        if (!privileged)
        {
            throw new LayerUnpackException(
                $"entry '{name}' is a whiteout; overlay whiteouts need root (mknod and trusted.* xattrs)");
        }
    }

    private void SetOwnerAndTimes(TarEntry entry, SafeRoot.DirectoryHandle parent, string leaf)
    {
        if (privileged)
        {
            Require(SafeRoot.SetOwner(parent, leaf, entry.Uid, entry.Gid), "chown", entry.Name);
        }

        Require(SafeRoot.SetTimes(parent, leaf, Times(entry)), "set times of", entry.Name);
    }

    private void ApplyXattrs(TarEntry entry, int fd)
    {
        if (entry is not PaxTarEntry pax)
        {
            return;
        }

        foreach (var (key, value) in pax.ExtendedAttributes)
        {
            if (!TryDecodeXattr(key, value, out var name, out var bytes))
            {
                if (key.Contains(".xattr.", StringComparison.Ordinal))
                {
                    Stats.SkippedXattrs++;
                }

                continue;
            }

            // trusted.* (overlayfs's own trusted.overlay.redirect, .metacopy, .opaque) would let
            // a layer steer overlay lookups; security.* other than file capabilities would
            // relabel files for the host's LSM. Only user.* and capabilities are content.
            var allowed = name.StartsWith("user.", StringComparison.Ordinal) || name == "security.capability";
            if (!allowed || fsetxattr(fd, name, bytes, (nuint)bytes.Length, 0) != 0)
            {
                Stats.SkippedXattrs++;
            }
        }
    }

    private static bool TryDecodeXattr(string key, string value, out string name, out byte[] bytes)
    {
        const string schily = "SCHILY.xattr.";
        const string libarchive = "LIBARCHIVE.xattr.";
        name = "";
        bytes = [];
        if (key.StartsWith(schily, StringComparison.Ordinal))
        {
            // The tar reader decodes pax values as UTF-8; a binary value that was not valid
            // UTF-8 is lost (U+FFFD) and is skipped rather than written wrong.
            if (value.Contains('\uFFFD', StringComparison.Ordinal))
            {
                return false;
            }

            name = key[schily.Length..];
            bytes = Encoding.UTF8.GetBytes(value);
            return name.Length > 0;
        }

        if (key.StartsWith(libarchive, StringComparison.Ordinal))
        {
            name = Uri.UnescapeDataString(key[libarchive.Length..]);
            try
            {
                bytes = Convert.FromBase64String(value);
            }
            catch (FormatException)
            {
                return false;
            }

            return name.Length > 0;
        }

        return false;
    }

    private static Timespec[] Times(TarEntry entry)
    {
        var modified = entry.ModificationTime;
        var accessed = entry switch
        {
            GnuTarEntry gnu when gnu.AccessTime != default => gnu.AccessTime,
            PaxTarEntry pax when pax.ExtendedAttributes.TryGetValue("atime", out var text)
                && decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds)
                && seconds is > -1e11m and < 1e11m => DateTimeOffset.UnixEpoch.AddTicks((long)(seconds * TimeSpan.TicksPerSecond)),
            _ => modified,
        };
        return [ToTimespec(accessed), ToTimespec(modified)];
    }

    internal static Timespec ToTimespec(DateTimeOffset time)
    {
        var ticks = (time.UtcDateTime - DateTime.UnixEpoch).Ticks;
        var seconds = Math.DivRem(ticks, TimeSpan.TicksPerSecond, out var rest);
        if (rest < 0)
        {
            seconds--;
            rest += TimeSpan.TicksPerSecond;
        }

        return new Timespec { Seconds = seconds, Nanoseconds = rest * 100 };
    }

    private static void Require(int result, string operation, string name)
    {
        if (result != 0)
        {
            var errno = LastError;
            throw new IOException($"could not {operation} '{name}': {Describe(errno)} (errno {errno})");
        }
    }

    private sealed record DirectoryMetadata(uint Mode, int Uid, int Gid, Timespec[]? FileTimes, bool KeepOwner)
    {
        public static DirectoryMetadata From(TarEntry entry) =>
            new((uint)entry.Mode & PermissionBits, entry.Uid, entry.Gid, Times(entry), KeepOwner: false);
    }
}
