using Registry.Testing;

namespace Registry.Node.Tests.Runtime;

/// <summary><c>-v NAME:/path</c>, <c>-v /host:/path[:ro]</c>, <c>--tmpfs</c> and <c>volume ls|create|rm</c>, with real containers.</summary>
[Collection(ContainerTestCollection.Name)]
public sealed class VolumeTests(RuntimeImageFixture fixture) : IClassFixture<RuntimeImageFixture>
{
    private const string Image = RuntimeImageFixture.Reference;

    [Fact]
    public async Task A_named_volume_outlives_its_container_and_is_seen_by_the_next()
    {
        var volume = $"data-{Guid.NewGuid():N}"[..20];

        var write = await fixture.RunAsync("run", "--rm", "-v", $"{volume}:/data", Image, "sh", "-c", "echo kept > /data/file");
        var read = await fixture.RunAsync("run", "--rm", "-v", $"{volume}:/mnt/other", Image, "cat", "/mnt/other/file");
        var list = await fixture.RunAsync("volume", "ls", "-q");

        Assert.True(write.ExitCode == 0, write.ToString());
        Assert.True(read.ExitCode == 0, read.ToString());
        Assert.Equal("kept\n", read.StandardOutput);
        Assert.Equal("kept\n", await File.ReadAllTextAsync(Path.Combine(fixture.Root, "volumes", volume, "_data", "file")));
        Assert.Contains(volume, list.StandardOutput.Split('\n'));
    }

    [Fact]
    public async Task A_volume_used_by_a_container_cannot_be_removed_and_an_unused_one_can()
    {
        var used = $"used-{Guid.NewGuid():N}"[..20];
        var unused = $"unused-{Guid.NewGuid():N}"[..20];
        (await fixture.RunAsync("run", "-v", $"{used}:/data", Image, "true")).EnsureSuccess();
        (await fixture.RunAsync("volume", "create", unused)).EnsureSuccess();

        var refused = await fixture.RunAsync("volume", "rm", used);
        var removed = await fixture.RunAsync("volume", "rm", unused);

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains($"remove {used}: volume is in use", refused.StandardError, StringComparison.Ordinal);
        Assert.True(Directory.Exists(Path.Combine(fixture.Root, "volumes", used, "_data")));
        Assert.True(removed.ExitCode == 0, removed.ToString());
        Assert.False(Directory.Exists(Path.Combine(fixture.Root, "volumes", unused)));
    }

    [Fact]
    public async Task A_bind_mount_shows_the_host_directory_and_writes_reach_it()
    {
        using var host = new TemporaryDirectory("node-bind");
        await File.WriteAllTextAsync(host.Combine("from-host"), "host\n");

        var result = await fixture.RunAsync("run", "--rm", "-v", $"{host.Path}:/srv/data", Image, "sh", "-c", "cat /srv/data/from-host; echo container > /srv/data/from-container");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("host\n", result.StandardOutput);
        Assert.Equal("container\n", await File.ReadAllTextAsync(host.Combine("from-container")));
    }

    [Fact]
    public async Task A_read_only_bind_mount_cannot_be_written()
    {
        using var host = new TemporaryDirectory("node-bind-ro");

        var result = await fixture.RunAsync("run", "--rm", "-v", $"{host.Path}:/ro:ro", Image, "sh", "-c", "echo x > /ro/file");
        var remount = await fixture.RunAsync("run", "--rm", "-v", $"{host.Path}:/ro:ro", Image, "sh", "-c", "grep ' /ro ' /proc/mounts");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Read-only file system", result.StandardError, StringComparison.Ordinal);
        Assert.False(File.Exists(host.Combine("file")));
        Assert.Matches(" ro[, ]", remount.StandardOutput);
    }

    [Fact]
    public async Task A_missing_bind_source_is_refused_with_125()
    {
        var missing = $"/tmp/no-such-dir-{Guid.NewGuid():N}";

        var result = await fixture.RunAsync("run", "--rm", "-v", $"{missing}:/data", Image, "true");

        Assert.Equal(125, result.ExitCode);
        Assert.Contains($"bind source path does not exist: {missing}", result.StandardError, StringComparison.Ordinal);
        Assert.False(Directory.Exists(missing));
    }

    [Fact]
    public async Task A_tmpfs_is_a_tmpfs_of_the_size_asked()
    {
        var result = await fixture.RunAsync("run", "--rm", "--tmpfs", "/scratch:size=1m", Image, "sh", "-c", "grep ' /scratch ' /proc/mounts; echo x > /scratch/f && cat /scratch/f");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("tmpfs /scratch tmpfs rw,", lines[0], StringComparison.Ordinal);
        Assert.Contains("size=1024k", lines[0], StringComparison.Ordinal);
        Assert.Equal("x", lines[1]);
    }

    [Fact]
    public async Task A_mount_target_through_a_symlink_planted_by_the_image_is_refused()
    {
        // The image's /escape points at a host directory: following it would mount (and mkdir) on the host.
        using var hostTarget = new TemporaryDirectory("node-link-target");
        using var source = new TemporaryDirectory("node-link-source");
        const string reference = "registry.test/node-tests/escape:latest";
        await fixture.ImportWithLayerAsync(reference, new Snapshots.TestLayer().Symlink("escape", hostTarget.Path));

        var result = await fixture.RunAsync("run", "--rm", "-v", $"{source.Path}:/escape/sub", reference, "true");

        Assert.Equal(125, result.ExitCode);
        Assert.Contains("/escape/sub in the image is not a directory", result.StandardError, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(hostTarget.Path));
    }
}
