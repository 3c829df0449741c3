using Microsoft.EntityFrameworkCore;
using Registry.Core;
using Registry.Storage.Metadata;

namespace Registry.Storage.Policies;

/// <summary>
/// A manifest push as the policies see it, after its rows were written and before its tag is: the manifest's id,
/// and whether this push inserted it (false when the repository already held it).
/// </summary>
public sealed record PushCheck(long RepositoryId, string Repository, string? Tag, long ManifestId, bool ManifestInserted, string? PushedBy, DateTime Now);

/// <summary>
/// The namespace policies a push or a delete must satisfy: the namespace's quota and its immutable tags. Called by
/// <see cref="Services.ManifestService"/> inside the transaction of the change, so a refusal leaves nothing behind
/// and no concurrent change slips between the check and the write.
/// </summary>
public sealed class ContentPolicies(RegistryDbContext db, NamespaceUsage usage)
{
    /// <exception cref="RegistryException">DENIED: the tag is immutable and points elsewhere, or the quota would be exceeded.</exception>
    public async Task CheckPushAsync(PushCheck push, CancellationToken ct)
    {
        if (RepositoryName.NamespaceOf(push.Repository) is not { } ns)
        {
            return;
        }

        await CheckTagMoveAsync(ns, push, ct);
        await CheckQuotaAsync(ns, push, ct);
    }

    /// <summary>Refuses deleting an immutable tag, or a manifest that carries one.</summary>
    /// <exception cref="RegistryException">DENIED, naming the tag and the rule.</exception>
    public async Task CheckDeleteAsync(long repositoryId, string repository, ManifestReference reference, CancellationToken ct)
    {
        if (RepositoryName.NamespaceOf(repository) is not { } ns)
        {
            return;
        }

        var rules = await RulesForAsync(ns, repository, ct);
        if (rules.Count == 0)
        {
            return;
        }

        if (reference.Tag is { } tag)
        {
            if (Protecting(rules, tag) is { } rule && await db.Tags.AnyAsync(t => t.RepositoryId == repositoryId && t.Name == tag, ct))
            {
                throw Denied($"tag {tag} of {repository} is immutable (rule \"{rule.Text}\"); it cannot be deleted");
            }

            return;
        }

        var digest = reference.Digest!.ToString();
        var tags = await (from t in db.Tags
                          join m in db.Manifests on t.ManifestId equals m.Id
                          where m.RepositoryId == repositoryId && m.Digest == digest
                          orderby t.Name
                          select t.Name).ToListAsync(ct);
        foreach (var name in tags)
        {
            if (Protecting(rules, name) is { } rule)
            {
                throw Denied($"manifest {digest} of {repository} carries the immutable tag {name} (rule \"{rule.Text}\"); it cannot be deleted");
            }
        }
    }

    /// <summary>The immutable-tag rules that apply to a repository: its own and its namespace's.</summary>
    public async Task<IReadOnlyList<TagPattern>> RulesForAsync(string ns, string repository, CancellationToken ct)
    {
        var patterns = await db.ImmutableTagRules.AsNoTracking()
            .Where(r => r.Namespace == ns && (r.Repository == null || r.Repository == repository))
            .OrderBy(r => r.Id)
            .Select(r => r.Pattern)
            .ToListAsync(ct);

        // Stored patterns were validated when created; one that no longer parses protects nothing rather than
        // blocking every push.
        return [.. patterns.Select(p => TagPattern.TryParse(p, out var pattern, out _) ? pattern : null).OfType<TagPattern>()];
    }

    private async Task CheckTagMoveAsync(string ns, PushCheck push, CancellationToken ct)
    {
        if (push.Tag is not { } tag)
        {
            return;
        }

        var rules = await RulesForAsync(ns, push.Repository, ct);
        if (Protecting(rules, tag) is not { } rule)
        {
            return;
        }

        // Create the tag on this manifest if it does not exist yet; if a concurrent push creates it first, this
        // waits for that push and then finds its manifest there, which refuses this one.
        await db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO tags (repository_id, name, manifest_id, updated_at, pushed_by) VALUES ({push.RepositoryId}, {tag}, {push.ManifestId}, {push.Now}, {push.PushedBy})
            ON CONFLICT (repository_id, name) DO NOTHING
            """, ct);
        var current = db.Database.IsNpgsql()
            ? await db.Database.SqlQuery<long>($"SELECT manifest_id AS \"Value\" FROM tags WHERE repository_id = {push.RepositoryId} AND name = {tag} FOR UPDATE").ToListAsync(ct)
            : await db.Tags.Where(t => t.RepositoryId == push.RepositoryId && t.Name == tag).Select(t => t.ManifestId).ToListAsync(ct);
        if (current.Count == 1 && current[0] != push.ManifestId)
        {
            throw Denied($"tag {tag} of {push.Repository} is immutable (rule \"{rule.Text}\"); push a new tag");
        }
    }

    private async Task CheckQuotaAsync(string ns, PushCheck push, CancellationToken ct)
    {
        if (!push.ManifestInserted)
        {
            return; // nothing new: a retag or a repeated push
        }

        // The quota row is locked until the push commits, so concurrent pushes to one namespace are counted one
        // after the other (SQLite runs one writing transaction at a time anyway).
        var limits = db.Database.IsNpgsql()
            ? await db.Database.SqlQuery<long>($"SELECT limit_bytes AS \"Value\" FROM namespace_quotas WHERE namespace = {ns} FOR UPDATE").ToListAsync(ct)
            : await db.NamespaceQuotas.Where(q => q.Namespace == ns).Select(q => q.LimitBytes).ToListAsync(ct);
        if (limits.Count == 0)
        {
            return;
        }

        var limit = limits[0];
        var after = await usage.OfNamespaceAsync(ns, ct);
        if (after <= limit)
        {
            return;
        }

        var added = await usage.AddedByAsync(push.ManifestId, ns, ct);
        if (added == 0)
        {
            return; // everything it references is in the namespace already
        }

        throw Denied(
            $"quota exceeded for namespace {ns}: {ByteSize.Format(after - added)} used of {ByteSize.Format(limit)}, this push adds {ByteSize.Format(added)}");
    }

    private static TagPattern? Protecting(IReadOnlyList<TagPattern> rules, string tag) => rules.FirstOrDefault(r => r.Matches(tag));

    /// <summary>DENIED with the reason as its message, which is what docker and other clients print.</summary>
    private static RegistryException Denied(string message) => new(ErrorCode.Denied with { Message = message });
}
