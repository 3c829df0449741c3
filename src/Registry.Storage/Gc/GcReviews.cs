using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Registry.Storage.Metadata;

namespace Registry.Storage.Gc;

/// <summary>
/// Queues content for review by the collector. Called in the same transaction as the change that took a reference
/// away, so that a committed change always leaves its review behind. A review that is already queued keeps the later
/// of the two times: collection never comes earlier than the last loss of a reference plus the delay.
/// </summary>
/// <remarks>
/// Several reviews are queued in key order, in one statement: two transactions queueing overlapping sets then wait
/// for each other in the same order and never deadlock (PostgreSQL locks each row it inserts or updates).
/// </remarks>
internal static class GcReviews
{
    private const int Chunk = 1000;

    /// <summary>Queues one blob.</summary>
    public static Task BlobAsync(RegistryDbContext db, string digest, DateTime reviewAfter, CancellationToken ct) =>
        BlobsAsync(db, [digest], reviewAfter, ct);

    /// <summary>Queues the blobs the manifests use (configs and layers) and the manifests they list.</summary>
    public static async Task ContentOfAsync(RegistryDbContext db, IReadOnlyCollection<long> manifestIds, DateTime reviewAfter, CancellationToken ct)
    {
        if (manifestIds.Count == 0)
        {
            return;
        }

        var blobs = await db.Blobs
            .Where(b => db.Manifests.Any(m => manifestIds.Contains(m.Id) && m.ConfigDigest == b.Digest)
                || db.ManifestLayers.Any(l => manifestIds.Contains(l.ManifestId) && l.Digest == b.Digest))
            .Select(b => b.Digest)
            .ToListAsync(ct);
        await BlobsAsync(db, blobs, reviewAfter, ct);
        var children = await db.ManifestReferences.Where(r => manifestIds.Contains(r.ParentId)).Select(r => r.ChildId).Distinct().ToListAsync(ct);
        await ManifestsAsync(db, children, reviewAfter, ct);
    }

    /// <summary>Queues one manifest.</summary>
    public static Task ManifestAsync(RegistryDbContext db, long manifestId, DateTime reviewAfter, CancellationToken ct) =>
        ManifestsAsync(db, [manifestId], reviewAfter, ct);

    /// <summary>Queues the manifests whose subject is one of <paramref name="subjects"/> in its repository (referrers follow their subject).</summary>
    public static async Task ReferrersOfAsync(RegistryDbContext db, IReadOnlyCollection<(long RepositoryId, string Digest)> subjects, DateTime reviewAfter, CancellationToken ct)
    {
        var referrers = new List<long>();
        foreach (var group in subjects.GroupBy(s => s.RepositoryId))
        {
            var digests = group.Select(s => s.Digest).ToList();
            referrers.AddRange(await db.Manifests
                .Where(m => m.RepositoryId == group.Key && m.SubjectDigest != null && digests.Contains(m.SubjectDigest))
                .Select(m => m.Id)
                .ToListAsync(ct));
        }

        await ManifestsAsync(db, referrers, reviewAfter, ct);
    }

    /// <summary>Queues every blob the repositories link (before they are deleted).</summary>
    public static async Task RepositoriesAsync(RegistryDbContext db, IReadOnlyCollection<long> repositoryIds, DateTime reviewAfter, CancellationToken ct)
    {
        if (repositoryIds.Count == 0)
        {
            return;
        }

        var digests = await db.RepositoryBlobs.Where(rb => repositoryIds.Contains(rb.RepositoryId)).Select(rb => rb.BlobDigest).Distinct().ToListAsync(ct);
        await BlobsAsync(db, digests, reviewAfter, ct);
    }

    /// <summary>Marks the repository emptied when it holds no manifest any more (it then leaves listings).</summary>
    public static Task MarkEmptiedAsync(RegistryDbContext db, long repositoryId, DateTime now, CancellationToken ct) =>
        db.Repositories
            .Where(r => r.Id == repositoryId && r.EmptiedAt == null && !db.Manifests.Any(m => m.RepositoryId == r.Id))
            .ExecuteUpdateAsync(s => s.SetProperty(r => r.EmptiedAt, now), ct);

    /// <summary>Queues blobs, in digest order.</summary>
    public static async Task BlobsAsync(RegistryDbContext db, IEnumerable<string> digests, DateTime reviewAfter, CancellationToken ct)
    {
        foreach (var chunk in digests.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Chunk(Chunk))
        {
            if (db.Database.IsNpgsql())
            {
                await db.Database.ExecuteSqlAsync(
                    $"""
                    INSERT INTO gc_blob_reviews (digest, review_after)
                    SELECT d, {reviewAfter} FROM unnest({chunk}) AS d ORDER BY d
                    ON CONFLICT (digest) DO UPDATE SET review_after = GREATEST(excluded.review_after, gc_blob_reviews.review_after)
                    """, ct);
            }
            else
            {
                // SQLite runs one write transaction at a time: order does not matter there.
                var json = JsonSerializer.Serialize(chunk);
                await db.Database.ExecuteSqlAsync(
                    $"""
                    INSERT INTO gc_blob_reviews (digest, review_after)
                    SELECT value, {reviewAfter} FROM json_each({json}) WHERE true
                    ON CONFLICT (digest) DO UPDATE SET review_after = MAX(excluded.review_after, gc_blob_reviews.review_after)
                    """, ct);
            }
        }
    }

    /// <summary>Queues manifests, in id order.</summary>
    public static async Task ManifestsAsync(RegistryDbContext db, IEnumerable<long> manifestIds, DateTime reviewAfter, CancellationToken ct)
    {
        foreach (var chunk in manifestIds.Distinct().Order().Chunk(Chunk))
        {
            if (db.Database.IsNpgsql())
            {
                await db.Database.ExecuteSqlAsync(
                    $"""
                    INSERT INTO gc_manifest_reviews (manifest_id, review_after)
                    SELECT id, {reviewAfter} FROM unnest({chunk}) AS id ORDER BY id
                    ON CONFLICT (manifest_id) DO UPDATE SET review_after = GREATEST(excluded.review_after, gc_manifest_reviews.review_after)
                    """, ct);
            }
            else
            {
                var json = JsonSerializer.Serialize(chunk);
                await db.Database.ExecuteSqlAsync(
                    $"""
                    INSERT INTO gc_manifest_reviews (manifest_id, review_after)
                    SELECT value, {reviewAfter} FROM json_each({json}) WHERE true
                    ON CONFLICT (manifest_id) DO UPDATE SET review_after = MAX(excluded.review_after, gc_manifest_reviews.review_after)
                    """, ct);
            }
        }
    }
}
