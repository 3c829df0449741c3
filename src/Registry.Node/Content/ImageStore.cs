using System.Text.Json;
using System.Text.Json.Serialization;
using Registry.Core;
using Registry.Core.Manifests;
using Registry.Node.Client;

namespace Registry.Node.Content;

/// <summary>A pulled image: what its reference resolved to when it was pulled.</summary>
/// <param name="Reference">The normalised reference it was pulled by (<see cref="ImageReference.ToString"/>).</param>
/// <param name="Digest">The digest the reference resolved to: the index's for a multi-platform image, else the manifest's.</param>
/// <param name="ManifestDigest">The chosen platform's image manifest.</param>
/// <param name="ConfigDigest">The config blob, docker's "image id".</param>
/// <param name="Size">Config plus compressed layers, in bytes.</param>
public sealed record ImageRecord(
    string Reference, Digest Digest, Digest ManifestDigest, Digest ConfigDigest, string Platform, long Size, DateTimeOffset PulledAt)
{
    /// <summary>The image's snapshots by chain id, bottom layer first (the reverse of overlayfs' lowerdir order); empty when not unpacked.</summary>
    public IReadOnlyList<Digest> ChainIds { get; init; } = [];

    // A record compares its lists by reference; an image read back from images.json must still equal the one written.
    public bool Equals(ImageRecord? other) =>
        other is not null && Reference == other.Reference && Digest == other.Digest && ManifestDigest == other.ManifestDigest
        && ConfigDigest == other.ConfigDigest && Platform == other.Platform && Size == other.Size && PulledAt == other.PulledAt
        && ChainIds.SequenceEqual(other.ChainIds);

    public override int GetHashCode() => HashCode.Combine(Reference, Digest, ManifestDigest, ConfigDigest, Platform, Size, PulledAt, ChainIds.Count);
}

/// <summary>What a prune removed.</summary>
public sealed record PruneResult(IReadOnlyList<Digest> Removed, long BytesFreed);

/// <summary>
/// The image index of a <see cref="ContentStore"/>: <c>images.json</c>, reference → manifest
/// digest. It is small and rewritten whole, atomically (temp file + rename), under an exclusive
/// lock file so that concurrent pulls, rmi and prune (threads or processes) do not lose updates.
/// </summary>
public sealed class ImageStore
{
    /// <summary>Blobs younger than this survive a prune: a pull in progress may be about to reference them.</summary>
    public static readonly TimeSpan DefaultPruneGracePeriod = TimeSpan.FromHours(1);

    private static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(30);

    private readonly ContentStore _content;
    private readonly string _indexPath;
    private readonly string _lockPath;

    public ImageStore(ContentStore content)
    {
        ArgumentNullException.ThrowIfNull(content);
        _content = content;
        _indexPath = Path.Combine(content.Root, "images.json");
        _lockPath = Path.Combine(content.Root, "images.lock");
    }

    public ContentStore Content => _content;

    public async Task<IReadOnlyList<ImageRecord>> ListAsync(CancellationToken cancellationToken = default)
    {
        using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        return Read();
    }

