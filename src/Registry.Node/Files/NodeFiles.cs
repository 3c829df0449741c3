using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Registry.Node.Files;

/// <summary>
/// How everything under the node's root is created. The root holds what local users must not
/// reach: image layers with setuid files and device nodes as the image made them, containers'
/// writable layers, blobs of private images, and config and spec files with the values of
/// <c>-e</c>. Each directory is created 0700 and each file 0600, explicitly rather than through
/// the umask; the few things a container itself sees through a mount (its upper dir, a volume's
/// <c>_data</c>, /etc/hosts and /etc/hostname) get the modes the container needs, set with chmod
/// so that no umask changes them. The root being 0700 (<see cref="NodeRoot"/>) is what keeps
/// other users out; these modes keep the files private wherever they are copied or moved.
/// </summary>
internal static partial class NodeFiles
{
    public const UnixFileMode PrivateDirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode PrivateFileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>0755: a directory a container sees as one of its own (its root, a volume), usable by any of its users.</summary>
    public const UnixFileMode ContainerDirectoryMode = PrivateDirectoryMode
        | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute;

    /// <summary>0644: a file bind-mounted into a container (/etc/hosts), readable by any of its users.</summary>
    public const UnixFileMode ContainerFileMode = PrivateFileMode | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    /// <summary>
    /// registry-node's own umask, 077, set first thing: a file that some code path, or rn-init's
    /// supervisor (state.json, container.log), creates without an explicit mode is owner-only too.
    /// rn-init sets the container's own umask (022, as docker's) before it runs the container's process.
    /// </summary>
    public static void RestrictUmask() => _ = umask(0x3f);

    /// <summary>Creates <paramref name="path"/> and every missing parent, each 0700 (an existing one is left as it is).</summary>
    public static void CreatePrivateDirectory(string path)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            return;
        }

        if (Path.GetDirectoryName(full) is { } parent)
        {
            CreatePrivateDirectory(parent);
        }

        MakeDirectory(full, PrivateDirectoryMode);
    }

    /// <summary>Creates a directory a container sees as its own (its upper dir, a volume's data): exactly 0755.</summary>
    public static void CreateContainerDirectory(string path)
    {
        MakeDirectory(path, ContainerDirectoryMode);
        SetMode(path, ContainerDirectoryMode);
    }

    /// <summary>Gives a file that a container reads through a bind mount exactly 0644.</summary>
    public static void MakeContainerReadable(SafeFileHandle file)
    {
        if (fchmod(file, (uint)ContainerFileMode) != 0)
        {
            throw Failure("chmod", "a container's file", Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>chmod(2), following a symlink.</summary>
    public static void SetMode(string path, UnixFileMode mode)
    {
        if (chmod(path, (uint)mode) != 0)
        {
            throw Failure("chmod", path, Marshal.GetLastPInvokeError());
        }
    }

    /// <summary>FileStream options that create a missing file 0600.</summary>
    public static FileStreamOptions Private(
        FileMode mode, FileAccess access, FileShare share = FileShare.None, int bufferSize = 4096, FileOptions options = FileOptions.None)
    {
        var streamOptions = new FileStreamOptions { Mode = mode, Access = access, Share = share, BufferSize = bufferSize, Options = options };
        if (!OperatingSystem.IsWindows())
        {
            streamOptions.UnixCreateMode = PrivateFileMode;
        }

        return streamOptions;
    }

    /// <summary>File.WriteAllBytes, creating the file 0600.</summary>
    public static void WritePrivate(string path, ReadOnlySpan<byte> content)
    {
        using var file = new FileStream(path, Private(FileMode.Create, FileAccess.Write));
        file.Write(content);
    }

    /// <summary>File.WriteAllBytesAsync, creating the file 0600.</summary>
    public static async Task WritePrivateAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var file = new FileStream(path, Private(FileMode.Create, FileAccess.Write, options: FileOptions.Asynchronous));
        await using (file.ConfigureAwait(false))
        {
            await file.WriteAsync(content, cancellationToken).ConfigureAwait(false);
        }
    }

    private static void MakeDirectory(string path, UnixFileMode mode)
    {
        if (mkdir(path, (uint)mode) != 0 && Marshal.GetLastPInvokeError() is var errno && errno != EEXIST)
        {
            throw Failure("create directory", path, errno);
        }
    }

    private static IOException Failure(string operation, string path, int errno) =>
        new($"could not {operation} {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");

    private const int EEXIST = 17;

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mkdir(string path, uint mode);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int chmod(string path, uint mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fchmod(SafeFileHandle fd, uint mode);

    [LibraryImport("libc")]
    private static partial uint umask(uint mask);
}
