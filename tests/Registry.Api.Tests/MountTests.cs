using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>Cross-repository blob mount: POST /v2/NAME/blobs/uploads/?mount=DIGEST&amp;from=OTHER.</summary>
public sealed class MountTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private readonly HttpClient _client = registry.CreateRegistryClient();

    [Fact]
    public async Task MountFromRepositoryWithTheBlobReturns201WithLocation()
    {
        var (source, blob) = await SourceWithBlobAsync();
        var target = Names.Unique("mount");

        using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{target}/blobs/uploads/?mount={blob.Digest}&from={source}");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/v2/{target}/blobs/{blob.Digest}", Location(response));
        Assert.Equal(blob.Digest, Header(response, "Docker-Content-Digest"));
    }

    [Fact]
    public async Task MountedBlobIsReadableInTarget()
    {
        var (source, blob) = await SourceWithBlobAsync();
        var target = Names.Unique("mount");
        using var mount = await _client.SendAsync(HttpMethod.Post, $"/v2/{target}/blobs/uploads/?mount={blob.Digest}&from={source}");

        using var get = await _client.GetAsync(Location(mount));

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(blob.Content, await get.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task MountFromRepositoryWithoutTheBlobFallsBackToUploadSession()
    {
        var (source, _) = await SourceWithBlobAsync();
        var missing = TestBlob.Random(10);
        var target = Names.Unique("mount");

        using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{target}/blobs/uploads/?mount={missing.Digest}&from={source}");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.StartsWith($"/v2/{target}/blobs/uploads/", Location(response), StringComparison.Ordinal);
        Assert.NotNull(Header(response, "Docker-Upload-UUID"));
    }

    [Fact]
    public async Task FailedMountLeaksNoBlobIntoTarget()
    {
        var blob = TestBlob.Random(100);
        await _client.PushBlobAsync(Names.Unique("mount"), blob); // the bytes exist, just not in the source
        var source = Names.Unique("mount");
        await _client.PushImageAsync(source, "latest");
        var target = Names.Unique("mount");

        using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{target}/blobs/uploads/?mount={blob.Digest}&from={source}");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, await _client.StatusAsync(HttpMethod.Head, $"/v2/{target}/blobs/{blob.Digest}"));
    }

    [Fact]
    public async Task FallbackSessionAcceptsTheBlob()
    {
        var blob = TestBlob.Random(100);
        var target = Names.Unique("mount");
        using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{target}/blobs/uploads/?mount={blob.Digest}&from={Names.Unique("mount")}");

        using var put = await _client.SendAsync(HttpMethod.Put, WithDigest(Location(response), blob.Digest), blob.Content);

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    [Fact]
    public async Task MountWithoutFromStartsUploadSession()
    {
        var (_, blob) = await SourceWithBlobAsync();
        var target = Names.Unique("mount");

        using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{target}/blobs/uploads/?mount={blob.Digest}");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.StartsWith($"/v2/{target}/blobs/uploads/", Location(response), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, await _client.StatusAsync(HttpMethod.Head, $"/v2/{target}/blobs/{blob.Digest}"));
    }

    [Theory]
    [InlineData("not-a-digest", "valid/name")]
    [InlineData("sha256:0000000000000000000000000000000000000000000000000000000000000000", "Invalid//Name")]
    public async Task MountWithMalformedArgumentsStartsUploadSession(string mount, string from)
    {
        using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{Names.Unique("mount")}/blobs/uploads/?mount={mount}&from={from}");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    private async Task<(string Repository, TestBlob Blob)> SourceWithBlobAsync()
    {
        var source = Names.Unique("mount");
        var blob = TestBlob.Random(200);
        await _client.PushBlobAsync(source, blob);
        return (source, blob);
    }
}
