using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using Registry.Core;
using Registry.Storage.Metadata;

namespace Registry.Storage.Services;

/// <summary>
/// Idempotent inserts that concurrent pushes race on. <c>INSERT … ON CONFLICT</c> reads the same on
/// SQLite and PostgreSQL, so two pushes of one layer both succeed without a unique-violation retry.
/// </summary>
internal static class MetadataSql
{
    /// <summary>The repository's id, creating it on first use.</summary>
    /// <param name="forManifest">
    /// False when a blob creates it: it stays out of listings (emptied) until a manifest arrives, and garbage
    /// collection removes it if none ever does.
    /// </param>
    public static async Task<long> EnsureRepositoryAsync(RegistryDbContext db, string name, bool isPublic, DateTime now, bool forManifest, CancellationToken ct)
    {
        var ns = RepositoryName.NamespaceOf(name);
        DateTime? emptiedAt = forManifest ? null : now;
        await db.Database.ExecuteSqlAsync(
            $"INSERT INTO repositories (name, namespace, is_public, created_at, emptied_at) VALUES ({name}, {ns}, {isPublic}, {now}, {emptiedAt}) ON CONFLICT (name) DO NOTHING", ct);
        return await db.Repositories.Where(r => r.Name == name).Select(r => r.Id).FirstAsync(ct);
    }

    /// <summary>
    /// Records a blob whose bytes this transaction is about to commit, and holds its row until the transaction ends:
    /// the collector deletes a blob's bytes only while it holds that row, so the two never interleave.
    /// </summary>
    public static Task UpsertBlobAsync(RegistryDbContext db, string digest, long size, DateTime now, CancellationToken ct) =>
        db.Database.ExecuteSqlAsync(
            $"INSERT INTO blobs (digest, size, created_at) VALUES ({digest}, {size}, {now}) ON CONFLICT (digest) DO UPDATE SET size = excluded.size", ct);

    /// <summary>Holds the row of a blob that must already exist (a mount); false when there is none.</summary>
    public static async Task<bool> HoldExistingBlobAsync(RegistryDbContext db, string digest, CancellationToken ct)
    {
        var found = db.Database.IsNpgsql()
            ? await db.Database.SqlQuery<int>($"SELECT 1 AS \"Value\" FROM blobs WHERE digest = {digest} FOR SHARE").ToListAsync(ct)
            : await db.Database.SqlQuery<int>($"SELECT 1 AS \"Value\" FROM blobs WHERE digest = {digest}").ToListAsync(ct);
        return found.Count > 0;
    }

    /// <summary>Links a blob to a repository, or renews the link's protection from collection if it exists.</summary>
    public static Task LinkBlobAsync(RegistryDbContext db, long repositoryId, string digest, DateTime now, CancellationToken ct) =>
        db.Database.ExecuteSqlAsync(
            $"""
            INSERT INTO repository_blobs (repository_id, blob_digest, created_at, touched_at) VALUES ({repositoryId}, {digest}, {now}, {now})
            ON CONFLICT (repository_id, blob_digest) DO UPDATE SET touched_at = excluded.touched_at
            """, ct);

    /// <summary>
    /// Locks blob rows for the rest of the transaction, in digest order (so that two lockers never wait on each
    /// other in a cycle): shared by manifest pushes that refer to them, exclusive for the collector. SQLite needs
    /// nothing here: its write transactions run one at a time.
    /// </summary>
    public static Task LockBlobsAsync(RegistryDbContext db, IReadOnlyCollection<string> digests, bool exclusive, CancellationToken ct)
    {
        if (digests.Count == 0 || !db.Database.IsNpgsql())
        {
            return Task.CompletedTask;
        }

        var array = digests.ToArray();
        return exclusive
            ? db.Database.ExecuteSqlAsync($"SELECT digest FROM blobs WHERE digest = ANY({array}) ORDER BY digest FOR UPDATE", ct)
            : db.Database.ExecuteSqlAsync($"SELECT digest FROM blobs WHERE digest = ANY({array}) ORDER BY digest FOR SHARE", ct);
    }

    /// <summary>Locks manifest rows for the rest of the transaction, as <see cref="LockBlobsAsync"/> does blobs.</summary>
    public static Task LockManifestsAsync(RegistryDbContext db, IReadOnlyCollection<long> ids, bool exclusive, CancellationToken ct)
    {
        if (ids.Count == 0 || !db.Database.IsNpgsql())
        {
            return Task.CompletedTask;
        }

        var array = ids.ToArray();
        return exclusive
            ? db.Database.ExecuteSqlAsync($"SELECT id FROM manifests WHERE id = ANY({array}) ORDER BY id FOR UPDATE", ct)
            : db.Database.ExecuteSqlAsync($"SELECT id FROM manifests WHERE id = ANY({array}) ORDER BY id FOR SHARE", ct);
    }

    /// <summary>
    /// Starts a transaction of the collector, which gives way to clients: on PostgreSQL it waits at most a moment for
    /// a row that a push or a delete holds and then fails with a lock conflict (<see cref="IsLockConflict"/>), to be
    /// tried again later. A collector's transaction therefore never holds up a client for long, and in a deadlock
    /// with one it is always the collector that gives up, well before the server would pick a victim.
    /// </summary>
    public static async Task<IDbContextTransaction> BeginCollectorTransactionAsync(RegistryDbContext db, CancellationToken ct)
    {
        var transaction = await db.Database.BeginTransactionAsync(ct);
        if (db.Database.IsNpgsql())
        {
            await db.Database.ExecuteSqlRawAsync("SET LOCAL lock_timeout = '200ms'", ct);
        }

        return transaction;
    }

    /// <summary>Whether the failure is a lock the transaction could not get (timeout, deadlock, busy database): try again later.</summary>
    public static bool IsLockConflict(Exception exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is PostgresException { SqlState: PostgresErrorCodes.LockNotAvailable or PostgresErrorCodes.DeadlockDetected or PostgresErrorCodes.SerializationFailure }
                or SqliteException { SqliteErrorCode: 5 or 6 })
            {
                return true;
            }
        }

        return false;
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
