using Registry.Core;
using Registry.Node.Client;
using Registry.Node.Content;
using Registry.Node.Tests.Client;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.Node.Tests.Content;

/// <summary>Pulling into the content store from our registry, a real child process.</summary>
public sealed class ImagePullerTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>, IDisposable
{
    private readonly TemporaryDirectory _root = new("node-content");

    private string Host => fixture.Registry.HostPort;

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task A_pull_stores_every_blob_with_the_exact_bytes_pushed()
    {
        var image = TestImages.Create(layerCount: 3);
        var reference = await PushAsync(image);
        var (store, images, puller) = NewStore();

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        var result = await puller.PullAsync(client, reference);

        foreach (var blob in image.Blobs.Append(image.OciManifest))
        {
            Assert.Equal(blob.Content, await File.ReadAllBytesAsync(store.BlobPath(Digest.Parse(blob.Digest))));
        }

        Assert.All(result.Layers, f => Assert.False(f.AlreadyPresent));
        Assert.Equal(image.Layers.Sum(l => l.Compressed.Size), result.Layers.Sum(f => f.BytesDownloaded));
        Assert.Empty(Directory.EnumerateFiles(store.Root, "*" + ContentStore.PartialSuffix, SearchOption.AllDirectories));
        var record = Assert.Single(await images.ListAsync());
        Assert.Equal(reference.ToString(), record.Reference);
        Assert.Equal(image.OciManifest.Digest, record.ManifestDigest.ToString());
        Assert.Equal(image.Config.Digest, record.ConfigDigest.ToString());
        Assert.Equal(image.Blobs.Sum(b => b.Size), record.Size);
    }

    [Fact]
    public async Task A_pull_by_digest_is_recorded_under_the_digest_reference()
    {
        var image = TestImages.Create(layerCount: 1);
        var tagged = await PushAsync(image);
        var byDigest = ImageReference.Parse($"{Host}/{tagged.Repository}@{image.OciManifest.Digest}");
        var (store, images, puller) = NewStore();

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        await puller.PullAsync(client, byDigest);

        var record = Assert.Single(await images.ListAsync());
        Assert.Equal($"{Host}/{tagged.Repository}@{image.OciManifest.Digest}", record.Reference);
        Assert.True(store.Contains(Digest.Parse(image.Layers[0].Compressed.Digest)));
    }

    [Fact]
    public async Task A_pull_of_an_index_for_arm64_stores_the_arm64_image_and_the_index()
    {
        var index = TestImages.CreateMultiPlatform(layerCount: 1);
        var repository = RegistryFixture.NewRepository("pull-index");
        using (var push = new DistributionPush(fixture.Registry))
        {
            await push.PushIndexAsync(repository, "multi", index);
        }

        var (store, images, puller) = NewStore();
        using var client = new RegistryClient(Host, fixture.ClientOptions);
        await puller.PullAsync(client, ImageReference.Parse($"{Host}/{repository}:multi"), PlatformSelector.Parse("linux/arm64"));

        var arm64 = index.Images.Single(i => i.Architecture == "arm64");
        var amd64 = index.Images.Single(i => i.Architecture == "amd64");
        var record = Assert.Single(await images.ListAsync());
        Assert.Equal(index.Index.Digest, record.Digest.ToString());
        Assert.Equal(arm64.OciManifest.Digest, record.ManifestDigest.ToString());
        Assert.Equal("linux/arm64", record.Platform);
        Assert.Equal(arm64.Layers[0].Compressed.Content, await File.ReadAllBytesAsync(store.BlobPath(Digest.Parse(arm64.Layers[0].Compressed.Digest))));
        Assert.True(store.Contains(Digest.Parse(index.Index.Digest)));
        Assert.False(store.Contains(Digest.Parse(amd64.Layers[0].Compressed.Digest)));
    }

    [Fact]
    public async Task Layers_already_in_the_store_are_not_downloaded_again()
    {
        var baseImage = TestImages.Create(layerCount: 2);
        var extended = TestImages.Extend(baseImage);
        var baseReference = await PushAsync(baseImage);
        var extendedReference = await PushAsync(extended);
        var (_, _, puller) = NewStore();

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        await puller.PullAsync(client, baseReference);
        var second = await puller.PullAsync(client, extendedReference);

        Assert.Equal([true, true, false], second.Layers.Select(f => f.AlreadyPresent));
        Assert.Equal(extended.Layers[^1].Compressed.Size, second.Layers.Sum(f => f.BytesDownloaded));
    }

    [Fact]
    public async Task Two_pulls_of_one_image_into_one_store_at_once_download_each_blob_once()
    {
        var image = TestImages.Create(layerCount: 3);
        var reference = await PushAsync(image);
        var (store, images, _) = NewStore();

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        var pulls = await Task.WhenAll(
            new ImagePuller(images).PullAsync(client, reference),
            new ImagePuller(new ImageStore(new ContentStore(store.Root))).PullAsync(client, reference));

        Assert.Equal(image.Layers.Sum(l => l.Compressed.Size), pulls.SelectMany(p => p.Layers).Sum(f => f.BytesDownloaded));
        foreach (var layer in image.Layers)
        {
            Assert.Equal(layer.Compressed.Content, await File.ReadAllBytesAsync(store.BlobPath(Digest.Parse(layer.Compressed.Digest))));
        }

        Assert.Single(await images.ListAsync());
    }

