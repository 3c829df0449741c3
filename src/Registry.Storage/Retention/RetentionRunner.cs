using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Logging;
using Registry.Core;
using Registry.Storage.Metadata;
using Registry.Storage.Services;

namespace Registry.Storage.Retention;

/// <summary>
/// Runs a policy: plans each repository (<see cref="RetentionPlanner"/>) and, unless it is a dry run, deletes through
/// <see cref="ManifestService.DeleteAsync"/> — tags by name, manifests by digest — so deletes are audited and the
/// garbage collector frees the bytes later. A dry run reports the same plan and deletes nothing.
/// </summary>
public sealed partial class RetentionRunner(
    RegistryDbContext db, RetentionPlanner planner, ManifestService manifests, RetentionPolicyService policies, TimeProvider time, ILogger<RetentionRunner> logger)
{
    public async Task<RetentionReport> RunAsync(RetentionPolicyEntity policy, bool dryRun, ChangeAuthor? author, CancellationToken ct)
    {
        var startedAt = time.GetUtcNow().UtcDateTime;
        var rules = RetentionRuleSet.Of(policy);
        var repositories = await planner.RepositoriesAsync(rules, ct);
        var tags = new List<DeletedTag>();
        var deleted = new List<DeletedManifest>();
        var kept = 0;
        foreach (var (repositoryId, repository) in repositories)
        {
            var plan = await planner.PlanAsync(rules, repositoryId, repository, startedAt, ct);
            kept += plan.Kept;
            if (dryRun)
            {
                tags.AddRange(plan.Tags.Select(t => new DeletedTag(repository, t.Tag, t.Digest)));
                foreach (var m in plan.Manifests)
                {
                    deleted.Add(new DeletedManifest(repository, m.Digest));
                    deleted.AddRange(m.Referrers.Select(r => new DeletedManifest(repository, r, m.Digest)));
                }
            }
            else
            {
                await ExecuteAsync(repositoryId, plan, author, tags, deleted, ct);
            }
        }

        var report = RetentionReport.Create(policy.Id, dryRun, startedAt, time.GetUtcNow().UtcDateTime, repositories.Count, tags, deleted, kept);
        await policies.RecordRunAsync(policy, report, author, ct);
        LogRun(logger, policy.Id, policy.Namespace, dryRun, tags.Count, deleted.Count);
        return report;
    }

    private async Task ExecuteAsync(long repositoryId, RepositoryPlan plan, ChangeAuthor? author, List<DeletedTag> tags, List<DeletedManifest> deleted, CancellationToken ct)
    {
        var repository = plan.Repository;
        foreach (var tag in plan.Tags)
        {
            // A tag pushed again since the plan is not the tag the policy judged.
            var unchanged = await db.Tags.AnyAsync(
                t => t.RepositoryId == repositoryId && t.Name == tag.Tag && t.ManifestId == tag.ManifestId && t.UpdatedAt == tag.UpdatedAt, ct);
            if (unchanged && await manifests.DeleteAsync(repository, ManifestReference.ForTag(tag.Tag), author, ct))
            {
                tags.Add(new DeletedTag(repository, tag.Tag, tag.Digest));
            }
        }

        foreach (var manifest in plan.Manifests)
        {
            // Tagged or listed since the plan: it is in use again.
            var unused = !await db.Tags.AnyAsync(t => t.ManifestId == manifest.Id, ct)
                && !await db.ManifestReferences.AnyAsync(r => r.ChildId == manifest.Id, ct);
            if (!unused || !await TryDeleteAsync(repository, manifest.Digest, author, ct))
            {
                continue;
            }

            // Deleting by digest removes the manifest's referrers with it, in the same transaction.
            deleted.Add(new DeletedManifest(repository, manifest.Digest));
            deleted.AddRange(manifest.Referrers.Select(referrer => new DeletedManifest(repository, referrer, manifest.Digest)));
        }
    }

    private async Task<bool> TryDeleteAsync(string repository, string digest, ChangeAuthor? author, CancellationToken ct)
    {
        try
        {
            return await manifests.DeleteAsync(repository, ManifestReference.ForDigest(Digest.Parse(digest)), author, ct);
        }
        catch (RegistryException e) when (e.Error == ErrorCode.StillReferenced)
        {
            return false; // an index pushed since lists it
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Retention policy {PolicyId} of {Namespace} ran (dry run: {DryRun}): {Tags} tags, {Manifests} manifests")]
    private static partial void LogRun(ILogger logger, long policyId, string @namespace, bool dryRun, int tags, int manifests);
}
