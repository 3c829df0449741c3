using Microsoft.EntityFrameworkCore;
using Registry.Storage.Metadata;

namespace Registry.Storage.Retention;

/// <summary>What a run of a policy deletes in one repository, in the order it must be deleted.</summary>
public sealed record RepositoryPlan(
    string Repository,
    IReadOnlyList<PlannedTag> Tags,
    IReadOnlyList<PlannedManifest> Manifests,
    int Kept);

/// <summary>A tag to delete, as it was when planned: a tag moved or re-pushed since is left alone.</summary>
public sealed record PlannedTag(string Tag, long ManifestId, string Digest, DateTime UpdatedAt);

/// <summary>A manifest to delete by digest, with the referrers found that go with it.</summary>
public sealed record PlannedManifest(long Id, string Digest, IReadOnlyList<string> Referrers);

/// <summary>
/// Decides, from the metadata store as it is now, what a policy deletes. Repository by repository, so memory stays
/// bounded by the largest repository, never by the namespace:
/// <list type="bullet">
/// <item>Among the tags matching the pattern (tags of referrers excepted: those follow their subject), a tag is kept
/// only if every rule that is set holds: one of the N most recently pushed, pushed within T, pulled within T'
/// (never pulled counts as pulled when pushed). The other matching tags are deleted.</item>
/// <item>A manifest whose last tags go, and that no index lists, is deleted by digest; so are the child manifests of a
/// deleted index that nothing else tags or lists.</item>
/// <item>With untaggedOlderThan, untagged manifests created before now − T that no index lists and that are not
/// referrers of a manifest still there are deleted by digest.</item>
/// </list>
/// </summary>
public sealed class RetentionPlanner(RegistryDbContext db)
{
    /// <summary>The repositories a policy covers, in name order.</summary>
    public async Task<IReadOnlyList<(long Id, string Name)>> RepositoriesAsync(RetentionRuleSet rules, CancellationToken ct)
    {
        var query = db.Repositories.AsNoTracking().Where(r => r.Namespace == rules.Namespace);
        if (rules.Repository is { } name)
        {
            query = query.Where(r => r.Name == name);
        }

        var rows = await query.OrderBy(r => r.Name).Select(r => new { r.Id, r.Name }).ToListAsync(ct);
        return rows.Select(r => (r.Id, r.Name)).ToList();
    }

    public async Task<RepositoryPlan> PlanAsync(RetentionRuleSet rules, long repositoryId, string repository, DateTime now, CancellationToken ct)
    {
        var tags = await (from t in db.Tags.AsNoTracking()
                          join m in db.Manifests.AsNoTracking() on t.ManifestId equals m.Id
                          where t.RepositoryId == repositoryId
                          select new { t.Name, t.ManifestId, m.Digest, t.UpdatedAt, m.LastPulledAt, IsReferrer = m.SubjectDigest != null })
            .ToListAsync(ct);

        var deletedTags = new List<PlannedTag>();
        var kept = 0;
        if (rules.HasTagRules)
        {
            var matching = tags
                .Where(t => !t.IsReferrer && rules.Pattern.IsMatch(t.Name))
                .OrderByDescending(t => t.UpdatedAt).ThenBy(t => t.Name, StringComparer.Ordinal)
                .ToList();
            for (var rank = 0; rank < matching.Count; rank++)
            {
                var t = matching[rank];
                var lastPulled = t.LastPulledAt is { } pulled && pulled > t.UpdatedAt ? pulled : t.UpdatedAt;
                var keep = (rules.KeepMostRecent is not { } n || rank < n)
                    && (rules.KeepYoungerThan is not { } young || t.UpdatedAt > now - young)
                    && (rules.KeepPulledWithin is not { } within || lastPulled > now - within);
                if (keep)
                {
                    kept++;
                }
                else
                {
                    deletedTags.Add(new PlannedTag(t.Name, t.ManifestId, t.Digest, t.UpdatedAt));
                }
            }
        }

        // Manifests left without a tag by this run, then those untagged already and old enough.
        var deletedTagNames = deletedTags.Select(t => t.Tag).ToHashSet(StringComparer.Ordinal);
        var stillTagged = tags.Where(t => !deletedTagNames.Contains(t.Name)).Select(t => t.ManifestId).ToHashSet();
        var candidates = deletedTags.Select(t => t.ManifestId).Where(id => !stillTagged.Contains(id)).Distinct().ToList();
        var listed = await ListedAsync(candidates, ct);
        var roots = candidates.Where(id => !listed.Contains(id)).ToList();
        if (rules.UntaggedOlderThan is { } age)
        {
            roots.AddRange(await UntaggedAsync(repositoryId, now - age, ct));
        }

        var manifests = await CloseOverChildrenAsync(roots.Distinct().ToList(), stillTagged, ct);
        return new RepositoryPlan(repository, deletedTags, manifests, kept);
    }

