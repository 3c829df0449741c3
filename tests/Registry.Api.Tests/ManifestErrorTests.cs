using System.Net;
using System.Text.Json.Nodes;
using Registry.Api.Tests.Infrastructure;
using Registry.Core;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>Manifest pushes that are refused, each with the spec's error code.</summary>
public sealed class ManifestErrorTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private readonly HttpClient _client = registry.CreateRegistryClient();

    [Fact]
    public async Task BodyThatIsNotJsonIs400ManifestInvalid()
    {
        using var response = await _client.PutManifestAsync(Names.Unique("mferr"), "v1", Manifests.Raw("blablabla", MediaTypes.OciManifest));

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    [Fact]
    public async Task NotJsonPushedByDigestIs400()
    {
        // As the conformance suite's error-format check sends it: a bad digest and a bad body.
        using var response = await _client.PutManifestAsync(Names.Unique("mferr"), "sha256:totallywrong", Manifests.Raw("blablabla", MediaTypes.OciManifest));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var code = json.RootElement.GetProperty("errors")[0].GetProperty("code").GetString();
        Assert.True(code is "DIGEST_INVALID" or "MANIFEST_INVALID", code);
    }

    [Fact]
    public async Task ContentTypeThatDisagreesWithMediaTypeIs400ManifestInvalid()
    {
        var (repository, manifest) = await ImageWithBlobsAsync();

        using var response = await _client.PutManifestAsync(repository, "v1", manifest, MediaTypes.DockerManifest);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    [Fact]
    public async Task MissingSchemaVersionIs400ManifestInvalid()
    {
        var (repository, manifest) = await ImageWithBlobsAsync();
        var root = JsonNode.Parse(manifest.Content)!.AsObject();
        root.Remove("schemaVersion");

        using var response = await _client.PutManifestAsync(repository, "v1", Manifests.Raw(root.ToJsonString(), MediaTypes.OciManifest));

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    [Fact]
    public async Task ImageManifestWithoutConfigIs400ManifestInvalid()
    {
        var manifest = Manifests.Raw($$"""{"schemaVersion":2,"mediaType":"{{MediaTypes.OciManifest}}","layers":[]}""", MediaTypes.OciManifest);

        using var response = await _client.PutManifestAsync(Names.Unique("mferr"), "v1", manifest);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    [Fact]
    public async Task UnknownLayerIs400ManifestBlobUnknown()
    {
        var repository = Names.Unique("mferr");
        var config = TestBlob.Config();
        await _client.PushBlobAsync(repository, config);

        using var response = await _client.PutManifestAsync(repository, "v1", Manifests.OciImage(config, TestBlob.Random(10)));

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
    }

    [Fact]
    public async Task UnknownConfigIs400ManifestBlobUnknown()
    {
        var repository = Names.Unique("mferr");
        var layer = TestBlob.Random(10);
        await _client.PushBlobAsync(repository, layer);

        using var response = await _client.PutManifestAsync(repository, "v1", Manifests.OciImage(TestBlob.Config(), layer));

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
    }

    [Fact]
    public async Task BlobOnlyInAnotherRepositoryIs400ManifestBlobUnknown()
    {
        var config = TestBlob.Config();
        await _client.PushBlobAsync(Names.Unique("mferr"), config);

        using var response = await _client.PutManifestAsync(Names.Unique("mferr"), "v1", Manifests.OciImage(config));

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
    }

    [Fact]
    public async Task DescriptorSizeThatDisagreesWithBlobIs400ManifestInvalid()
    {
        var repository = Names.Unique("mferr");
        var config = TestBlob.Config();
        await _client.PushBlobAsync(repository, config);
        var descriptor = Manifests.Descriptor(MediaTypes.OciConfig, config);
        descriptor["size"] = config.Size + 1;
        var root = new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = MediaTypes.OciManifest, ["config"] = descriptor, ["layers"] = new JsonArray() };

        using var response = await _client.PutManifestAsync(repository, "v1", Manifests.Raw(root.ToJsonString(), MediaTypes.OciManifest));

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_INVALID");
    }

    [Fact]
    public async Task IndexWithUnknownChildManifestIs400ManifestBlobUnknown()
    {
        var repository = Names.Unique("mferr");
        var pushed = await _client.PushImageAsync(repository, "v1");
        var (_, missing) = await ImageWithBlobsAsync();

        using var response = await _client.PutManifestAsync(repository, "index", Manifests.OciIndex([pushed.Descriptor("linux", "amd64"), missing.Descriptor("linux", "arm64")]));

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "MANIFEST_BLOB_UNKNOWN");
    }

    [Fact]
    public async Task RefusedManifestIsNotStored()
    {
        var repository = Names.Unique("mferr");
        await _client.PushImageAsync(repository, "v1");
        var config = TestBlob.Config();
        await _client.PushBlobAsync(repository, config);
        var manifest = Manifests.OciImage(config, TestBlob.Random(10));
        using var put = await _client.PutManifestAsync(repository, "broken", manifest);

        using var get = await _client.GetAsync($"/v2/{repository}/manifests/{manifest.Digest}");

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, get.StatusCode);
    }

    [Fact]
    public async Task ManifestOver4MiBIs413()
    {
        var repository = Names.Unique("mferr");
        var config = TestBlob.Config();
        await _client.PushBlobAsync(repository, config);
        var root = new JsonObject
        {
            ["schemaVersion"] = 2,
            ["mediaType"] = MediaTypes.OciManifest,
            ["config"] = Manifests.Descriptor(MediaTypes.OciConfig, config),
            ["layers"] = new JsonArray(),
            ["annotations"] = new JsonObject { ["padding"] = new string('x', (4 * 1024 * 1024) + 1) },
        };

        using var response = await _client.PutManifestAsync(repository, "huge", Manifests.Raw(root.ToJsonString(), MediaTypes.OciManifest));

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }

    [Theory]
    [InlineData("-leading-dash")]
    [InlineData(".leading-dot")]
    [InlineData("has+plus")]
    public async Task InvalidTagIs400TagInvalid(string tag)
    {
        var (repository, manifest) = await ImageWithBlobsAsync();

        using var response = await _client.PutManifestAsync(repository, tag, manifest);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "TAG_INVALID");
    }

    [Fact]
    public async Task TagOf129CharactersIs400TagInvalid()
    {
        var (repository, manifest) = await ImageWithBlobsAsync();

        using var response = await _client.PutManifestAsync(repository, new string('t', 129), manifest);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "TAG_INVALID");
    }

    [Fact]
    public async Task TagOf128CharactersIsAccepted()
    {
        var (repository, manifest) = await ImageWithBlobsAsync();

        using var response = await _client.PutManifestAsync(repository, "_" + new string('T', 127), manifest);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Fact]
    public async Task UnsupportedDigestAlgorithmReferenceIs400DigestInvalid()
    {
        var (repository, manifest) = await ImageWithBlobsAsync();

        using var response = await _client.PutManifestAsync(repository, "md5:5eb63bbbe01eeed093cb22bb8f5acdc3", manifest);

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    private async Task<(string Repository, TestManifest Manifest)> ImageWithBlobsAsync()
    {
        var repository = Names.Unique("mferr");
        var config = TestBlob.Config();
        var layer = TestBlob.Random(64);
        await _client.PushBlobsAsync(repository, config, layer);
        return (repository, Manifests.OciImage(config, layer));
    }
}
