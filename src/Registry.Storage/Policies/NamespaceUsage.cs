using Microsoft.EntityFrameworkCore;
using Registry.Storage.Metadata;

namespace Registry.Storage.Policies;

/// <summary>How much a repository of a namespace holds, by the counting rule of <see cref="NamespaceUsage"/>.</summary>
public sealed class RepositoryUsage
{
    public required string Name { get; init; }

    public long UsedBytes { get; init; }
}

/// <summary>
/// What a namespace (or a repository) holds, counted from the manifests, not from the bytes on disk: the distinct
/// blobs (configs and layers) its manifests reference, each counted once however many manifests and repositories
/// of the namespace use it, plus the payloads of its distinct manifests. Blobs uploaded but referenced by no
/// manifest do not count; deleting manifests lowers the usage at once, before garbage collection frees any bytes.
/// Every query starts from the repositories of one namespace (indexed) and follows indexed keys from there, so
/// its cost grows with the namespace's own content, not with the registry's.
/// </summary>
public sealed class NamespaceUsage(RegistryDbContext db)
{
    // SCOPE is replaced by a column of repositories (r.namespace or r.name); {0} is the value, as a parameter.
    private const string TotalSql = """
        SELECT CAST(
          COALESCE((SELECT SUM(b.size) FROM (
              SELECT l.digest AS digest FROM repositories r
                JOIN manifests m ON m.repository_id = r.id
                JOIN manifest_layers l ON l.manifest_id = m.id
                WHERE SCOPE = {0}
              UNION
              SELECT m.config_digest FROM repositories r
                JOIN manifests m ON m.repository_id = r.id
                WHERE SCOPE = {0} AND m.config_digest IS NOT NULL
            ) d JOIN blobs b ON b.digest = d.digest), 0)
          + COALESCE((SELECT SUM(p.size) FROM (
              SELECT MAX(length(m.payload)) AS size FROM repositories r
                JOIN manifests m ON m.repository_id = r.id
                WHERE SCOPE = {0}
                GROUP BY m.digest
            ) p), 0) AS BIGINT) AS "Value"
        """;

    private const string PerRepositorySql = """
        SELECT r.name AS "Name", CAST(COALESCE(bl.bytes, 0) + COALESCE(mf.bytes, 0) AS BIGINT) AS "UsedBytes"
        FROM repositories r
        LEFT JOIN (
          SELECT d.repository_id, SUM(b.size) AS bytes FROM (
              SELECT m.repository_id, l.digest FROM repositories r1
                JOIN manifests m ON m.repository_id = r1.id
                JOIN manifest_layers l ON l.manifest_id = m.id
                WHERE r1.namespace = {0}
              UNION
              SELECT m.repository_id, m.config_digest FROM repositories r1
                JOIN manifests m ON m.repository_id = r1.id
                WHERE r1.namespace = {0} AND m.config_digest IS NOT NULL
            ) d JOIN blobs b ON b.digest = d.digest
          GROUP BY d.repository_id
        ) bl ON bl.repository_id = r.id
        LEFT JOIN (
          SELECT m.repository_id, SUM(length(m.payload)) AS bytes FROM repositories r2
            JOIN manifests m ON m.repository_id = r2.id
            WHERE r2.namespace = {0}
            GROUP BY m.repository_id
        ) mf ON mf.repository_id = r.id
        WHERE r.namespace = {0}
        ORDER BY r.name
        """;

    // What manifest {0} holds that no other manifest of namespace {1} does: its new blobs and, unless the namespace
    // has the same manifest elsewhere, its payload.
    private const string AddedSql = """
        SELECT CAST(
          COALESCE((SELECT SUM(b.size) FROM blobs b
            WHERE b.digest IN (
                SELECT l.digest FROM manifest_layers l WHERE l.manifest_id = {0}
                UNION
                SELECT m.config_digest FROM manifests m WHERE m.id = {0} AND m.config_digest IS NOT NULL)
              AND NOT EXISTS (SELECT 1 FROM manifest_layers l2
                JOIN manifests m2 ON m2.id = l2.manifest_id
                JOIN repositories r2 ON r2.id = m2.repository_id
                WHERE l2.digest = b.digest AND m2.id <> {0} AND r2.namespace = {1})
              AND NOT EXISTS (SELECT 1 FROM manifests m3
                JOIN repositories r3 ON r3.id = m3.repository_id
                WHERE m3.config_digest = b.digest AND m3.id <> {0} AND r3.namespace = {1})), 0)
          + COALESCE((SELECT length(m.payload) FROM manifests m
            WHERE m.id = {0}
              AND NOT EXISTS (SELECT 1 FROM manifests m4
                JOIN repositories r4 ON r4.id = m4.repository_id
                WHERE m4.digest = m.digest AND m4.id <> m.id AND r4.namespace = {1})), 0) AS BIGINT) AS "Value"
        """;

    public Task<long> OfNamespaceAsync(string ns, CancellationToken ct) => TotalAsync("r.namespace", ns, ct);

    public Task<long> OfRepositoryAsync(string repository, CancellationToken ct) => TotalAsync("r.name", repository, ct);

    /// <summary>Each repository of the namespace with its own usage (blobs shared between them count in each), by name.</summary>
    public async Task<IReadOnlyList<RepositoryUsage>> OfRepositoriesAsync(string ns, CancellationToken ct) =>
        await db.Database.SqlQueryRaw<RepositoryUsage>(PerRepositorySql, ns).ToListAsync(ct);

    /// <summary>What the manifest adds to its namespace: the part of it that no other manifest of the namespace holds.</summary>
    public async Task<long> AddedByAsync(long manifestId, string ns, CancellationToken ct) =>
        (await db.Database.SqlQueryRaw<long>(AddedSql, manifestId, ns).ToListAsync(ct)).Single();

    private async Task<long> TotalAsync(string column, string value, CancellationToken ct) =>
        (await db.Database.SqlQueryRaw<long>(TotalSql.Replace("SCOPE", column, StringComparison.Ordinal), value).ToListAsync(ct)).Single();
}
