using Microsoft.EntityFrameworkCore;
using Registry.Core;
using Registry.Storage.Gc;
using Registry.Storage.Metadata;
using Registry.Storage.Webhooks;

namespace Registry.Storage.Services;

public sealed partial class ManifestService
{
    /// <summary>How many levels of referrers (a signature of an SBOM of an image, …) a delete follows.</summary>
    private const int MaxReferrerDepth = 8;

    /// <summary>
    /// Deletes a tag (the manifest stays) or a manifest by digest, with every tag on it and with its referrers (the
    /// manifests whose subject it is, and theirs). A manifest that an index of the repository lists is not deleted:
    /// the index, and every tag on it, would point at nothing. What the deleted manifests used is queued for
    /// collection; a repository left without manifests leaves the listings.
    /// </summary>
    /// <param name="author">When given, the delete is audited in the same transaction.</param>
    /// <exception cref="RegistryException">An index still lists the manifest (<see cref="ErrorCode.StillReferenced"/>).</exception>
    public async Task<bool> DeleteAsync(string repository, ManifestReference reference, ChangeAuthor? author, CancellationToken ct)
    {
        var repositoryId = await db.Repositories.Where(r => r.Name == repository).Select(r => (long?)r.Id).FirstOrDefaultAsync(ct);
        if (repositoryId is null)
        {
            return false;
        }

        var now = time.GetUtcNow().UtcDateTime;
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        await policies.CheckDeleteAsync(repositoryId.Value, repository, reference, ct);
        int rows;
        if (reference.Tag is { } tag)
        {
            var manifestId = await db.Tags.Where(t => t.RepositoryId == repositoryId && t.Name == tag).Select(t => (long?)t.ManifestId).FirstOrDefaultAsync(ct);
            rows = await db.Tags.Where(t => t.RepositoryId == repositoryId && t.Name == tag).ExecuteDeleteAsync(ct);
            if (rows > 0 && manifestId is { } untagged)
            {
                await GcReviews.ManifestAsync(db, untagged, now + gc.Value.ReviewDelay, ct);
            }
        }
        else
        {
            rows = await DeleteByDigestAsync(repository, repositoryId.Value, reference.Digest!.ToString(), now, ct);
        }

        if (rows > 0)
        {
            await AuditAsync(author, AuditActions.ManifestDelete, repository, reference, detail: null, now, ct);
            await WebhookOutbox.RecordAsync(db, new WebhookEvent(WebhookEventTypes.Delete, repository, reference.Tag, reference.Digest?.ToString(), null, author?.User, now), ct);
            LogDeleted(logger, repository, reference.ToString());
        }

        await transaction.CommitAsync(ct);
        return rows > 0;
    }

    private async Task<int> DeleteByDigestAsync(string repository, long repositoryId, string digest, DateTime now, CancellationToken ct)
    {
        var id = await db.Manifests.Where(m => m.RepositoryId == repositoryId && m.Digest == digest).Select(m => (long?)m.Id).FirstOrDefaultAsync(ct);
        if (id is null)
        {
            return 0;
        }

        await MetadataSql.LockManifestsAsync(db, [id.Value], exclusive: true, ct);
        await RefuseIfListedAsync(repository, repositoryId, digest, ct);

        var doomed = await WithReferrersAsync(repositoryId, id.Value, digest, ct);
        await GcReviews.ContentOfAsync(db, doomed, now + gc.Value.ReviewDelay, ct);

        // Tags, layers, index entries and queued reviews of these manifests go with them.
        var rows = await db.Manifests.Where(m => doomed.Contains(m.Id)).ExecuteDeleteAsync(ct);
        await GcReviews.MarkEmptiedAsync(db, repositoryId, now, ct);
        return rows;
    }

    /// <summary>
    /// The manifest and, level by level, the manifests whose subject is one of those found. A referrer that an index
    /// lists stays (the index needs it).
    /// </summary>
    private async Task<List<long>> WithReferrersAsync(long repositoryId, long id, string digest, CancellationToken ct)
    {
        var all = new List<long> { id };
        var subjects = new List<string> { digest };
        for (var depth = 0; depth < MaxReferrerDepth && subjects.Count > 0; depth++)
        {
            var level = await db.Manifests
                .Where(m => m.RepositoryId == repositoryId && m.SubjectDigest != null && subjects.Contains(m.SubjectDigest)
                    && !all.Contains(m.Id) && !db.ManifestReferences.Any(r => r.ChildId == m.Id))
                .Select(m => new { m.Id, m.Digest })
                .ToListAsync(ct);
            all.AddRange(level.Select(m => m.Id));
            subjects = level.Select(m => m.Digest).ToList();
        }

        await MetadataSql.LockManifestsAsync(db, all, exclusive: true, ct);
        return all;
    }

    private async Task RefuseIfListedAsync(string repository, long repositoryId, string digest, CancellationToken ct)
    {
        var index = await (from child in db.Manifests
                           join r in db.ManifestReferences on child.Id equals r.ChildId
                           join parent in db.Manifests on r.ParentId equals parent.Id
                           where child.RepositoryId == repositoryId && child.Digest == digest
                           orderby parent.Id
                           select new { parent.Id, parent.Digest }).FirstOrDefaultAsync(ct);
        if (index is null)
        {
            return;
        }

        var tags = await db.Tags.Where(t => t.ManifestId == index.Id).OrderBy(t => t.Name).Select(t => t.Name).Take(5).ToListAsync(ct);
        var tagged = tags.Count > 0 ? $" (tagged {string.Join(", ", tags)})" : string.Empty;
        throw new RegistryException(
            ErrorCode.StillReferenced,
            $"manifest {digest} is listed by index {index.Digest}{tagged} in {repository}; delete the index first");
    }
}
