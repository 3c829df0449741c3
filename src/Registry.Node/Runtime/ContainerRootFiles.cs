using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Win32.SafeHandles;

namespace Registry.Node.Runtime;

/// <summary>
/// Reads files of a running container as the container itself sees them — its overlay root with
/// what it wrote, and its volumes — for <c>exec -u NAME</c>, which docker resolves in the
/// container's /etc/passwd and /etc/group.
/// <para>
/// Every name in that tree belongs to the container, which can change it at any moment: make
/// /etc/passwd a symlink to "/etc/shadow", or swap /etc for a symlink to a host directory between
/// the moment a path is checked and the moment it is opened. So no path string is ever handed to
/// the kernel to resolve from the host's root (neither a host path into the upper dir nor
/// "/proc/PID/root/etc/passwd"). The container's root is opened once as a descriptor
/// (/proc/PID/root), and each file is opened with <c>openat2(RESOLVE_IN_ROOT)</c> relative to it:
/// the kernel resolves every symlink and ".." inside that root, in the same step as the open, so
/// an absolute link target starts again at the container's root and no swap can move the open out
/// of it. <c>RESOLVE_NO_MAGICLINKS</c> refuses /proc/*/root-style links, which would leave any root.
/// The file is opened non-blocking and read only when it is a regular file, so a FIFO or device
/// put in its place can neither hang exec nor be read.
/// </para>
/// </summary>
internal sealed partial class ContainerRootFiles : IDisposable
{
    private const int MaxAttempts = 16;

    private readonly SafeFileHandle _root;

    private ContainerRootFiles(SafeFileHandle root) => _root = root;

    /// <summary>
    /// Opens the root of the container whose pid 1 is <paramref name="pid"/>. When the monitor's pid is
    /// known, the process must still be its child: a pid read from state.json may have been reused since.
    /// </summary>
    /// <exception cref="ContainerStateConflictException">The process is gone, or is not the container's pid 1 any more.</exception>
    public static ContainerRootFiles Open(int pid, int? monitorPid)
    {
        var process = open($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (process < 0)
        {
            throw new ContainerStateConflictException($"the container's process {pid} is not running");
        }

        using var processHandle = new SafeFileHandle(process, ownsHandle: true);
        var root = openat(processHandle, "root", O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (root < 0)
        {
            throw new ContainerStateConflictException($"cannot open the root of the container's process {pid}: {Describe(Marshal.GetLastPInvokeError())}");
        }

        var rootHandle = new SafeFileHandle(root, ownsHandle: true);
        // Read through the same /proc/PID descriptor: it stays bound to the process it was opened for.
        if (monitorPid is { } monitor && ParentOf(processHandle) != monitor)
        {
            rootHandle.Dispose();
            throw new ContainerStateConflictException($"process {pid} is not the container's process any more");
        }

        return new ContainerRootFiles(rootHandle);
    }

    /// <summary>The file's content as UTF-8, or null when the container has no regular file there (or it is larger than <paramref name="maxBytes"/>).</summary>
    public string? ReadText(string path, int maxBytes = 1 << 20)
    {
        using var file = OpenInRoot(path.TrimStart('/'));
        if (file is null || !IsRegularFile(file))
        {
            return null;
        }

        using var content = new MemoryStream();
        var buffer = new byte[64 * 1024];
        long offset = 0;
        while (true)
        {
            var read = RandomAccess.Read(file, buffer, offset);
            if (read == 0)
            {
                break;
            }

            offset += read;
            if (offset > maxBytes)
            {
                return null;
            }

            content.Write(buffer, 0, read);
        }

        return Encoding.UTF8.GetString(content.GetBuffer(), 0, (int)content.Length);
    }

    public void Dispose() => _root.Dispose();

    private unsafe SafeFileHandle? OpenInRoot(string relative)
    {
        var how = new OpenHow { Flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, Resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
        for (var attempt = 0; attempt < MaxAttempts; attempt++)
        {
            var fd = openat2(_root, relative, &how, (nuint)sizeof(OpenHow));
            if (fd >= 0)
            {
                return new SafeFileHandle((nint)fd, ownsHandle: true);
            }

            var errno = Marshal.GetLastPInvokeError();
            switch (errno)
            {
                case EAGAIN or EINTR:
                    // A rename or mount elsewhere raced a ".." of this lookup: the kernel asks for a retry.
                    continue;
                case ENOSYS:
                    throw new ContainerConfigException("exec -u with a user name needs openat2 (Linux 5.6 or later)");
                default:
                    // Missing, a symlink loop, a magic link, not readable: the container has no such file.
                    return null;
            }
        }

        throw new IOException($"the container's {relative} kept changing while it was being opened");
    }

    private static bool IsRegularFile(SafeFileHandle file)
    {
        // struct statx: stx_mode is a u16 at 0x1C on every architecture.
        var buffer = new byte[256];
        return statx(file, "", AT_EMPTY_PATH, STATX_TYPE, buffer) == 0 && (BitConverter.ToUInt16(buffer, 0x1C) & S_IFMT) == S_IFREG;
    }

    private static int? ParentOf(SafeFileHandle process)
    {
        var fd = openat(process, "status", O_RDONLY | O_CLOEXEC);
        if (fd < 0)
        {
            return null;
        }

        using var status = new SafeFileHandle(fd, ownsHandle: true);
        var buffer = new byte[4096];
        var read = RandomAccess.Read(status, buffer, 0);
        foreach (var line in Encoding.ASCII.GetString(buffer, 0, read).Split('\n'))
        {
            if (line.StartsWith("PPid:", StringComparison.Ordinal)
                && int.TryParse(line.AsSpan(5).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var parent))
            {
                return parent;
            }
        }

        return null;
    }

    private static string Describe(int errno) => Marshal.GetPInvokeErrorMessage(errno);

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    // The same values on x86_64 and arm64, but O_DIRECTORY.
    private const int O_RDONLY = 0;
    private const int O_NOCTTY = 0x100;
    private const int O_NONBLOCK = 0x800;
    private const int O_CLOEXEC = 0x80000;
    private const int O_PATH = 0x200000;
    private static readonly int O_DIRECTORY = RuntimeInformation.ProcessArchitecture == Architecture.Arm64 ? 0x4000 : 0x10000;
    private const ulong RESOLVE_NO_MAGICLINKS = 0x02;
    private const ulong RESOLVE_IN_ROOT = 0x10;
    private const int AT_EMPTY_PATH = 0x1000;
    private const uint STATX_TYPE = 0x1;
    private const uint S_IFMT = 0xF000;
    private const uint S_IFREG = 0x8000;
    private const int EINTR = 4;
    private const int EAGAIN = 11;
    private const int ENOSYS = 38;
    private const long SYS_openat2 = 437; // one number on every architecture

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int openat(SafeFileHandle dirfd, string path, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(SafeFileHandle dirfd, string path, int flags, uint mask, [Out] byte[] buffer);

    private static unsafe long openat2(SafeFileHandle dirfd, string path, OpenHow* how, nuint size) =>
        syscall(SYS_openat2, dirfd, path, how, size);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial long syscall(long number, SafeFileHandle dirfd, string path, OpenHow* how, nuint size);
}
