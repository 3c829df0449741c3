using System.Security.Cryptography;
using Registry.Core;
using Registry.Node.Client;
using Registry.Node.Files;

namespace Registry.Node.Content;

/// <summary>Where a blob's bytes come from: a registry repository, read from an offset.</summary>
public interface IBlobSource
{
    /// <summary>For messages: where the blobs come from, e.g. <c>127.0.0.1:5000/team/app</c>.</summary>
    string Name { get; }

    Task<BlobResponse> OpenAsync(Digest digest, long offset, CancellationToken cancellationToken);
}

/// <summary>The blobs of one repository of a registry.</summary>
public sealed class RegistryBlobSource(RegistryClient client, string repository) : IBlobSource
{
    public string Name => $"{client.Registry}/{repository}";

    public Task<BlobResponse> OpenAsync(Digest digest, long offset, CancellationToken cancellationToken) =>
        client.OpenBlobAsync(repository, digest, offset, cancellationToken);
}

/// <summary>What fetching one blob did.</summary>
/// <param name="AlreadyPresent">The blob was in the store; nothing was downloaded.</param>
/// <param name="ResumedFrom">Bytes of an earlier partial download that were kept and not fetched again.</param>
/// <param name="BytesDownloaded">Bytes received from the registry for this blob, over all attempts.</param>
public sealed record BlobFetch(Digest Digest, long Size, bool AlreadyPresent, long ResumedFrom, long BytesDownloaded);

/// <summary>
/// The node's content store: every blob (layers, configs, manifests, indexes) once, by digest,
/// shared between images. Layout under <see cref="Root"/>:
/// <code>
/// blobs/&lt;algorithm&gt;/&lt;hex&gt;           verified content, immutable
/// blobs/&lt;algorithm&gt;/&lt;hex&gt;.partial   a download in progress or interrupted; resumed with Range
/// images.json                      the image index (see ImageStore)
/// </code>
/// A blob gets its final name only by an atomic rename after its size and digest were verified,
/// so a crash never leaves content under a wrong name. A download holds an exclusive lock on its
/// .partial file, so two pulls (threads or processes) never write the same blob at once.
/// </summary>
public sealed class ContentStore
{
    public const string PartialSuffix = ".partial";
    private const int BufferSize = 128 * 1024;

    private readonly TimeProvider _time;

    public ContentStore(string root, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.GetFullPath(root);
        _time = timeProvider ?? TimeProvider.System;
        NodeFiles.CreatePrivateDirectory(Root);
    }

    public string Root { get; }

    /// <summary>A download fails (and keeps its partial file) when no byte arrives for this long.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Attempts per blob; each one resumes from what the previous ones wrote.</summary>
    public int MaxAttempts { get; init; } = 3;

    /// <summary>How long to wait for another download of the same blob (another pull) to finish.</summary>
    public TimeSpan LockTimeout { get; init; } = TimeSpan.FromMinutes(10);

    internal TimeProvider Time => _time;

    /// <summary>The path of a blob; only registered algorithms, whose encoded part is plain hex, can name a file.</summary>
    public string BlobPath(Digest digest)
    {
        ArgumentNullException.ThrowIfNull(digest);
        if (!digest.IsSupported)
        {
            throw new ArgumentException($"digest algorithm '{digest.Algorithm}' is not supported", nameof(digest));
        }

        return Path.Combine(Root, "blobs", digest.Algorithm, digest.Encoded);
    }

    public bool Contains(Digest digest) => File.Exists(BlobPath(digest));

    /// <summary>Opens a stored blob for reading (it is immutable; many readers may share it).</summary>
    public FileStream OpenRead(Digest digest) =>
        new(BlobPath(digest), FileMode.Open, FileAccess.Read, FileShare.Read, BufferSize, FileOptions.Asynchronous | FileOptions.SequentialScan);

    public async Task<byte[]> ReadAllAsync(Digest digest, CancellationToken cancellationToken) =>
        await File.ReadAllBytesAsync(BlobPath(digest), cancellationToken).ConfigureAwait(false);

