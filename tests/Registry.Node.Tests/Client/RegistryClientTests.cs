using Registry.Core;
using Registry.Node.Client;
using Registry.Testing.Images;

namespace Registry.Node.Tests.Client;

/// <summary>Resolving references against our registry, a real child process.</summary>
public sealed class RegistryClientTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>
{
    private string Host => fixture.Registry.HostPort;

    [Fact]
    public async Task Resolving_a_tag_returns_the_manifest_and_config_that_were_pushed()
    {
        var image = TestImages.Create(layerCount: 2);
        var repository = RegistryFixture.NewRepository("tag");
        using (var push = new DistributionPush(fixture.Registry))
        {
            await push.PushImageAsync(repository, "v1", image);
        }

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        var resolved = await client.ResolveAsync(ImageReference.Parse($"{Host}/{repository}:v1"));

        Assert.Equal(image.OciManifest.Digest, resolved.Manifest.Digest.ToString());
        Assert.Equal(image.OciManifest.Content, resolved.Manifest.Bytes.ToArray());
        Assert.Null(resolved.Index);
        Assert.Equal(image.Config.Digest, resolved.ConfigDescriptor.Digest.ToString());
        Assert.Equal(image.Config.Content, resolved.ConfigBytes.ToArray());
        Assert.Equal(image.Layers.Select(l => l.Compressed.Digest), resolved.Layers.Select(l => l.Digest.ToString()));
        Assert.Equal(image.Layers.Select(l => l.DiffId), resolved.Config.DiffIds.Select(d => d.ToString()));
        Assert.Contains($"TEST_IMAGE_MARKER={image.Marker}", resolved.Config.Env);
        Assert.Equal("linux/amd64", resolved.Platform.ToString());
    }

    [Fact]
    public async Task Resolving_a_docker_schema2_manifest_works_like_an_oci_one()
    {
        var image = TestImages.Create(layerCount: 1);
        var repository = RegistryFixture.NewRepository("docker");
        using (var push = new DistributionPush(fixture.Registry))
        {
            await push.PushImageAsync(repository, "v1", image, dockerManifest: true);
        }

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        var resolved = await client.ResolveAsync(ImageReference.Parse($"{Host}/{repository}:v1"));

        Assert.Equal(MediaTypes.DockerManifest, resolved.Manifest.MediaType);
        Assert.Equal(image.DockerManifest.Digest, resolved.Manifest.Digest.ToString());
    }

    [Fact]
    public async Task Resolving_by_digest_fetches_exactly_that_manifest()
    {
        var image = TestImages.Create(layerCount: 1);
        var repository = RegistryFixture.NewRepository("digest");
        using (var push = new DistributionPush(fixture.Registry))
        {
            await push.PushImageAsync(repository, "v1", image);
        }

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        var reference = ImageReference.Parse($"{Host}/{repository}@{image.OciManifest.Digest}");
        var resolved = await client.ResolveAsync(reference);

        Assert.Equal(image.OciManifest.Digest, resolved.Digest.ToString());
        Assert.Equal(image.Config.Digest, resolved.ConfigDescriptor.Digest.ToString());
    }

    [Fact]
    public async Task An_index_resolves_to_linux_amd64_by_default()
    {
        var index = TestImages.CreateMultiPlatform(layerCount: 1);
        var repository = RegistryFixture.NewRepository("index");
        using (var push = new DistributionPush(fixture.Registry))
        {
            await push.PushIndexAsync(repository, "multi", index);
        }

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        var resolved = await client.ResolveAsync(ImageReference.Parse($"{Host}/{repository}:multi"));

        var amd64 = index.Images.Single(i => i.Architecture == "amd64");
        Assert.Equal(index.Index.Digest, resolved.Index?.Digest.ToString());
        Assert.Equal(index.Index.Digest, resolved.Digest.ToString());
        Assert.Equal(amd64.OciManifest.Digest, resolved.Manifest.Digest.ToString());
        Assert.Equal("amd64", resolved.Config.Architecture);
    }

