using Registry.Core;
using Registry.Core.Manifests;
using Registry.Node.Content;
using Registry.Node.Snapshots;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.Node.Tests.Snapshots;

/// <summary>Unpacking an image's layers into snapshots keyed by chain id.</summary>
public sealed class SnapshotStoreTests : IDisposable
{
    private readonly TemporaryDirectory _root = new("node-snapshots");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task A_layer_whose_diff_id_disagrees_with_the_config_is_refused_and_leaves_no_snapshot()
    {
        var layer = TestImages.Create(layerCount: 1).Layers[0];
        var content = new ContentStore(_root.Path);
        await content.WriteAsync(Digest.Parse(layer.Compressed.Digest), layer.Compressed.Content, CancellationToken.None);
        var snapshots = new SnapshotStore(_root.Path);
        var claimed = Digest.ComputeSha256("not this layer"u8);
        Descriptor[] layers = [new(layer.Compressed.MediaType, Digest.Parse(layer.Compressed.Digest), layer.Compressed.Size)];

        var error = await Assert.ThrowsAsync<LayerUnpackException>(() => snapshots.UnpackAsync(content, layers, [claimed], CancellationToken.None));

        Assert.Contains(layer.DiffId, error.Message, StringComparison.Ordinal);
        Assert.Contains(claimed.ToString(), error.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(snapshots.Root));
    }
}
