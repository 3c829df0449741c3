using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Core;
using Registry.Storage.Blobs;
using Registry.Storage.Gc;
using Registry.Storage.Metadata;

namespace Registry.Storage.Services;

/// <summary>
/// Blobs as a repository sees them: only those linked to it exist, and only while the store still holds their
/// bytes. A blob the metadata lists but the store has lost (a file gone after a crash or by hand) is forgotten
/// the first time a request finds it missing, so that HEAD, GET and mount all answer "unknown" and clients upload
/// it again. Checking a blob (HEAD) renews its link's protection from collection, as a push checks the blobs it
/// will name in its manifest.
/// </summary>
public sealed partial class BlobService(
    RegistryDbContext db, IBlobReader reader, UploadService uploads, TimeProvider time, IOptions<GcOptions> gc, ILogger<BlobService> logger)
{
    /// <summary>The blob's size if the repository has it, else null.</summary>
    public async Task<long?> StatAsync(string repository, Digest digest, CancellationToken ct)
    {
        var text = digest.ToString();
        var link = await (from r in db.Repositories
                          join rb in db.RepositoryBlobs on r.Id equals rb.RepositoryId
                          join b in db.Blobs on rb.BlobDigest equals b.Digest
                          where r.Name == repository && rb.BlobDigest == text
                          select new { rb.RepositoryId, rb.TouchedAt, b.Size }).FirstOrDefaultAsync(ct);
        if (link is null)
        {
            return null;
        }

        var size = link.Size;
        var now = time.GetUtcNow().UtcDateTime;
        if (gc.Value.UploadGrace > TimeSpan.Zero && now - link.TouchedAt > RenewAfter(gc.Value.UploadGrace))
        {
            // The collector may be removing this very link: if it is gone, the blob is unknown here.
            var renewed = await db.RepositoryBlobs
                .Where(rb => rb.RepositoryId == link.RepositoryId && rb.BlobDigest == text)
                .ExecuteUpdateAsync(s => s.SetProperty(rb => rb.TouchedAt, now), ct);
            if (renewed == 0)
            {
                return null;
            }
        }

        if (await reader.StatAsync(digest, ct) is null)
        {
            await ForgetLostAsync(digest, ct);
            return null;
        }

        return size;
    }

    /// <summary>How to serve the blob if the repository has it, else null. One query, as before any store access.</summary>
    public async Task<BlobContent?> OpenAsync(string repository, Digest digest, CancellationToken ct)
    {
        if (await LinkedSizeAsync(repository, digest, ct) is null)
        {
            return null;
        }

        var content = await reader.OpenAsync(digest, ct);
        if (content is null)
        {
            await ForgetLostAsync(digest, ct);
        }

        return content;
    }

    /// <summary>Makes a blob of <paramref name="source"/> visible in <paramref name="target"/> without copying bytes.</summary>
    /// <returns>False when the source repository does not have the blob (the client then uploads it).</returns>
    public async Task<bool> MountAsync(string target, string source, Digest digest, CancellationToken ct)
    {
        if (await StatAsync(source, digest, ct) is null)
        {
            return false;
        }

        return await uploads.LinkExistingAsync(target, digest, ct);
    }

    /// <summary>
    /// Removes the blob from the repository. The bytes stay while other repositories link them. A blob that a
    /// manifest of the repository still uses as its config or a layer is not removed: the manifest would be left
    /// unpullable.
    /// </summary>
    /// <returns>False when the repository does not have the blob.</returns>
    /// <exception cref="RegistryException">The blob is still used (<see cref="ErrorCode.StillReferenced"/>).</exception>
    public async Task<bool> DeleteAsync(string repository, Digest digest, CancellationToken ct)
    {
        var text = digest.ToString();

        // One statement: the check and the delete see the same state.
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var rows = await db.RepositoryBlobs
            .Where(rb => rb.BlobDigest == text
                && db.Repositories.Any(r => r.Id == rb.RepositoryId && r.Name == repository)
                && !db.Manifests.Any(m => m.RepositoryId == rb.RepositoryId
                    && (m.ConfigDigest == text || db.ManifestLayers.Any(l => l.ManifestId == m.Id && l.Digest == text))))
            .ExecuteDeleteAsync(ct);
        if (rows > 0)
        {
            await GcReviews.BlobAsync(db, text, time.GetUtcNow().UtcDateTime + gc.Value.ReviewDelay, ct);
            await transaction.CommitAsync(ct);
            return true;
        }

        var user = await (from r in db.Repositories
                          join m in db.Manifests on r.Id equals m.RepositoryId
                          where r.Name == repository
                              && (m.ConfigDigest == text || db.ManifestLayers.Any(l => l.ManifestId == m.Id && l.Digest == text))
                          orderby m.Id
                          select m.Digest).FirstOrDefaultAsync(ct);
        if (user is not null)
        {
            throw new RegistryException(ErrorCode.StillReferenced, $"blob {text} is used by manifest {user} of {repository}; delete the manifest first");
        }

        return false;
    }

    /// <summary>A link checked again this soon after its last renewal is not written again (HEADs stay reads).</summary>
    private static TimeSpan RenewAfter(TimeSpan grace) => grace / 2 < TimeSpan.FromMinutes(1) ? grace / 2 : TimeSpan.FromMinutes(1);

    private Task<long?> LinkedSizeAsync(string repository, Digest digest, CancellationToken ct)
    {
        var text = digest.ToString();
        return (from r in db.Repositories
                join rb in db.RepositoryBlobs on r.Id equals rb.RepositoryId
                join b in db.Blobs on rb.BlobDigest equals b.Digest
                where r.Name == repository && rb.BlobDigest == text
                select (long?)b.Size).FirstOrDefaultAsync(ct);
    }

    /// <summary>
    /// Removes every record of a blob whose bytes the store no longer has. A push may be committing the same blob
    /// at this very moment: it moves the file into place before it links the blob, and its link waits for this
    /// transaction. So the store is asked again after the records are deleted and before they are committed; if
    /// the file is back, the deletion is rolled back and the push's blob stays.
    /// </summary>
    private async Task ForgetLostAsync(Digest digest, CancellationToken ct)
    {
        var text = digest.ToString();
        try
        {
            await using var transaction = await db.Database.BeginTransactionAsync(ct);
            var links = await db.RepositoryBlobs.Where(rb => rb.BlobDigest == text).ExecuteDeleteAsync(ct);
            await db.Blobs.Where(b => b.Digest == text).ExecuteDeleteAsync(ct);
            if (await reader.StatAsync(digest, ct) is not null)
            {
                await transaction.RollbackAsync(ct);
                return;
            }

            await transaction.CommitAsync(ct);
            LogForgotten(logger, text, links);
        }
        catch (DbException e)
        {
            // Another request is changing the same records; the caller answers "unknown" either way and the next
            // request that misses the file tries again.
            LogForgetFailed(logger, e, text);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Blob {Digest} is recorded but missing from the blob store; its records in {Links} repositories were removed so that clients upload it again")]
    private static partial void LogForgotten(ILogger logger, string digest, int links);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove the records of the lost blob {Digest}")]
    private static partial void LogForgetFailed(ILogger logger, Exception exception, string digest);
}
