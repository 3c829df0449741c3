using System.Runtime.ExceptionServices;
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
/// manifests, and only then record the image. When a <see cref="SnapshotStore"/> is given, each
/// layer is unpacked into its snapshot as soon as its blob is in the store (so verified), while
/// other layers still download; the image is recorded when every unpack is done. Content is
/// written from the leaves up, so a manifest in the store implies its blobs are there, and a
/// failed pull records nothing.
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

    /// <summary>Layers unpacked at once, per pull (each is one thread decompressing and writing files).</summary>
    public int MaxConcurrentUnpacks { get; init; } = Environment.ProcessorCount;

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

        // Checked before any download: a config that disagrees with its manifest fails the pull at once.
        IReadOnlyList<Digest> chainIds = Snapshots is null ? [] : SnapshotStore.ChainIdsOf(resolved.Layers, resolved.Config.DiffIds);
        var source = new RegistryBlobSource(client, reference.Repository);
        var fetches = new BlobFetch[layers.Count];
        var downloadProgress = Snapshots is null || progress is null ? progress : new UnpackPendingProgress(progress);
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var unpackSlots = new SemaphoreSlim(MaxConcurrentUnpacks, MaxConcurrentUnpacks);
        var unpacks = new List<Task>();
        ExceptionDispatchInfo? failure = null;
        try
        {
            await Parallel.ForEachAsync(
                Enumerable.Range(0, layers.Count),
                new ParallelOptions { MaxDegreeOfParallelism = MaxConcurrentDownloads, CancellationToken = failed.Token },
                async (i, ct) =>
                {
                    fetches[i] = await store.FetchAsync(layers[i], source, downloadProgress, ct).ConfigureAwait(false);
                    if (Snapshots is not null)
                    {
                        // Started, not awaited: the download slot goes to the next layer while this one unpacks.
                        var unpack = Task.Run(() => UnpackLayerAsync(Snapshots, store, resolved, chainIds, fetches[i], progress, unpackSlots, failed), CancellationToken.None);
                        lock (unpacks)
                        {
                            unpacks.Add(unpack);
                        }
                    }
                }).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            failure = ExceptionDispatchInfo.Capture(e);
            await failed.CancelAsync().ConfigureAwait(false);
        }

        // Every unpack that started is awaited, whatever happened, so none is still writing when
        // the pull returns. The first real failure wins over the cancellations it caused.
        try
        {
            await Task.WhenAll(unpacks).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            if (failure is null || failure.SourceException is OperationCanceledException)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }
        }

        failure?.Throw();

        await store.WriteAsync(resolved.ConfigDescriptor.Digest, resolved.ConfigBytes, cancellationToken).ConfigureAwait(false);
        await store.WriteAsync(resolved.Manifest.Digest, resolved.Manifest.Bytes, cancellationToken).ConfigureAwait(false);
        if (resolved.Index is { } index)
        {
            await store.WriteAsync(index.Digest, index.Bytes, cancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// Unpacks one downloaded (so verified) layer into the snapshot of every position it has in
    /// the manifest (a layer listed twice has two chain ids). A failure cancels the rest of the pull.
    /// </summary>
    private static async Task UnpackLayerAsync(
        SnapshotStore snapshots, ContentStore content, ResolvedImage resolved, IReadOnlyList<Digest> chainIds, BlobFetch fetch, IPullProgress? progress, SemaphoreSlim slots, CancellationTokenSource failed)
    {
        var positions = Enumerable.Range(0, resolved.Layers.Count).Where(p => resolved.Layers[p].Digest == fetch.Digest).ToList();
        if (fetch.AlreadyPresent && positions.All(p => snapshots.Contains(chainIds[p])))
        {
            progress?.Report(new BlobProgress(fetch.Digest, BlobState.AlreadyExists, fetch.Size, fetch.Size));
            return;
        }

        await slots.WaitAsync(failed.Token).ConfigureAwait(false);
        progress?.Report(new BlobProgress(fetch.Digest, BlobState.Extracting, fetch.Size, fetch.Size));
        try
        {
            foreach (var p in positions)
            {
                await snapshots.EnsureAsync(content, resolved.Layers[p], resolved.Config.DiffIds[p], chainIds[p], failed.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            progress?.Report(new BlobProgress(fetch.Digest, BlobState.Failed, fetch.Size, fetch.Size, Error: e.Message));
            await failed.CancelAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            slots.Release();
        }

        progress?.Report(new BlobProgress(fetch.Digest, BlobState.Complete, fetch.Size, fetch.Size));
    }

    /// <summary>
    /// Passes a download's progress on, except its end: "complete" becomes "downloaded" (the pull is
    /// complete for a layer once it is unpacked), and "already exists" is decided after looking at
    /// the snapshots too.
    /// </summary>
    private sealed class UnpackPendingProgress(IPullProgress inner) : IPullProgress
    {
        public void Report(BlobProgress progress)
        {
            switch (progress.State)
            {
                case BlobState.Complete:
                    inner.Report(progress with { State = BlobState.Downloaded });
                    break;
                case BlobState.AlreadyExists:
                    break;
                default:
                    inner.Report(progress);
                    break;
            }
        }
    }
}
