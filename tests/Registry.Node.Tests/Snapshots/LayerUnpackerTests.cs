using System.Formats.Tar;
using System.Text;
using Registry.Node.Snapshots;

namespace Registry.Node.Tests.Snapshots;

public sealed class LayerUnpackerTests : IDisposable
{
    private readonly SnapshotSandbox _sandbox = new();

    public void Dispose() => _sandbox.Dispose();

    private static UnixFileMode Octal(string mode) => (UnixFileMode)Convert.ToInt32(mode, 8);

    [Fact]
    public async Task Regular_file_keeps_its_bytes()
    {
        var content = new byte[300_000];
        new Random(7).NextBytes(content);

        await _sandbox.UnpackAsync(new TestLayer().Dir("etc/").FileBytes("etc/data.bin", content));

        Assert.Equal(content, await File.ReadAllBytesAsync(_sandbox.In("etc/data.bin")));
    }

    [Fact]
    public async Task Mode_bits_include_setuid_setgid_and_sticky()
    {
        await _sandbox.UnpackAsync(new TestLayer()
            .File("bin/su", "x", mode: Octal("4755"))
            .File("bin/wall", "x", mode: Octal("2755"))
            .Dir("tmp/", mode: Octal("1777"))
            .File("etc/secret", "x", mode: Octal("600")));

        Assert.Equal("4755", await Stat.FormatAsync(_sandbox.In("bin/su"), "%a"));
        Assert.Equal("2755", await Stat.FormatAsync(_sandbox.In("bin/wall"), "%a"));
        Assert.Equal("1777", await Stat.FormatAsync(_sandbox.In("tmp"), "%a"));
        Assert.Equal("600", await Stat.FormatAsync(_sandbox.In("etc/secret"), "%a"));
    }

    [Fact]
    public async Task Owner_is_applied_when_root()
    {
        Assert.True(Stat.IsRoot, "the snapshot tests run as root, as CI runs them");
        await _sandbox.UnpackAsync(new TestLayer()
            .Dir("home/app/", uid: 1000, gid: 1001)
            .File("home/app/file", "x", uid: 1000, gid: 1001, mode: Octal("4755")));

        Assert.Equal("1000:1001", await Stat.FormatAsync(_sandbox.In("home/app"), "%u:%g"));
        Assert.Equal("1000:1001", await Stat.FormatAsync(_sandbox.In("home/app/file"), "%u:%g"));
        Assert.Equal("4755", await Stat.FormatAsync(_sandbox.In("home/app/file"), "%a")); // chown did not drop setuid
    }

    [Fact]
    public async Task Modification_times_of_files_and_directories_stick()
    {
        var old = new DateTimeOffset(2001, 9, 9, 1, 46, 40, TimeSpan.Zero);
        await _sandbox.UnpackAsync(new TestLayer()
            .Dir("d/", modified: old)
            .File("d/f", "x", modified: old.AddDays(1))
            .Dir("d/sub/", modified: old));

        Assert.Equal(old.ToUnixTimeSeconds().ToString(), await Stat.FormatAsync(_sandbox.In("d"), "%Y"));
        Assert.Equal(old.ToUnixTimeSeconds().ToString(), await Stat.FormatAsync(_sandbox.In("d/sub"), "%Y"));
        Assert.Equal(old.AddDays(1).ToUnixTimeSeconds().ToString(), await Stat.FormatAsync(_sandbox.In("d/f"), "%Y"));
    }

    [Fact]
    public async Task Symlink_targets_are_stored_verbatim()
    {
        await _sandbox.UnpackAsync(new TestLayer()
            .Symlink("abs", "/etc/passwd")
            .Symlink("rel", "../../../x")
            .Symlink("dangling", "nowhere"));

        Assert.Equal("/etc/passwd", new FileInfo(_sandbox.In("abs")).LinkTarget);
        Assert.Equal("../../../x", new FileInfo(_sandbox.In("rel")).LinkTarget);
        Assert.Equal("symbolic link", await Stat.FormatAsync(_sandbox.In("dangling"), "%F"));
    }

