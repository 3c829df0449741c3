using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Storage.Hosting;
using Registry.Storage.Metadata;

namespace Registry.Api.Identity;

/// <summary>
/// Removes audit entries older than <see cref="AuditOptions.Retention"/>, once an hour. Every replica runs it; the
/// deletes are idempotent, so running them twice changes nothing.
/// </summary>
public sealed partial class AuditRetention(
    IServiceScopeFactory scopes,
    IOptions<AuditOptions> options,
    TimeProvider time,
    ILogger<AuditRetention> logger) : PeriodicChore(time, logger)
{
    protected override TimeSpan Interval => TimeSpan.FromHours(1);

    protected override Task RunOnceAsync(CancellationToken ct) => PruneOnceAsync(ct);

    /// <returns>How many entries were removed.</returns>
    public async Task<int> PruneOnceAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
        var cutoff = Time.GetUtcNow().UtcDateTime - options.Value.Retention;
        var removed = await db.AuditEvents.Where(e => e.Time < cutoff).ExecuteDeleteAsync(ct);
        if (removed > 0)
        {
            LogPruned(Logger, removed, cutoff);
        }

        return removed;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} audit entries older than {Cutoff:u}")]
    private static partial void LogPruned(ILogger logger, int count, DateTime cutoff);
}
