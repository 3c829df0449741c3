using Microsoft.Win32.SafeHandles;
using static Registry.Node.Snapshots.SnapshotSyscalls;

namespace Registry.Node.Snapshots;

/// <summary>
/// The one place where a path inside a snapshot becomes something on disk. It holds a
/// descriptor of the snapshot's root and reaches every entry by opening one component at a
/// time with <c>openat(O_DIRECTORY|O_NOFOLLOW)</c> from there, so the kernel never resolves a
/// symbolic link or a <c>..</c> on our behalf: whatever an earlier entry planted, no operation
/// can land outside the root. The leaf itself is only ever touched through <c>*at</c> calls on
/// its parent's descriptor with the no-follow variant of each call.
/// </summary>
internal sealed class SafeRoot : IDisposable
{
    private readonly DirectoryHandle _root;

    private SafeRoot(DirectoryHandle root) => _root = root;

    /// <summary>What a name in a directory is, seen without following it.</summary>
    public enum EntryKind
    {
        Missing,
        Directory,
        NonDirectory,
    }

    public static SafeRoot Open(string directory)
    {
        // O_NOFOLLOW here stops a snapshot directory that was itself swapped for a symlink.
        var fd = openat(AT_FDCWD, directory, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
        return fd >= 0 ? new SafeRoot(new DirectoryHandle(fd)) : throw Failure("open", directory, LastError);
    }

    /// <summary>
    /// Opens the directory that holds <paramref name="path"/>'s leaf, creating missing
    /// directories on the way when <paramref name="create"/> is set.
    /// </summary>
    public DirectoryHandle OpenParent(string entryName, SnapshotPath path, bool create) =>
        Walk(entryName, path.ParentComponents, create);

    /// <summary>Opens <paramref name="path"/> as a directory, or null when it is not one (any more).</summary>
    public DirectoryHandle? TryOpenDirectory(SnapshotPath path)
    {
        try
        {
            return Walk(path.ToString(), path.Components, create: false);
        }
        catch (LayerUnpackException)
        {
            return null;
        }
    }

    public static EntryKind Probe(DirectoryHandle parent, string leaf)
    {
        var fd = openat(parent.Fd, leaf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
        if (fd >= 0)
        {
            _ = close(fd);
            return EntryKind.Directory;
        }

        var errno = LastError;
        return errno switch
        {
            ENOENT => EntryKind.Missing,
            // ELOOP: the leaf is a symlink (not followed); ENOTDIR: a file, device or fifo.
            ELOOP or ENOTDIR => EntryKind.NonDirectory,
            _ => throw Failure("inspect", leaf, errno),
        };
    }

    /// <summary>
    /// Makes room for a new entry at <paramref name="leaf"/>: a later entry replaces an earlier
    /// one of the same name, as tar does. Returns true when an existing directory was kept
    /// because the new entry is a directory too (its contents merge).
    /// </summary>
    public static bool Replace(string entryName, DirectoryHandle parent, string leaf, bool newIsDirectory)
    {
        switch (Probe(parent, leaf))
        {
            case EntryKind.Missing:
                return false;
            case EntryKind.Directory when newIsDirectory:
                return true;
            case EntryKind.Directory:
                // Only an empty directory is replaced: a layer that turns a populated directory
                // into a file or symlink is not something any image builder writes.
                if (unlinkat(parent.Fd, leaf, AT_REMOVEDIR) != 0)
                {
                    var errno = LastError;
                    throw errno == ENOTEMPTY
                        ? new HostileLayerException(entryName, "it replaces a non-empty directory")
                        : Failure("remove", entryName, errno);
                }

                return false;
            default:
                // unlinkat removes a symlink itself, never its target: a planted "evil -> /etc"
                // that a later directory entry "evil/" replaces becomes a real directory here.
                if (unlinkat(parent.Fd, leaf, 0) != 0)
                {
                    throw Failure("remove", entryName, LastError);
                }

                return false;
        }
    }

    /// <summary>
    /// Creates a new regular file. O_EXCL|O_NOFOLLOW refuse to open anything already there, so a
    /// leaf planted as "passwd -> /etc/passwd" (and not removed by <see cref="Replace"/>) is
    /// never opened for writing: the call fails instead of truncating the host's file.
    /// </summary>
    public static SafeFileHandle CreateFile(string entryName, DirectoryHandle parent, string leaf)
    {
        var fd = openat(parent.Fd, leaf, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0x180);
        return fd >= 0 ? new SafeFileHandle(fd, ownsHandle: true) : throw Failure("create", entryName, LastError);
    }

    public static void CreateDirectory(string entryName, DirectoryHandle parent, string leaf) =>
        Check(mkdirat(parent.Fd, leaf, 0x1ed), "create directory", entryName);

    /// <summary>The target is stored verbatim and never resolved: it is content, not a path we use.</summary>
    public static void CreateSymlink(string entryName, DirectoryHandle parent, string leaf, string target) =>
        Check(symlinkat(target, parent.Fd, leaf), "create symlink", entryName);

    public static void CreateNode(string entryName, DirectoryHandle parent, string leaf, uint typeAndMode, ulong device) =>
        Check(mknodat(parent.Fd, leaf, typeAndMode, device), "create node", entryName);

    /// <summary>
    /// Hardlinks an existing entry. Flags 0 (no AT_SYMLINK_FOLLOW) link a symlink itself rather
    /// than what it points to: a hardlink to "evil -> /etc/shadow" is one more symlink, never a
    /// second name for the host's file.
    /// </summary>
    public static void CreateHardlink(string entryName, DirectoryHandle targetParent, string targetLeaf, DirectoryHandle parent, string leaf)
    {
        if (linkat(targetParent.Fd, targetLeaf, parent.Fd, leaf, 0) == 0)
        {
            return;
        }

        var errno = LastError;
        throw errno switch
        {
            ENOENT => new LayerUnpackException($"hardlink '{entryName}': its target is not in the layer"),
            // Hardlinked directories would make loops and let one name alias a tree elsewhere.
            EPERM or EISDIR => new HostileLayerException(entryName, "it hardlinks a directory"),
            _ => Failure("hardlink", entryName, errno),
        };
    }

    /// <summary>chown/utimes of the leaf itself with AT_SYMLINK_NOFOLLOW, so a symlink's target is never touched.</summary>
    public static int SetOwner(DirectoryHandle parent, string leaf, int uid, int gid) =>
        fchownat(parent.Fd, leaf, (uint)uid, (uint)gid, AT_SYMLINK_NOFOLLOW);

    public static int SetTimes(DirectoryHandle parent, string leaf, Timespec[] times) =>
        utimensat(parent.Fd, leaf, times, AT_SYMLINK_NOFOLLOW);

    /// <summary>chmod of a device or fifo this unpacker has just created (fchmodat has no no-follow mode).</summary>
    public static int SetNodeMode(DirectoryHandle parent, string leaf, uint mode) =>
        fchmodat(parent.Fd, leaf, mode, 0);

    public void Dispose() => _root.Dispose();

    private DirectoryHandle Walk(string entryName, IReadOnlyList<string> components, bool create)
    {
        // "." relative to the root descriptor: a fresh descriptor the caller may dispose.
        var current = OpenChild(entryName, _root, ".", create: false);
        try
        {
            foreach (var component in components)
            {
                var next = OpenChild(entryName, current, component, create);
                current.Dispose();
                current = next;
            }

            return current;
        }
        catch
        {
            current.Dispose();
            throw;
        }
    }

    private static DirectoryHandle OpenChild(string entryName, DirectoryHandle directory, string name, bool create)
    {
        // Two attempts at most: open, or create and open. Never a loop that could spin.
        var created = false;
        for (var attempt = 0; attempt < 2; attempt++)
        {
            var fd = openat(directory.Fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC, 0);
            if (fd >= 0)
            {
                // A parent the layer implies without an entry of its own is 0755, as tar makes it;
                // mkdir's mode went through the umask (registry-node's is 077), so it is set again.
                if (created && fchmod(fd, 0x1ed) != 0)
                {
                    var chmodErrno = LastError;
                    _ = close(fd);
                    throw Failure("chmod", entryName, chmodErrno);
                }

                return new DirectoryHandle(fd);
            }

            var errno = LastError;
            switch (errno)
            {
                case ELOOP:
                    // The component is a symlink, e.g. "evil -> /etc" or "evil -> ../../.."
                    // planted by an earlier entry so that "evil/passwd" writes to the host.
                    throw new HostileLayerException(entryName, $"'{name}' on its path is a symbolic link");
                case ENOTDIR:
                    // A file or device where a directory should be: writing "f/x" through it is malformed.
                    throw new HostileLayerException(entryName, $"'{name}' on its path is not a directory");
                case ENOENT when create && attempt == 0:
                    if (mkdirat(directory.Fd, name, 0x1ed) == 0)
                    {
                        created = true;
                    }
                    else if (LastError != EEXIST)
                    {
                        throw Failure("create directory", entryName, LastError);
                    }

                    continue;
                case ENOENT:
                    throw new LayerUnpackException($"entry '{entryName}': '{name}' does not exist in the layer");
                default:
                    throw Failure("open", entryName, errno);
            }
        }

        throw new LayerUnpackException($"entry '{entryName}': could not open '{name}'");
    }

    private static void Check(int result, string operation, string entryName)
    {
        if (result != 0)
        {
            throw Failure(operation, entryName, LastError);
        }
    }

    private static IOException Failure(string operation, string name, int errno) =>
        new($"could not {operation} '{name}': {Describe(errno)} (errno {errno})");

    /// <summary>An open directory descriptor, closed on dispose.</summary>
    public sealed class DirectoryHandle(int fd) : IDisposable
    {
        private int _fd = fd;

        public int Fd => _fd >= 0 ? _fd : throw new ObjectDisposedException(nameof(DirectoryHandle));

        public void Dispose()
        {
            var fd = Interlocked.Exchange(ref _fd, -1);
            if (fd >= 0)
            {
                _ = close(fd);
            }
        }
    }
}