    [Fact]
    public async Task Hardlink_shares_the_inode_of_its_target()
    {
        var result = await _sandbox.UnpackAsync(new TestLayer()
            .File("bin/busybox", "binary")
            .Hardlink("bin/sh", "bin/busybox")
            .Hardlink("usr/bin/env", "/bin/busybox"));

        var inode = await Stat.FormatAsync(_sandbox.In("bin/busybox"), "%i %h");
        Assert.Equal(inode, await Stat.FormatAsync(_sandbox.In("bin/sh"), "%i %h"));
        Assert.Equal(inode, await Stat.FormatAsync(_sandbox.In("usr/bin/env"), "%i %h"));
        Assert.EndsWith(" 3", inode, StringComparison.Ordinal);
        Assert.Equal(2, result.Hardlinks);
    }

    [Fact]
    public async Task Whiteout_becomes_a_character_device_0_0()
    {
        var result = await _sandbox.UnpackAsync(new TestLayer().Dir("etc/").File("etc/.wh.motd", ""));

        Assert.Equal("character special file 0 0", await Stat.FormatAsync(_sandbox.In("etc/motd"), "%F %t %T"));
        Assert.False(File.Exists(_sandbox.In("etc/.wh.motd")));
        Assert.Equal(1, result.Whiteouts);
    }

    [Fact]
    public async Task Opaque_marker_sets_the_overlay_opaque_xattr()
    {
        var result = await _sandbox.UnpackAsync(new TestLayer().Dir("var/cache/").File("var/cache/.wh..wh..opq", "").File("var/cache/new", "n"));

        Assert.Equal("y", Stat.Xattr(_sandbox.In("var/cache"), "trusted.overlay.opaque"));
        Assert.Null(Stat.Xattr(_sandbox.In("var"), "trusted.overlay.opaque"));
        Assert.False(File.Exists(_sandbox.In("var/cache/.wh..wh..opq")));
        Assert.Equal(1, result.OpaqueDirectories);
    }

    [Fact]
    public async Task Devices_and_fifos_are_created_when_root()
    {
        Assert.True(Stat.IsRoot, "the snapshot tests run as root, as CI runs them");
        await _sandbox.UnpackAsync(new TestLayer()
            .Node("dev/null", TarEntryType.CharacterDevice, 1, 3)
            .Node("dev/loop9", TarEntryType.BlockDevice, 7, 9)
            .Node("run/pipe", TarEntryType.Fifo));

        Assert.Equal("character special file 1 3 660", await Stat.FormatAsync(_sandbox.In("dev/null"), "%F %t %T %a"));
        Assert.Equal("block special file 7 9", await Stat.FormatAsync(_sandbox.In("dev/loop9"), "%F %t %T"));
        Assert.Equal("fifo", await Stat.FormatAsync(_sandbox.In("run/pipe"), "%F"));
    }

    [Fact]
    public async Task Pax_user_xattr_is_applied_and_trusted_xattr_is_not()
    {
        var result = await _sandbox.UnpackAsync(new TestLayer().FileBytes("f", [1], pax:
        [
            new("SCHILY.xattr.user.origin", "layer"),
            new("SCHILY.xattr.trusted.overlay.redirect", "/etc"),
        ]));

        Assert.Equal("layer", Stat.Xattr(_sandbox.In("f"), "user.origin"));
        Assert.Null(Stat.Xattr(_sandbox.In("f"), "trusted.overlay.redirect"));
        Assert.Equal(1, result.SkippedXattrs);
    }

    [Theory]
    [InlineData(LayerCompression.None)]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public async Task Each_compression_unpacks_and_reports_the_diff_id_of_the_tar(LayerCompression compression)
    {
        var layer = new TestLayer().Dir("app/").File("app/a.txt", "alpha").File("app/b.txt", "bravo!");

        var result = await _sandbox.UnpackAsync(layer, compression);

        Assert.Equal(layer.DiffId(), result.DiffId.ToString());
        Assert.Equal(compression, result.Compression);
        Assert.Equal(layer.Tar().Length, result.UncompressedBytes);
        Assert.Equal((2, 11L, 1), (result.Files, result.FileBytes, result.Directories));
        Assert.Equal("bravo!", await File.ReadAllTextAsync(_sandbox.In("app/b.txt")));
    }

