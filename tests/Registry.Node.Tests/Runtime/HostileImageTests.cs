using System.Formats.Tar;
using Registry.Node.Tests.Files;
using Registry.Node.Tests.Snapshots;

namespace Registry.Node.Tests.Runtime;

/// <summary>
/// What an image (or a container) can plant on the node, and who can use it. The image has a
/// setuid-root copy of the host's <c>id</c> and a 0666 node of the host's /dev/kmsg (char 1:11,
/// which only root may open for writing); a container makes the same two in its upper dir. The
/// snapshot keeps them as the image made them (images rely on setuid bits), so protection is
/// reach: <c>nobody</c> on the host can neither run the file nor open the node, because the node's
/// root is 0700; inside a container the root filesystem and the volumes are nodev.
/// </summary>
[Collection(ContainerTestCollection.Name)]
public sealed class HostileImageTests(RuntimeImageFixture fixture) : IClassFixture<RuntimeImageFixture>
{
    private const string Image = "registry.test/node-tests/hostile:latest";
    private const UnixFileMode SetuidExecutable = (UnixFileMode)0x9ed; // 04755
    private const UnixFileMode WorldWritable = (UnixFileMode)0x1b6; // 0666
    private const int KmsgMajor = 1;
    private const int KmsgMinor = 11;

    [Fact]
    public async Task Nobody_cannot_enter_the_node_root()
    {
        await ImportAsync();

        var root = await Nobody.RunAsync("ls", fixture.Root);
        var parent = await Nobody.RunAsync("ls", Path.GetDirectoryName(fixture.Root)!);

        Assert.True(parent.ExitCode == 0, parent.ToString()); // the root's own mode is what stops nobody
        Assert.NotEqual(0, root.ExitCode);
        Assert.Contains("Permission denied", root.StandardError, StringComparison.Ordinal);
        Assert.Equal("700", await FileModes.OfAsync(fixture.Root));
    }

    [Fact]
    public async Task Nobody_cannot_run_a_setuid_file_of_an_image_snapshot_or_of_a_containers_upper_dir()
    {
        var snapshot = await ImportAsync();
        var upper = await RunContainerThatPlantsAsync();

        var fromImage = await Nobody.RunAsync(Path.Combine(snapshot, "bin", "rootid"));
        var fromContainer = await Nobody.RunAsync(Path.Combine(upper, "made-rootid"));

        // Kept as the image and the container made them: setuid, owned by root.
        Assert.Equal("4755", await FileModes.OfAsync(Path.Combine(snapshot, "bin", "rootid")));
        Assert.Equal("4755", await FileModes.OfAsync(Path.Combine(upper, "made-rootid")));
        Assert.True(fromImage.ExitCode != 0, fromImage.ToString());
        Assert.Contains("Permission denied", fromImage.StandardError, StringComparison.Ordinal);
        Assert.True(fromContainer.ExitCode != 0, fromContainer.ToString());
        Assert.Contains("Permission denied", fromContainer.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nobody_cannot_open_a_device_node_of_an_image_snapshot_or_of_a_containers_upper_dir()
    {
        var snapshot = await ImportAsync();
        var upper = await RunContainerThatPlantsAsync();

        var fromImage = await Nobody.OpenForWritingAsync(Path.Combine(snapshot, "kmsg"));
        var fromContainer = await Nobody.OpenForWritingAsync(Path.Combine(upper, "made-kmsg"));

        Assert.Equal("666", await FileModes.OfAsync(Path.Combine(snapshot, "kmsg")));
        Assert.Equal("character special file 1:11", await Snapshots.Stat.FormatAsync(Path.Combine(upper, "made-kmsg"), "%F %Hr:%Lr"));
        Assert.True(fromImage.ExitCode != 0, fromImage.ToString());
        Assert.Contains("Permission denied", fromImage.StandardError, StringComparison.Ordinal);
        Assert.True(fromContainer.ExitCode != 0, fromContainer.ToString());
        Assert.Contains("Permission denied", fromContainer.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_device_node_from_the_image_cannot_be_opened_inside_the_container()
    {
        await ImportAsync();

        var result = await fixture.RunAsync("run", "--rm", Image, "sh", "-c", "exec 3>/kmsg && echo opened");

        Assert.NotEqual(0, result.ExitCode);
        Assert.DoesNotContain("opened", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Permission denied", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_device_node_made_in_a_named_volume_or_a_bind_mount_cannot_be_opened_inside_the_container()
    {
        await ImportAsync();
        var volume = $"dev-{Guid.NewGuid():N}"[..20];
        using var host = new Registry.Testing.TemporaryDirectory("node-bind-dev");
        var script = $"busybox mknod -m 666 /data/kmsg c {KmsgMajor} {KmsgMinor} && exec 3>/data/kmsg && echo opened";

        var named = await fixture.RunAsync("run", "--rm", "-v", $"{volume}:/data", Image, "sh", "-c", script);
        var bound = await fixture.RunAsync("run", "--rm", "-v", $"{host.Path}:/data", Image, "sh", "-c", script);

        Assert.NotEqual(0, named.ExitCode);
        Assert.DoesNotContain("opened", named.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Permission denied", named.StandardError, StringComparison.Ordinal);
        Assert.NotEqual(0, bound.ExitCode);
        Assert.DoesNotContain("opened", bound.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Permission denied", bound.StandardError, StringComparison.Ordinal);
    }

    /// <summary>Imports the image; returns the host path of its top snapshot (the one with the planted files).</summary>
    private async Task<string> ImportAsync()
    {
        var kmsg = new PaxTarEntry(TarEntryType.CharacterDevice, "kmsg")
        {
            Mode = WorldWritable,
            DeviceMajor = KmsgMajor,
            DeviceMinor = KmsgMinor,
            ModificationTime = TestLayer.Epoch2020,
        };
        var layer = new TestLayer()
            .Dir("bin")
            .FileBytes("bin/rootid", await File.ReadAllBytesAsync("/usr/bin/id"), SetuidExecutable)
            .Add(kmsg);
        var chainIds = await fixture.ImportWithLayerAsync(Image, layer);
        return Path.Combine(fixture.Root, "snapshots", chainIds[^1].Encoded);
    }

    /// <summary>Runs a container that copies the image's setuid file and makes a kmsg node in its upper dir; returns that upper dir.</summary>
    private async Task<string> RunContainerThatPlantsAsync()
    {
        var name = $"plant-{Guid.NewGuid():N}"[..20];
        var result = await fixture.RunAsync(
            "run", "--name", name, Image, "sh", "-c",
            $"busybox cp /bin/rootid /made-rootid && busybox chmod 4755 /made-rootid && busybox mknod -m 666 /made-kmsg c {KmsgMajor} {KmsgMinor}");
        Assert.True(result.ExitCode == 0, result.ToString());
        return Path.Combine(fixture.ContainerDirectory(name), "upper");
    }
}
