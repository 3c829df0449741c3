using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Registry.Storage.Metadata;

namespace Registry.Storage.Retention;

/// <summary>The audit actions of retention policies.</summary>
public static class RetentionAuditActions
{
    public const string PolicyCreate = "retention-policy.create";
    public const string PolicyUpdate = "retention-policy.update";
    public const string PolicyDelete = "retention-policy.delete";
    public const string PolicyRun = "retention-policy.run";
}

/// <summary>
/// Retention policies of namespaces and the reports of their runs. Callers check who may manage a namespace; this
/// service checks that a policy is valid and belongs to the namespace named.
/// </summary>
public sealed class RetentionPolicyService(RegistryDbContext db, TimeProvider time)
{
    /// <summary>Reports of real runs kept per policy; older ones are removed as new ones are stored.</summary>
    public const int KeptRuns = 50;

    public static readonly JsonSerializerOptions ReportJson = new(JsonSerializerDefaults.Web);

    public Task<List<RetentionPolicyEntity>> ListAsync(string ns, CancellationToken ct) =>
        db.RetentionPolicies.AsNoTracking().Where(p => p.Namespace == ns).OrderBy(p => p.Id).ToListAsync(ct);

    public Task<RetentionPolicyEntity?> FindAsync(string ns, long id, CancellationToken ct) =>
        db.RetentionPolicies.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id && p.Namespace == ns, ct);

    /// <exception cref="ArgumentException">The input is no valid policy of the namespace (see <see cref="RetentionRules.Validate"/>).</exception>
    public async Task<RetentionPolicyEntity> CreateAsync(string ns, RetentionPolicyInput input, string? actor, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var policy = new RetentionPolicyEntity { Namespace = ns, TagPattern = "*", CreatedBy = actor, CreatedAt = now };
        Apply(policy, ns, input, now);
        db.RetentionPolicies.Add(policy);
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        return policy;
    }

    /// <summary>Replaces a policy's rules; null when the namespace has no such policy.</summary>
    public async Task<RetentionPolicyEntity?> UpdateAsync(string ns, long id, RetentionPolicyInput input, CancellationToken ct)
    {
        var policy = await db.RetentionPolicies.FirstOrDefaultAsync(p => p.Id == id && p.Namespace == ns, ct);
        if (policy is null)
        {
            return null;
        }

        Apply(policy, ns, input, time.GetUtcNow().UtcDateTime);
        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        return policy;
    }

    /// <summary>Deletes a policy with its stored runs.</summary>
    public async Task<bool> DeleteAsync(string ns, long id, CancellationToken ct)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        await db.RetentionRuns.Where(r => r.PolicyId == id && db.RetentionPolicies.Any(p => p.Id == id && p.Namespace == ns)).ExecuteDeleteAsync(ct);
        var rows = await db.RetentionPolicies.Where(p => p.Id == id && p.Namespace == ns).ExecuteDeleteAsync(ct);
        await transaction.CommitAsync(ct);
        return rows > 0;
    }

    /// <summary>The stored reports of a policy's real runs, newest first.</summary>
    public async Task<List<RetentionReport>> RunsAsync(long policyId, int limit, CancellationToken ct)
    {
        var rows = await db.RetentionRuns.AsNoTracking().Where(r => r.PolicyId == policyId)
            .OrderByDescending(r => r.Id).Take(Math.Clamp(limit, 1, KeptRuns)).Select(r => r.ReportJson).ToListAsync(ct);
        return rows.Select(json => JsonSerializer.Deserialize<RetentionReport>(json, ReportJson)!).ToList();
    }

    /// <summary>Audits a run; a real run's report is also stored, and the oldest past <see cref="KeptRuns"/> removed.</summary>
    public async Task RecordRunAsync(RetentionPolicyEntity policy, RetentionReport report, ChangeAuthor? author, CancellationToken ct)
    {
        var verb = report.DryRun ? "dry run: would delete" : "deleted";
        db.AuditEvents.Add(new AuditEventEntity
        {
            Time = report.FinishedAt,
            Actor = author?.User,
            ClientAddress = author?.ClientAddress,
            Action = RetentionAuditActions.PolicyRun,
            Target = Target(policy.Namespace, policy.Id),
            Success = true,
            Detail = $"{(author?.User is null ? "scheduled; " : string.Empty)}{verb} {report.DeletedTagCount} tags and {report.DeletedManifestCount} manifests, kept {report.Kept} tags",
        });
        if (!report.DryRun)
        {
            db.RetentionRuns.Add(new RetentionRunEntity
            {
                PolicyId = policy.Id,
                Actor = author?.User,
                StartedAt = report.StartedAt,
                FinishedAt = report.FinishedAt,
                DeletedTags = report.DeletedTagCount,
                DeletedManifests = report.DeletedManifestCount,
                ReportJson = JsonSerializer.Serialize(report, ReportJson),
            });
        }

        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
        if (!report.DryRun)
        {
            var oldestKept = await db.RetentionRuns.Where(r => r.PolicyId == policy.Id).OrderByDescending(r => r.Id)
                .Skip(KeptRuns - 1).Select(r => (long?)r.Id).FirstOrDefaultAsync(ct);
            if (oldestKept is { } keep)
            {
                await db.RetentionRuns.Where(r => r.PolicyId == policy.Id && r.Id < keep).ExecuteDeleteAsync(ct);
            }
        }
    }

    /// <summary>How audit entries name a policy.</summary>
    public static string Target(string ns, long id) => $"{ns}/retention-policies/{id}";

    private static void Apply(RetentionPolicyEntity policy, string ns, RetentionPolicyInput submitted, DateTime now)
    {
        var input = RetentionRules.Normalize(submitted);
        if (RetentionRules.Validate(ns, input) is { } error)
        {
            throw new ArgumentException(error, nameof(submitted));
        }

        policy.Repository = input.Repository;
        policy.TagPattern = input.TagPattern ?? "*";
        policy.KeepMostRecent = input.KeepMostRecent;
        policy.KeepYoungerThan = input.KeepYoungerThan;
        policy.KeepPulledWithin = input.KeepPulledWithin;
        policy.UntaggedOlderThan = input.UntaggedOlderThan;
        policy.Schedule = input.Schedule;
        policy.Enabled = input.Enabled ?? true;
        policy.UpdatedAt = now;
        policy.NextRunAt = policy.Schedule is { } schedule && policy.Enabled
            ? (policy.LastRunAt ?? now) + RetentionRules.ScheduleInterval(schedule)
            : null;
    }
}
