using System.Runtime.CompilerServices;
using Registry.Core;

namespace Registry.Storage.Blobs;

/// <summary>
/// Blobs on a local filesystem.
/// <code>
/// {root}/blobs/{algorithm}/{first two hex chars}/{encoded}   committed blobs, named by digest
/// {root}/uploads/{upload id}                                  staged upload bytes
/// </code>
/// Both trees are on one filesystem so that commit is a rename: a blob path either does not
/// exist or holds the complete, verified content. The rename is made durable (the file, then its
/// directory, are synced) before the commit returns, so metadata written afterwards never names a
/// blob a crash could still take back. Upload ids and digests are validated before they become
/// path segments, so no request can name a path outside these trees. Directories are 0700 and files
/// 0600: blobs of private repositories are for the registry's user only.
/// </summary>
public sealed class FileSystemBlobStore : IBlobStore, IBlobStoreProbe
{
    private const int CopyBufferSize = 1024 * 1024;

    private readonly string _blobRoot;
    private readonly string _uploadRoot;

    public FileSystemBlobStore(string rootDirectory)
    {
        var root = Path.GetFullPath(rootDirectory);
        _blobRoot = Path.Combine(root, "blobs");
        _uploadRoot = Path.Combine(root, "uploads");
        OwnerOnly.CreateDirectory(_blobRoot);
        OwnerOnly.CreateDirectory(_uploadRoot);
    }

    public Task<BlobStat?> StatAsync(Digest digest, CancellationToken cancellationToken)
    {
        var info = new FileInfo(BlobPath(digest));
        return Task.FromResult(info.Exists ? new BlobStat(info.Length) : null);
    }

    public Task<BlobContent?> OpenAsync(Digest digest, CancellationToken cancellationToken)
    {
        var info = new FileInfo(BlobPath(digest));
        BlobContent? content = info.Exists ? new BlobContent.LocalFile(info.FullName, info.Length) : null;
        return Task.FromResult(content);
    }

    public Task DeleteAsync(Digest digest, CancellationToken cancellationToken)
    {
        File.Delete(BlobPath(digest));
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<StoredBlob> ListAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var algorithm in new DirectoryInfo(_blobRoot).EnumerateDirectories())
        {
            foreach (var file in algorithm.EnumerateFiles("*", SearchOption.AllDirectories))
            {
                cancellationToken.ThrowIfCancellationRequested();

                // Only files at the place their name says: {algorithm}/{first two}/{encoded}.
                var digest = $"{algorithm.Name}:{file.Name}";
                if (Digest.TryParse(digest, out var parsed, out _) && parsed.IsSupported && file.FullName == BlobPath(parsed))
                {
                    yield return new StoredBlob(parsed, file.Length);
                }
            }
        }

        await Task.CompletedTask;
    }

    public Task CreateStagingAsync(string uploadId, CancellationToken cancellationToken)
    {
        using (new FileStream(StagingPath(uploadId), OwnerOnly.NewFile(FileMode.CreateNew, FileAccess.Write)))
        {
        }

        return Task.CompletedTask;
    }

    public Task<long?> GetStagedLengthAsync(string uploadId, CancellationToken cancellationToken)
    {
        var info = new FileInfo(StagingPath(uploadId));
        return Task.FromResult(info.Exists ? info.Length : (long?)null);
    }

    public Task<Stream> OpenAppendAsync(string uploadId, CancellationToken cancellationToken)
    {
        // FileShare.None: a second writer to the same upload (another request or process) fails
        // instead of interleaving bytes.
        // Read access too: a direct-I/O append reads back a partial first block.
        var stream = new FileStream(StagingPath(uploadId), new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.ReadWrite,
            Share = FileShare.None,
            BufferSize = 0,
        });
        var path = StagingPath(uploadId);
        if (DirectAppendStream.TryOpen(stream, path) is { } direct)
        {
            return Task.FromResult<Stream>(direct);
        }

        stream.Seek(0, SeekOrigin.End);
        return Task.FromResult<Stream>(new WritebackStream(stream));
    }

    public Task<Stream> OpenStagedReadAsync(string uploadId, CancellationToken cancellationToken) =>
        Task.FromResult<Stream>(new FileStream(StagingPath(uploadId), new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,
            Share = FileShare.ReadWrite,
            BufferSize = CopyBufferSize,
            Options = FileOptions.SequentialScan,
        }));

    public Task TruncateStagedAsync(string uploadId, long length, CancellationToken cancellationToken)
    {
        using var stream = new FileStream(StagingPath(uploadId), FileMode.Open, FileAccess.Write, FileShare.None);
        stream.SetLength(length);
        return Task.CompletedTask;
    }

    public Task CommitAsync(string uploadId, Digest digest, CancellationToken cancellationToken)
    {
        var staged = StagingPath(uploadId);
        var target = BlobPath(digest);
        if (File.Exists(target))
        {
            // Content-addressed: the existing file already holds these bytes.
            File.Delete(staged);
            return Task.CompletedTask;
        }

        using (var stream = new FileStream(staged, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
        {
            stream.Flush(flushToDisk: true);
        }

        var directory = Path.GetDirectoryName(target)!;
        var created = CreateBlobDirectory(directory);
        File.Move(staged, target, overwrite: true);
        DirectorySync.Flush(directory);
        foreach (var parent in created)
        {
            // A new directory's own entry lives in its parent.
            DirectorySync.Flush(Path.GetDirectoryName(parent)!);
        }

        return Task.CompletedTask;
    }

    public Task DeleteStagingAsync(string uploadId, CancellationToken cancellationToken)
    {
        File.Delete(StagingPath(uploadId));
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<string> ListStagingAsync(DateTime olderThan, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var file in new DirectoryInfo(_uploadRoot).EnumerateFiles())
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (file.LastWriteTimeUtc < olderThan && UploadId.IsValid(file.Name))
            {
                yield return file.Name;
            }
        }

        await Task.CompletedTask;
    }

    /// <summary>
    /// The blob directory exists and a file can be created in it: a probe file of its own name, removed as it is
    /// closed. Nothing that lists blobs looks at files directly under the blob root.
    /// </summary>
    public Task ProbeAsync(CancellationToken cancellationToken)
    {
        if (!Directory.Exists(_blobRoot))
        {
            throw new DirectoryNotFoundException($"the blob directory {_blobRoot} does not exist");
        }

        var options = OwnerOnly.NewFile(FileMode.CreateNew, FileAccess.Write);
        options.Options = FileOptions.DeleteOnClose;
        using (new FileStream(Path.Combine(_blobRoot, $".probe-{Guid.NewGuid():N}"), options))
        {
        }

        return Task.CompletedTask;
    }

    /// <summary>Creates the directory (and missing parents under the blob root) and returns those it created.</summary>
    private List<string> CreateBlobDirectory(string directory)
    {
        var missing = new List<string>();
        for (var d = directory; d.Length > _blobRoot.Length && !Directory.Exists(d); d = Path.GetDirectoryName(d)!)
        {
            missing.Add(d);
        }

        if (missing.Count > 0)
        {
            OwnerOnly.CreateDirectory(directory);
        }

        return missing;
    }

    private string BlobPath(Digest digest) =>
        digest.IsSupported
            ? Path.Combine(_blobRoot, digest.Algorithm, digest.Encoded[..2], digest.Encoded)
            : throw new ArgumentException("only registered digest algorithms name blobs", nameof(digest));

    private string StagingPath(string uploadId) =>
        UploadId.IsValid(uploadId)
            ? Path.Combine(_uploadRoot, uploadId)
            : throw new ArgumentException("not an upload id", nameof(uploadId));
}
