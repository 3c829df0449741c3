using System.Net;
using System.Text.Json.Nodes;
using Registry.Api.Tests.Infrastructure;
using Registry.Core;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>PUT, GET, HEAD and DELETE of /v2/NAME/manifests/REFERENCE by tag and by digest.</summary>
public sealed class ManifestTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private readonly HttpClient _client = registry.CreateRegistryClient();

    [Fact]
    public async Task PutByTagReturns201WithLocationAndDigest()
    {
        var (repository, manifest) = await ImageWithBlobsAsync();

        using var response = await _client.PutManifestAsync(repository, "v1", manifest);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/v2/{repository}/manifests/{manifest.Digest}", Location(response));
        Assert.Equal(manifest.Digest, Header(response, "Docker-Content-Digest"));
    }

    [Fact]
    public async Task GetByTagReturnsExactBytesTypeAndDigest()
    {
        var (repository, manifest) = await ImageWithBlobsAsync();
        await _client.PushManifestAsync(repository, "v1", manifest);

        using var response = await _client.GetAsync($"/v2/{repository}/manifests/v1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(MediaTypes.OciManifest, response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(manifest.Digest, Header(response, "Docker-Content-Digest"));
        Assert.Equal(manifest.Content, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task GetByDigestReturnsExactBytes()
    {
        var (repository, manifest) = await ImageWithBlobsAsync();
        await _client.PushManifestAsync(repository, "v1", manifest);

        using var response = await _client.SendAsync(HttpMethod.Get, $"/v2/{repository}/manifests/{manifest.Digest}",
            configure: r => r.Headers.Accept.ParseAdd(MediaTypes.OciManifest));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(manifest.Digest, Header(response, "Docker-Content-Digest"));
        Assert.Equal(manifest.Content, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task HeadByTagReturnsHeadersWithoutBody()
    {
        var (repository, manifest) = await ImageWithBlobsAsync();
        await _client.PushManifestAsync(repository, "v1", manifest);

        using var response = await _client.SendAsync(HttpMethod.Head, $"/v2/{repository}/manifests/v1", configure: r => r.Headers.Accept.ParseAdd(MediaTypes.OciManifest));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(manifest.Digest, Header(response, "Docker-Content-Digest"));
        Assert.Equal(manifest.Size, response.Content.Headers.ContentLength);
        Assert.Equal(MediaTypes.OciManifest, response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task HeadByDigestReturns200WithDigest()
    {
        var (repository, manifest) = await ImageWithBlobsAsync();
        await _client.PushManifestAsync(repository, manifest.Digest, manifest);

        using var response = await _client.SendAsync(HttpMethod.Head, $"/v2/{repository}/manifests/{manifest.Digest}", configure: r => r.Headers.Accept.ParseAdd(MediaTypes.OciManifest));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(manifest.Digest, Header(response, "Docker-Content-Digest"));
    }

    [Fact]
    public async Task PutByDigestStoresManifestWithoutTag()
    {
        var (repository, manifest) = await ImageWithBlobsAsync();

        using var put = await _client.PutManifestAsync(repository, manifest.Digest, manifest);
        using var tags = await _client.GetAsync($"/v2/{repository}/tags/list");

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        using var json = await ReadJsonAsync(tags);
        Assert.Equal(0, json.RootElement.GetProperty("tags").GetArrayLength());
    }

    [Fact]
    public async Task PutByDigestThatDoesNotMatchContentIs400DigestInvalid()
    {
        var (repository, manifest) = await ImageWithBlobsAsync();
        var wrong = "sha256:" + new string('0', 64);

        using var response = await _client.PutManifestAsync(repository, wrong, manifest);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    [Fact]
    public async Task GetOfUnknownTagIs404ManifestUnknown()
    {
        await _client.PushImageAsync(Names.Unique("manifest"), "v1");

        using var response = await _client.GetAsync($"/v2/{Names.Unique("manifest")}/manifests/missing");

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task HeadOfUnknownDigestIs404()
    {
        var repository = Names.Unique("manifest");
        await _client.PushImageAsync(repository, "v1");

        using var response = await _client.SendAsync(HttpMethod.Head, $"/v2/{repository}/manifests/sha256:{new string('1', 64)}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    public async Task ReadOfReferenceThatCannotBeATagIs404(string method)
    {
        // No manifest can have such a tag, so it is unknown, as the conformance suite expects.
        using var response = await _client.SendAsync(new HttpMethod(method), $"/v2/{Names.Unique("manifest")}/manifests/.INVALID_MANIFEST_NAME");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task GetByMalformedDigestIs400DigestInvalid()
    {
        using var response = await _client.GetAsync($"/v2/{Names.Unique("manifest")}/manifests/sha256:totallywrong");

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    [Fact]
    public async Task PushingToAnExistingTagMovesIt()
    {
        var repository = Names.Unique("manifest");
        var first = await _client.PushImageAsync(repository, "latest");
        var second = await _client.PushImageAsync(repository, "latest");

        using var response = await _client.GetAsync($"/v2/{repository}/manifests/latest");
        using var old = await _client.GetAsync($"/v2/{repository}/manifests/{first.Digest}");

        Assert.Equal(second.Digest, Header(response, "Docker-Content-Digest"));
        Assert.Equal(HttpStatusCode.OK, old.StatusCode);
    }

    [Fact]
    public async Task SameManifestUnderTwoTagsIsOneManifest()
    {
        var repository = Names.Unique("manifest");
        var manifest = await _client.PushImageAsync(repository, "a");

        await _client.PushManifestAsync(repository, "b", manifest);
        using var response = await _client.GetAsync($"/v2/{repository}/manifests/b");

        Assert.Equal(manifest.Digest, Header(response, "Docker-Content-Digest"));
    }

    [Fact]
    public async Task DeleteTagReturns202AndKeepsManifest()
    {
        var repository = Names.Unique("manifest");
        var manifest = await _client.PushImageAsync(repository, "v1");

        using var delete = await _client.SendAsync(HttpMethod.Delete, $"/v2/{repository}/manifests/v1");
        using var byTag = await _client.GetAsync($"/v2/{repository}/manifests/v1");
        using var byDigest = await _client.GetAsync($"/v2/{repository}/manifests/{manifest.Digest}");

        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        await AssertErrorAsync(byTag, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        Assert.Equal(HttpStatusCode.OK, byDigest.StatusCode);
    }

    [Fact]
    public async Task DeleteManifestByDigestRemovesItAndItsTags()
    {
        var repository = Names.Unique("manifest");
        var manifest = await _client.PushImageAsync(repository, "v1");
        await _client.PushManifestAsync(repository, "v2", manifest);
        await _client.PushImageAsync(repository, "other");

        using var delete = await _client.SendAsync(HttpMethod.Delete, $"/v2/{repository}/manifests/{manifest.Digest}");
        using var byDigest = await _client.GetAsync($"/v2/{repository}/manifests/{manifest.Digest}");
        using var byTag = await _client.GetAsync($"/v2/{repository}/manifests/v1");
        using var tags = await _client.GetAsync($"/v2/{repository}/tags/list");

        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        await AssertErrorAsync(byDigest, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        await AssertErrorAsync(byTag, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        using var json = await ReadJsonAsync(tags);
        Assert.Equal(["other"], json.RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString()));
    }

    [Fact]
    public async Task DeletingAManifestAnIndexListsIs409AndTheIndexStillPulls()
    {
        var repository = Names.Unique("manifest");
        var image = await _client.PushImageAsync(repository, "image");
        var index = Manifests.OciIndex([image.Descriptor("linux", "amd64")]);
        await _client.PushManifestAsync(repository, "index", index);

        using var delete = await _client.SendAsync(HttpMethod.Delete, $"/v2/{repository}/manifests/{image.Digest}");
        using var get = await _client.GetAsync($"/v2/{repository}/manifests/index");
        using var child = await _client.GetAsync($"/v2/{repository}/manifests/{image.Digest}");

        var body = await delete.Content.ReadAsStringAsync();
        await AssertErrorAsync(delete, HttpStatusCode.Conflict, "DENIED");
        Assert.Contains(index.Digest, body, StringComparison.Ordinal);
        Assert.Contains("index", body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(index.Content, await get.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, child.StatusCode);
    }

    [Fact]
    public async Task AManifestCanBeDeletedOnceNoIndexListsIt()
    {
        var repository = Names.Unique("manifest");
        var image = await _client.PushImageAsync(repository, "image");
        var index = Manifests.OciIndex([image.Descriptor("linux", "amd64")]);
        await _client.PushManifestAsync(repository, "index", index);

        using var deleteIndex = await _client.SendAsync(HttpMethod.Delete, $"/v2/{repository}/manifests/{index.Digest}");
        using var deleteImage = await _client.SendAsync(HttpMethod.Delete, $"/v2/{repository}/manifests/{image.Digest}");

        Assert.Equal(HttpStatusCode.Accepted, deleteIndex.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, deleteImage.StatusCode);
    }

    [Fact]
    public async Task DeleteOfUnknownManifestIs404ManifestUnknown()
    {
        var repository = Names.Unique("manifest");
        await _client.PushImageAsync(repository, "v1");

        using var response = await _client.SendAsync(HttpMethod.Delete, $"/v2/{repository}/manifests/sha256:{new string('2', 64)}");

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    [Fact]
    public async Task ManifestWithNoLayersIsAccepted()
    {
        var repository = Names.Unique("manifest");
        var config = TestBlob.Config();
        await _client.PushBlobAsync(repository, config);

        using var response = await _client.PutManifestAsync(repository, "empty", Manifests.OciImage(config));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task UnknownFieldsAreAcceptedAndServedVerbatim()
    {
        var repository = Names.Unique("manifest");
        var config = TestBlob.Config();
        var layer = TestBlob.Random(32);
        await _client.PushBlobsAsync(repository, config, layer);
        // Pretty-printed, with a descriptor carrying embedded data and a field the spec does not define.
        var descriptor = Manifests.Descriptor(MediaTypes.OciConfig, config);
        descriptor["data"] = Convert.ToBase64String(config.Content);
        descriptor["newUnspecifiedField"] = "aGVsbG8gd29ybGQ=";
        var root = new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = MediaTypes.OciManifest, ["config"] = descriptor, ["layers"] = new JsonArray(Manifests.Descriptor(Manifests.LayerTarGzip, layer)) };
        var manifest = Manifests.Raw(root.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }), MediaTypes.OciManifest);

        await _client.PushManifestAsync(repository, "v1", manifest);
        using var response = await _client.GetAsync($"/v2/{repository}/manifests/{manifest.Digest}");

        Assert.Equal(manifest.Content, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task ManifestOfAnotherRepositoryIsNotVisible()
    {
        var manifest = await _client.PushImageAsync(Names.Unique("manifest"), "v1");
        var other = Names.Unique("manifest");
        await _client.PushImageAsync(other, "v1");

        using var response = await _client.GetAsync($"/v2/{other}/manifests/{manifest.Digest}");

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
    }

    private async Task<(string Repository, TestManifest Manifest)> ImageWithBlobsAsync()
    {
        var repository = Names.Unique("manifest");
        var config = TestBlob.Config();
        var layer = TestBlob.Random(128);
        await _client.PushBlobsAsync(repository, config, layer);
        return (repository, Manifests.OciImage(config, layer));
    }
}
