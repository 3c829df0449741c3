using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Registry.Storage.Metadata;
using Registry.Storage.Services;

namespace Registry.Storage.Gc;

/// <summary>
/// Reviews queued manifests. With <see cref="GcOptions.DeleteUntagged"/> on, a manifest whose review is due is
/// collected when no tag names it, no index lists it and it is not a referrer of a manifest that still exists; what
/// it used (blobs, listed manifests, its own referrers) is queued in turn. With it off, reviews just end.
/// </summary>
internal sealed partial class ManifestCollector(RegistryDbContext db, GcOptions options, ILogger logger)
{
    public async Task<List<long>> ClaimAsync(string claim, DateTime runStart, DateTime now, CancellationToken ct)
    {
        var until = now + options.ClaimDuration;
        if (db.Database.IsNpgsql())
        {
            // As for blobs: held reviews are skipped, not waited for.
            await db.Database.ExecuteSqlAsync(
                $"""
                UPDATE gc_manifest_reviews SET claim = {claim}, claimed_until = {until}
                WHERE manifest_id IN (SELECT manifest_id FROM gc_manifest_reviews
                                      WHERE review_after <= {runStart} AND (claimed_until IS NULL OR claimed_until < {now})
                                      ORDER BY review_after LIMIT {options.BatchSize} FOR UPDATE SKIP LOCKED)
                """, ct);
            return await db.GcManifestReviews.Where(r => r.Claim == claim).Select(r => r.ManifestId).ToListAsync(ct);
        }

        var candidates = await db.GcManifestReviews
            .Where(r => r.ReviewAfter <= runStart && (r.ClaimedUntil == null || r.ClaimedUntil < now))
            .OrderBy(r => r.ReviewAfter)
            .Select(r => r.ManifestId)
            .Take(options.BatchSize)
            .ToListAsync(ct);
        if (candidates.Count == 0)
        {
            return candidates;
        }

        await db.GcManifestReviews
            .Where(r => candidates.Contains(r.ManifestId) && (r.ClaimedUntil == null || r.ClaimedUntil < now))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.Claim, claim).SetProperty(r => r.ClaimedUntil, until), ct);
        return await db.GcManifestReviews.Where(r => r.Claim == claim && candidates.Contains(r.ManifestId)).Select(r => r.ManifestId).ToListAsync(ct);
    }

    /// <returns>How many manifests were collected.</returns>
    public async Task<int> ReviewAsync(List<long> batch, DateTime runStart, DateTime now, CancellationToken ct)
    {
        batch.Sort();
        await using var transaction = await MetadataSql.BeginCollectorTransactionAsync(db, ct);
        await MetadataSql.LockManifestsAsync(db, batch, exclusive: true, ct);
        var due = await db.GcManifestReviews.Where(r => batch.Contains(r.ManifestId) && r.ReviewAfter <= runStart).Select(r => r.ManifestId).ToListAsync(ct);
        var collected = options.DeleteUntagged
            ? await Collectible(db, db.Manifests.Where(m => due.Contains(m.Id)))
                .Select(m => new { m.Id, m.RepositoryId, m.Digest })
                .ToListAsync(ct)
            : [];

        // The due reviews end here (a later change that takes a reference away queues them again); a manifest this
        // batch lets go of (an index's child, a referrer) is queued anew below, even if its own review was in the batch.
        await db.GcManifestReviews.Where(r => due.Contains(r.ManifestId)).ExecuteDeleteAsync(ct);
        var reviewAfter = now + options.ReviewDelay;
        var ids = collected.Select(m => m.Id).ToList();
        await GcReviews.ContentOfAsync(db, ids, reviewAfter, ct);
        await GcReviews.ReferrersOfAsync(db, collected.Select(m => (m.RepositoryId, m.Digest)).ToList(), reviewAfter, ct);
        await db.Manifests.Where(m => ids.Contains(m.Id)).ExecuteDeleteAsync(ct);
        foreach (var repositoryId in collected.Select(m => m.RepositoryId).Distinct())
        {
            await GcReviews.MarkEmptiedAsync(db, repositoryId, now, ct);
        }

        await ReleaseAsync(batch.Except(due).ToList(), ct);
        await transaction.CommitAsync(ct);
        foreach (var manifest in collected)
        {
            LogCollected(logger, manifest.Digest, manifest.RepositoryId);
        }

        return collected.Count;
    }

    /// <summary>Gives up this run's claim on reviews (after a failure), so that the next run takes them at once.</summary>
    public Task ReleaseAsync(List<long> ids, CancellationToken ct) =>
        ids.Count == 0
            ? Task.CompletedTask
            : db.GcManifestReviews.Where(r => ids.Contains(r.ManifestId))
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.Claim, (string?)null).SetProperty(r => r.ClaimedUntil, (DateTime?)null), ct);

    /// <summary>Manifests that no tag, index or living subject keeps.</summary>
    internal static IQueryable<ManifestEntity> Collectible(RegistryDbContext db, IQueryable<ManifestEntity> manifests) =>
        manifests.Where(m => !db.Tags.Any(t => t.ManifestId == m.Id)
            && !db.ManifestReferences.Any(r => r.ChildId == m.Id)
            && (m.SubjectDigest == null || !db.Manifests.Any(s => s.RepositoryId == m.RepositoryId && s.Digest == m.SubjectDigest)));

    [LoggerMessage(Level = LogLevel.Debug, Message = "Collected untagged manifest {Digest} of repository {RepositoryId}")]
    private static partial void LogCollected(ILogger logger, string digest, long repositoryId);
}
