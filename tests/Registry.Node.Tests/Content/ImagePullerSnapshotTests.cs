using Registry.Core;
using Registry.Node.Client;
using Registry.Node.Content;
using Registry.Node.Snapshots;
using Registry.Node.Tests.Client;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.Node.Tests.Content;

/// <summary>Pulls that unpack into snapshots: each layer as soon as it is downloaded and verified.</summary>
public sealed class ImagePullerSnapshotTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>, IDisposable
{
    private static readonly TimeSpan HoldLimit = TimeSpan.FromSeconds(30);

    private readonly TemporaryDirectory _root = new("node-pull-snapshots");

    private string Host => fixture.Registry.HostPort;

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task A_layer_is_unpacked_while_another_layer_is_still_downloading()
    {
        var image = TestImages.Create(layerCount: 2);
        var reference = await PushAsync(image);
        var (snapshots, images, puller) = NewStores();
        var bottom = Digest.Parse(image.Layers[0].DiffId); // a bottom layer's chain id is its diff_id
        var held = Digest.Parse(image.Layers[1].Compressed.Digest);
        // The top layer's response is held until the bottom layer's snapshot exists (or the limit
        // passes, which fails the test instead of hanging it).
        using var handler = new HoldingHandler(held, () => snapshots.Contains(bottom));

        using var client = new RegistryClient(Host, fixture.ClientOptions, handler);
        var result = await puller.PullAsync(client, reference);

        Assert.True(handler.ReleasedByCondition, "the bottom layer's snapshot was not complete while the top layer's download was held");
        Assert.Equal(ChainIds.Compute([.. image.Layers.Select(l => Digest.Parse(l.DiffId))]), result.Image.ChainIds);
        Assert.All(result.Image.ChainIds, c => Assert.True(snapshots.Contains(c)));
        Assert.Single(await images.ListAsync());
    }

    [Fact]
    public async Task A_layer_whose_download_fails_its_digest_is_never_left_as_a_snapshot()
    {
        var image = TestImages.Create(layerCount: 2);
        var reference = await PushAsync(image);
        var top = image.Layers[1].Compressed;
        // Our registry's filesystem layout: blobs/sha256/<first two hex>/<hex>. Same size, one byte flipped.
        var onDisk = Path.Combine(fixture.Registry.DataDirectory, "blobs", "sha256", top.Hex[..2], top.Hex);
        var corrupted = top.Content.ToArray();
        corrupted[corrupted.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(onDisk, corrupted);
        var (snapshots, images, puller) = NewStores();

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        await Assert.ThrowsAsync<DigestMismatchException>(() => puller.PullAsync(client, reference));

        var chainIds = ChainIds.Compute([.. image.Layers.Select(l => Digest.Parse(l.DiffId))]);
        Assert.False(snapshots.Contains(chainIds[1]));
        // At most the bottom layer's snapshot, which was verified; nothing half-made beside it.
        Assert.All(Directory.EnumerateFileSystemEntries(snapshots.Root), e => Assert.Equal(chainIds[0].Encoded, Path.GetFileName(e)));
        Assert.Empty(await images.ListAsync());
    }

    [Fact]
    public async Task A_layer_that_fails_to_unpack_fails_the_pull_and_records_nothing()
    {
        var image = TestImages.Create(layerCount: 2);
        var reference = await PushAsync(image);
        var (snapshots, images, puller) = NewStores();
        var bottom = image.Layers[0].Compressed;
        // The bottom layer's blob is planted in the store with one byte flipped (same size), so it
        // counts as present and verified but is corrupt or unpacks to a diff_id the config does not list.
        var planted = bottom.Content.ToArray();
        planted[planted.Length / 2] ^= 0xFF;
        var path = puller.Content.BlobPath(Digest.Parse(bottom.Digest));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllBytesAsync(path, planted);

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        await Assert.ThrowsAsync<LayerUnpackException>(() => puller.PullAsync(client, reference));

        Assert.DoesNotContain(Directory.EnumerateFileSystemEntries(snapshots.Root), e => Path.GetFileName(e).StartsWith('.'));
        Assert.False(snapshots.Contains(Digest.Parse(image.Layers[0].DiffId)));
        Assert.Empty(await images.ListAsync());
    }

    [Fact]
    public async Task Progress_says_pull_complete_for_a_layer_only_after_it_is_unpacked()
    {
        var image = TestImages.Create(layerCount: 2);
        var reference = await PushAsync(image);
        var (_, _, puller) = NewStores();
        using var output = new StringWriter();

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        await puller.PullAsync(client, reference, progress: new PlainLinesProgress(output));

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
        foreach (var layer in image.Layers)
        {
            var id = layer.Compressed.Hex[..12];
            var downloaded = lines.IndexOf($"{id}: download complete");
            var extracting = lines.IndexOf($"{id}: extracting");
            var complete = lines.IndexOf($"{id}: pull complete");
            Assert.True(downloaded >= 0 && downloaded < extracting && extracting < complete, string.Join('\n', lines));
        }
    }

    private async Task<ImageReference> PushAsync(TestImage image)
    {
        var repository = RegistryFixture.NewRepository("pull-unpack");
        using var push = new DistributionPush(fixture.Registry);
        await push.PushImageAsync(repository, "v1", image);
        return ImageReference.Parse($"{Host}/{repository}:v1");
    }

    private (SnapshotStore Snapshots, ImageStore Images, PullerWithContent Puller) NewStores()
    {
        var root = _root.Combine("node-" + Guid.NewGuid().ToString("N")[..8]);
        var content = new ContentStore(Path.Combine(root, "content"));
        var images = new ImageStore(content);
        var snapshots = new SnapshotStore(root);
        return (snapshots, images, new PullerWithContent(new ImagePuller(images) { Snapshots = snapshots }, content));
    }

    private sealed record PullerWithContent(ImagePuller Puller, ContentStore Content)
    {
        public Task<PullResult> PullAsync(RegistryClient client, ImageReference reference, IPullProgress? progress = null) =>
            Puller.PullAsync(client, reference, progress: progress);
    }

    /// <summary>Holds the response to one blob's GET until a condition holds, then lets it through.</summary>
    private sealed class HoldingHandler(Digest held, Func<bool> release) : DelegatingHandler(new SocketsHttpHandler())
    {
        public bool ReleasedByCondition { get; private set; }

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Method == HttpMethod.Get && request.RequestUri!.AbsolutePath.EndsWith($"/blobs/{held}", StringComparison.Ordinal))
            {
                var started = DateTime.UtcNow;
                while (!release() && DateTime.UtcNow - started < HoldLimit)
                {
                    await Task.Delay(10, cancellationToken);
                }

                ReleasedByCondition = release();
            }

            return await base.SendAsync(request, cancellationToken);
        }
    }
}
