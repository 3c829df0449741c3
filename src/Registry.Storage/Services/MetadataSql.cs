using Microsoft.EntityFrameworkCore;
using Registry.Core;
using Registry.Storage.Metadata;

namespace Registry.Storage.Services;

/// <summary>
/// Idempotent inserts that concurrent pushes race on. <c>INSERT … ON CONFLICT</c> reads the same on
/// SQLite and PostgreSQL, so two pushes of one layer both succeed without a unique-violation retry.
/// </summary>
internal static class MetadataSql
{
    public static async Task<long> EnsureRepositoryAsync(RegistryDbContext db, string name, bool isPublic, DateTime now, CancellationToken ct)
    {
        var ns = RepositoryName.NamespaceOf(name);
        await db.Database.ExecuteSqlAsync(
            $"INSERT INTO repositories (name, namespace, is_public, created_at) VALUES ({name}, {ns}, {isPublic}, {now}) ON CONFLICT (name) DO NOTHING", ct);
        return await db.Repositories.Where(r => r.Name == name).Select(r => r.Id).FirstAsync(ct);
    }

    public static async Task LinkBlobAsync(RegistryDbContext db, long repositoryId, string digest, long size, DateTime now, CancellationToken ct)
    {
        await db.Database.ExecuteSqlAsync(
            $"INSERT INTO blobs (digest, size, created_at) VALUES ({digest}, {size}, {now}) ON CONFLICT (digest) DO NOTHING", ct);
        await db.Database.ExecuteSqlAsync(
            $"INSERT INTO repository_blobs (repository_id, blob_digest, created_at) VALUES ({repositoryId}, {digest}, {now}) ON CONFLICT (repository_id, blob_digest) DO NOTHING", ct);
    }

    /// <returns>True when this call inserted the row.</returns>
    public static async Task<bool> InsertManifestAsync(RegistryDbContext db, ManifestEntity m, CancellationToken ct)
    {
        var rows = await db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO manifests (repository_id, digest, media_type, artifact_type, payload, config_digest, config_media_type, total_size, subject_digest, annotations_json, created_at)
            VALUES ({m.RepositoryId}, {m.Digest}, {m.MediaType}, {m.ArtifactType}, {m.Payload}, {m.ConfigDigest}, {m.ConfigMediaType}, {m.TotalSize}, {m.SubjectDigest}, {m.AnnotationsJson}, {m.CreatedAt})
            ON CONFLICT (repository_id, digest) DO NOTHING
            """, ct);
        return rows == 1;
    }

    public static Task UpsertTagAsync(RegistryDbContext db, long repositoryId, string tag, long manifestId, string? pushedBy, DateTime now, CancellationToken ct) =>
        db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO tags (repository_id, name, manifest_id, updated_at, pushed_by) VALUES ({repositoryId}, {tag}, {manifestId}, {now}, {pushedBy})
            ON CONFLICT (repository_id, name) DO UPDATE SET manifest_id = excluded.manifest_id, updated_at = excluded.updated_at, pushed_by = excluded.pushed_by
            """, ct);
}
