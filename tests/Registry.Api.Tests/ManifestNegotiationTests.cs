using System.Net;
using Registry.Api.Tests.Infrastructure;
using Registry.Core;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>Which manifest a GET answers with, given the client's Accept header.</summary>
public sealed class ManifestNegotiationTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private readonly HttpClient _client = registry.CreateRegistryClient();

    [Fact]
    public async Task WithoutAcceptTheStoredManifestIsServed()
    {
        var repository = Names.Unique("accept");
        var manifest = await _client.PushImageAsync(repository, "v1");

        using var response = await GetAsync(repository, "v1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(manifest.Digest, Header(response, "Docker-Content-Digest"));
    }

    [Fact]
    public async Task WildcardAcceptServesTheStoredManifest()
    {
        var repository = Names.Unique("accept");
        await _client.PushImageAsync(repository, "v1");

        using var response = await GetAsync(repository, "v1", "*/*");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task AcceptListIncludingTheTypeServesIt()
    {
        var repository = Names.Unique("accept");
        await _client.PushImageAsync(repository, "v1");

        using var response = await GetAsync(repository, "v1", $"{MediaTypes.DockerManifest}, {MediaTypes.OciManifest};q=0.9", MediaTypes.OciIndex);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(MediaTypes.OciManifest, response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ManifestListGoesToLinuxAmd64ForDockerV2OnlyClient()
    {
        var (repository, amd64, _) = await PushManifestListAsync();

        using var response = await GetAsync(repository, "multi", MediaTypes.DockerManifest);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(MediaTypes.DockerManifest, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(amd64.Digest, Header(response, "Docker-Content-Digest"));
        Assert.Equal(amd64.Content, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task ManifestListIsServedToClientThatAcceptsLists()
    {
        var (repository, _, list) = await PushManifestListAsync();

        using var response = await GetAsync(repository, "multi", MediaTypes.DockerManifest, MediaTypes.DockerManifestList);

        Assert.Equal(MediaTypes.DockerManifestList, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(list.Digest, Header(response, "Docker-Content-Digest"));
    }

    [Fact]
    public async Task ManifestListWithoutAmd64IsUnknownToDockerV2OnlyClient()
    {
        var repository = Names.Unique("accept");
        var arm64 = await PushDockerImageAsync(repository);
        var list = Manifests.DockerManifestList([arm64.Descriptor("linux", "arm64")]);
        await _client.PushManifestAsync(repository, "multi", list);

        using var response = await GetAsync(repository, "multi", MediaTypes.DockerManifest);

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task OciIndexNotAcceptedIs404ManifestUnknown()
    {
        var repository = Names.Unique("accept");
        var image = await _client.PushImageAsync(repository, "image");
        await _client.PushManifestAsync(repository, "index", Manifests.OciIndex([image.Descriptor("linux", "amd64")]));

        using var response = await GetAsync(repository, "index", MediaTypes.DockerManifest, MediaTypes.OciManifest);

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task OciManifestNotAcceptedIs404()
    {
        var repository = Names.Unique("accept");
        await _client.PushImageAsync(repository, "v1");

        using var response = await GetAsync(repository, "v1", MediaTypes.DockerManifest);

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task HeadNegotiatesLikeGet()
    {
        var (repository, amd64, _) = await PushManifestListAsync();

        using var response = await _client.SendAsync(HttpMethod.Head, $"/v2/{repository}/manifests/multi", configure: r => r.Headers.Accept.ParseAdd(MediaTypes.DockerManifest));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(amd64.Digest, Header(response, "Docker-Content-Digest"));
    }

    private async Task<(string Repository, TestManifest Amd64, TestManifest List)> PushManifestListAsync()
    {
        var repository = Names.Unique("accept");
        var arm64 = await PushDockerImageAsync(repository);
        var amd64 = await PushDockerImageAsync(repository);
        var list = Manifests.DockerManifestList([arm64.Descriptor("linux", "arm64"), amd64.Descriptor("linux", "amd64")]);
        await _client.PushManifestAsync(repository, "multi", list);
        return (repository, amd64, list);
    }

    private async Task<TestManifest> PushDockerImageAsync(string repository)
    {
        var config = TestBlob.Config();
        var layer = TestBlob.Random(50);
        await _client.PushBlobsAsync(repository, config, layer);
        var manifest = Manifests.DockerImage(config, layer);
        await _client.PushManifestAsync(repository, manifest.Digest, manifest);
        return manifest;
    }

    private Task<HttpResponseMessage> GetAsync(string repository, string reference, params string[] accept) =>
        _client.SendAsync(HttpMethod.Get, $"/v2/{repository}/manifests/{reference}", configure: r =>
        {
            foreach (var type in accept)
            {
                r.Headers.Accept.ParseAdd(type);
            }
        });
}
