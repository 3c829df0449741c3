using System.Net;
using System.Text.Json.Nodes;
using Registry.Api.Tests.Infrastructure;
using Registry.Core;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>Each manifest format the registry stores, pushed and pulled back as it was sent.</summary>
public sealed class ManifestFormatTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private readonly HttpClient _client = registry.CreateRegistryClient();

    [Fact]
    public async Task DockerSchema2ManifestRoundTrips()
    {
        var repository = Names.Unique("format");
        var config = TestBlob.Config();
        var layer = TestBlob.Random(100);
        await _client.PushBlobsAsync(repository, config, layer);
        var manifest = Manifests.DockerImage(config, layer);

        await AssertRoundTripAsync(repository, manifest);
    }

    [Fact]
    public async Task OciImageManifestRoundTrips()
    {
        var repository = Names.Unique("format");
        var config = TestBlob.Config();
        var layer = TestBlob.Random(100);
        await _client.PushBlobsAsync(repository, config, layer);

        await AssertRoundTripAsync(repository, Manifests.OciImage(config, layer));
    }

    [Fact]
    public async Task DockerManifestListRoundTrips()
    {
        var repository = Names.Unique("format");
        var amd64 = await PushDockerImageAsync(repository);
        var arm64 = await PushDockerImageAsync(repository);
        var list = Manifests.DockerManifestList([amd64.Descriptor("linux", "amd64"), arm64.Descriptor("linux", "arm64")]);

        await AssertRoundTripAsync(repository, list);
    }

    [Fact]
    public async Task OciIndexRoundTrips()
    {
        var repository = Names.Unique("format");
        var amd64 = await _client.PushImageAsync(repository, "amd64");
        var arm64 = await _client.PushImageAsync(repository, "arm64");
        var index = Manifests.OciIndex([amd64.Descriptor("linux", "amd64"), arm64.Descriptor("linux", "arm64")]);

        await AssertRoundTripAsync(repository, index);
    }

    [Fact]
    public async Task IndexOfIndexesIsAccepted()
    {
        var repository = Names.Unique("format");
        var image = await _client.PushImageAsync(repository, "image");
        var inner = Manifests.OciIndex([image.Descriptor("linux", "amd64")]);
        await _client.PushManifestAsync(repository, inner.Digest, inner);

        using var response = await _client.PutManifestAsync(repository, "nested", Manifests.OciIndex([inner.Descriptor()]));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task ImageListingOneBlobTwiceIsAccepted()
    {
        var repository = Names.Unique("format");
        var config = TestBlob.Config();
        var layer = TestBlob.Random(64);
        await _client.PushBlobsAsync(repository, config, layer);

        await AssertRoundTripAsync(repository, Manifests.OciImage(config, layer, layer));
    }

    [Fact]
    public async Task IndexListingOneManifestForTwoPlatformsIsAccepted()
    {
        var repository = Names.Unique("format");
        var image = await _client.PushImageAsync(repository, "image");

        await AssertRoundTripAsync(repository, Manifests.OciIndex([image.Descriptor("linux", "amd64"), image.Descriptor("linux", "386")]));
    }

    [Fact]
    public async Task ArtifactManifestWithEmptyConfigRoundTrips()
    {
        var repository = Names.Unique("format");
        var payload = TestBlob.Text("signature bytes");
        await _client.PushBlobsAsync(repository, TestBlob.EmptyJson, payload);
        var artifact = Manifests.Artifact("application/vnd.example.signature", payload);

        await AssertRoundTripAsync(repository, artifact);
    }

    [Fact]
    public async Task OciManifestWithoutMediaTypeFieldTakesContentType()
    {
        var repository = Names.Unique("format");
        var config = TestBlob.Config();
        await _client.PushBlobAsync(repository, config);
        var root = new JsonObject { ["schemaVersion"] = 2, ["config"] = Manifests.Descriptor(MediaTypes.OciConfig, config), ["layers"] = new JsonArray() };
        var manifest = Manifests.Raw(root.ToJsonString(), MediaTypes.OciManifest);

        await AssertRoundTripAsync(repository, manifest);
    }

    [Fact]
    public async Task ManifestWithoutContentTypeTakesItsMediaTypeField()
    {
        var repository = Names.Unique("format");
        var config = TestBlob.Config();
        await _client.PushBlobAsync(repository, config);
        var manifest = Manifests.OciImage(config);

        using var put = await _client.SendAsync(HttpMethod.Put, $"/v2/{repository}/manifests/v1", manifest.Content, configure: r => r.Content!.Headers.ContentType = null);
        using var get = await _client.GetAsync($"/v2/{repository}/manifests/v1");

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.Equal(MediaTypes.OciManifest, get.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task ContentTypeWithParametersIsAccepted()
    {
        var repository = Names.Unique("format");
        var config = TestBlob.Config();
        await _client.PushBlobAsync(repository, config);
        var manifest = Manifests.OciImage(config);

        using var response = await _client.SendAsync(HttpMethod.Put, $"/v2/{repository}/manifests/v1", manifest.Content,
            configure: r => r.Content!.Headers.TryAddWithoutValidation("Content-Type", MediaTypes.OciManifest + "; charset=utf-8"));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task NondistributableLayerNeedNotBePushed()
    {
        var repository = Names.Unique("format");
        var config = TestBlob.Config();
        await _client.PushBlobAsync(repository, config);
        var foreign = Manifests.Descriptor("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", TestBlob.Random(10));
        foreign["urls"] = new JsonArray("https://example.invalid/layer");
        var root = new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = MediaTypes.OciManifest, ["config"] = Manifests.Descriptor(MediaTypes.OciConfig, config), ["layers"] = new JsonArray(foreign) };

        using var response = await _client.PutManifestAsync(repository, "v1", Manifests.Raw(root.ToJsonString(), MediaTypes.OciManifest));

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Theory]
    [InlineData(MediaTypes.DockerSchema1)]
    [InlineData(MediaTypes.DockerSchema1Signed)]
    public async Task Schema1ManifestIsRefusedAsManifestInvalid(string contentType)
    {
        var schema1 = Manifests.Raw("""{"schemaVersion":1,"name":"x/y","tag":"latest","architecture":"amd64","fsLayers":[],"history":[]}""", contentType);

        using var response = await _client.PutManifestAsync(Names.Unique("format"), "latest", schema1);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    [Fact]
    public async Task Schema1PayloadUnderJsonContentTypeIsRefused()
    {
        var schema1 = Manifests.Raw("""{"schemaVersion":1,"name":"x/y","tag":"latest","architecture":"amd64","fsLayers":[],"history":[]}""", "application/json");

        using var response = await _client.PutManifestAsync(Names.Unique("format"), "latest", schema1);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    [Fact]
    public async Task DraftArtifactManifestTypeIsRefused()
    {
        var draft = Manifests.Raw($$"""{"mediaType":"{{MediaTypes.OciArtifactManifest}}","artifactType":"application/x","blobs":[]}""", MediaTypes.OciArtifactManifest);

        using var response = await _client.PutManifestAsync(Names.Unique("format"), "v1", draft);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
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

    private async Task AssertRoundTripAsync(string repository, TestManifest manifest)
    {
        using var put = await _client.PutManifestAsync(repository, "v1", manifest);
        Assert.True(put.StatusCode == HttpStatusCode.Created, await put.Content.ReadAsStringAsync());
        Assert.Equal(manifest.Digest, Header(put, "Docker-Content-Digest"));

        using var get = await _client.SendAsync(HttpMethod.Get, $"/v2/{repository}/manifests/v1", configure: r => r.Headers.Accept.ParseAdd(manifest.MediaType));
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(manifest.MediaType, get.Content.Headers.ContentType?.MediaType);
        Assert.Equal(manifest.Digest, Header(get, "Docker-Content-Digest"));
        Assert.Equal(manifest.Content, await get.Content.ReadAsByteArrayAsync());
    }
}
