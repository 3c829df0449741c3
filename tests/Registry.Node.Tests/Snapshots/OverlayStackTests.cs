using Registry.Node.Snapshots;
using Registry.Testing;

namespace Registry.Node.Tests.Snapshots;

/// <summary>
/// Proves the snapshot format is what overlayfs expects: three unpacked layers mounted as
/// lower directories show the merged image the runtime will run.
/// </summary>
public sealed class OverlayStackTests : IDisposable
{
    private readonly TemporaryDirectory _temp = new("registry-overlay");

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Stacked_snapshots_apply_whiteouts_and_opaque_directories()
    {
        var bottom = await UnpackAsync("bottom", new TestLayer()
            .File("keep", "kept")
            .File("gone", "deleted later")
            .Dir("dir/").File("dir/a", "a")
            .Dir("cache/").File("cache/old", "old"));
        var middle = await UnpackAsync("middle", new TestLayer()
            .File(".wh.gone", "")
            .File("dir/b", "b")
            .File("cache/.wh..wh..opq", "").File("cache/new", "new"));
        var top = await UnpackAsync("top", new TestLayer().File("dir/.wh.a", "").File("keep", "replaced"));

        var merged = _temp.Combine("merged");
        Directory.CreateDirectory(merged);
        // Read-only overlay of lowers only (no upper): leftmost is the top layer.
        (await ProcessRunner.RunAsync("mount", ["-t", "overlay", "overlay", "-o", $"lowerdir={top}:{middle}:{bottom}", merged])).EnsureSuccess();
        try
        {
            Assert.Equal("replaced", await File.ReadAllTextAsync(Path.Combine(merged, "keep")));
            Assert.False(Path.Exists(Path.Combine(merged, "gone")), "a whiteout in a higher layer hides the lower file");
            Assert.Equal(["b"], Names(Path.Combine(merged, "dir")));
            Assert.Equal(["new"], Names(Path.Combine(merged, "cache")));
            Assert.Equal(["cache", "dir", "keep"], Names(merged));
        }
        finally
        {
            (await ProcessRunner.RunAsync("umount", [merged])).EnsureSuccess();
        }
    }

    private async Task<string> UnpackAsync(string name, TestLayer layer)
    {
        var snapshot = _temp.Combine(name);
        using var blob = new MemoryStream(layer.Blob(LayerCompression.Gzip));
        await new LayerUnpacker().UnpackAsync(blob, TestLayer.MediaType(LayerCompression.Gzip), snapshot, CancellationToken.None);
        return snapshot;
    }

    private static string[] Names(string directory) =>
        Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray()!;
}
