using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Storage.Blobs;
using Registry.Storage.Metadata;
using Registry.Storage.Services;

namespace Registry.Storage.Gc;

/// <summary>
/// Online garbage collection: pushes, pulls and deletes go on while it runs. Changes that take a reference away queue
/// a review of what lost it (<see cref="GcReviews"/>); a run works through the reviews that are due, blobs first,
/// then manifests, in batches that replicas claim in the database. Rows go first and bytes after, so a crash in between
/// leaves only bytes that nothing names, which the next run removes.
/// </summary>
public sealed partial class GarbageCollector(
    RegistryDbContext db, IBlobDeleter store, IOptions<GcOptions> options, TimeProvider time, GcMetrics metrics, ILogger<GarbageCollector> logger)
{
    /// <param name="dryRun">Report what a run would collect now, and change nothing.</param>
    /// <param name="sweep">Also walk the store and the metadata for what no review covers (see <see cref="StoreSweeper"/>).</param>
    public async Task<GcReport> RunAsync(bool dryRun, bool sweep, CancellationToken ct)
    {
        var stopwatch = Stopwatch.StartNew();
        var settings = options.Value;
        var runStart = time.GetUtcNow().UtcDateTime;
        var sweeper = new StoreSweeper(db, store, settings);
        var orphans = sweep ? await sweeper.FindOrphanFilesAsync(ct) : [];
        if (dryRun)
        {
            var preview = await new GcPreview(db, settings).RunAsync(orphans, runStart, time.GetUtcNow().UtcDateTime, ct);
            return preview with { DurationSeconds = stopwatch.Elapsed.TotalSeconds };
        }

        var repositories = 0;
        var orphanFiles = 0;
        if (sweep)
        {
            try
            {
                orphanFiles = await sweeper.QueueOrphanFilesAsync(orphans, runStart, ct);
                await sweeper.QueueUncoveredAsync(runStart, time.GetUtcNow().UtcDateTime, ct);
                repositories += await sweeper.RemoveEmptiedRepositoriesAsync(ct);
            }
            catch (Exception e) when (MetadataSql.IsLockConflict(e))
            {
                // What the sweep queued so far stays queued; the next sweep finds the rest.
                LogGaveWay(logger, 0);
            }
        }

        var claim = Guid.NewGuid().ToString("N");
        // Blobs before manifests: what a manifest collected now leaves unused is reviewed by a later run, whatever
        // the clock reads, as a dry run assumes.
        var blobs = await CollectBlobsAsync(new BlobCollector(db, store, settings, logger), claim, runStart, ct);
        var manifests = await CollectManifestsAsync(new ManifestCollector(db, settings, logger), claim, runStart, ct);
        repositories += blobs.Repositories;

        var pending = await db.GcBlobReviews.CountAsync(ct) + await db.GcManifestReviews.CountAsync(ct);
        var report = new GcReport(false, blobs.Blobs, manifests, blobs.Bytes, blobs.Links, orphanFiles, repositories, pending, runStart, stopwatch.Elapsed.TotalSeconds);
        metrics.Record(report);
        if (report.Blobs + report.Manifests + report.Links + report.Repositories > 0)
        {
            LogRun(logger, report.Blobs, report.Bytes, report.Manifests, report.Links, report.Repositories, report.DurationSeconds);
        }

        return report;
    }

    private Task<int> CollectManifestsAsync(ManifestCollector collector, string claim, DateTime runStart, CancellationToken ct) =>
        DrainAsync(
            () => collector.ClaimAsync(claim, runStart, time.GetUtcNow().UtcDateTime, ct),
            batch => collector.ReviewAsync(batch, runStart, time.GetUtcNow().UtcDateTime, ct),
            collector.ReleaseAsync,
            0,
            (a, b) => a + b);

    private Task<BlobCollector.Outcome> CollectBlobsAsync(BlobCollector collector, string claim, DateTime runStart, CancellationToken ct) =>
        DrainAsync(
            () => collector.ClaimAsync(claim, runStart, time.GetUtcNow().UtcDateTime, ct),
            batch => collector.ReviewAsync(batch, runStart, time.GetUtcNow().UtcDateTime, ct),
            collector.ReleaseAsync,
            new BlobCollector.Outcome(0, 0, 0, 0),
            (a, b) => new BlobCollector.Outcome(a.Blobs + b.Blobs, a.Bytes + b.Bytes, a.Links + b.Links, a.Repositories + b.Repositories));

    /// <summary>
    /// Claims and reviews batches until none is left that this run has not seen. A batch that runs into a client's
    /// lock gives way: its claim is released and a later run takes it. Any other failure releases the claim too.
    /// </summary>
    private async Task<TOutcome> DrainAsync<TKey, TOutcome>(
        Func<Task<List<TKey>>> claim, Func<List<TKey>, Task<TOutcome>> review, Func<List<TKey>, CancellationToken, Task> release, TOutcome total, Func<TOutcome, TOutcome, TOutcome> add)
    {
        var seen = new HashSet<TKey>();
        while (true)
        {
            var batch = await claim();
            // Reviews this run has already handled and finds due again (released, or the clock did not move) end it.
            if (batch.Where(seen.Add).ToList().Count == 0)
            {
                await ReleaseQuietlyAsync(release, batch);
                return total;
            }

            try
            {
                total = add(total, await review(batch));
            }
            catch (Exception e) when (MetadataSql.IsLockConflict(e))
            {
                LogGaveWay(logger, batch.Count);
                await ReleaseQuietlyAsync(release, batch);
            }
            catch
            {
                await ReleaseQuietlyAsync(release, batch);
                throw;
            }
        }
    }

    /// <summary>
    /// Gives up a failed batch's claim, in a transaction that gives way to clients as the collector's others do. If
    /// even that fails, the claim lapses after the claim duration.
    /// </summary>
    private async Task ReleaseQuietlyAsync<TKey>(Func<List<TKey>, CancellationToken, Task> release, List<TKey> batch)
    {
        try
        {
            await using var transaction = await MetadataSql.BeginCollectorTransactionAsync(db, CancellationToken.None);
            await release(batch, CancellationToken.None);
            await transaction.CommitAsync(CancellationToken.None);
        }
        catch (Exception)
        {
            // The original failure (or the lock conflict) is what matters; the claim lapses.
        }
    }

    /// <summary>How many reviews are queued (due or not).</summary>
    public async Task<int> QueueDepthAsync(CancellationToken ct) =>
        await db.GcBlobReviews.CountAsync(ct) + await db.GcManifestReviews.CountAsync(ct);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Garbage collection gave way to a client holding {Count} reviews; a later run takes them")]
    private static partial void LogGaveWay(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Garbage collection removed {Blobs} blobs ({Bytes} bytes), {Manifests} manifests, {Links} links and {Repositories} emptied repositories in {Seconds:F1} s")]
    private static partial void LogRun(ILogger logger, int blobs, long bytes, int manifests, int links, int repositories, double seconds);
}
