namespace Registry.Storage.Presence;

/// <summary>
/// Presence for processes that share one SQLite database, which lives on one machine: each holds an exclusive lock
/// on a file of its own in a directory beside the database, which the kernel drops the moment the process ends,
/// however it ends. A file that can be locked belongs to a process that is gone.
/// </summary>
public sealed class FileLockPresence : IProcessPresence, IDisposable
{
    private const string Prefix = "file:";
    private const string Extension = ".lock";

    private readonly string _directory;
    private readonly Lock _gate = new();
    private FileStream? _held;
    private string? _id;

    /// <param name="directory">The directory that holds the lock files of every process using the database.</param>
    public FileLockPresence(string directory) => _directory = directory;

    /// <summary>The presence directory of a SQLite database file.</summary>
    public static string DirectoryFor(string databaseFile) => Path.GetFullPath(databaseFile) + "-presence";

    public CancellationToken Lost => CancellationToken.None;

    public ValueTask<string> GetIdAsync(CancellationToken ct)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_held is null && _id is not null, this);
            if (_id is null)
            {
                OwnerOnly.CreateDirectory(_directory);
                RemoveGone();
                var id = Guid.NewGuid().ToString("N");
                var path = PathOf(id);

                // Locked under another name first: the sweep of a process starting meanwhile must not find it unlocked.
                var held = new FileStream(path + ".new", OwnerOnly.NewFile(FileMode.CreateNew, FileAccess.ReadWrite));
                File.Move(held.Name, path);
                _held = held;
                _id = Prefix + id;
            }

            return ValueTask.FromResult(_id);
        }
    }

    public Task<bool> IsGoneAsync(string id, CancellationToken ct)
    {
        if (!id.StartsWith(Prefix, StringComparison.Ordinal) || !Guid.TryParseExact(id[Prefix.Length..], "N", out var guid))
        {
            return Task.FromResult(false); // another kind of presence: not ours to decide
        }

        return Task.FromResult(TryRemove(PathOf(guid.ToString("N"))));
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_held is { } held && _id is { } id)
            {
                File.Delete(PathOf(id[Prefix.Length..]));
                held.Dispose();
                _held = null;
            }
        }
    }

    private string PathOf(string id) => Path.Combine(_directory, id + Extension);

    /// <summary>Lock files left by processes that ended without removing them.</summary>
    private void RemoveGone()
    {
        foreach (var file in Directory.EnumerateFiles(_directory, "*" + Extension))
        {
            TryRemove(file);
        }
    }

    /// <summary>Removes the lock file of a process that is gone; false while its process holds it.</summary>
    private static bool TryRemove(string path)
    {
        try
        {
            // .NET takes an exclusive flock(2) for FileShare.None and fails when another process holds one.
            using var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            File.Delete(path);
            return true;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