    public async Task<ImageRecord?> FindAsync(ImageReference reference, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        var key = reference.ToString();
        return (await ListAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(i => i.Reference == key);
    }

    /// <summary>Adds or replaces the record for its reference (a tag pulled again may point elsewhere now).</summary>
    public async Task AddAsync(ImageRecord image, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        var images = Read().Where(i => i.Reference != image.Reference).Append(image).OrderBy(i => i.Reference, StringComparer.Ordinal).ToList();
        Write(images);
    }

    /// <summary>Forgets an image (<c>rmi</c>); its blobs stay until <see cref="PruneAsync"/>. Returns the removed record, or null.</summary>
    public async Task<ImageRecord?> RemoveAsync(ImageReference reference, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        var images = Read().ToList();
        var key = reference.ToString();
        var removed = images.FirstOrDefault(i => i.Reference == key);
        if (removed is not null)
        {
            images.Remove(removed);
            Write(images);
        }

        return removed;
    }

    /// <summary>
    /// Deletes every blob no image references (through its index, manifest, config and layers),
    /// and abandoned partial downloads, if older than <paramref name="gracePeriod"/>.
    /// </summary>
    public async Task<PruneResult> PruneAsync(TimeSpan? gracePeriod = null, CancellationToken cancellationToken = default)
    {
        using var held = await LockAsync(cancellationToken).ConfigureAwait(false);
        var keep = new HashSet<Digest>();
        foreach (var image in Read())
        {
            keep.Add(image.Digest);
            keep.Add(image.ManifestDigest);
            keep.Add(image.ConfigDigest);
            foreach (var layer in await LayersOfAsync(image.ManifestDigest, cancellationToken).ConfigureAwait(false))
            {
                keep.Add(layer);
            }
        }

        var cutoff = _content.Time.GetUtcNow().UtcDateTime - (gracePeriod ?? DefaultPruneGracePeriod);
        var removed = new List<Digest>();
        long freed = 0;
        foreach (var (digest, size) in _content.ListBlobs().ToList())
        {
            var path = _content.BlobPath(digest);
            if (!keep.Contains(digest) && File.GetLastWriteTimeUtc(path) <= cutoff && _content.Delete(digest))
            {
                removed.Add(digest);
                freed += size;
            }
        }

        freed += DeleteAbandonedPartials(cutoff);
        return new PruneResult(removed, freed);
    }

    private async Task<IEnumerable<Digest>> LayersOfAsync(Digest manifestDigest, CancellationToken cancellationToken)
    {
        if (!_content.Contains(manifestDigest))
        {
            return [];
        }

        var bytes = await _content.ReadAllAsync(manifestDigest, cancellationToken).ConfigureAwait(false);
        var parsed = ManifestParser.Parse(bytes, null);
        return parsed.Layers.Select(l => l.Digest);
    }

    private long DeleteAbandonedPartials(DateTime cutoff)
    {
        long freed = 0;
        var blobs = Path.Combine(_content.Root, "blobs");
        if (!Directory.Exists(blobs))
        {
            return 0;
        }

        foreach (var partial in Directory.EnumerateFiles(blobs, "*" + ContentStore.PartialSuffix, SearchOption.AllDirectories))
        {
            if (File.GetLastWriteTimeUtc(partial) > cutoff)
            {
                continue;
            }

            try
            {
                // Only a partial file no download holds: its lock is free.
                long length;
                using (var file = new FileStream(partial, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                {
                    length = file.Length;
                }

                File.Delete(partial);
                freed += length;
            }
            catch (IOException)
            {
                // Being downloaded right now.
            }
        }

        return freed;
    }

    private IReadOnlyList<ImageRecord> Read()
    {
        if (!File.Exists(_indexPath))
        {
            return [];
        }

        var file = JsonSerializer.Deserialize(File.ReadAllBytes(_indexPath), ImageIndexJson.Default.ImageIndexFile)
            ?? throw new InvalidDataException($"{_indexPath} is empty");
        return [.. file.Images.Select(e => new ImageRecord(
            e.Reference, Digest.Parse(e.Digest), Digest.Parse(e.ManifestDigest), Digest.Parse(e.ConfigDigest), e.Platform, e.Size, e.PulledAt)
        {
            ChainIds = [.. (e.ChainIds ?? []).Select(Digest.Parse)],
        })];
    }

    private void Write(IEnumerable<ImageRecord> images)
    {
        var file = new ImageIndexFile([.. images.Select(i => new ImageIndexEntry(
            i.Reference, i.Digest.ToString(), i.ManifestDigest.ToString(), i.ConfigDigest.ToString(), i.Platform, i.Size, i.PulledAt)
        {
            ChainIds = [.. i.ChainIds.Select(c => c.ToString())],
        })]);
        var temporary = $"{_indexPath}.{Guid.NewGuid():N}.tmp";
        try
        {
            using (var stream = new FileStream(temporary, Files.NodeFiles.Private(FileMode.CreateNew, FileAccess.Write)))
            {
                JsonSerializer.Serialize(stream, file, ImageIndexJson.Default.ImageIndexFile);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, _indexPath, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    private async Task<FileStream> LockAsync(CancellationToken cancellationToken)
    {
        var deadline = _content.Time.GetUtcNow() + LockTimeout;
        while (true)
        {
            try
            {
                return new FileStream(_lockPath, Files.NodeFiles.Private(FileMode.OpenOrCreate, FileAccess.ReadWrite));
            }
            catch (IOException) when (_content.Time.GetUtcNow() < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), _content.Time, cancellationToken).ConfigureAwait(false);
            }
        }
    }
}

internal sealed record ImageIndexFile(IReadOnlyList<ImageIndexEntry> Images);

internal sealed record ImageIndexEntry(
    string Reference, string Digest, string ManifestDigest, string ConfigDigest, string Platform, long Size, DateTimeOffset PulledAt)
{
    // Absent in records written before snapshots existed.
    public IReadOnlyList<string>? ChainIds { get; init; }
}

// Source-generated so that the CLI can be published with NativeAOT.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(ImageIndexFile))]
internal sealed partial class ImageIndexJson : JsonSerializerContext;
