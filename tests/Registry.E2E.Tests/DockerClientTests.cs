using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.E2E.Tests;

/// <summary>The Docker engine (docker load / tag / push / pull / run) against the registry under test.</summary>
public sealed partial class DockerClientTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>, IAsyncLifetime, IDisposable
{
    private readonly List<string> _createdReferences = [];
    private readonly TemporaryDirectory _directory = new("e2e-docker");
    private DockerCli _docker = DockerCli.Default;

    private IRegistryServer Registry => fixture.Registry;

    // Logged in as the registry's admin, in a docker configuration of this test's own.
    public async Task InitializeAsync() => _docker = await RegistryUnderTest.DockerLoggedInAsync(Registry, _directory.Combine("docker-config"));

    public async Task DisposeAsync()
    {
        // Clean-up only: the engine is shared with other tests and other runs.
        foreach (var reference in Enumerable.Reverse(_createdReferences))
        {
            await _docker.RemoveImageAsync(reference, force: true);
        }
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Push_then_pull_by_tag_and_by_digest_runs_the_image()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var image = TestImages.Create(layerCount: 3);
        var repository = TestNames.Repository("app");
        var remote = $"{Registry.HostPort}/{repository}:v1";
        var local = await LoadAsync(image, ct);
        await TagAsync(local, remote, ct);

        var push = await _docker.PushAsync(remote, ct);
        var pushedDigest = PushedDigest(push);
        var repoDigests = await _docker.RepoDigestsAsync(remote, ct);
        Assert.Contains($"{Registry.HostPort}/{repository}@{pushedDigest}", repoDigests);

        // Without any local copy, the pull has to download every layer from the registry.
        await RemoveEverywhereAsync([local, remote], ct);
        await _docker.PullAsync(remote, ct);
        Assert.Equal(image.Config.Digest, await _docker.ImageIdAsync(remote, ct));
        var byTag = await _docker.RunContainerAsync(remote, cancellationToken: ct);
        Assert.Equal(image.ExpectedOutput, byTag.StandardOutput);

        var byDigestReference = $"{Registry.HostPort}/{repository}@{pushedDigest}";
        _createdReferences.Add(byDigestReference);
        await RemoveEverywhereAsync([remote], ct);
        var pull = await _docker.PullAsync(byDigestReference, ct);
        Assert.Contains(pushedDigest, pull.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(image.Config.Digest, await _docker.ImageIdAsync(byDigestReference, ct));
        var byDigest = await _docker.RunContainerAsync(byDigestReference, cancellationToken: ct);
        Assert.Equal(image.ExpectedOutput, byDigest.StandardOutput);
    }

    [Fact]
    public async Task Pushing_the_same_image_again_reports_layers_already_exist()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var image = TestImages.Create(layerCount: 3);
        var remote = $"{Registry.HostPort}/{TestNames.Repository("twice")}:v1";
        await TagAsync(await LoadAsync(image, ct), remote, ct);

        var first = await _docker.PushAsync(remote, ct);
        var second = await _docker.PushAsync(remote, ct);

        Assert.Equal(PushedDigest(first), PushedDigest(second));
        Assert.Equal(image.Layers.Count, LayerLines(second, "Layer already exists").Count);
        Assert.Empty(LayerLines(second, "Pushed"));
    }

    [Fact]
    public async Task Pushing_an_image_that_shares_layers_into_another_repository_mounts_them()
    {
        using var timeout = TestNames.Timeout();
        var ct = timeout.Token;
        var baseImage = TestImages.Create(layerCount: 3);
        var appImage = TestImages.Extend(baseImage);
        var baseRepository = TestNames.Repository("base");
        var appRepository = TestNames.Repository("derived");
        var baseRemote = $"{Registry.HostPort}/{baseRepository}:v1";
        var appRemote = $"{Registry.HostPort}/{appRepository}:v1";
        await TagAsync(await LoadAsync(baseImage, ct), baseRemote, ct);
        await TagAsync(await LoadAsync(appImage, ct), appRemote, ct);
        await _docker.PushAsync(baseRemote, ct);

        var push = await _docker.PushAsync(appRemote, ct);

        // The shared layers come from the other repository of the same registry; only the new one is uploaded.
        Assert.Equal(baseImage.Layers.Count, LayerLines(push, $"Mounted from {baseRepository}").Count);
        Assert.Single(LayerLines(push, "Pushed"));
        await AssertLayersServedAsync(appRepository, "v1", appImage.Layers.Count, ct);

        await RemoveEverywhereAsync([appRemote], ct);
        await _docker.PullAsync(appRemote, ct);
        var run = await _docker.RunContainerAsync(appRemote, cancellationToken: ct);
        Assert.Equal(appImage.ExpectedOutput, run.StandardOutput);
    }

