using System.Text.Json;
using Registry.Core;
using Registry.Node.Snapshots;
using Registry.Node.Tests.Client;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.Node.Tests.Cli;

/// <summary><c>images</c>, <c>rmi</c>, <c>prune</c> and <c>inspect</c>, run as the built executable.</summary>
public sealed class ImageCommandTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>, IDisposable
{
    private readonly NodeCliProcess _cli = new(fixture.Registry);

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task Images_lists_a_pulled_image_with_its_short_id_and_platform()
    {
        var image = TestImages.Create(layerCount: 1);
        var (repository, _) = await PullAsync(image);

        var result = await _cli.RunAsync("images");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Equal(["REPOSITORY", "TAG", "IMAGE", "ID", "PLATFORM", "SIZE", "PULLED"], Words(lines[0]));
        var row = Words(lines[1]);
        Assert.Equal($"{fixture.Registry.HostPort}/{repository}", row[0]);
        Assert.Equal("v1", row[1]);
        Assert.Equal(image.Config.Hex[..12], row[2]);
        Assert.Equal("linux/amd64", row[3]);
    }

    [Fact]
    public async Task Rmi_then_prune_removes_the_images_blobs_and_snapshots()
    {
        var image = TestImages.Create(layerCount: 2);
        var (_, reference) = await PullAsync(image);
        var blobs = image.Blobs.Append(image.OciManifest).Select(b => Path.Combine(_cli.Root, "blobs", "sha256", b.Hex)).ToList();
        Assert.All(blobs, b => Assert.True(File.Exists(b), b));

        var rmi = await _cli.RunAsync("rmi", reference);
        var prune = await _cli.RunAsync("prune");

        Assert.True(rmi.ExitCode == 0, rmi.ToString());
        Assert.Contains($"Untagged: {reference}", rmi.StandardOutput, StringComparison.Ordinal);
        Assert.True(prune.ExitCode == 0, prune.ToString());
        Assert.All(blobs, b => Assert.False(File.Exists(b), b));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(_cli.Root, "snapshots")));
        Assert.Single((await _cli.RunAsync("images")).StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task Prune_keeps_what_a_remaining_image_uses()
    {
        var baseImage = TestImages.Create(layerCount: 1);
        var extended = TestImages.Extend(baseImage);
        var (_, baseReference) = await PullAsync(baseImage);
        await PullAsync(extended);

        (await _cli.RunAsync("rmi", baseReference)).EnsureSuccess();
        (await _cli.RunAsync("prune")).EnsureSuccess();

        var chainIds = ChainIds.Compute([.. extended.Layers.Select(l => Digest.Parse(l.DiffId))]);
        Assert.All(chainIds, c => Assert.True(Directory.Exists(Path.Combine(_cli.Root, "snapshots", c.Encoded)), c.ToString()));
        Assert.All(extended.Blobs, b => Assert.True(File.Exists(Path.Combine(_cli.Root, "blobs", "sha256", b.Hex)), b.Digest));
        Assert.False(File.Exists(Path.Combine(_cli.Root, "blobs", "sha256", baseImage.Config.Hex)));
    }

    [Fact]
    public async Task The_root_can_come_from_REGISTRY_NODE_ROOT()
    {
        var image = TestImages.Create(layerCount: 1);
        var (repository, _) = await PullAsync(image);

        var result = await _cli.RunWithRootFromEnvironmentAsync("images");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(repository, result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rmi_of_an_image_never_pulled_exits_1_naming_it()
    {
        var missing = $"{fixture.Registry.HostPort}/never/pulled:1";

        var result = await _cli.RunAsync("rmi", missing);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"image not found: {missing}", result.StandardError.Trim());
    }

    [Fact]
    public async Task Inspect_prints_the_record_with_its_chain_ids_and_the_config()
    {
        var image = TestImages.Create(layerCount: 2);
        var (_, reference) = await PullAsync(image);

        var result = await _cli.RunAsync("inspect", reference);

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.StandardOutput);
        var record = Assert.Single(json.RootElement.EnumerateArray().ToList());
        Assert.Equal(image.Config.Digest, record.GetProperty("Id").GetString());
        Assert.Equal(reference, record.GetProperty("Reference").GetString());
        var expected = ChainIds.Compute([.. image.Layers.Select(l => Digest.Parse(l.DiffId))]).Select(c => c.ToString());
        Assert.Equal(expected, record.GetProperty("ChainIds").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(
            image.Layers.Select(l => l.DiffId),
            record.GetProperty("Config").GetProperty("rootfs").GetProperty("diff_ids").EnumerateArray().Select(d => d.GetString()));
    }

    private async Task<(string Repository, string Reference)> PullAsync(TestImage image)
    {
        var repository = RegistryFixture.NewRepository("cli-images");
        using (var push = new DistributionPush(fixture.Registry))
        {
            await push.PushImageAsync(repository, "v1", image);
        }

        var reference = $"{fixture.Registry.HostPort}/{repository}:v1";
        (await _cli.RunAsync("pull", reference)).EnsureSuccess();
        return (repository, reference);
    }

    private static string[] Words(string line) => line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
}
