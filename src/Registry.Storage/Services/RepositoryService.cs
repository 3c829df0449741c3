using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Core;
using Registry.Storage.Gc;
using Registry.Storage.Metadata;

namespace Registry.Storage.Services;

/// <summary>A repository as listings show it.</summary>
public sealed record RepositorySummary(string Name, string? Namespace, bool IsPublic, string? Description, DateTime CreatedAt, int TagCount, DateTime? UpdatedAt);

/// <summary>Which repositories a listing may show: everything, or public ones plus those of some namespaces.</summary>
public sealed record RepositoryVisibilityFilter(bool All, IReadOnlyCollection<string> Namespaces, bool IncludePublic);

public enum RepositorySort
{
    Name,

    /// <summary>The repository whose tags changed last first; repositories without tags last.</summary>
    LastPush,
}

/// <summary>Repositories as things with settings: listing, creation ahead of a push, visibility, description, deletion.</summary>
/// <remarks>A repository emptied of its manifests is left out of listings until it holds content again.</remarks>
public sealed class RepositoryService(RegistryDbContext db, TimeProvider time, IOptions<GcOptions> gc)
{
    public const int MaxPageSize = 100;

    public async Task<(IReadOnlyList<RepositorySummary> Items, int Total)> ListAsync(
        RepositoryVisibilityFilter visibility, string? ns, string? query, int page, int pageSize, CancellationToken ct, RepositorySort sort = RepositorySort.Name)
    {
        var repositories = db.Repositories.AsNoTracking().Where(r => r.EmptiedAt == null);
        if (!visibility.All)
        {
            var namespaces = visibility.Namespaces.ToList();
            repositories = repositories.Where(r => (visibility.IncludePublic && r.IsPublic) || (r.Namespace != null && namespaces.Contains(r.Namespace)));
        }

        if (ns is not null)
        {
            repositories = repositories.Where(r => r.Namespace == ns);
        }

        if (!string.IsNullOrWhiteSpace(query))
        {
            var term = query.Trim().ToLowerInvariant();

            // lower() in SQL on both providers; names are lowercase already.
#pragma warning disable CA1862, CA1304, CA1311
            repositories = repositories.Where(r => r.Name.Contains(term) || (r.Description != null && r.Description.ToLower().Contains(term)));
#pragma warning restore CA1862, CA1304, CA1311
        }

        var total = await repositories.CountAsync(ct);
        var ordered = sort == RepositorySort.LastPush
            ? repositories.OrderByDescending(r => db.Tags.Where(t => t.RepositoryId == r.Id).Max(t => (DateTime?)t.UpdatedAt) ?? r.CreatedAt).ThenBy(r => r.Name)
            : repositories.OrderBy(r => r.Name);
        var items = await Summaries(ordered.Skip((page - 1) * pageSize).Take(pageSize)).ToListAsync(ct);
        return (items, total);
    }

    public Task<RepositorySummary?> FindAsync(string name, CancellationToken ct) =>
        Summaries(db.Repositories.AsNoTracking().Where(r => r.Name == name && r.EmptiedAt == null)).FirstOrDefaultAsync(ct);

    /// <returns>False when the repository already exists.</returns>
    public async Task<bool> CreateAsync(string name, bool isPublic, string? description, CancellationToken ct)
    {
        if (await db.Repositories.AnyAsync(r => r.Name == name, ct))
        {
            return false;
        }

        db.Repositories.Add(new RepositoryEntity
        {
            Name = name,
            Namespace = RepositoryName.NamespaceOf(name),
            IsPublic = isPublic,
            Description = description,
            CreatedAt = time.GetUtcNow().UtcDateTime,
        });
        try
        {
            await db.SaveChangesAsync(ct);
            return true;
        }
        catch (DbUpdateException)
        {
            return false; // created by a concurrent push or request
        }
        finally
        {
            db.ChangeTracker.Clear();
        }
    }

    /// <returns>False when there is no such repository.</returns>
    public async Task<bool> UpdateAsync(string name, bool? isPublic, string? description, CancellationToken ct)
    {
        var rows = await db.Repositories.Where(r => r.Name == name).ExecuteUpdateAsync(
            s => s.SetProperty(r => r.IsPublic, r => isPublic ?? r.IsPublic)
                  .SetProperty(r => r.Description, r => description ?? r.Description),
            ct);
        return rows > 0;
    }

    /// <summary>
    /// Deletes the repository with its manifests, tags and blob links; the blobs are queued for collection, which
    /// frees those no other repository uses once the review delay has passed.
    /// </summary>
    public async Task<bool> DeleteAsync(string name, CancellationToken ct)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var ids = await db.Repositories.Where(r => r.Name == name).Select(r => r.Id).ToListAsync(ct);
        await DeleteAsync(db, ids, time.GetUtcNow().UtcDateTime + gc.Value.ReviewDelay, ct);
        await transaction.CommitAsync(ct);
        return ids.Count > 0;
    }

    /// <summary>Deletes repositories in the caller's transaction, queueing their blobs for collection.</summary>
    public static async Task DeleteAsync(RegistryDbContext db, IReadOnlyCollection<long> ids, DateTime reviewAfter, CancellationToken ct)
    {
        await GcReviews.RepositoriesAsync(db, ids, reviewAfter, ct);

        await db.Repositories.Where(r => ids.Contains(r.Id)).ExecuteDeleteAsync(ct);
    }

    private IQueryable<RepositorySummary> Summaries(IQueryable<RepositoryEntity> repositories) =>
        repositories.Select(r => new RepositorySummary(
            r.Name,
            r.Namespace,
            r.IsPublic,
            r.Description,
            r.CreatedAt,
            db.Tags.Count(t => t.RepositoryId == r.Id),
            db.Tags.Where(t => t.RepositoryId == r.Id).Max(t => (DateTime?)t.UpdatedAt)));
}
