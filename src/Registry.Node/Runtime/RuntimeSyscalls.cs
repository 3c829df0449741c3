using System.Runtime.InteropServices;

namespace Registry.Node.Runtime;

/// <summary>The few syscalls the C# side of the runtime needs; everything in namespaces is rn-init's.</summary>
internal static partial class RuntimeSyscalls
{
    public const int AT_FDCWD = -100;
    public const int AT_SYMLINK_NOFOLLOW = 0x100;
    public const uint STATX_TYPE = 0x1;
    public const uint S_IFMT = 0xF000;
    public const uint S_IFDIR = 0x4000;
    public const uint S_IFREG = 0x8000;
    public const uint S_IFLNK = 0xA000;
    public const uint S_IFCHR = 0x2000;

    // struct statx has one layout on every architecture: stx_mode is a u16 at 0x1C, stx_rdev_major/minor u32 at 0x80/0x84.
    private const int StatxSize = 256;

    /// <summary>The type bits of <paramref name="path"/> without following a symlink, and its device numbers; null when it does not exist.</summary>
    public static (uint Type, uint RdevMajor, uint RdevMinor)? LstatType(string path)
    {
        var buffer = new byte[StatxSize];
        if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_TYPE, buffer) != 0)
        {
            return null;
        }

        var mode = BitConverter.ToUInt16(buffer, 0x1C);
        return (mode & S_IFMT, BitConverter.ToUInt32(buffer, 0x80), BitConverter.ToUInt32(buffer, 0x84));
    }

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, [Out] byte[] buffer);

    [LibraryImport("libc")]
    public static partial uint geteuid();

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int lchown(string path, uint owner, uint group);

    /// <summary>
    /// Bytes from the kernel's CSPRNG. RandomNumberGenerator would do, but on Linux it loads and
    /// initialises OpenSSL, several milliseconds of every run's start for 32 bytes.
    /// </summary>
    public static unsafe byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        fixed (byte* buffer = bytes)
        {
            var filled = 0;
            while (filled < count)
            {
                var got = getrandom(buffer + filled, (nuint)(count - filled), 0);
                if (got < 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    if (errno == EINTR)
                    {
                        continue;
                    }

                    throw new IOException($"getrandom failed (errno {errno})");
                }

                filled += (int)got;
            }
        }

        return bytes;
    }

    private const int EINTR = 4;

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint getrandom(byte* buffer, nuint length, uint flags);

    [LibraryImport("libc", SetLastError = true)]
    public static partial int kill(int pid, int signal);

    public const int F_SETFD = 2;

    [LibraryImport("libc", SetLastError = true)]
    public static partial int fcntl(int fd, int command, int argument);
}
