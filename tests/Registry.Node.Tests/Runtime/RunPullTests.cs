using Registry.Node.Tests.Client;
using Registry.Node.Tests.Cli;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.Node.Tests.Runtime;

/// <summary>
/// <c>registry-node run</c> of an image the node does not have: it pulls it from our registry
/// first, as <c>docker run</c> does, reporting the pull on stderr so that stdout is the container's alone.
/// </summary>
[Collection(ContainerTestCollection.Name)]
public sealed class RunPullTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>, IDisposable
{
    private readonly NodeCliProcess _cli = new(fixture.Registry);

    public void Dispose()
    {
        _cli.Dispose();
        Registry.Node.Runtime.Cgroups.CgroupManager.ForHost().RemoveParentsIfEmpty();
    }

    [Fact]
    public async Task Run_pulls_an_image_it_does_not_have_and_runs_it()
    {
        var image = TestImages.Create(layerCount: 2);
        var reference = await PushAsync(image);

        var result = await _cli.RunAsync("run", "--rm", "--network", "none", reference, "echo", "hello");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("hello\n", result.StandardOutput);
        Assert.StartsWith($"Unable to find image '{reference}' locally\n", result.StandardError, StringComparison.Ordinal);
        Assert.Contains($"Digest: {image.OciManifest.Digest}", result.StandardError, StringComparison.Ordinal);
        Assert.Contains($"Status: Downloaded newer image for {reference}", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_run_of_a_pulled_image_does_not_pull_again()
    {
        var reference = await PushAsync(TestImages.Create(layerCount: 1));
        (await _cli.RunAsync("run", "--rm", "--network", "none", reference, "true")).EnsureSuccess();

        var again = await _cli.RunAsync("run", "--rm", "--network", "none", reference, "echo", "again");

        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Equal("again\n", again.StandardOutput);
        Assert.Equal("", again.StandardError);
    }

    [Fact]
    public async Task Run_of_an_image_the_registry_does_not_have_exits_125_and_leaves_no_container()
    {
        var reference = $"{fixture.Registry.HostPort}/{RegistryFixture.NewRepository("missing")}:nope";

        var result = await _cli.RunAsync("run", "--rm", "--network", "none", reference, "echo", "hello");

        Assert.Equal(125, result.ExitCode);
        Assert.Equal("", result.StandardOutput);
        var lines = result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal($"Unable to find image '{reference}' locally", lines[0]);
        Assert.Equal($"registry-node: image not found: {reference}", lines[^1]);
        var containers = Path.Combine(_cli.Root, "containers");
        Assert.False(Directory.Exists(containers) && Directory.EnumerateFileSystemEntries(containers).Any(e => !Path.GetFileName(e).StartsWith('.')));
    }

    private async Task<string> PushAsync(TestImage image)
    {
        var repository = RegistryFixture.NewRepository("run");
        using var push = new DistributionPush(fixture.Registry);
        await push.PushImageAsync(repository, "v1", image);
        return $"{fixture.Registry.HostPort}/{repository}:v1";
    }
}
