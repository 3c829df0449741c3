using System.Runtime.InteropServices;
using Registry.Storage;

namespace Registry.Api.Hosting;

/// <summary>
/// Keeps the data directory to the registry's own user. It holds the metadata database (password hashes, encrypted
/// keys), the key-encryption key file and the blobs of private repositories: another local user who can read it can
/// read private images and, with the key file, forge tokens.
/// </summary>
public static partial class DataDirectoryAccess
{
    /// <summary>
    /// Sets the process's umask to 077, so that a file created without an explicit mode (by a library, a temporary
    /// file) is owner-only too. Files of the data directory are also created with explicit modes.
    /// </summary>
    public static void RestrictNewFiles()
    {
        if (!OperatingSystem.IsWindows())
        {
            _ = Umask(0x3F); // 077
        }
    }

    /// <summary>
    /// Creates the data directory (0700), or takes the group's and other users' access off it and off what it holds
    /// at its top (the database and its -wal and -shm files, key files, the blob and upload trees), logging each
    /// change. Symbolic links are left alone. The trees below are created owner-only and are unreachable once their
    /// parent is.
    /// </summary>
    /// <exception cref="DataDirectoryException">A mode must change and cannot.</exception>
    public static void Secure(string dataDirectory, ILogger logger)
    {
        OwnerOnly.CreateDirectory(dataDirectory);
        Restrict(dataDirectory, logger);
        foreach (var entry in new DirectoryInfo(dataDirectory).EnumerateFileSystemInfos())
        {
            if (entry.LinkTarget is null)
            {
                Restrict(entry.FullName, logger);
            }
        }
    }

    private static void Restrict(string path, ILogger logger)
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        try
        {
            if (OwnerOnly.Restrict(path) is { } was)
            {
                LogRestricted(logger, path, OwnerOnly.Octal(was), OwnerOnly.Octal(File.GetUnixFileMode(path)));
            }
        }
        catch (Exception e) when (e is UnauthorizedAccessException or IOException)
        {
            throw new DataDirectoryException(
                $"{path} in the data directory is open to other users (mode {OwnerOnly.Octal(File.GetUnixFileMode(path))}) and its mode "
                + $"cannot be changed ({e.Message}): make it owned by the registry's user and not accessible to others (chmod go-rwx)");
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path} was open to other users (mode {Was}); it is now {Now}: the data directory is for the registry's user only")]
    private static partial void LogRestricted(ILogger logger, string path, string was, string now);

    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial int Umask(int mask);
}

/// <summary>The data directory cannot be made private; the server does not start, with this one-line message.</summary>
public sealed class DataDirectoryException : Exception
{
    public DataDirectoryException()
    {
    }

    public DataDirectoryException(string message)
        : base(message)
    {
    }

    public DataDirectoryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
