using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Registry.Core;
using Registry.Core.Manifests;
using Registry.Storage.Blobs;
using Registry.Storage.Metadata;

namespace Registry.Storage.Services;

/// <summary>A tag as the repository page lists it.</summary>
public sealed record TagSummary(string Name, string Digest, string MediaType, long Size, DateTime UpdatedAt, string? PushedBy, IReadOnlyList<string> Platforms);

public enum TagSort
{
    Name,
    Newest,
}

/// <summary>A child manifest of an index: its platform, digest and the size of what it refers to.</summary>
public sealed record PlatformManifest(string? Platform, string Digest, string MediaType, long Size);

/// <summary>A layer of an image manifest.</summary>
public sealed record LayerSummary(int Position, string Digest, string MediaType, long Size);

/// <summary>Everything the tag page shows about one manifest; <see cref="Config"/> is null for an index or an unreadable config.</summary>
public sealed record ManifestDetails(
    string Digest,
    string MediaType,
    byte[] Payload,
    bool IsIndex,
    long TotalSize,
    DateTime CreatedAt,
    IReadOnlyList<string> Tags,
    IReadOnlyList<LayerSummary> Layers,
    IReadOnlyList<PlatformManifest> Platforms,
    string? ConfigDigest,
    byte[]? Config,
    IReadOnlyList<Referrer> Referrers);

/// <summary>
/// Read-only views of a repository's content for people (the web UI and the search API): tags with their
/// platforms and sizes, paged and filtered, and one manifest with its layers, config and referrers.
/// </summary>
public sealed class RepositoryContentService(RegistryDbContext db, IBlobReader blobs, ManifestService manifests)
{
    public const int MaxPageSize = 100;

    // A config larger than this is not an image config a person wants to read; the page shows it is missing.
    private const long MaxConfigSize = 4 * 1024 * 1024;

    public async Task<(IReadOnlyList<TagSummary> Items, int Total)> ListTagsAsync(
        string repository, string? filter, TagSort sort, int page, int pageSize, CancellationToken ct)
    {
        var tags = from r in db.Repositories.AsNoTracking()
                   join t in db.Tags.AsNoTracking() on r.Id equals t.RepositoryId
                   join m in db.Manifests.AsNoTracking() on t.ManifestId equals m.Id
                   where r.Name == repository
                   select new { Tag = t, Manifest = m };
        if (!string.IsNullOrWhiteSpace(filter))
        {
            var term = filter.Trim();
            tags = tags.Where(x => x.Tag.Name.Contains(term));
        }

        var total = await tags.CountAsync(ct);
        var ordered = sort == TagSort.Newest
            ? tags.OrderByDescending(x => x.Tag.UpdatedAt).ThenBy(x => x.Tag.Name)
            : tags.OrderBy(x => x.Tag.Name);
        var rows = await ordered
            .Skip((page - 1) * pageSize)
            .Take(pageSize)
            .Select(x => new
            {
                x.Tag.Name,
                x.Manifest.Id,
                x.Manifest.Digest,
                x.Manifest.MediaType,
                x.Manifest.TotalSize,
                x.Tag.UpdatedAt,
                x.Tag.PushedBy,
                x.Manifest.ConfigDigest,
            })
            .ToListAsync(ct);

        var indexIds = rows.Select(r => r.Id).Distinct().ToList();
        var children = await (from mr in db.ManifestReferences.AsNoTracking()
                              join c in db.Manifests.AsNoTracking() on mr.ChildId equals c.Id
                              where indexIds.Contains(mr.ParentId)
                              select new { mr.ParentId, mr.Platform, c.TotalSize }).ToListAsync(ct);
        var items = new List<TagSummary>(rows.Count);
        foreach (var row in rows)
        {
            var mine = children.Where(c => c.ParentId == row.Id).ToList();
            IReadOnlyList<string> platforms = mine.Count > 0
                ? mine.Select(c => c.Platform).OfType<string>().Where(p => p != "unknown/unknown").Distinct().ToList()
                : row.ConfigDigest is { } config && await ReadPlatformAsync(config, ct) is { } platform ? [platform] : [];

            // An index's own size is that of its child manifests; what a pull downloads is the largest platform's.
            var size = mine.Count > 0 ? mine.Max(c => c.TotalSize) : row.TotalSize;
            items.Add(new TagSummary(row.Name, row.Digest, row.MediaType, size, row.UpdatedAt, row.PushedBy, platforms));
        }

        return (items, total);
    }

