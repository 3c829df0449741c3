using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Registry.Core;
using Registry.Storage.Blobs;
using Registry.Storage.Metadata;
using Registry.Storage.Services;

namespace Registry.Storage.Gc;

/// <summary>
/// Reviews queued blobs. A review that is due removes the blob's links that no manifest of their repository uses
/// and that no push touched within the upload grace, and commits that (first transaction). A blob left with no link
/// then has its bytes deleted and its record removed while its record is held (second transaction), so that a push
/// committing the same digest waits for it and then writes the bytes anew. A crash between the two leaves a record
/// without links, which nothing serves and which the queued review finishes later.
/// </summary>
internal sealed partial class BlobCollector(RegistryDbContext db, IBlobDeleter store, GcOptions options, ILogger logger)
{
    /// <summary>What one batch did.</summary>
    public sealed record Outcome(int Blobs, long Bytes, int Links, int Repositories);

    /// <summary>Claims up to a batch of reviews due at <paramref name="runStart"/> that no live claim holds.</summary>
    public async Task<List<string>> ClaimAsync(string claim, DateTime runStart, DateTime now, CancellationToken ct)
    {
        var until = now + options.ClaimDuration;
        if (db.Database.IsNpgsql())
        {
            // Reviews that a push, a delete or another replica holds at this moment are skipped, not waited for.
            await db.Database.ExecuteSqlAsync(
                $"""
                UPDATE gc_blob_reviews SET claim = {claim}, claimed_until = {until}
                WHERE digest IN (SELECT digest FROM gc_blob_reviews
                                 WHERE review_after <= {runStart} AND (claimed_until IS NULL OR claimed_until < {now})
                                 ORDER BY review_after LIMIT {options.BatchSize} FOR UPDATE SKIP LOCKED)
                """, ct);
            return await db.GcBlobReviews.Where(r => r.Claim == claim).Select(r => r.Digest).ToListAsync(ct);
        }

        var candidates = await db.GcBlobReviews
            .Where(r => r.ReviewAfter <= runStart && (r.ClaimedUntil == null || r.ClaimedUntil < now))
            .OrderBy(r => r.ReviewAfter)
            .Select(r => r.Digest)
            .Take(options.BatchSize)
            .ToListAsync(ct);
        if (candidates.Count == 0)
        {
            return candidates;
        }

        // The claim condition is repeated: of two processes racing for a review, only one update matches.
        await db.GcBlobReviews
            .Where(r => candidates.Contains(r.Digest) && (r.ClaimedUntil == null || r.ClaimedUntil < now))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Claim, claim).SetProperty(r => r.ClaimedUntil, until), ct);
        return await db.GcBlobReviews.Where(r => r.Claim == claim && candidates.Contains(r.Digest)).Select(r => r.Digest).ToListAsync(ct);
    }

    public async Task<Outcome> ReviewAsync(List<string> batch, DateTime runStart, DateTime now, CancellationToken ct)
    {
        batch.Sort(StringComparer.Ordinal);
        var (links, repositories, linkless) = await UnlinkAsync(batch, runStart, now, ct);
        GcFailpoint.Hit(GcFailpoint.AfterUnlink);
        var (blobs, bytes) = linkless.Count > 0 ? await DeleteAsync(linkless, ct) : (0, 0L);
        return new Outcome(blobs, bytes, links, repositories);
    }

    /// <summary>The first transaction: links go, and the reviews of blobs still in use are settled.</summary>
    private async Task<(int Links, int Repositories, List<string> Linkless)> UnlinkAsync(List<string> batch, DateTime runStart, DateTime now, CancellationToken ct)
    {
        var graceCutoff = now - options.UploadGrace;
        await using var transaction = await MetadataSql.BeginCollectorTransactionAsync(db, ct);
        await MetadataSql.LockBlobsAsync(db, batch, exclusive: true, ct);

        // Read again under the lock: a change that took a reference away since the claim may have moved the review.
        var due = await db.GcBlobReviews.Where(r => batch.Contains(r.Digest) && r.ReviewAfter <= runStart).Select(r => r.Digest).ToListAsync(ct);
        var stale = StaleLinks(due, graceCutoff);
        var repositoryIds = await stale.Select(rb => rb.RepositoryId).Distinct().ToListAsync(ct);
        var links = await stale.ExecuteDeleteAsync(ct);
        var repositories = await GcRepositories.RemoveEmptiedAsync(db, repositoryIds, ct);

        var remaining = await db.RepositoryBlobs
            .Where(rb => due.Contains(rb.BlobDigest))
            .GroupBy(rb => rb.BlobDigest)
            .Select(g => new { Digest = g.Key, Touched = g.Max(rb => rb.TouchedAt) })
            .ToListAsync(ct);
        var existing = await db.Blobs.Where(b => due.Contains(b.Digest)).Select(b => b.Digest).ToListAsync(ct);
        var linkless = existing.Except(remaining.Select(r => r.Digest)).ToList();

        // A blob still linked is either in use (its review ends) or protected by a recent push (looked at again
        // when that protection ends). A review of a blob that no longer exists ends too.
        foreach (var fresh in remaining.Where(r => r.Touched + options.UploadGrace > now))
        {
            var after = fresh.Touched + options.UploadGrace;
            await db.GcBlobReviews.Where(r => r.Digest == fresh.Digest)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.ReviewAfter, after).SetProperty(r => r.Claim, (string?)null).SetProperty(r => r.ClaimedUntil, (DateTime?)null), ct);
        }

        var settled = due.Except(linkless).Except(remaining.Where(r => r.Touched + options.UploadGrace > now).Select(r => r.Digest)).ToList();
        await db.GcBlobReviews.Where(r => settled.Contains(r.Digest)).ExecuteDeleteAsync(ct);
        await ReleaseAsync(batch.Except(due).ToList(), ct);
        await transaction.CommitAsync(ct);
        return (links, repositories, linkless);
    }

    /// <summary>The second transaction: bytes, then the record, of blobs that still have no link.</summary>
    private async Task<(int Blobs, long Bytes)> DeleteAsync(List<string> linkless, CancellationToken ct)
    {
        await using var transaction = await MetadataSql.BeginCollectorTransactionAsync(db, ct);
        await MetadataSql.LockBlobsAsync(db, linkless, exclusive: true, ct);
        var victims = await Unused(db.Blobs.Where(b => linkless.Contains(b.Digest)))
            .OrderBy(b => b.Digest)
            .Select(b => new { b.Digest, b.Size })
            .ToListAsync(ct);
        foreach (var victim in victims)
        {
            await store.DeleteAsync(Digest.Parse(victim.Digest), ct);
            GcFailpoint.Hit(GcFailpoint.AfterBytes);
        }

        var digests = victims.Select(v => v.Digest).ToList();
        await db.Blobs.Where(b => digests.Contains(b.Digest)).ExecuteDeleteAsync(ct);
        await db.GcBlobReviews.Where(r => digests.Contains(r.Digest)).ExecuteDeleteAsync(ct);

        // Linked again meanwhile (a push committed the digest): its own review stays queued. Named by a manifest
        // without a link (content recorded before links were kept): never collected, so its review ends.
        var spared = linkless.Except(digests).ToList();
        var relinked = await db.RepositoryBlobs.Where(rb => spared.Contains(rb.BlobDigest)).Select(rb => rb.BlobDigest).Distinct().ToListAsync(ct);
        var named = spared.Except(relinked).ToList();
        await db.GcBlobReviews.Where(r => named.Contains(r.Digest)).ExecuteDeleteAsync(ct);
        await ReleaseAsync(relinked, ct);
        await transaction.CommitAsync(ct);
        foreach (var victim in victims)
        {
            LogCollected(logger, victim.Digest, victim.Size);
        }

        return (victims.Count, victims.Sum(v => v.Size));
    }

    /// <summary>Links of these blobs that no manifest of their repository uses and that no push touched lately.</summary>
    internal IQueryable<RepositoryBlobEntity> StaleLinks(List<string> digests, DateTime graceCutoff) =>
        db.RepositoryBlobs.Where(rb => digests.Contains(rb.BlobDigest) && rb.TouchedAt <= graceCutoff
            && !db.ManifestLayers.Any(l => l.Digest == rb.BlobDigest && db.Manifests.Any(m => m.Id == l.ManifestId && m.RepositoryId == rb.RepositoryId))
            && !db.Manifests.Any(m => m.ConfigDigest == rb.BlobDigest && m.RepositoryId == rb.RepositoryId));

    /// <summary>Blobs that no repository links and no manifest names.</summary>
    internal IQueryable<BlobEntity> Unused(IQueryable<BlobEntity> blobs) =>
        blobs.Where(b => !db.RepositoryBlobs.Any(rb => rb.BlobDigest == b.Digest)
            && !db.ManifestLayers.Any(l => l.Digest == b.Digest)
            && !db.Manifests.Any(m => m.ConfigDigest == b.Digest));

    /// <summary>Gives up this run's claim on reviews (after a failure), so that the next run takes them at once.</summary>
    public Task ReleaseAsync(List<string> digests, CancellationToken ct) =>
        digests.Count == 0
            ? Task.CompletedTask
            : db.GcBlobReviews.Where(r => digests.Contains(r.Digest))
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.Claim, (string?)null).SetProperty(r => r.ClaimedUntil, (DateTime?)null), ct);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Collected blob {Digest} ({Size} bytes)")]
    private static partial void LogCollected(ILogger logger, string digest, long size);
}