    private async Task<string> LoadAsync(TestImage image, CancellationToken ct)
    {
        var local = $"registry-e2e/{image.Marker}:v1";
        var archive = Path.Combine(_directory.Path, image.Marker + ".tar");
        await image.WriteDockerArchiveAsync(archive, local, ct);
        _createdReferences.Add(local);
        var loaded = await _docker.LoadAsync(archive, ct);
        Assert.Contains(local, loaded);
        Assert.Equal(image.Config.Digest, await _docker.ImageIdAsync(local, ct));
        return local;
    }

    private async Task TagAsync(string source, string target, CancellationToken ct)
    {
        _createdReferences.Add(target);
        await _docker.TagAsync(source, target, ct);
    }

    private async Task RemoveEverywhereAsync(IEnumerable<string> references, CancellationToken ct)
    {
        foreach (var reference in references)
        {
            (await _docker.RemoveImageAsync(reference, cancellationToken: ct)).EnsureSuccess();
        }
    }

    /// <summary>The manifest of the tag lists its layers, and each layer blob is served in that repository.</summary>
    private async Task AssertLayersServedAsync(string repository, string tag, int layerCount, CancellationToken ct)
    {
        using var http = RegistryAuthHandler.CreateClient(Registry, timeout: TimeSpan.FromMinutes(1));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/{repository}/manifests/{tag}");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(ImageMediaTypes.DockerManifest));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(ImageMediaTypes.OciManifest));
        using var response = await http.SendAsync(request, ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var manifest = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
        var layers = manifest.RootElement.GetProperty("layers").EnumerateArray().ToList();
        Assert.Equal(layerCount, layers.Count);
        foreach (var layer in layers)
        {
            var digest = layer.GetProperty("digest").GetString();
            using var head = new HttpRequestMessage(HttpMethod.Head, $"/v2/{repository}/blobs/{digest}");
            using var blob = await http.SendAsync(head, ct);
            Assert.True(blob.StatusCode == HttpStatusCode.OK, $"HEAD {repository} blob {digest}: {(int)blob.StatusCode}");
            Assert.Equal(layer.GetProperty("size").GetInt64(), blob.Content.Headers.ContentLength);
        }
    }

    /// <summary>The manifest digest from the last line of a push: "TAG: digest: sha256:… size: N".</summary>
    private static string PushedDigest(ProcessResult push)
    {
        var match = PushDigestPattern().Match(push.StandardOutput);
        Assert.True(match.Success, $"No digest in the push output:\n{push}");
        return match.Groups["digest"].Value;
    }

    /// <summary>The per-layer progress lines ("ID: STATUS") of a push with that status.</summary>
    private static List<string> LayerLines(ProcessResult push, string status)
        => push.StandardOutput
            .Split('\n', StringSplitOptions.TrimEntries)
            .Where(line => LayerLinePattern().Match(line) is { Success: true } m
                && m.Groups["status"].Value.StartsWith(status, StringComparison.Ordinal))
            .ToList();

    [GeneratedRegex(@"digest: (?<digest>sha256:[0-9a-f]{64}) size: \d+")]
    private static partial Regex PushDigestPattern();

    [GeneratedRegex(@"^[0-9a-f]{12}: (?<status>.+)$")]
    private static partial Regex LayerLinePattern();
}