    /// <summary>Every stored blob with its size (partial downloads excluded).</summary>
    public IEnumerable<(Digest Digest, long Size)> ListBlobs()
    {
        var blobs = Path.Combine(Root, "blobs");
        if (!Directory.Exists(blobs))
        {
            yield break;
        }

        foreach (var algorithmDirectory in Directory.EnumerateDirectories(blobs))
        {
            foreach (var file in Directory.EnumerateFiles(algorithmDirectory))
            {
                var name = Path.GetFileName(file);
                if (Digest.TryParse($"{Path.GetFileName(algorithmDirectory)}:{name}", out var digest, out _) && digest.IsSupported)
                {
                    yield return (digest, new FileInfo(file).Length);
                }
            }
        }
    }

    public bool Delete(Digest digest)
    {
        var path = BlobPath(digest);
        if (!File.Exists(path))
        {
            return false;
        }

        File.Delete(path);
        return true;
    }

    /// <summary>
    /// Stores small content already in memory (a manifest, a config) after checking it hashes to
    /// <paramref name="digest"/>; a blob already present is left alone.
    /// </summary>
    public async Task WriteAsync(Digest digest, ReadOnlyMemory<byte> content, CancellationToken cancellationToken)
    {
        var path = BlobPath(digest);
        var actual = digest.ComputeSame(content.Span);
        if (actual != digest)
        {
            throw new DigestMismatchException($"content for {digest}", digest, actual.ToString());
        }

        if (File.Exists(path))
        {
            Touch(path);
            return;
        }

        NodeFiles.CreatePrivateDirectory(Path.GetDirectoryName(path)!);
        var temporary = $"{path}.{Guid.NewGuid():N}.tmp";
        try
        {
            var file = new FileStream(temporary, NodeFiles.Private(FileMode.CreateNew, FileAccess.Write, FileShare.None, BufferSize, FileOptions.Asynchronous));
            await using (file.ConfigureAwait(false))
            {
                await file.WriteAsync(content, cancellationToken).ConfigureAwait(false);
                await file.FlushAsync(cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>
    /// Makes <paramref name="descriptor"/>'s blob present: does nothing if it is, otherwise
    /// downloads it from <paramref name="source"/>, resuming a partial download, hashing while
    /// streaming, and verifying size and digest before moving it into place. A digest mismatch
    /// deletes the partial file and throws <see cref="DigestMismatchException"/>.
    /// </summary>
    public Task<BlobFetch> FetchAsync(
        Core.Manifests.Descriptor descriptor, IBlobSource source, IPullProgress? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        ArgumentNullException.ThrowIfNull(source);
        return new BlobDownload(this, descriptor, source, progress).RunAsync(cancellationToken);
    }

    /// <summary>Marks a blob as just used, so that a prune running alongside a pull keeps it (see ImageStore.PruneAsync).</summary>
    internal void Touch(string path)
    {
        try
        {
            File.SetLastWriteTimeUtc(path, _time.GetUtcNow().UtcDateTime);
        }
        catch (FileNotFoundException)
        {
            // Deleted meanwhile: the caller finds out when it reads the blob.
        }
    }

    /// <summary>Opens a partial file with an exclusive lock, waiting (bounded) while another download holds it.</summary>
    internal async Task<FileStream> LockPartialAsync(string partialPath, CancellationToken cancellationToken)
    {
        var deadline = _time.GetUtcNow() + LockTimeout;
        while (true)
        {
            try
            {
                // FileShare.None is an advisory flock on Linux: it excludes other pulls, threads and processes alike.
                return new FileStream(partialPath, NodeFiles.Private(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, BufferSize, FileOptions.Asynchronous));
            }
            catch (IOException) when (File.Exists(partialPath) && _time.GetUtcNow() < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), _time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    internal static IncrementalHash CreateHash(Digest digest) =>
        IncrementalHash.CreateHash(Digest.HashAlgorithmFor(digest.Algorithm));
}
