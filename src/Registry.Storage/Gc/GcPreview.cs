using Microsoft.EntityFrameworkCore;
using Registry.Storage.Blobs;
using Registry.Storage.Metadata;

namespace Registry.Storage.Gc;

/// <summary>
/// A dry run: what a run started now would collect, computed by the same rules as the collectors and without a
/// change. Content that only becomes unused because this run collects something (the blobs of an untagged manifest
/// it removes) is reviewed by a later run, in a dry run as in a real one.
/// </summary>
internal sealed class GcPreview(RegistryDbContext db, GcOptions options)
{
    public async Task<GcReport> RunAsync(IReadOnlyList<StoredBlob> orphans, DateTime runStart, DateTime now, CancellationToken ct)
    {
        var graceCutoff = now - options.UploadGrace;

        // A link stays when a manifest of its repository uses it or a push touched it lately.
        var kept = db.RepositoryBlobs.Where(rb => rb.TouchedAt > graceCutoff
            || db.ManifestLayers.Any(l => l.Digest == rb.BlobDigest && db.Manifests.Any(m => m.Id == l.ManifestId && m.RepositoryId == rb.RepositoryId))
            || db.Manifests.Any(m => m.ConfigDigest == rb.BlobDigest && m.RepositoryId == rb.RepositoryId));

        // Reviewed now: a due review, or none at all (the sweep of a run queues those).
        var reviewable = db.Blobs.Where(b => !db.GcBlobReviews.Any(r => r.Digest == b.Digest && r.ReviewAfter > runStart));

        var blobs = await reviewable
            .Where(b => !kept.Any(rb => rb.BlobDigest == b.Digest)
                && !db.ManifestLayers.Any(l => l.Digest == b.Digest)
                && !db.Manifests.Any(m => m.ConfigDigest == b.Digest))
            .GroupBy(_ => 1)
            .Select(g => new { Count = g.Count(), Bytes = g.Sum(b => b.Size) })
            .FirstOrDefaultAsync(ct);
        var links = await db.RepositoryBlobs
            .Where(rb => !kept.Any(k => k.RepositoryId == rb.RepositoryId && k.BlobDigest == rb.BlobDigest)
                && !db.GcBlobReviews.Any(r => r.Digest == rb.BlobDigest && r.ReviewAfter > runStart))
            .CountAsync(ct);

        var manifests = 0;
        if (options.DeleteUntagged)
        {
            var due = db.Manifests.Where(m => db.GcManifestReviews.Any(r => r.ManifestId == m.Id && r.ReviewAfter <= runStart)
                || (m.CreatedAt <= graceCutoff && !db.GcManifestReviews.Any(r => r.ManifestId == m.Id)));
            manifests = await ManifestCollector.Collectible(db, due).CountAsync(ct);
        }

        // Emptied repositories whose every remaining link goes in this run.
        var repositories = await db.Repositories
            .Where(r => r.EmptiedAt != null
                && !db.Manifests.Any(m => m.RepositoryId == r.Id)
                && !db.Uploads.Any(u => u.RepositoryName == r.Name)
                && !db.RepositoryBlobs.Any(rb => rb.RepositoryId == r.Id
                    && (kept.Any(k => k.RepositoryId == rb.RepositoryId && k.BlobDigest == rb.BlobDigest)
                        || db.GcBlobReviews.Any(rev => rev.Digest == rb.BlobDigest && rev.ReviewAfter > runStart))))
            .CountAsync(ct);
        var pending = await db.GcBlobReviews.CountAsync(ct) + await db.GcManifestReviews.CountAsync(ct);
        return new GcReport(
            DryRun: true,
            Blobs: (blobs?.Count ?? 0) + orphans.Count,
            Manifests: manifests,
            Bytes: (blobs?.Bytes ?? 0) + orphans.Sum(o => o.Size),
            Links: links,
            OrphanFiles: orphans.Count,
            Repositories: repositories,
            Pending: pending,
            StartedAt: runStart,
            DurationSeconds: 0);
    }
}
