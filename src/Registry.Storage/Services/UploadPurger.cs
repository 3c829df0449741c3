using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Storage.Blobs;
using Registry.Storage.Hosting;
using Registry.Storage.Metadata;

namespace Registry.Storage.Services;

/// <summary>
/// Removes upload sessions nobody has touched within <see cref="RegistryStorageOptions.UploadExpiry"/>,
/// and staged bytes left without a session (a crash between creating the two).
/// </summary>
public sealed partial class UploadPurger(
    IServiceScopeFactory scopes,
    IOptions<RegistryStorageOptions> options,
    TimeProvider time,
    ILogger<UploadPurger> logger) : PeriodicChore(time, logger)
{
    protected override TimeSpan Interval => options.Value.UploadPurgeInterval;

    protected override Task RunOnceAsync(CancellationToken ct) => PurgeOnceAsync(ct);

    public async Task<int> PurgeOnceAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
        var ingester = scope.ServiceProvider.GetRequiredService<IBlobIngester>();
        var uploads = scope.ServiceProvider.GetRequiredService<UploadService>();
        var cutoff = Time.GetUtcNow().UtcDateTime - options.Value.UploadExpiry;

        var expired = await db.Uploads.Where(u => u.UpdatedAt < cutoff).OrderBy(u => u.UpdatedAt).Select(u => u.Id).Take(10_000).ToListAsync(ct);
        foreach (var id in expired)
        {
            await uploads.DiscardAsync(id, ct);
        }

        var orphans = 0;
        await foreach (var id in ingester.ListStagingAsync(cutoff, ct))
        {
            if (!await db.Uploads.AnyAsync(u => u.Id == id, ct))
            {
                await ingester.DeleteStagingAsync(id, ct);
                orphans++;
            }
        }

        if (expired.Count + orphans > 0)
        {
            LogPurged(Logger, expired.Count, orphans);
        }

        return expired.Count + orphans;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Expired} expired uploads and {Orphans} orphaned staged files")]
    private static partial void LogPurged(ILogger logger, int expired, int orphans);
}
