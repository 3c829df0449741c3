using Registry.Core;

namespace Registry.Storage.Blobs;

/// <summary>What the store knows of a committed blob.</summary>
public sealed record BlobStat(long Size);

/// <summary>
/// How a blob's bytes are served: a local file the host can send directly (sendfile), a stream,
/// or a redirect to a URL the client fetches itself.
/// </summary>
public abstract record BlobContent(long Size)
{
    public sealed record LocalFile(string Path, long Size) : BlobContent(Size);

    public sealed record Content(Stream Stream, long Size) : BlobContent(Size);

    public sealed record Redirect(Uri Location, long Size) : BlobContent(Size);
}

/// <summary>Reads committed, content-addressed blobs. Access control is the metadata store's job.</summary>
public interface IBlobReader
{
    Task<BlobStat?> StatAsync(Digest digest, CancellationToken cancellationToken);

    /// <summary>Returns how to serve the blob, or null when the store does not have it.</summary>
    Task<BlobContent?> OpenAsync(Digest digest, CancellationToken cancellationToken);
}

/// <summary>A committed blob as the store lists it.</summary>
public sealed record StoredBlob(Digest Digest, long Size);

/// <summary>Lists and removes committed blobs (garbage collection only: visibility is decided by metadata).</summary>
public interface IBlobDeleter
{
    /// <summary>Removes the blob's bytes; a blob that is not there is no error.</summary>
    Task DeleteAsync(Digest digest, CancellationToken cancellationToken);

    /// <summary>Every committed blob, in no particular order (for finding bytes that no record names).</summary>
    IAsyncEnumerable<StoredBlob> ListAsync(CancellationToken cancellationToken);
}

/// <summary>
/// Stages upload bytes and commits them under a digest. The staged length is the upload's offset,
/// so an upload resumes wherever the staged bytes end, on any replica that shares the store.
/// </summary>
public interface IBlobIngester
{
    Task CreateStagingAsync(string uploadId, CancellationToken cancellationToken);

    /// <summary>The staged length, or null when the staged object does not exist.</summary>
    Task<long?> GetStagedLengthAsync(string uploadId, CancellationToken cancellationToken);

    /// <summary>Opens the staged object for appending at its end; exclusive while open.</summary>
    Task<Stream> OpenAppendAsync(string uploadId, CancellationToken cancellationToken);

    Task<Stream> OpenStagedReadAsync(string uploadId, CancellationToken cancellationToken);

    /// <summary>Cuts the staged object back to <paramref name="length"/> (undoing a failed append).</summary>
    Task TruncateStagedAsync(string uploadId, long length, CancellationToken cancellationToken);

    /// <summary>
    /// Makes the staged bytes durable and moves them under <paramref name="digest"/> atomically.
    /// The caller has verified the digest. If the blob already exists the staged copy is dropped.
    /// </summary>
    Task CommitAsync(string uploadId, Digest digest, CancellationToken cancellationToken);

    Task DeleteStagingAsync(string uploadId, CancellationToken cancellationToken);

    /// <summary>Staged objects last written before <paramref name="olderThan"/> (for purging).</summary>
    IAsyncEnumerable<string> ListStagingAsync(DateTime olderThan, CancellationToken cancellationToken);
}

public interface IBlobStore : IBlobReader, IBlobDeleter, IBlobIngester;
