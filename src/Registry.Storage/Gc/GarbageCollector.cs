using System.Diagnostics;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Storage.Blobs;
using Registry.Storage.Metadata;

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
            orphanFiles = await sweeper.QueueOrphanFilesAsync(orphans, runStart, ct);
            await sweeper.QueueUncoveredAsync(runStart, time.GetUtcNow().UtcDateTime, ct);
            repositories += await sweeper.RemoveEmptiedRepositoriesAsync(ct);
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

    private async Task<int> CollectManifestsAsync(ManifestCollector collector, string claim, DateTime runStart, CancellationToken ct)
    {
        var seen = new HashSet<long>();
        var collected = 0;
        while (true)
        {
            var batch = await collector.ClaimAsync(claim, runStart, time.GetUtcNow().UtcDateTime, ct);
            // A review this run has already settled and finds due again (the clock did not move) ends the run.
            if (batch.Where(seen.Add).ToList().Count == 0)
            {
                return collected;
            }

            collected += await collector.ReviewAsync(batch, runStart, time.GetUtcNow().UtcDateTime, ct);
        }
    }

    private async Task<BlobCollector.Outcome> CollectBlobsAsync(BlobCollector collector, string claim, DateTime runStart, CancellationToken ct)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var total = new BlobCollector.Outcome(0, 0, 0, 0);
        while (true)
        {
            var batch = await collector.ClaimAsync(claim, runStart, time.GetUtcNow().UtcDateTime, ct);
            // A review this run has already settled and finds due again (the clock did not move) ends the run.
            if (batch.Where(seen.Add).ToList().Count == 0)
            {
                return total;
            }

            var outcome = await collector.ReviewAsync(batch, runStart, time.GetUtcNow().UtcDateTime, ct);
            total = new BlobCollector.Outcome(
                total.Blobs + outcome.Blobs, total.Bytes + outcome.Bytes, total.Links + outcome.Links, total.Repositories + outcome.Repositories);
        }
    }

    /// <summary>How many reviews are queued (due or not).</summary>
    public async Task<int> QueueDepthAsync(CancellationToken ct) =>
        await db.GcBlobReviews.CountAsync(ct) + await db.GcManifestReviews.CountAsync(ct);

    [LoggerMessage(Level = LogLevel.Information, Message = "Garbage collection removed {Blobs} blobs ({Bytes} bytes), {Manifests} manifests, {Links} links and {Repositories} emptied repositories in {Seconds:F1} s")]
    private static partial void LogRun(ILogger logger, int blobs, long bytes, int manifests, int links, int repositories, double seconds);
}
