using System.Text;
using System.Text.Json.Nodes;
using Registry.Core;
using Registry.Node.Client;
using Registry.Node.Content;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.Node.Tests.Client;

/// <summary>One htpasswd-protected reference registry holding one image, shared by the tests of this class.</summary>
public sealed class HtpasswdRegistryFixture : IAsyncLifetime
{
    private HtpasswdRegistry? _registry;

    public HtpasswdRegistry Registry => _registry ?? throw new InvalidOperationException("not started");

    public TestImage Image { get; } = TestImages.Create(layerCount: 2);

    public ImageReference Reference => ImageReference.Parse($"{Registry.HostPort}/private/app:v1");

    public async Task InitializeAsync()
    {
        _registry = await HtpasswdRegistry.StartAsync();
        using var push = new DistributionPush(_registry);
        await push.PushImageAsync("private/app", "v1", Image);
    }

    public async Task DisposeAsync()
    {
        if (_registry is not null)
        {
            await _registry.DisposeAsync();
        }
    }
}

/// <summary>Basic authentication against the reference registry, with credentials from a docker config.json as docker login writes it.</summary>
public sealed class BasicAuthTests(HtpasswdRegistryFixture fixture) : IClassFixture<HtpasswdRegistryFixture>, IDisposable
{
    private readonly TemporaryDirectory _home = new("node-home");

    public void Dispose() => _home.Dispose();

    [Fact]
    public async Task A_pull_with_credentials_from_the_docker_config_in_home_succeeds()
    {
        var configPath = WriteDockerConfig(HtpasswdRegistry.Username, HtpasswdRegistry.Password);
        using var client = new RegistryClient(fixture.Registry.HostPort, new RegistryClientOptions { DockerConfigPath = configPath });
        var images = new ImageStore(new ContentStore(_home.Combine("store")));

        var result = await new ImagePuller(images).PullAsync(client, fixture.Reference);

        Assert.Equal(fixture.Image.OciManifest.Digest, result.Image.ManifestDigest.ToString());
        foreach (var layer in fixture.Image.Layers)
        {
            Assert.Equal(layer.Compressed.Content, await File.ReadAllBytesAsync(images.Content.BlobPath(Digest.Parse(layer.Compressed.Digest))));
        }
    }

    [Fact]
    public async Task Explicit_credentials_are_used_without_any_config_file()
    {
        using var client = new RegistryClient(fixture.Registry.HostPort, new RegistryClientOptions
        {
            Credential = new RegistryCredential(HtpasswdRegistry.Username, HtpasswdRegistry.Password),
        });

        var resolved = await client.ResolveAsync(fixture.Reference);

        Assert.Equal(fixture.Image.OciManifest.Digest, resolved.Manifest.Digest.ToString());
    }

    [Fact]
    public async Task Without_credentials_the_pull_is_unauthorized()
    {
        using var client = new RegistryClient(fixture.Registry.HostPort);

        var error = await Assert.ThrowsAsync<RegistryUnauthorizedException>(() => client.ResolveAsync(fixture.Reference));

        Assert.Contains("no credentials", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_wrong_password_is_unauthorized()
    {
        var configPath = WriteDockerConfig(HtpasswdRegistry.Username, "wrong-password");
        using var client = new RegistryClient(fixture.Registry.HostPort, new RegistryClientOptions { DockerConfigPath = configPath });

        var error = await Assert.ThrowsAsync<RegistryUnauthorizedException>(() => client.ResolveAsync(fixture.Reference));

        Assert.Contains($"refused the credentials of {HtpasswdRegistry.Username}", error.Message, StringComparison.Ordinal);
    }

    private string WriteDockerConfig(string username, string password)
    {
        var path = DockerConfigFile.DefaultPath(home: _home.Path);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}"));
        var config = new JsonObject { ["auths"] = new JsonObject { [fixture.Registry.HostPort] = new JsonObject { ["auth"] = auth } } };
        File.WriteAllText(path, config.ToJsonString());
        return path;
    }
}
