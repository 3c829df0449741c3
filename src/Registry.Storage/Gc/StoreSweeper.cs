using Microsoft.EntityFrameworkCore;
using Registry.Storage.Blobs;
using Registry.Storage.Metadata;
using Registry.Storage.Services;

namespace Registry.Storage.Gc;

/// <summary>
/// Finds what no queued review covers and queues it, due at once: files of the store that no record names (a crash
/// after the bytes were written and before the record was, or between a collection's two steps), records of blobs
/// that nothing links, links that nothing uses and no push touched within the grace, untagged manifests (when those
/// are collected), and content that versions without collection left behind. Cheap enough to run daily; each step
/// reads in pages.
/// </summary>
internal sealed class StoreSweeper(RegistryDbContext db, IBlobDeleter store, GcOptions options)
{
    private const int Page = 1000;

    /// <summary>Files without a record, as (digest, size).</summary>
    public async Task<List<StoredBlob>> FindOrphanFilesAsync(CancellationToken ct)
    {
        var orphans = new List<StoredBlob>();
        var page = new List<StoredBlob>(Page);
        await foreach (var blob in store.ListAsync(ct))
        {
            page.Add(blob);
            if (page.Count == Page)
            {
                orphans.AddRange(await WithoutRecordAsync(page, ct));
                page.Clear();
            }
        }

        orphans.AddRange(await WithoutRecordAsync(page, ct));
        return orphans;
    }

    /// <summary>
    /// Gives each orphan file a record without links and a due review, so that the blob collector deletes it under
    /// the same lock as any other. A push that commits the digest meanwhile owns the record first, and the file
    /// is kept.
    /// </summary>
    /// <returns>How many orphans were queued.</returns>
    public async Task<int> QueueOrphanFilesAsync(IReadOnlyList<StoredBlob> orphans, DateTime runStart, CancellationToken ct)
    {
        var queued = 0;
        foreach (var chunk in orphans.OrderBy(o => o.Digest.ToString(), StringComparer.Ordinal).Chunk(Page))
        {
            await using var transaction = await MetadataSql.BeginCollectorTransactionAsync(db, ct);
            foreach (var orphan in chunk)
            {
                var digest = orphan.Digest.ToString();
                var inserted = await db.Database.ExecuteSqlAsync(
                    $"INSERT INTO blobs (digest, size, created_at) VALUES ({digest}, {orphan.Size}, {runStart}) ON CONFLICT (digest) DO NOTHING", ct);
                if (inserted > 0)
                {
                    await GcReviews.BlobAsync(db, digest, runStart, ct);
                    queued++;
                }
            }

            await transaction.CommitAsync(ct);
        }

        return queued;
    }

    /// <summary>Queues, due at <paramref name="runStart"/>, what no review covers but may be collectible.</summary>
    public async Task QueueUncoveredAsync(DateTime runStart, DateTime now, CancellationToken ct)
    {
        var graceCutoff = now - options.UploadGrace;

        // Records nothing links, and links nothing uses that no push touched lately.
        await QueueBlobsAsync(
            db.Blobs.Where(b => !db.RepositoryBlobs.Any(rb => rb.BlobDigest == b.Digest)).Select(b => b.Digest), runStart, ct);
        await QueueBlobsAsync(
            db.RepositoryBlobs.Where(rb => rb.TouchedAt <= graceCutoff
                    && !db.ManifestLayers.Any(l => l.Digest == rb.BlobDigest && db.Manifests.Any(m => m.Id == l.ManifestId && m.RepositoryId == rb.RepositoryId))
                    && !db.Manifests.Any(m => m.ConfigDigest == rb.BlobDigest && m.RepositoryId == rb.RepositoryId))
                .Select(rb => rb.BlobDigest),
            runStart,
            ct);

        if (options.DeleteUntagged)
        {
            var untagged = db.Manifests.Where(m => m.CreatedAt <= graceCutoff
                && !db.Tags.Any(t => t.ManifestId == m.Id)
                && !db.ManifestReferences.Any(r => r.ChildId == m.Id)
                && !db.GcManifestReviews.Any(r => r.ManifestId == m.Id));
            long last = 0;
            while (true)
            {
                var ids = await untagged.Where(m => m.Id > last).OrderBy(m => m.Id).Select(m => m.Id).Take(Page).ToListAsync(ct);
                if (ids.Count == 0)
                {
                    break;
                }

                await using (var transaction = await MetadataSql.BeginCollectorTransactionAsync(db, ct))
                {
                    foreach (var id in ids)
                    {
                        await GcReviews.ManifestAsync(db, id, runStart, ct);
                    }

                    await transaction.CommitAsync(ct);
                }

                last = ids[^1];
            }
        }
    }

    /// <summary>Emptied repositories with nothing left in them.</summary>
    public async Task<int> RemoveEmptiedRepositoriesAsync(CancellationToken ct)
    {
        await using var transaction = await MetadataSql.BeginCollectorTransactionAsync(db, ct);
        var removed = await GcRepositories.Emptied(db).ExecuteDeleteAsync(ct);
        await transaction.CommitAsync(ct);
        return removed;
    }

    private async Task QueueBlobsAsync(IQueryable<string> digests, DateTime runStart, CancellationToken ct)
    {
        var uncovered = digests.Where(d => !db.GcBlobReviews.Any(r => r.Digest == d)).Distinct();
        string last = string.Empty;
        while (true)
        {
            var page = await uncovered.Where(d => string.Compare(d, last) > 0).OrderBy(d => d).Take(Page).ToListAsync(ct);
            if (page.Count == 0)
            {
                return;
            }

            await using (var transaction = await MetadataSql.BeginCollectorTransactionAsync(db, ct))
            {
                foreach (var digest in page)
                {
                    await GcReviews.BlobAsync(db, digest, runStart, ct);
                }

                await transaction.CommitAsync(ct);
            }

            last = page[^1];
        }
    }

    private async Task<IEnumerable<StoredBlob>> WithoutRecordAsync(List<StoredBlob> page, CancellationToken ct)
    {
        if (page.Count == 0)
        {
            return [];
        }

        var digests = page.Select(b => b.Digest.ToString()).ToList();
        var known = (await db.Blobs.Where(b => digests.Contains(b.Digest)).Select(b => b.Digest).ToListAsync(ct)).ToHashSet(StringComparer.Ordinal);
        return page.Where(b => !known.Contains(b.Digest.ToString())).ToList();
    }
}