    /// <summary>The manifest a tag or digest names, with what the tag page shows; null when there is none.</summary>
    public async Task<ManifestDetails?> GetManifestAsync(string repository, ManifestReference reference, CancellationToken ct)
    {
        var stored = await manifests.GetAsync(repository, reference, ct);
        if (stored is null)
        {
            return null;
        }

        var row = await (from r in db.Repositories.AsNoTracking()
                         join m in db.Manifests.AsNoTracking() on r.Id equals m.RepositoryId
                         where r.Name == repository && m.Digest == stored.Digest
                         select new { m.Id, m.RepositoryId, m.TotalSize, m.CreatedAt, m.ConfigDigest }).FirstAsync(ct);
        var tags = await db.Tags.AsNoTracking().Where(t => t.ManifestId == row.Id).OrderBy(t => t.Name).Select(t => t.Name).ToListAsync(ct);
        var layers = await db.ManifestLayers.AsNoTracking().Where(l => l.ManifestId == row.Id).OrderBy(l => l.Position)
            .Select(l => new LayerSummary(l.Position, l.Digest, l.MediaType, l.Size)).ToListAsync(ct);
        var platforms = await (from mr in db.ManifestReferences.AsNoTracking()
                               join c in db.Manifests.AsNoTracking() on mr.ChildId equals c.Id
                               where mr.ParentId == row.Id
                               orderby mr.Platform
                               select new PlatformManifest(mr.Platform, c.Digest, c.MediaType, c.TotalSize)).ToListAsync(ct);
        var config = row.ConfigDigest is { } configDigest ? await ReadSmallBlobAsync(configDigest, ct) : null;
        var referrers = await manifests.ReferrersAsync(repository, Digest.Parse(stored.Digest), artifactType: null, ct);
        return new ManifestDetails(
            stored.Digest, stored.MediaType, stored.Payload, platforms.Count > 0 || layers.Count == 0 && row.ConfigDigest is null,
            row.TotalSize, row.CreatedAt, tags, layers, platforms, row.ConfigDigest, config, referrers);
    }

    private async Task<string?> ReadPlatformAsync(string configDigest, CancellationToken ct)
    {
        if (await ReadSmallBlobAsync(configDigest, ct) is not { } bytes)
        {
            return null;
        }

        try
        {
            using var json = JsonDocument.Parse(bytes);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("os", out var os) || os.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("architecture", out var arch) || arch.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            var variant = root.TryGetProperty("variant", out var v) && v.ValueKind == JsonValueKind.String ? "/" + v.GetString() : "";
            return $"{os.GetString()}/{arch.GetString()}{variant}";
        }
        catch (JsonException)
        {
            return null; // an artifact's config need not be JSON
        }
    }

    /// <summary>A blob from the local store, when it is small; blobs served by redirect (S3) are not fetched.</summary>
    private async Task<byte[]?> ReadSmallBlobAsync(string digest, CancellationToken ct)
    {
        if (!Digest.TryParse(digest, out var parsed, out _) || await blobs.OpenAsync(parsed, ct) is not { } content || content.Size > MaxConfigSize)
        {
            return null;
        }

        switch (content)
        {
            case BlobContent.LocalFile file:
                return await File.ReadAllBytesAsync(file.Path, ct);
            case BlobContent.Content stream:
                await using (stream.Stream)
                {
                    using var buffer = new MemoryStream();
                    await stream.Stream.CopyToAsync(buffer, ct);
                    return buffer.ToArray();
                }

            default:
                return null;
        }
    }
}
