using Microsoft.EntityFrameworkCore;
using Registry.Storage.Metadata;

namespace Registry.Storage.Gc;

/// <summary>Removes emptied repositories once nothing of them is left: no manifest, no blob link, no open upload.</summary>
internal static class GcRepositories
{
    public static Task<int> RemoveEmptiedAsync(RegistryDbContext db, IReadOnlyCollection<long> ids, CancellationToken ct) =>
        ids.Count == 0
            ? Task.FromResult(0)
            : Emptied(db).Where(r => ids.Contains(r.Id)).ExecuteDeleteAsync(ct);

    public static IQueryable<RepositoryEntity> Emptied(RegistryDbContext db) =>
        db.Repositories.Where(r => r.EmptiedAt != null
            && !db.Manifests.Any(m => m.RepositoryId == r.Id)
            && !db.RepositoryBlobs.Any(rb => rb.RepositoryId == r.Id)
            && !db.Uploads.Any(u => u.RepositoryName == r.Name));
}
