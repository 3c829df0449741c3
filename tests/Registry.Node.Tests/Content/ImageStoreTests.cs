using Registry.Core;
using Registry.Node.Client;
using Registry.Node.Content;
using Registry.Node.Tests.Client;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.Node.Tests.Content;

/// <summary>The image index (images, rmi) and the prune of unreferenced blobs, over images pulled from our registry.</summary>
public sealed class ImageStoreTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>, IDisposable
{
    private readonly TemporaryDirectory _root = new("node-images");

    private string Host => fixture.Registry.HostPort;

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Rmi_forgets_the_image_but_keeps_its_blobs_until_a_prune()
    {
        var image = TestImages.Create(layerCount: 1);
        var reference = await PushAsync(image);
        var (store, images) = await PullAsync(reference);

        var removed = await images.RemoveAsync(ImageReference.Parse(reference.ToString()));

        Assert.Equal(reference.ToString(), removed?.Reference);
        Assert.Empty(await images.ListAsync());
        Assert.True(store.Contains(Digest.Parse(image.Layers[0].Compressed.Digest)));
    }

    [Fact]
    public async Task Rmi_of_an_image_that_is_not_there_removes_nothing()
    {
        var image = TestImages.Create(layerCount: 1);
        var reference = await PushAsync(image);
        var (_, images) = await PullAsync(reference);

        var removed = await images.RemoveAsync(ImageReference.Parse($"{Host}/{reference.Repository}:other"));

        Assert.Null(removed);
        Assert.Single(await images.ListAsync());
    }

    [Fact]
    public async Task Prune_deletes_the_blobs_of_removed_images_and_keeps_those_still_referenced()
    {
        var baseImage = TestImages.Create(layerCount: 2);
        var extended = TestImages.Extend(baseImage);
        var baseReference = await PushAsync(baseImage);
        var extendedReference = await PushAsync(extended);
        var (store, images) = await PullAsync(baseReference, extendedReference);

        await images.RemoveAsync(extendedReference);
        var result = await images.PruneAsync(gracePeriod: TimeSpan.Zero);

        // Only the extended image's own layer, config and manifest go; the shared layers stay for the base image.
        var expected = new[] { extended.Layers[^1].Compressed.Digest, extended.Config.Digest, extended.OciManifest.Digest }.Order();
        Assert.Equal(expected, result.Removed.Select(d => d.ToString()).Order());
        Assert.Equal(extended.Layers[^1].Compressed.Size + extended.Config.Size + extended.OciManifest.Size, result.BytesFreed);
        foreach (var blob in baseImage.Blobs.Append(baseImage.OciManifest))
        {
            Assert.True(store.Contains(Digest.Parse(blob.Digest)), $"{blob.Digest} is still referenced and must stay");
        }
    }

    [Fact]
    public async Task Prune_keeps_unreferenced_blobs_younger_than_the_grace_period()
    {
        var image = TestImages.Create(layerCount: 1);
        var reference = await PushAsync(image);
        var (store, images) = await PullAsync(reference);
        await images.RemoveAsync(reference);

        var result = await images.PruneAsync(gracePeriod: TimeSpan.FromHours(1));

        Assert.Empty(result.Removed);
        Assert.True(store.Contains(Digest.Parse(image.Layers[0].Compressed.Digest)));
    }

    [Fact]
    public async Task Prune_deletes_abandoned_partial_downloads()
    {
        var store = new ContentStore(_root.Combine("partials"));
        var images = new ImageStore(store);
        var digest = Digest.ComputeSha256("never finished"u8);
        var partial = store.BlobPath(digest) + ContentStore.PartialSuffix;
        Directory.CreateDirectory(Path.GetDirectoryName(partial)!);
        await File.WriteAllBytesAsync(partial, new byte[100]);

        var result = await images.PruneAsync(gracePeriod: TimeSpan.Zero);

        Assert.False(File.Exists(partial));
        Assert.Equal(100, result.BytesFreed);
    }

    [Fact]
    public async Task The_image_index_survives_a_new_store_over_the_same_directory()
    {
        var image = TestImages.Create(layerCount: 1);
        var reference = await PushAsync(image);
        var (store, _) = await PullAsync(reference);

        var reopened = new ImageStore(new ContentStore(store.Root));

        var record = await reopened.FindAsync(reference);
        Assert.NotNull(record);
        Assert.Equal(image.OciManifest.Digest, record.ManifestDigest.ToString());
        Assert.Equal("linux/amd64", record.Platform);
    }

    private async Task<ImageReference> PushAsync(TestImage image)
    {
        var repository = RegistryFixture.NewRepository("images");
        using var push = new DistributionPush(fixture.Registry);
        await push.PushImageAsync(repository, "v1", image);
        return ImageReference.Parse($"{Host}/{repository}:v1");
    }

    private async Task<(ContentStore Store, ImageStore Images)> PullAsync(params ImageReference[] references)
    {
        var store = new ContentStore(_root.Combine("store-" + Guid.NewGuid().ToString("N")[..8]));
        var images = new ImageStore(store);
        var puller = new ImagePuller(images);
        using var client = new RegistryClient(Host, fixture.ClientOptions);
        foreach (var reference in references)
        {
            await puller.PullAsync(client, reference);
        }

        return (store, images);
    }
}
