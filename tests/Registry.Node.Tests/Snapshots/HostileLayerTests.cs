using System.Formats.Tar;
using Registry.Node.Snapshots;

namespace Registry.Node.Tests.Snapshots;

/// <summary>
/// Layers built to escape their snapshot. Each is refused (nothing of it left behind) or
/// neutralised (unpacked, but kept inside), and every test then looks at the "host": the
/// sandbox's sentinel file must be unchanged and nothing new may appear outside the snapshot.
/// </summary>
public sealed class HostileLayerTests : IDisposable
{
    private readonly SnapshotSandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    private async Task<HostileLayerException> AssertRefusedAsync(TestLayer layer)
    {
        var refused = await Assert.ThrowsAsync<HostileLayerException>(() => _sandbox.UnpackAsync(layer));
        Assert.False(Path.Exists(_sandbox.Snapshot));
        await _sandbox.AssertHostUntouchedAsync();
        return refused;
    }

    [Fact]
    public async Task Dot_dot_name_is_refused()
    {
        var refused = await AssertRefusedAsync(new TestLayer().File("ok", "ok").File("../../outside/new", "pwned"));

        Assert.Equal("../../outside/new", refused.EntryName);
    }

    [Fact]
    public async Task Dot_dot_in_the_middle_of_a_name_is_refused() =>
        await AssertRefusedAsync(new TestLayer().Dir("a/").File("a/../../../outside/sentinel", "pwned"));

    [Fact]
    public async Task Absolute_name_is_kept_inside_the_snapshot()
    {
        await _sandbox.UnpackAsync(new TestLayer().File(_sandbox.Sentinel, "pwned"));

        Assert.Equal("pwned", await File.ReadAllTextAsync(_sandbox.In(_sandbox.Sentinel.TrimStart('/'))));
        await _sandbox.AssertHostUntouchedAsync();
    }

    [Fact]
    public async Task Write_through_an_absolute_symlink_is_refused()
    {
        var refused = await AssertRefusedAsync(new TestLayer().Symlink("evil", _sandbox.Outside).File("evil/sentinel", "pwned"));

        Assert.Equal("evil/sentinel", refused.EntryName);
    }

    [Fact]
    public async Task Write_through_a_relative_symlink_is_refused() =>
        await AssertRefusedAsync(new TestLayer().Symlink("evil", "../../outside").File("evil/new", "pwned"));

    [Fact]
    public async Task Write_through_a_symlink_to_etc_is_refused()
    {
        var name = $"registry-snapshot-test-{Guid.NewGuid():N}";

        await AssertRefusedAsync(new TestLayer().Symlink("evil", "/etc").File($"evil/{name}", "pwned"));

        Assert.False(File.Exists($"/etc/{name}"));
    }

    [Fact]
    public async Task Directory_created_through_a_symlink_is_refused() =>
        await AssertRefusedAsync(new TestLayer().Symlink("evil", _sandbox.Outside).Dir("evil/newdir/"));

    [Fact]
    public async Task Regular_file_over_a_symlink_replaces_the_symlink_not_its_target()
    {
        await _sandbox.UnpackAsync(new TestLayer().Symlink("evil", _sandbox.Sentinel).File("evil", "pwned"));

        Assert.Equal("regular file", await Stat.FormatAsync(_sandbox.In("evil"), "%F"));
        Assert.Equal("pwned", await File.ReadAllTextAsync(_sandbox.In("evil")));
        await _sandbox.AssertHostUntouchedAsync();
    }

    [Fact]
    public async Task Symlink_replaced_by_a_directory_becomes_a_real_directory()
    {
        await _sandbox.UnpackAsync(new TestLayer().Symlink("evil", _sandbox.Outside).Dir("evil/").File("evil/sentinel", "pwned"));

        Assert.Equal("directory", await Stat.FormatAsync(_sandbox.In("evil"), "%F"));
        Assert.Equal("pwned", await File.ReadAllTextAsync(_sandbox.In("evil/sentinel")));
        await _sandbox.AssertHostUntouchedAsync();
    }

    [Fact]
    public async Task Directory_replaced_by_a_symlink_cannot_be_written_through() =>
        await AssertRefusedAsync(new TestLayer().Dir("d/").Symlink("d", _sandbox.Outside).File("d/new", "pwned"));

    [Fact]
    public async Task Populated_directory_replaced_by_a_symlink_is_refused() =>
        await AssertRefusedAsync(new TestLayer().Dir("d/").File("d/f", "x").Symlink("d", _sandbox.Outside));

    [Fact]
    public async Task Hardlink_with_an_absolute_target_links_only_inside_the_layer()
    {
        // "/…/outside/sentinel" names the layer's own path, which the layer does not have.
        await Assert.ThrowsAnyAsync<LayerUnpackException>(() =>
            _sandbox.UnpackAsync(new TestLayer().Hardlink("stolen", _sandbox.Sentinel)));

        Assert.False(Path.Exists(_sandbox.Snapshot));
        await _sandbox.AssertHostUntouchedAsync();
    }

    [Fact]
    public async Task Hardlink_with_a_dot_dot_target_is_refused() =>
        await AssertRefusedAsync(new TestLayer().Hardlink("stolen", "../../outside/sentinel"));

