using System.Buffers;
using System.IO.Pipelines;
using System.Security.Cryptography;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Core;
using Registry.Storage.Blobs;
using Registry.Storage.Gc;
using Registry.Storage.Metadata;
using Registry.Storage.Observability;
using Registry.Storage.Presence;
using Registry.Storage.Uploads;

namespace Registry.Storage.Services;

/// <summary>Where an upload stands: its id and how many bytes are staged.</summary>
public sealed record UploadStatus(string Id, string Repository, long Offset);

public sealed record UploadSession(string Repository, string? Owner, DateTime CreatedAt);

/// <summary>A chunk's declared position (Content-Range <c>start-end</c>, inclusive).</summary>
public sealed record ChunkRange(long Start, long End)
{
    public long Length => End - Start + 1;
}

/// <summary>
/// Blob uploads: sessions, chunks and the final commit. Bytes are hashed while they stream to the
/// staged object; commit is verify digest → hold the blob's record → make durable and move under the
/// digest → link to the repository → queue the blob for review → forget the session, all in one
/// transaction. Holding the record keeps the collector from deleting the same bytes meanwhile.
/// </summary>
public sealed partial class UploadService(
    RegistryDbContext db,
    IBlobIngester ingester,
    UploadHashStates hashStates,
    IServiceScopeFactory scopes,
    IProcessPresence presence,
    TimeProvider time,
    IOptions<RegistryStorageOptions> options,
    IOptions<GcOptions> gc,
    IStorageMetrics metrics,
    ILogger<UploadService> logger)
{
    private const int BufferSize = 1024 * 1024;

    /// <summary>Wait for this much body before hashing and writing, so each round trip does real work.</summary>
    private const int MinimumRead = 256 * 1024;

    /// <summary>Buffers at least this large are hashed on another thread while they are written.</summary>
    private const int ParallelHashThreshold = 128 * 1024;

    /// <param name="owner">The user starting the session, who alone may continue it.</param>
    public async Task<UploadStatus> StartAsync(string repository, string? owner, CancellationToken ct)
    {
        var id = UploadId.New();
        var now = time.GetUtcNow().UtcDateTime;
        await ingester.CreateStagingAsync(id, ct);
        db.Uploads.Add(new UploadEntity { Id = id, RepositoryName = repository, Owner = owner, CreatedAt = now, UpdatedAt = now });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch
        {
            await ingester.DeleteStagingAsync(id, CancellationToken.None);
            throw;
        }
        finally
        {
            db.ChangeTracker.Clear();
        }

        return new UploadStatus(id, repository, 0);
    }

    /// <summary>How many upload sessions the user has open.</summary>
    public Task<int> CountOwnedAsync(string owner, CancellationToken ct) =>
        db.Uploads.CountAsync(u => u.Owner == owner, ct);

    /// <summary>The session's repository, owner and start, or null when there is no such session.</summary>
    public Task<UploadSession?> FindSessionAsync(string id, CancellationToken ct) =>
        db.Uploads.AsNoTracking().Where(u => u.Id == id)
            .Select(u => new UploadSession(u.RepositoryName, u.Owner, u.CreatedAt))
            .FirstOrDefaultAsync(ct);

    public async Task<UploadStatus> GetStatusAsync(string repository, string id, CancellationToken ct)
    {
        await FindAsync(repository, id, ct);
        return new UploadStatus(id, repository, await StagedLengthAsync(id, ct));
    }

    /// <summary>Appends one chunk. A chunk that fails part-way is undone, so the offset stays where it was.</summary>
    public async Task<UploadStatus> AppendAsync(string repository, string id, PipeReader body, ChunkRange? range, long? contentLength, CancellationToken ct)
    {
        await FindAsync(repository, id, ct);
        using var lease = await hashStates.AcquireAsync(id, ct);
        long offset;
        await using (var writer = await ClaimWriterAsync(id, ct))
        {
            offset = await writer.RunAsync(token => AppendLockedAsync(id, lease, writer, body, range, contentLength, token), ct);
        }

        return new UploadStatus(id, repository, offset);
    }

    /// <summary>Appends the final chunk, if any, verifies the digest and commits the blob.</summary>
    public async Task<long> CompleteAsync(string repository, string id, Digest digest, PipeReader? body, ChunkRange? range, long? contentLength, CancellationToken ct)
    {
        await FindAsync(repository, id, ct);
        using var lease = await hashStates.AcquireAsync(id, ct);
        await using var writer = await ClaimWriterAsync(id, ct);
        var size = body is null
            ? await StagedLengthAsync(id, ct)
            : await writer.RunAsync(token => AppendLockedAsync(id, lease, writer, body, range, contentLength, token), ct);

        var started = time.GetTimestamp();
        var actual = await FinishHashAsync(id, lease, digest.Algorithm, size, ct);
        if (actual != digest)
        {
            await DiscardAsync(id, ct);
            throw new RegistryException(ErrorCode.DigestInvalid, $"content is {actual}, not {digest}");
        }

        var now = time.GetUtcNow().UtcDateTime;
        var text = digest.ToString();
        await using (var transaction = await db.Database.BeginTransactionAsync(ct))
        {
            var me = writer.Writer;
            if (await db.Uploads.Where(u => u.Id == id && u.Writer == me).ExecuteDeleteAsync(ct) == 0)
            {
                // Another process took the upload over meanwhile: it, not this request, finishes it. Checked first,
                // so that nothing moves; the removal holds the row until this commits.
                throw new RegistryException(ErrorCode.BlobUploadInvalid, "this request lost the upload to another replica while committing it; start the upload again");
            }

            var repositoryId = await EnsureRepositoryAsync(repository, now, ct);
            await MetadataSql.UpsertBlobAsync(db, text, size, now, ct);
            await ingester.CommitAsync(id, digest, ct);
            await MetadataSql.LinkBlobAsync(db, repositoryId, text, now, ct);
            await GcReviews.BlobAsync(db, text, now + gc.Value.UploadGrace, ct);
            await transaction.CommitAsync(ct);
        }

        hashStates.Forget(id);
        metrics.UploadCommitted(time.GetElapsedTime(started));
        LogCommitted(logger, repository, digest.ToString(), size);
        return size;
    }

    /// <summary>A whole blob in one request (POST ?digest=): a session that starts and completes at once.</summary>
    public async Task<long> UploadWholeAsync(string repository, Digest digest, PipeReader body, long? contentLength, CancellationToken ct)
    {
        var status = await StartAsync(repository, owner: null, ct);
        try
        {
            return await CompleteAsync(repository, status.Id, digest, body, null, contentLength, ct);
        }
        catch
        {
            await DiscardAsync(status.Id, CancellationToken.None);
            throw;
        }
    }

    public async Task CancelAsync(string repository, string id, CancellationToken ct)
    {
        await FindAsync(repository, id, ct);
        using var lease = await hashStates.AcquireAsync(id, ct);
        await using var writer = await ClaimWriterAsync(id, ct);
        await DiscardAsync(id, ct);
    }

    /// <summary>Removes an upload session and its staged bytes.</summary>
    public async Task DiscardAsync(string id, CancellationToken ct)
    {
        hashStates.Forget(id);
        await ingester.DeleteStagingAsync(id, CancellationToken.None);
        await db.Uploads.Where(u => u.Id == id).ExecuteDeleteAsync(ct);
    }

    /// <summary>
    /// Links a blob the store already has to a repository (a mount), creating the repository on first use.
    /// </summary>
    /// <returns>False when the blob is gone (collected meanwhile): the client then uploads it.</returns>
    internal async Task<bool> LinkExistingAsync(string repository, Digest digest, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var text = digest.ToString();
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        if (!await MetadataSql.HoldExistingBlobAsync(db, text, ct))
        {
            return false;
        }

        var repositoryId = await EnsureRepositoryAsync(repository, now, ct);
        await MetadataSql.LinkBlobAsync(db, repositoryId, text, now, ct);
        await GcReviews.BlobAsync(db, text, now + gc.Value.UploadGrace, ct);
        await transaction.CommitAsync(ct);
        return true;
    }

    /// <summary>The one-writer rule across replicas (see <see cref="UploadWriterLease"/>); the touch that keeps the upload from expiring on release.</summary>
    private Task<UploadWriterLease> ClaimWriterAsync(string id, CancellationToken ct) =>
        UploadWriterLease.ClaimAsync(db, scopes, presence, id, time, logger, ct);

    private Task<long> EnsureRepositoryAsync(string repository, DateTime now, CancellationToken ct) =>
        MetadataSql.EnsureRepositoryAsync(db, repository, options.Value.DefaultVisibility == RepositoryVisibility.Public, now, forManifest: false, ct);

    private async Task FindAsync(string repository, string id, CancellationToken ct)
    {
        if (!UploadId.IsValid(id))
        {
            throw new RegistryException(ErrorCode.BlobUploadUnknown, "no such upload");
        }

        var found = await db.Uploads.AsNoTracking().AnyAsync(u => u.Id == id && u.RepositoryName == repository, ct);
        if (!found)
        {
            throw new RegistryException(ErrorCode.BlobUploadUnknown, "no such upload in this repository");
        }
    }

    private async Task<long> StagedLengthAsync(string id, CancellationToken ct) =>
        await ingester.GetStagedLengthAsync(id, ct)
        ?? throw new RegistryException(ErrorCode.BlobUploadUnknown, "the upload's staged data is gone");

    private async Task<long> AppendLockedAsync(string id, UploadHashStates.Lease lease, UploadWriterLease writer, PipeReader body, ChunkRange? range, long? contentLength, CancellationToken ct)
    {
        var offset = await StagedLengthAsync(id, ct);
        if (range is not null)
        {
            if (range.Start != offset || range.End < range.Start)
            {
                throw new UploadRangeException(offset, $"chunk must start at {offset}");
            }

            if (contentLength is not null && contentLength != range.Length)
            {
                throw new UploadRangeException(offset, $"Content-Range covers {range.Length} bytes but Content-Length is {contentLength}");
            }
        }

        var expected = range?.Length ?? contentLength;
        var started = time.GetTimestamp();
        var hash = lease.TryTake(offset) ?? await ResumeSavedAsync(id, offset, ct) ?? await RehashAsync(id, HashAlgorithmName.SHA256, ct);
        Stream target;
        try
        {
            target = await ingester.OpenAppendAsync(id, ct);
        }
        catch (IOException)
        {
            // Held by a request on another server process; nothing was written, so nothing to undo.
            lease.Keep(hash, offset);
            throw new RegistryException(ErrorCode.BlobUploadInvalid, "the upload is being written by another request");
        }

        long written;
        try
        {
            await using (target)
            {
                written = await CopyHashingAsync(body, target, hash, expected, ct);
            }

            if (expected is not null && written != expected)
            {
                throw new RegistryException(ErrorCode.SizeInvalid, $"body has {written} bytes, {expected} were declared");
            }
        }
        catch
        {
            // Undo the partial chunk so the offset the client sees is the one before this request.
            hash.Dispose();
            await ingester.TruncateStagedAsync(id, offset, CancellationToken.None);
            throw;
        }

        lease.Keep(hash, offset + written);
        writer.SaveHashState(hash.TrySave(), offset + written);
        metrics.BytesReceived(written);
        metrics.ChunkStored(time.GetElapsedTime(started));
        return offset + written;
    }

    /// <summary>
    /// Copies the body to the staged object and into the hash, reading the server's own buffers
    /// (no copy of ours). A large buffer is hashed on a worker thread while this one writes it, so
    /// hashing and disk writes overlap; each buffer is released only after both are done with it.
    /// </summary>
    private static async Task<long> CopyHashingAsync(PipeReader body, Stream target, UploadHash hash, long? expected, CancellationToken ct)
    {
        var written = 0L;
        while (true)
        {
            var result = await body.ReadAtLeastAsync(MinimumRead, ct);
            var buffer = result.Buffer;
            try
            {
                if (!buffer.IsEmpty)
                {
                    written += buffer.Length;
                    if (written > expected)
                    {
                        throw new RegistryException(ErrorCode.SizeInvalid, $"body is longer than the declared {expected} bytes");
                    }

                    if (buffer.Length >= ParallelHashThreshold)
                    {
                        var hashing = Task.Run(() => AppendAll(hash, buffer), CancellationToken.None);
                        try
                        {
                            await WriteAllAsync(target, buffer, ct);
                        }
                        finally
                        {
                            // Never leave the hash in use by the worker: the caller disposes it on failure.
                            await hashing;
                        }
                    }
                    else
                    {
                        AppendAll(hash, buffer);
                        await WriteAllAsync(target, buffer, ct);
                    }
                }
            }
            finally
            {
                // Also on failure: a reader left mid-read makes the server's draining of the rest of
                // the body fail after the error response, and the connection is dropped.
                body.AdvanceTo(buffer.End);
            }

            if (result.IsCompleted)
            {
                return written;
            }
        }
    }

    private static async Task WriteAllAsync(Stream target, ReadOnlySequence<byte> buffer, CancellationToken ct)
    {
        foreach (var segment in buffer)
        {
            await target.WriteAsync(segment, ct);
        }
    }

    private static void AppendAll(UploadHash hash, ReadOnlySequence<byte> buffer)
    {
        foreach (var segment in buffer)
        {
            hash.Append(segment.Span);
        }
    }

    private async Task<Digest> FinishHashAsync(string id, UploadHashStates.Lease lease, string algorithm, long size, CancellationToken ct)
    {
        if (algorithm == Digest.Sha256 && (lease.TryTake(size) ?? await ResumeSavedAsync(id, size, ct)) is { } state)
        {
            using (state)
            {
                return Digest.FromHash(Digest.Sha256, state.Finish());
            }
        }

        using var hash = await RehashAsync(id, Digest.HashAlgorithmFor(algorithm), ct);
        return Digest.FromHash(algorithm, hash.Finish());
    }

    /// <summary>
    /// The SHA-256 state that the last writer of the upload (perhaps another replica) saved in its row, if it covers
    /// exactly the first <paramref name="offset"/> bytes. Staged bytes below the staged length never change (a failed
    /// chunk is cut back to where it started), so such a state is the hash of what is staged.
    /// </summary>
    private async Task<UploadHash?> ResumeSavedAsync(string id, long offset, CancellationToken ct)
    {
        var saved = await db.Uploads.AsNoTracking().Where(u => u.Id == id && u.HashOffset == offset).Select(u => u.HashState).FirstOrDefaultAsync(ct);
        return UploadHash.TryResume(saved);
    }

    /// <summary>Hashes the staged bytes from the start: the slow path when no state is at hand.</summary>
    private async Task<UploadHash> RehashAsync(string id, HashAlgorithmName algorithm, CancellationToken ct)
    {
        var hash = UploadHash.Create(algorithm);
        var rehashed = 0L;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            await using var staged = await ingester.OpenStagedReadAsync(id, ct);
            int read;
            while ((read = await staged.ReadAsync(buffer, ct)) > 0)
            {
                hash.Append(buffer.AsSpan(0, read));
                rehashed += read;
            }

            metrics.BytesRehashed(rehashed);
            return hash;
        }
        catch
        {
            hash.Dispose();
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Blob {Digest} ({Size} bytes) committed to {Repository}")]
    private static partial void LogCommitted(ILogger logger, string repository, string digest, long size);
}

/// <summary>A chunk that does not continue the upload where it stands (answered with 416 and the current Range).</summary>
public sealed class UploadRangeException : Exception
{
    public UploadRangeException(long offset, string message)
        : base(message) => Offset = offset;

    public UploadRangeException()
    {
    }

    public UploadRangeException(string message)
        : base(message)
    {
    }

    public UploadRangeException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>How many bytes the upload holds.</summary>
    public long Offset { get; }
}
