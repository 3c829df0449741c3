using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Storage.Blobs;
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
    ILogger<UploadPurger> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.UploadPurgeInterval, time);
        do
        {
            try
            {
                await PurgeOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogPurgeFailed(logger, e);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public async Task<int> PurgeOnceAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
        var ingester = scope.ServiceProvider.GetRequiredService<IBlobIngester>();
        var uploads = scope.ServiceProvider.GetRequiredService<UploadService>();
        var cutoff = time.GetUtcNow().UtcDateTime - options.Value.UploadExpiry;

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
            LogPurged(logger, expired.Count, orphans);
        }

        return expired.Count + orphans;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Expired} expired uploads and {Orphans} orphaned staged files")]
    private static partial void LogPurged(ILogger logger, int expired, int orphans);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Purging expired uploads failed")]
    private static partial void LogPurgeFailed(ILogger logger, Exception exception);
}