    [Fact]
    public async Task Hardlink_through_a_symlink_is_refused() =>
        await AssertRefusedAsync(new TestLayer().Symlink("evil", _sandbox.Outside).Hardlink("stolen", "evil/sentinel"));

    [Fact]
    public async Task Hardlink_to_a_symlink_pointing_outside_links_the_symlink_itself()
    {
        await _sandbox.UnpackAsync(new TestLayer().Symlink("evil", _sandbox.Sentinel).Hardlink("stolen", "evil"));

        Assert.Equal("symbolic link", await Stat.FormatAsync(_sandbox.In("stolen"), "%F"));
        Assert.Equal(await Stat.FormatAsync(_sandbox.In("evil"), "%i"), await Stat.FormatAsync(_sandbox.In("stolen"), "%i"));
        await _sandbox.AssertHostUntouchedAsync();
    }

    [Fact]
    public async Task Hardlink_to_a_directory_is_refused() =>
        await AssertRefusedAsync(new TestLayer().Dir("d/").Hardlink("alias", "d"));

    [Fact]
    public async Task Whiteout_through_a_symlink_is_refused()
    {
        // mknod would otherwise put a 0/0 device over the host's file.
        await AssertRefusedAsync(new TestLayer().Symlink("evil", _sandbox.Outside).File("evil/.wh.sentinel", ""));

        Assert.Equal("regular file", await Stat.FormatAsync(_sandbox.Sentinel, "%F"));
    }

    [Fact]
    public async Task Opaque_marker_through_a_symlink_is_refused()
    {
        await AssertRefusedAsync(new TestLayer().Symlink("evil", _sandbox.Outside).File("evil/.wh..wh..opq", ""));

        Assert.Null(Stat.Xattr(_sandbox.Outside, "trusted.overlay.opaque"));
    }

    [Fact]
    public async Task Whiteout_of_dot_dot_is_refused() =>
        await AssertRefusedAsync(new TestLayer().Dir("a/").File("a/.wh...", ""));

    [Fact]
    public async Task Name_with_a_nul_is_refused()
    {
        // Long enough to travel in a pax "path" record, which keeps the NUL: checked as one
        // name, it would reach the kernel cut short at the NUL as another.
        var name = "etc/passwd\0" + new string('x', 120);

        var refused = await AssertRefusedAsync(new TestLayer().File(name, "pwned"));

        Assert.Equal(name, refused.EntryName);
    }

    [Fact]
    public async Task Name_with_a_control_character_is_refused() =>
        await AssertRefusedAsync(new TestLayer().File("bin/\u001b[2Jls", "x"));

    [Fact]
    public async Task Too_many_entries_are_refused_and_nothing_is_left()
    {
        var layer = new TestLayer();
        for (var i = 0; i < 11; i++)
        {
            layer.File($"f{i}", "x");
        }

        await Assert.ThrowsAsync<LayerUnpackException>(() =>
            _sandbox.UnpackAsync(layer, options: new LayerUnpackOptions { MaxEntries = 10 }));

        Assert.Empty(Directory.EnumerateFileSystemEntries(_sandbox.Snapshots));
    }

    [Fact]
    public async Task Decompression_bomb_stops_at_the_size_limit()
    {
        var layer = new TestLayer().FileBytes("zeros", new byte[8 * 1024 * 1024]);
        var blob = layer.Blob(LayerCompression.Gzip);
        Assert.True(blob.Length < 256 * 1024, $"the bomb is {blob.Length} bytes compressed");

        await Assert.ThrowsAsync<LayerUnpackException>(() =>
            _sandbox.UnpackAsync(blob, TestLayer.MediaType(LayerCompression.Gzip), new LayerUnpackOptions { MaxUncompressedBytes = 1024 * 1024 }));

        Assert.Empty(Directory.EnumerateFileSystemEntries(_sandbox.Snapshots));
    }

    [Fact]
    public async Task Size_beyond_the_stream_is_a_truncated_layer_and_nothing_is_left()
    {
        var tar = new TestLayer().File("small", "x").FileBytes("big", new byte[1024 * 1024]).Tar();

        await Assert.ThrowsAsync<LayerUnpackException>(() => _sandbox.UnpackAsync(tar[..(tar.Length / 2)], mediaType: null));

        Assert.Empty(Directory.EnumerateFileSystemEntries(_sandbox.Snapshots));
        await _sandbox.AssertHostUntouchedAsync();
    }

    [Fact]
    public async Task Oversized_pax_header_is_refused_before_the_tar_reader_buffers_it()
    {
        // 1.9 GB declared, 4 KB present: the tar reader alone would allocate the declared size.
        var blob = TestLayer.RawHeader("PaxHeaders/evil", 'x', 1_900_000_000).Concat(new byte[4096]).ToArray();

        var refused = await Assert.ThrowsAsync<LayerUnpackException>(() => _sandbox.UnpackAsync(blob, mediaType: null));

        Assert.Contains("more than the limit", refused.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_sandbox.Snapshots));
    }

    [Fact]
    public async Task Failed_layer_with_a_planted_symlink_is_cleaned_up_without_following_it()
    {
        // The refusal comes after "evil -> outside" exists: removing the partial snapshot must
        // unlink the symlink, not empty the directory it points to.
        await AssertRefusedAsync(new TestLayer().Symlink("evil", _sandbox.Outside).Dir("d/").File("../x", "pwned"));
    }
}
