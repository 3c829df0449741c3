using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Registry.Storage.Hosting;
using Registry.Storage.Metadata;
using Registry.Storage.Services;

namespace Registry.Storage.Retention;

/// <summary>
/// Runs enabled policies with a schedule when they are due. Every replica looks; a replica runs a policy only after
/// claiming it in the database (one UPDATE that sets <c>claimed_until</c> if nobody holds it), so a due policy runs
/// once however many replicas there are. A run that dies leaves its claim to expire, and another replica takes over.
/// </summary>
public sealed partial class RetentionScheduler(
    IServiceScopeFactory scopes,
    IOptions<RetentionOptions> options,
    IOptions<RegistryStorageOptions> storage,
    TimeProvider time,
    ILogger<RetentionScheduler> logger) : PeriodicChore(time, logger)
{
    protected override TimeSpan Interval => options.Value.SchedulerInterval;

    protected override Task RunOnceAsync(CancellationToken ct) => RunDueAsync(ct);

    /// <summary>Runs the policies due now that this replica could claim; returns how many it ran.</summary>
    public async Task<int> RunDueAsync(CancellationToken ct)
    {
        if (!storage.Value.DeleteEnabled)
        {
            return 0;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
        var now = Time.GetUtcNow().UtcDateTime;
        var due = await db.RetentionPolicies.AsNoTracking()
            .Where(p => p.NextRunAt != null && p.NextRunAt <= now && p.Enabled && p.Schedule != null)
            .OrderBy(p => p.NextRunAt).Select(p => p.Id).Take(100).ToListAsync(ct);
        var ran = 0;
        foreach (var id in due)
        {
            if (await ClaimAsync(db, id, ct) && await RunClaimedAsync(id, ct))
            {
                ran++;
            }
        }

        return ran;
    }

    private async Task<bool> ClaimAsync(RegistryDbContext db, long id, CancellationToken ct)
    {
        var now = Time.GetUtcNow().UtcDateTime;
        DateTime? until = now + options.Value.ClaimDuration;
        var claimed = await db.RetentionPolicies
            .Where(p => p.Id == id && p.Enabled && p.Schedule != null && p.NextRunAt <= now && (p.ClaimedUntil == null || p.ClaimedUntil < now))
            .ExecuteUpdateAsync(s => s.SetProperty(p => p.ClaimedUntil, until), ct);
        return claimed == 1;
    }

    private async Task<bool> RunClaimedAsync(long id, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
        if (await db.RetentionPolicies.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, ct) is not { Schedule: not null } policy)
        {
            return false; // deleted or made manual since it was claimed
        }

        var succeeded = true;
        try
        {
            await scope.ServiceProvider.GetRequiredService<RetentionRunner>().RunAsync(policy, dryRun: false, new ChangeAuthor(null, null), ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The next run is planned as usual: a failing policy does not run again every minute.
            succeeded = false;
            LogRunFailed(Logger, id, e);
        }

        var finished = Time.GetUtcNow().UtcDateTime;
        DateTime? next = finished + RetentionRules.ScheduleInterval(policy.Schedule!);
        DateTime? last = finished;
        await db.RetentionPolicies.Where(p => p.Id == id).ExecuteUpdateAsync(
            s => s.SetProperty(p => p.LastRunAt, last).SetProperty(p => p.NextRunAt, next).SetProperty(p => p.ClaimedUntil, (DateTime?)null), ct);
        return succeeded;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Scheduled run of retention policy {PolicyId} failed")]
    private static partial void LogRunFailed(ILogger logger, long policyId, Exception exception);
}
