using Registry.Core;
using Registry.Core.Manifests;
using Registry.Node.Client;
using Registry.Node.Snapshots;

namespace Registry.Node.Content;

/// <summary>What a pull did: the image as recorded, what it resolved to, and each layer's fetch.</summary>
public sealed record PullResult(ImageRecord Image, ResolvedImage Resolved, IReadOnlyList<BlobFetch> Layers);

/// <summary>
/// Pulls an image into a <see cref="ContentStore"/>: resolve the reference (platform, verified
/// manifest and config), download the layers in parallel (bounded), then store the config and
/// manifests, unpack the layers into snapshots when a <see cref="SnapshotStore"/> is given, and
/// only then record the image. Content is written from the leaves up, so a manifest in the store
/// implies its blobs are there, and a failed pull records nothing.
/// </summary>
public sealed class ImagePuller
{
    private readonly ImageStore _images;

    public ImagePuller(ImageStore images)
    {
        ArgumentNullException.ThrowIfNull(images);
        _images = images;
    }

    /// <summary>When set, every layer is unpacked into it (once per chain id) before the image is recorded.</summary>
    public SnapshotStore? Snapshots { get; init; }

    /// <summary>Downloads running at once, per pull (docker's default is 3).</summary>
    public int MaxConcurrentDownloads { get; init; } = 3;

    public async Task<PullResult> PullAsync(
        RegistryClient client, ImageReference reference, Platform? platform = null, IPullProgress? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(reference);
        if (!string.Equals(client.Registry, reference.Registry, StringComparison.OrdinalIgnoreCase))
        {
            throw new ArgumentException($"the client is for {client.Registry}, the image is on {reference.Registry}", nameof(reference));
        }

        var resolved = await client.ResolveAsync(reference, platform, cancellationToken).ConfigureAwait(false);
        var store = _images.Content;
        var layers = resolved.Layers.DistinctBy(l => l.Digest).ToList();
        if (layers.FirstOrDefault(l => MediaTypes.IsNondistributable(l.MediaType)) is { } foreign)
        {
            throw new RegistryClientException($"{reference}: layer {foreign.Digest} is non-distributable (a foreign layer), which registry-node does not fetch");
        }

        foreach (var layer in layers)
        {
            progress?.Report(new BlobProgress(layer.Digest, BlobState.Waiting, 0, layer.Size));
        }

        var source = new RegistryBlobSource(client, reference.Repository);
        var fetches = new BlobFetch[layers.Count];
        await Parallel.ForEachAsync(
            Enumerable.Range(0, layers.Count),
            new ParallelOptions { MaxDegreeOfParallelism = MaxConcurrentDownloads, CancellationToken = cancellationToken },
            async (i, ct) => fetches[i] = await store.FetchAsync(layers[i], source, progress, ct).ConfigureAwait(false)).ConfigureAwait(false);

        await store.WriteAsync(resolved.ConfigDescriptor.Digest, resolved.ConfigBytes, cancellationToken).ConfigureAwait(false);
        await store.WriteAsync(resolved.Manifest.Digest, resolved.Manifest.Bytes, cancellationToken).ConfigureAwait(false);
        if (resolved.Index is { } index)
        {
            await store.WriteAsync(index.Digest, index.Bytes, cancellationToken).ConfigureAwait(false);
        }

        IReadOnlyList<Digest> chainIds = [];
        if (Snapshots is not null)
        {
            // In manifest order (duplicates included): the diff_ids pair with the manifest's layers one to one.
            chainIds = await Snapshots.UnpackAsync(store, resolved.Layers, resolved.Config.DiffIds, cancellationToken).ConfigureAwait(false);
        }

        var record = new ImageRecord(
            reference.ToString(),
            resolved.Digest,
            resolved.Manifest.Digest,
            resolved.ConfigDescriptor.Digest,
            resolved.Platform.ToString(),
            resolved.ConfigDescriptor.Size + layers.Sum(l => l.Size),
            store.Time.GetUtcNow())
        {
            ChainIds = chainIds,
        };
        await _images.AddAsync(record, cancellationToken).ConfigureAwait(false);
        return new PullResult(record, resolved, fetches);
    }
}