    [Fact]
    public async Task An_index_resolves_to_the_requested_platform()
    {
        var index = TestImages.CreateMultiPlatform(layerCount: 1);
        var repository = RegistryFixture.NewRepository("arm");
        using (var push = new DistributionPush(fixture.Registry))
        {
            await push.PushIndexAsync(repository, "multi", index);
        }

        using var client = new RegistryClient(Host, fixture.ClientOptions with { Platform = PlatformSelector.Parse("linux/arm64") });
        var resolved = await client.ResolveAsync(ImageReference.Parse($"{Host}/{repository}:multi"));

        var arm64 = index.Images.Single(i => i.Architecture == "arm64");
        Assert.Equal(arm64.OciManifest.Digest, resolved.Manifest.Digest.ToString());
        Assert.Equal(arm64.Config.Digest, resolved.ConfigDescriptor.Digest.ToString());
        Assert.Equal("linux/arm64", resolved.Platform.ToString());
    }

    [Fact]
    public async Task A_platform_the_index_lacks_is_an_error_that_lists_the_available_ones()
    {
        var index = TestImages.CreateMultiPlatform(layerCount: 1);
        var repository = RegistryFixture.NewRepository("noplat");
        using (var push = new DistributionPush(fixture.Registry))
        {
            await push.PushIndexAsync(repository, "multi", index);
        }

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        var error = await Assert.ThrowsAsync<PlatformNotFoundException>(() =>
            client.ResolveAsync(ImageReference.Parse($"{Host}/{repository}:multi"), PlatformSelector.Parse("linux/s390x")));

        Assert.Equal(["linux/amd64", "linux/arm64"], error.Available.Select(p => p.ToString()).Order());
        Assert.Contains("linux/s390x", error.Message, StringComparison.Ordinal);
        Assert.Contains("linux/amd64, linux/arm64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_explicit_platform_that_a_single_platform_image_lacks_is_an_error()
    {
        var image = TestImages.Create(layerCount: 1, architecture: "amd64");
        var repository = RegistryFixture.NewRepository("single");
        using (var push = new DistributionPush(fixture.Registry))
        {
            await push.PushImageAsync(repository, "v1", image);
        }

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        var error = await Assert.ThrowsAsync<PlatformNotFoundException>(() =>
            client.ResolveAsync(ImageReference.Parse($"{Host}/{repository}:v1"), PlatformSelector.Parse("linux/arm64")));

        Assert.Equal(["linux/amd64"], error.Available.Select(p => p.ToString()));
    }

    [Fact]
    public async Task An_unknown_tag_is_image_not_found_naming_the_reference()
    {
        var image = TestImages.Create(layerCount: 1);
        var repository = RegistryFixture.NewRepository("notag");
        using (var push = new DistributionPush(fixture.Registry))
        {
            await push.PushImageAsync(repository, "v1", image);
        }

        using var client = new RegistryClient(Host, fixture.ClientOptions);
        var reference = ImageReference.Parse($"{Host}/{repository}:missing");
        var error = await Assert.ThrowsAsync<ImageNotFoundException>(() => client.ResolveAsync(reference));

        Assert.Equal(reference, error.Reference);
        Assert.Contains($"{Host}/{repository}:missing", error.Message, StringComparison.Ordinal);
        Assert.Equal("MANIFEST_UNKNOWN", error.ErrorCode);
    }

    [Fact]
    public async Task An_unknown_repository_is_image_not_found()
    {
        using var client = new RegistryClient(Host, fixture.ClientOptions);
        var reference = ImageReference.Parse($"{Host}/{RegistryFixture.NewRepository("nothing")}:latest");

        var error = await Assert.ThrowsAsync<ImageNotFoundException>(() => client.ResolveAsync(reference));

        Assert.Contains(reference.ToString(), error.Message, StringComparison.Ordinal);
        Assert.True(error.ErrorCode is "NAME_UNKNOWN" or "MANIFEST_UNKNOWN", $"error code {error.ErrorCode}");
    }

    [Fact]
    public async Task An_unknown_digest_is_image_not_found()
    {
        using var client = new RegistryClient(Host, fixture.ClientOptions);
        var image = TestImages.Create(layerCount: 1);
        var repository = RegistryFixture.NewRepository("nodigest");
        using (var push = new DistributionPush(fixture.Registry))
        {
            await push.PushImageAsync(repository, "v1", image);
        }

        var missing = Digest.ComputeSha256("not a manifest"u8);
        var error = await Assert.ThrowsAsync<ImageNotFoundException>(() =>
            client.ResolveAsync(ImageReference.Parse($"{Host}/{repository}@{missing}")));

        Assert.Contains(missing.ToString(), error.Message, StringComparison.Ordinal);
    }
}
