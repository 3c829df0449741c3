namespace Registry.Node.Content;

/// <summary>
/// Keeps a prune from deleting what a pull in progress has fetched or unpacked but not yet
/// recorded in images.json. Pulls hold <c>prune.lock</c> shared (many at once), a prune holds it
/// exclusive; both are advisory flocks, so they work across registry-node processes and are
/// released by the kernel if a process dies. A prune therefore needs no grace period.
/// </summary>
public static class PruneLock
{
    private const string FileName = "prune.lock";

    /// <summary>Held for the whole of a pull.</summary>
    public static Task<IDisposable> ForPullAsync(string root, TimeSpan timeout, CancellationToken cancellationToken) =>
        AcquireAsync(root, exclusive: false, timeout, cancellationToken);

    /// <summary>Held for the whole of a prune; waits (bounded) for the pulls in progress to finish.</summary>
    public static Task<IDisposable> ForPruneAsync(string root, TimeSpan timeout, CancellationToken cancellationToken) =>
        AcquireAsync(root, exclusive: true, timeout, cancellationToken);

    private static async Task<IDisposable> AcquireAsync(string root, bool exclusive, TimeSpan timeout, CancellationToken cancellationToken)
    {
        Files.NodeFiles.CreatePrivateDirectory(root);
        var path = Path.Combine(root, FileName);
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                // On Unix, FileShare.None takes flock(LOCK_EX) and a shared read opening flock(LOCK_SH).
                return exclusive
                    ? new FileStream(path, Files.NodeFiles.Private(FileMode.OpenOrCreate, FileAccess.ReadWrite))
                    : new FileStream(path, Files.NodeFiles.Private(FileMode.OpenOrCreate, FileAccess.Read, FileShare.ReadWrite));
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken).ConfigureAwait(false);
            }
            catch (IOException e)
            {
                throw new IOException(exclusive
                    ? $"a pull has held {path} for over {timeout.TotalSeconds:0} s; prune again when it is done"
                    : $"a prune has held {path} for over {timeout.TotalSeconds:0} s", e);
            }
        }
    }
}
