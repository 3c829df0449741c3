using System.Runtime.InteropServices;

namespace Registry.Storage.Blobs;

/// <summary>
/// Makes a directory's entries durable (Linux <c>fsync</c> of the directory). A rename is only on disk once its
/// directory is: without this, a crash after a blob's commit may lose the file while the metadata written after it
/// survives. Elsewhere it does nothing.
/// </summary>
public static partial class DirectorySync
{
    private const int ORdonly = 0;
    private const int OCloexec = 0x80000;

    public static void Flush(string directory)
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fd = Open(directory, ORdonly | OCloexec);
        if (fd < 0)
        {
            throw new IOException($"cannot open directory {directory} to sync it (errno {Marshal.GetLastPInvokeError()})");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"cannot sync directory {directory} (errno {Marshal.GetLastPInvokeError()})");
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