    /// <summary>Untagged manifests created before the cutoff that no index lists and that are no referrer of a manifest still there.</summary>
    private async Task<List<long>> UntaggedAsync(long repositoryId, DateTime cutoff, CancellationToken ct) =>
        await db.Manifests.AsNoTracking()
            .Where(m => m.RepositoryId == repositoryId && m.CreatedAt < cutoff
                && !db.Tags.Any(t => t.ManifestId == m.Id)
                && !db.ManifestReferences.Any(r => r.ChildId == m.Id)
                && (m.SubjectDigest == null || !db.Manifests.Any(s => s.RepositoryId == repositoryId && s.Digest == m.SubjectDigest)))
            .OrderBy(m => m.Id)
            .Select(m => m.Id)
            .ToListAsync(ct);

    private async Task<HashSet<long>> ListedAsync(List<long> ids, CancellationToken ct) =>
        ids.Count == 0
            ? []
            : (await db.ManifestReferences.AsNoTracking().Where(r => ids.Contains(r.ChildId)).Select(r => r.ChildId).Distinct().ToListAsync(ct)).ToHashSet();

    /// <summary>
    /// The manifests to delete in order: each root, then the children of deleted indexes that keep no tag and that
    /// only deleted indexes list (an index goes before its children: a listed manifest cannot be deleted).
    /// Referrers of each are looked up for the report; deleting the subject removes them.
    /// </summary>
    private async Task<List<PlannedManifest>> CloseOverChildrenAsync(List<long> roots, HashSet<long> stillTagged, CancellationToken ct)
    {
        var order = new List<long>();
        var deleted = new HashSet<long>();
        var queue = new Queue<long>(roots);
        while (queue.Count > 0)
        {
            var id = queue.Dequeue();
            if (!deleted.Add(id))
            {
                continue;
            }

            order.Add(id);
            var children = await db.ManifestReferences.AsNoTracking().Where(r => r.ParentId == id).Select(r => r.ChildId).ToListAsync(ct);
            foreach (var child in children.Where(c => !deleted.Contains(c) && !stillTagged.Contains(c)))
            {
                var parents = await db.ManifestReferences.AsNoTracking().Where(r => r.ChildId == child).Select(r => r.ParentId).ToListAsync(ct);
                if (parents.All(deleted.Contains))
                {
                    queue.Enqueue(child);
                }
            }
        }

        var rows = await db.Manifests.AsNoTracking().Where(m => order.Contains(m.Id)).Select(m => new { m.Id, m.RepositoryId, m.Digest }).ToListAsync(ct);
        var byId = rows.ToDictionary(r => r.Id);
        var planned = new List<PlannedManifest>(order.Count);
        foreach (var id in order.Where(byId.ContainsKey))
        {
            var row = byId[id];
            planned.Add(new PlannedManifest(id, row.Digest, await ReferrersAsync(row.RepositoryId, row.Digest, ct)));
        }

        return planned;
    }

    /// <summary>The referrers of a manifest and theirs in turn (a signature of an SBOM), bounded in depth.</summary>
    private async Task<List<string>> ReferrersAsync(long repositoryId, string digest, CancellationToken ct)
    {
        var found = new List<string>();
        var level = new List<string> { digest };
        for (var depth = 0; depth < 8 && level.Count > 0; depth++)
        {
            var subjects = level;
            level = await db.Manifests.AsNoTracking()
                .Where(m => m.RepositoryId == repositoryId && m.SubjectDigest != null && subjects.Contains(m.SubjectDigest))
                .Select(m => m.Digest).ToListAsync(ct);
            level = level.Where(d => !found.Contains(d) && d != digest).ToList();
            found.AddRange(level);
        }

        return found;
    }
}