    [Fact]
    public async Task A_corrupted_blob_fails_with_a_digest_mismatch_and_leaves_nothing_in_the_store()
    {
        var image = TestImages.Create(layerCount: 1);
        var reference = await PushAsync(image);
        var layer = image.Layers[0].Compressed;
        // Our registry's filesystem layout: blobs/sha256/<first two hex>/<hex>. Same size, one byte flipped.
        var onDisk = Path.Combine(fixture.Registry.DataDirectory, "blobs", "sha256", layer.Hex[..2], layer.Hex);
        Assert.True(File.Exists(onDisk), $"the registry keeps the layer at {onDisk}");
        var corrupted = layer.Content.ToArray();
        corrupted[corrupted.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(onDisk, corrupted);
        var (store, images, puller) = NewStore();

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        var error = await Assert.ThrowsAsync<DigestMismatchException>(() => puller.PullAsync(client, reference));

        Assert.Equal(layer.Digest, error.Expected.ToString());
        Assert.Equal(Blob.ComputeDigest(corrupted), error.Actual);
        Assert.Contains(layer.Digest, error.Message, StringComparison.Ordinal);
        // Nothing but the image index's lock file: no blob, no partial download, no manifest or config.
        Assert.DoesNotContain(Directory.EnumerateFiles(store.Root, "*", SearchOption.AllDirectories), f => !f.EndsWith("images.lock", StringComparison.Ordinal));
        Assert.Empty(await images.ListAsync());
    }

    [Fact]
    public async Task A_partial_download_is_resumed_from_where_it_stopped()
    {
        var image = TestImages.Create(layerCount: 1);
        var reference = await PushAsync(image);
        var layer = image.Layers[0].Compressed;
        var (store, _, puller) = NewStore();
        var target = store.BlobPath(Digest.Parse(layer.Digest));
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var half = layer.Content.Length / 2;
        await File.WriteAllBytesAsync(target + ContentStore.PartialSuffix, layer.Content.AsMemory(0, half).ToArray());

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        var result = await puller.PullAsync(client, reference);

        var fetch = Assert.Single(result.Layers);
        Assert.Equal(half, fetch.ResumedFrom);
        Assert.Equal(layer.Size - half, fetch.BytesDownloaded);
        Assert.Equal(layer.Content, await File.ReadAllBytesAsync(target));
        Assert.False(File.Exists(target + ContentStore.PartialSuffix));
    }

    [Fact]
    public async Task A_partial_download_with_wrong_bytes_is_downloaded_again_from_the_start()
    {
        var image = TestImages.Create(layerCount: 1);
        var reference = await PushAsync(image);
        var layer = image.Layers[0].Compressed;
        var (store, _, puller) = NewStore();
        var target = store.BlobPath(Digest.Parse(layer.Digest));
        Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        var half = layer.Content.Length / 2;
        await File.WriteAllBytesAsync(target + ContentStore.PartialSuffix, new byte[half]);

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        var result = await puller.PullAsync(client, reference);

        var fetch = Assert.Single(result.Layers);
        // The rest after the bad half, then the whole blob once the digest did not match.
        Assert.Equal(layer.Size - half + layer.Size, fetch.BytesDownloaded);
        Assert.Equal(0, fetch.ResumedFrom);
        Assert.Equal(layer.Content, await File.ReadAllBytesAsync(target));
    }

    [Fact]
    public async Task Progress_is_reported_as_plain_lines_per_layer()
    {
        var image = TestImages.Create(layerCount: 2);
        var reference = await PushAsync(image);
        var (_, _, puller) = NewStore();
        using var output = new StringWriter();

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        await puller.PullAsync(client, reference, progress: new PlainLinesProgress(output));

        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var layer in image.Layers)
        {
            var id = layer.Compressed.Hex[..12];
            Assert.Contains($"{id}: downloading {PlainLinesProgress.Size(layer.Compressed.Size)}", lines);
            Assert.Contains($"{id}: pull complete", lines);
        }
    }

    private async Task<ImageReference> PushAsync(TestImage image)
    {
        var repository = RegistryFixture.NewRepository("pull");
        using var push = new DistributionPush(fixture.Registry);
        await push.PushImageAsync(repository, "v1", image);
        return ImageReference.Parse($"{Host}/{repository}:v1");
    }

    private (ContentStore Store, ImageStore Images, ImagePuller Puller) NewStore()
    {
        var store = new ContentStore(_root.Combine("store-" + Guid.NewGuid().ToString("N")[..8]));
        var images = new ImageStore(store);
        return (store, images, new ImagePuller(images));
    }
}