    [Fact]
    public async Task Compression_is_detected_from_magic_bytes_without_a_media_type()
    {
        var layer = new TestLayer().File("x", "zstd by magic");

        var result = await _sandbox.UnpackAsync(layer.Blob(LayerCompression.Zstd), mediaType: null);

        Assert.Equal(LayerCompression.Zstd, result.Compression);
        Assert.Equal("zstd by magic", await File.ReadAllTextAsync(_sandbox.In("x")));
    }

    [Fact]
    public async Task Media_type_promising_gzip_on_plain_tar_is_refused()
    {
        var layer = new TestLayer().File("x", "plain");

        await Assert.ThrowsAsync<LayerUnpackException>(() =>
            _sandbox.UnpackAsync(layer.Blob(LayerCompression.None), TestLayer.MediaType(LayerCompression.Gzip)));

        Assert.Empty(Directory.EnumerateFileSystemEntries(_sandbox.Snapshots));
    }

    [Fact]
    public async Task Snapshot_root_gets_0755_and_no_staging_directory_remains()
    {
        await _sandbox.UnpackAsync(new TestLayer().File("x", "x"));

        Assert.Equal("755", await Stat.FormatAsync(_sandbox.Snapshot, "%a"));
        Assert.Equal([_sandbox.Snapshot], Directory.EnumerateFileSystemEntries(_sandbox.Snapshots));
    }

    [Fact]
    public async Task Existing_snapshot_directory_is_not_overwritten()
    {
        Directory.CreateDirectory(_sandbox.Snapshot);
        await File.WriteAllTextAsync(_sandbox.In("mine"), "kept");

        await Assert.ThrowsAsync<IOException>(() => _sandbox.UnpackAsync(new TestLayer().File("mine", "theirs")));

        Assert.Equal("kept", await File.ReadAllTextAsync(_sandbox.In("mine")));
        Assert.Equal([_sandbox.Snapshot], Directory.EnumerateFileSystemEntries(_sandbox.Snapshots));
    }

    [Fact]
    public async Task Later_entry_of_the_same_name_replaces_the_earlier_one()
    {
        await _sandbox.UnpackAsync(new TestLayer().File("f", "first").File("f", "second"));

        Assert.Equal("second", await File.ReadAllTextAsync(_sandbox.In("f"), Encoding.UTF8));
    }

    [Fact]
    public async Task Long_names_and_pax_records_within_the_limit_unpack()
    {
        var name = string.Join('/', Enumerable.Repeat("deep-directory-name", 12)) + "/file";

        await _sandbox.UnpackAsync(new TestLayer().File(name, "deep").FileBytes("x", [1], pax: [new("SCHILY.xattr.user.note", new string('n', 2000))]));

        Assert.Equal("deep", await File.ReadAllTextAsync(_sandbox.In(name)));
    }

    [Fact]
    public async Task Tar_written_by_gnu_tar_unpacks_to_the_same_tree()
    {
        using var source = new Registry.Testing.TemporaryDirectory("registry-gnutar");
        Directory.CreateDirectory(Path.Combine(source.Path, "bin"));
        await File.WriteAllTextAsync(Path.Combine(source.Path, "bin", "busybox"), "binary");
        (await Registry.Testing.ProcessRunner.RunAsync("ln", [Path.Combine(source.Path, "bin", "busybox"), Path.Combine(source.Path, "bin", "sh")])).EnsureSuccess();
        File.CreateSymbolicLink(Path.Combine(source.Path, "link"), "bin/busybox");
        var tar = Path.Combine(source.Path, "..", $"gnu-{Guid.NewGuid():N}.tar");
        try
        {
            (await Registry.Testing.ProcessRunner.RunAsync("tar", ["--format=gnu", "-C", source.Path, "-cf", tar, "."])).EnsureSuccess();

            await _sandbox.UnpackAsync(await File.ReadAllBytesAsync(tar), "application/vnd.docker.image.rootfs.diff.tar");

            var diff = await Registry.Testing.ProcessRunner.RunAsync("diff", ["-r", "--no-dereference", source.Path, _sandbox.Snapshot]);
            Assert.True(diff.Succeeded, diff.ToString());
            Assert.Equal(await Stat.FormatAsync(_sandbox.In("bin/busybox"), "%i"), await Stat.FormatAsync(_sandbox.In("bin/sh"), "%i"));
        }
        finally
        {
            File.Delete(tar);
        }
    }
}
