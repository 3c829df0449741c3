namespace Registry.Storage;

/// <summary>
/// Files and directories that only the registry's own user may open. The data directory holds the metadata
/// database (password hashes, encrypted keys) and the blobs of private repositories, so everything the registry
/// creates there is owner-only. Modes are given explicitly when a file is created, so they hold whatever the
/// process's umask is.
/// </summary>
public static class OwnerOnly
{
    public const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;

    /// <summary>Any permission of the group or of other users.</summary>
    public const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
        | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Creates the directory and any missing parents as 0700; an existing directory keeps its mode.</summary>
    public static DirectoryInfo CreateDirectory(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return Directory.CreateDirectory(path);
        }

        // The mode given to CreateDirectory applies to the last directory only: create the missing parents first.
        var full = Path.GetFullPath(path);
        if (Path.GetDirectoryName(full) is { } parent && !Directory.Exists(parent))
        {
            CreateDirectory(parent);
        }

        return Directory.CreateDirectory(full, DirectoryMode);
    }

    /// <summary>Options that create a new file as 0600.</summary>
    public static FileStreamOptions NewFile(FileMode mode, FileAccess access, FileShare share = FileShare.None)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = share };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = FileMode;
        }

        return options;
    }

    /// <summary>Takes the group's and other users' permissions off an existing file or directory.</summary>
    /// <returns>The mode it had when it allowed more than its owner, else null.</returns>
    public static UnixFileMode? Restrict(string path)
    {
        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        var mode = File.GetUnixFileMode(path);
        if ((mode & GroupOrOther) == 0)
        {
            return null;
        }

        File.SetUnixFileMode(path, mode & ~GroupOrOther);
        return mode;
    }

    /// <summary>A mode as <c>ls</c> and <c>chmod</c> write it, e.g. <c>0755</c>.</summary>
    public static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode & 0xFFF, 8);
}
