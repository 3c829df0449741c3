using Registry.Core;
using Registry.Core.Manifests;
using Registry.Node.Content;
using static Registry.Node.Snapshots.SnapshotSyscalls;

namespace Registry.Node.Snapshots;

/// <summary>
/// The node's unpacked layers, one directory per chain id, each in overlay lower-dir form:
/// <code>
/// snapshots/&lt;chain-id-hex&gt;/                   one layer's changes, complete and verified
/// snapshots/.&lt;chain-id-hex&gt;.verify-&lt;guid&gt;/     being unpacked or checked; never taken for a snapshot
/// </code>
/// A layer is unpacked at most once per chain id, under a hidden name, its diff_id compared with
/// the config's, and only then renamed to its chain id: a snapshot directory that exists is one
/// whose content matches the image config.
/// </summary>
public sealed class SnapshotStore
{
    private readonly LayerUnpacker _unpacker;

    public SnapshotStore(string root, LayerUnpacker? unpacker = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(root);
        Root = Path.Combine(Path.GetFullPath(root), "snapshots");
        _unpacker = unpacker ?? new LayerUnpacker();
        Files.NodeFiles.CreatePrivateDirectory(Root);
    }

    /// <summary>The <c>snapshots</c> directory.</summary>
    public string Root { get; }

    /// <summary>Layers <see cref="UnpackAsync"/> unpacks at once (each is one thread decompressing and writing files).</summary>
    public int MaxConcurrentUnpacks { get; init; } = Environment.ProcessorCount;

    /// <summary>Sha256 chain ids only: that is what the spec defines, and the hex names the directory.</summary>
    public string PathOf(Digest chainId)
    {
        ArgumentNullException.ThrowIfNull(chainId);
        if (chainId.Algorithm != Digest.Sha256)
        {
            throw new ArgumentException($"chain id {chainId} is not sha256", nameof(chainId));
        }

        return Path.Combine(Root, chainId.Encoded);
    }

    public bool Contains(Digest chainId) => Directory.Exists(PathOf(chainId));

    /// <summary>
    /// Makes a snapshot for each layer of an image whose blobs are in <paramref name="content"/>;
    /// returns the chain ids, bottom first. Existing snapshots are kept as they are. The layers
    /// are unpacked in parallel: each snapshot holds only its own layer's changes (overlay stacks
    /// them at mount time), so none needs another's to be unpacked first.
    /// </summary>
    /// <exception cref="LayerUnpackException">A layer count or diff_id disagrees with the config, or a layer is corrupt or hostile.</exception>
    public async Task<IReadOnlyList<Digest>> UnpackAsync(
        ContentStore content, IReadOnlyList<Descriptor> layers, IReadOnlyList<Digest> diffIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(diffIds);
        var chainIds = ChainIdsOf(layers, diffIds);
        await Parallel.ForEachAsync(
            Enumerable.Range(0, layers.Count),
            new ParallelOptions { MaxDegreeOfParallelism = MaxConcurrentUnpacks, CancellationToken = cancellationToken },
            (i, ct) => new ValueTask(EnsureAsync(content, layers[i], diffIds[i], chainIds[i], ct))).ConfigureAwait(false);
        return chainIds;
    }

    /// <summary>The chain ids of an image's layers, after checking that the manifest and the config agree on their count.</summary>
    /// <exception cref="LayerUnpackException">The counts differ.</exception>
    public static IReadOnlyList<Digest> ChainIdsOf(IReadOnlyList<Descriptor> layers, IReadOnlyList<Digest> diffIds)
    {
        ArgumentNullException.ThrowIfNull(layers);
        ArgumentNullException.ThrowIfNull(diffIds);
        if (layers.Count != diffIds.Count)
        {
            throw new LayerUnpackException($"the manifest has {layers.Count} layers but the config lists {diffIds.Count} diff_ids");
        }

        return ChainIds.Compute(diffIds);
    }

    /// <summary>
    /// Makes the snapshot <paramref name="chainId"/> from <paramref name="layer"/>, whose blob must
    /// be in <paramref name="content"/> (that is, complete and digest-verified), unless it exists.
    /// Safe to call for the same chain id from several pulls at once: one snapshot wins, the same content.
    /// </summary>
    /// <exception cref="LayerUnpackException">The layer's diff_id is not <paramref name="diffId"/>, or the layer is corrupt or hostile.</exception>
    public async Task EnsureAsync(ContentStore content, Descriptor layer, Digest diffId, Digest chainId, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(layer);
        ArgumentNullException.ThrowIfNull(diffId);
        if (Contains(chainId))
        {
            return;
        }

        await UnpackOneAsync(content, layer, diffId, chainId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Removes every snapshot not in <paramref name="keep"/>, and leftovers of interrupted unpacks; returns the removed chain ids.</summary>
    public IReadOnlyList<Digest> Prune(IReadOnlySet<Digest> keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        var removed = new List<Digest>();
        foreach (var directory in Directory.EnumerateDirectories(Root).ToList())
        {
            var name = Path.GetFileName(directory);
            if (name.StartsWith('.'))
            {
                // An interrupted unpack (or one running now in another process, which then fails its rename and reports it).
                Remove(directory);
                continue;
            }

            if (Digest.TryParse($"{Digest.Sha256}:{name}", out var chainId, out _) && !keep.Contains(chainId))
            {
                Remove(directory);
                removed.Add(chainId);
            }
        }

        return removed;
    }

    private async Task UnpackOneAsync(ContentStore content, Descriptor layer, Digest diffId, Digest chainId, CancellationToken cancellationToken)
    {
        var target = PathOf(chainId);
        var staging = Path.Combine(Root, $".{chainId.Encoded}.verify-{Guid.NewGuid():N}");
        try
        {
            var blob = content.OpenRead(layer.Digest);
            LayerUnpackResult result;
            await using (blob.ConfigureAwait(false))
            {
                result = await _unpacker.UnpackAsync(blob, layer.MediaType, staging, cancellationToken).ConfigureAwait(false);
            }

            if (result.DiffId != diffId)
            {
                throw new LayerUnpackException(
                    $"layer {layer.Digest} unpacks to diff_id {result.DiffId}, but the image config says {diffId}");
            }

            // RENAME_NOREPLACE: another pull that unpacked the same chain id meanwhile wins; its
            // content is the same, verified the same way.
            if (renameat2(AT_FDCWD, staging, AT_FDCWD, target, RENAME_NOREPLACE) != 0)
            {
                var errno = LastError;
                if (!Directory.Exists(target))
                {
                    throw new IOException($"could not move the snapshot into '{target}': {Describe(errno)} (errno {errno})");
                }
            }
        }
        finally
        {
            Remove(staging);
        }
    }

    private static void Remove(string directory)
    {
        // Directory.Delete removes symlinks without following them, so a snapshot's "x -> /etc" cannot take /etc with it.
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
