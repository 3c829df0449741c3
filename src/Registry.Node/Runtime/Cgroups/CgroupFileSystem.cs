using System.Runtime.InteropServices;
using System.Text;

namespace Registry.Node.Runtime.Cgroups;

/// <summary>
/// The file operations the cgroup code performs, behind one interface so that the v2 logic can
/// also run against a plain directory tree shaped like cgroupfs. Errors carry the errno so callers
/// can tell "busy" from "gone" without parsing messages.
/// </summary>
public interface ICgroupFileSystem
{
    bool FileExists(string path);

    bool DirectoryExists(string path);

    /// <summary>The whole file, or null if it does not exist.</summary>
    string? TryReadFile(string path);

    /// <summary>One write(2) of the whole value: cgroupfs parses each write separately.</summary>
    void WriteFile(string path, string value);

    /// <summary>mkdir(2) of one directory; false if it already existed.</summary>
    bool CreateDirectory(string path);

    /// <summary>rmdir(2): on cgroupfs this removes a cgroup whose only entries are its control files.</summary>
    void RemoveDirectory(string path);

    IReadOnlyList<string> ListDirectories(string path);

    /// <summary>kill(2); false when the process is already gone (ESRCH). Here because killing a
    /// cgroup's members without cgroup.kill is the one non-file operation the cgroup code needs.</summary>
    bool SignalProcess(int pid, int signal);
}

/// <summary>A file operation on a cgroup failed; <see cref="Errno"/> is the kernel's answer.</summary>
public sealed class CgroupFileException : IOException
{
    public CgroupFileException(string message, int errno) : base(message) => Errno = errno;

    public CgroupFileException() : base()
    {
    }

    public CgroupFileException(string message) : base(message)
    {
    }

    public CgroupFileException(string message, Exception inner) : base(message, inner)
    {
    }

    public int Errno { get; }
}

/// <summary>The real filesystem through libc, so the kernel's errno reaches the caller unchanged.</summary>
public sealed partial class HostCgroupFileSystem : ICgroupFileSystem
{
    public const int EPERM = 1;
    public const int ENOENT = 2;
    public const int ESRCH = 3;
    public const int EEXIST = 17;
    public const int EBUSY = 16;
    public const int EINVAL = 22;
    public const int ENOTEMPTY = 39;

    private const int O_WRONLY = 1;
    private const int O_CLOEXEC = 0x80000;

    public static HostCgroupFileSystem Instance { get; } = new();

    public bool FileExists(string path) => File.Exists(path);

    public bool DirectoryExists(string path) => Directory.Exists(path);

    public string? TryReadFile(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    public void WriteFile(string path, string value)
    {
        var bytes = Encoding.ASCII.GetBytes(value);
        var fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
        {
            throw Failure("open", path, Marshal.GetLastPInvokeError());
        }

        try
        {
            var written = write(fd, bytes, bytes.Length);
            if (written < 0)
            {
                throw Failure($"write \"{value.Trim()}\" to", path, Marshal.GetLastPInvokeError());
            }

            if (written != bytes.Length)
            {
                throw new CgroupFileException($"short write of \"{value.Trim()}\" to {path}", EINVAL);
            }
        }
        finally
        {
            _ = close(fd);
        }
    }

    public bool CreateDirectory(string path)
    {
        if (mkdir(path, 0x1ED /* 0755 */) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == EEXIST ? false : throw Failure("mkdir", path, errno);
    }

    public void RemoveDirectory(string path)
    {
        if (rmdir(path) != 0)
        {
            throw Failure("rmdir", path, Marshal.GetLastPInvokeError());
        }
    }

    public IReadOnlyList<string> ListDirectories(string path) =>
        Directory.Exists(path) ? Directory.GetDirectories(path) : [];

    public bool SignalProcess(int pid, int signal)
    {
        if (pid <= 0)
        {
            // kill(0, …) and kill(-1, …) address groups of processes, never what a cgroup listed.
            throw new ArgumentOutOfRangeException(nameof(pid), pid, "a cgroup member pid is positive");
        }

        if (kill(pid, signal) == 0)
        {
            return true;
        }

        var errno = Marshal.GetLastPInvokeError();
        return errno == ESRCH ? false : throw Failure($"kill({signal})", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), errno);
    }

    private static CgroupFileException Failure(string operation, string path, int errno) =>
        new($"{operation} {path}: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})", errno);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint write(int fd, byte[] buffer, nint count);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int close(int fd);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int mkdir(string path, uint mode);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int kill(int pid, int signal);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rmdir(string path);
}
