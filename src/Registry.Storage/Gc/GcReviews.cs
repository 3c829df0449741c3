using Microsoft.EntityFrameworkCore;
using Registry.Storage.Metadata;

namespace Registry.Storage.Gc;

/// <summary>
/// Queues content for review by the collector. Called in the same transaction as the change that took a reference
/// away, so that a committed change always leaves its review behind. A review that is already queued keeps the later
/// of the two times: collection never comes earlier than the last loss of a reference plus the delay.
/// </summary>
internal static class GcReviews
{
    /// <summary>Queues one blob.</summary>
    public static Task BlobAsync(RegistryDbContext db, string digest, DateTime reviewAfter, CancellationToken ct) =>
        db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO gc_blob_reviews (digest, review_after) VALUES ({digest}, {reviewAfter})
            ON CONFLICT (digest) DO UPDATE SET review_after = CASE WHEN excluded.review_after > gc_blob_reviews.review_after
                THEN excluded.review_after ELSE gc_blob_reviews.review_after END
            """, ct);

    /// <summary>Queues the blobs a manifest uses (its config and layers) and the manifests an index lists.</summary>
    public static async Task ContentOfAsync(RegistryDbContext db, long manifestId, DateTime reviewAfter, CancellationToken ct)
    {
        await db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO gc_blob_reviews (digest, review_after)
            SELECT b.digest, {reviewAfter} FROM blobs b
            WHERE b.digest IN (SELECT m.config_digest FROM manifests m WHERE m.id = {manifestId}
                               UNION SELECT l.digest FROM manifest_layers l WHERE l.manifest_id = {manifestId})
            ON CONFLICT (digest) DO UPDATE SET review_after = CASE WHEN excluded.review_after > gc_blob_reviews.review_after
                THEN excluded.review_after ELSE gc_blob_reviews.review_after END
            """, ct);
        await db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO gc_manifest_reviews (manifest_id, review_after)
            SELECT r.child_id, {reviewAfter} FROM manifest_references r WHERE r.parent_id = {manifestId}
            ON CONFLICT (manifest_id) DO UPDATE SET review_after = CASE WHEN excluded.review_after > gc_manifest_reviews.review_after
                THEN excluded.review_after ELSE gc_manifest_reviews.review_after END
            """, ct);
    }

    /// <summary>Queues one manifest.</summary>
    public static Task ManifestAsync(RegistryDbContext db, long manifestId, DateTime reviewAfter, CancellationToken ct) =>
        db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO gc_manifest_reviews (manifest_id, review_after) VALUES ({manifestId}, {reviewAfter})
            ON CONFLICT (manifest_id) DO UPDATE SET review_after = CASE WHEN excluded.review_after > gc_manifest_reviews.review_after
                THEN excluded.review_after ELSE gc_manifest_reviews.review_after END
            """, ct);

    /// <summary>Queues the manifests whose subject is <paramref name="subjectDigest"/> in the repository (referrers follow their subject).</summary>
    public static Task ReferrersOfAsync(RegistryDbContext db, long repositoryId, string subjectDigest, DateTime reviewAfter, CancellationToken ct) =>
        db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO gc_manifest_reviews (manifest_id, review_after)
            SELECT m.id, {reviewAfter} FROM manifests m WHERE m.repository_id = {repositoryId} AND m.subject_digest = {subjectDigest}
            ON CONFLICT (manifest_id) DO UPDATE SET review_after = CASE WHEN excluded.review_after > gc_manifest_reviews.review_after
                THEN excluded.review_after ELSE gc_manifest_reviews.review_after END
            """, ct);

    /// <summary>Queues every blob a repository links (before the repository is deleted).</summary>
    public static Task RepositoryAsync(RegistryDbContext db, long repositoryId, DateTime reviewAfter, CancellationToken ct) =>
        db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO gc_blob_reviews (digest, review_after)
            SELECT rb.blob_digest, {reviewAfter} FROM repository_blobs rb WHERE rb.repository_id = {repositoryId}
            ON CONFLICT (digest) DO UPDATE SET review_after = CASE WHEN excluded.review_after > gc_blob_reviews.review_after
                THEN excluded.review_after ELSE gc_blob_reviews.review_after END
            """, ct);

    /// <summary>Marks the repository emptied when it holds no manifest any more (it then leaves listings).</summary>
    public static Task MarkEmptiedAsync(RegistryDbContext db, long repositoryId, DateTime now, CancellationToken ct) =>
        db.Repositories
            .Where(r => r.Id == repositoryId && r.EmptiedAt == null && !db.Manifests.Any(m => m.RepositoryId == r.Id))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.EmptiedAt, now), ct);
}
