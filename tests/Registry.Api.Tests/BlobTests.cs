using System.Net;
using System.Net.Http.Headers;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>HEAD, GET and DELETE of /v2/NAME/blobs/DIGEST.</summary>
public sealed class BlobTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private const string UnknownDigest = "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9";

    private readonly HttpClient _client = registry.CreateRegistryClient();

    [Fact]
    public async Task HeadReturnsDigestAndLengthWithoutBody()
    {
        var (repository, blob) = await PushedBlobAsync(1000);

        using var response = await _client.SendAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{blob.Digest}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(blob.Digest, Header(response, "Docker-Content-Digest"));
        Assert.Equal(blob.Size, response.Content.Headers.ContentLength);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task HeadOfUnknownBlobIs404()
    {
        using var response = await _client.SendAsync(HttpMethod.Head, $"/v2/{Names.Unique("blob")}/blobs/{UnknownDigest}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task GetReturnsContentWithDigestAndLength()
    {
        var (repository, blob) = await PushedBlobAsync(5000);

        using var response = await _client.GetAsync($"/v2/{repository}/blobs/{blob.Digest}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(blob.Digest, Header(response, "Docker-Content-Digest"));
        Assert.Equal(blob.Size, response.Content.Headers.ContentLength);
        Assert.Equal(blob.Content, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task GetOfUnknownBlobIs404BlobUnknown()
    {
        using var response = await _client.GetAsync($"/v2/{Names.Unique("blob")}/blobs/{UnknownDigest}");

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }

    [Fact]
    public async Task RangeRequestReturns206WithContentRange()
    {
        var (repository, blob) = await PushedBlobAsync(1000);

        using var response = await _client.SendAsync(HttpMethod.Get, $"/v2/{repository}/blobs/{blob.Digest}", configure: r => r.Headers.Range = new RangeHeaderValue(100, 199));

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal("bytes 100-199/1000", response.Content.Headers.ContentRange?.ToString());
        Assert.Equal(blob.Content[100..200], await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task OpenEndedRangeReturnsTheRest()
    {
        var (repository, blob) = await PushedBlobAsync(1000);

        using var response = await _client.SendAsync(HttpMethod.Get, $"/v2/{repository}/blobs/{blob.Digest}", configure: r => r.Headers.Range = new RangeHeaderValue(900, null));

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(blob.Content[900..], await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task RangePastEndIs416()
    {
        var (repository, blob) = await PushedBlobAsync(1000);

        using var response = await _client.SendAsync(HttpMethod.Get, $"/v2/{repository}/blobs/{blob.Digest}", configure: r => r.Headers.Range = new RangeHeaderValue(5000, 6000));

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, response.StatusCode);
        Assert.Equal("bytes */1000", response.Content.Headers.ContentRange?.ToString());
    }

    [Fact]
    public async Task BlobAdvertisesRangeSupport()
    {
        var (repository, blob) = await PushedBlobAsync(10);

        using var response = await _client.SendAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{blob.Digest}");

        Assert.Contains("bytes", response.Headers.AcceptRanges);
    }

    [Fact]
    public async Task DeleteReturns202ThenBlobIsUnknown()
    {
        var (repository, blob) = await PushedBlobAsync(100);

        using var delete = await _client.SendAsync(HttpMethod.Delete, $"/v2/{repository}/blobs/{blob.Digest}");
        using var get = await _client.GetAsync($"/v2/{repository}/blobs/{blob.Digest}");

        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        await AssertErrorAsync(get, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }

    [Fact]
    public async Task DeletedBlobCanBePushedAgain()
    {
        var (repository, blob) = await PushedBlobAsync(100);
        using var delete = await _client.SendAsync(HttpMethod.Delete, $"/v2/{repository}/blobs/{blob.Digest}");

        await _client.PushBlobAsync(repository, blob);
        using var get = await _client.GetAsync($"/v2/{repository}/blobs/{blob.Digest}");

        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        Assert.Equal(blob.Content, await get.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task DeleteOfABlobAManifestUsesIs409UntilTheManifestIsDeleted()
    {
        var repository = Names.Unique("blob");
        var config = TestBlob.Config();
        var layer = TestBlob.Random(64);
        await _client.PushBlobsAsync(repository, config, layer);
        var manifest = Manifests.OciImage(config, layer);
        await _client.PushManifestAsync(repository, "v1", manifest);

        using var refused = await _client.SendAsync(HttpMethod.Delete, $"/v2/{repository}/blobs/{layer.Digest}");
        var body = await refused.Content.ReadAsStringAsync();
        using var stillThere = await _client.GetAsync($"/v2/{repository}/blobs/{layer.Digest}");
        using var deleteManifest = await _client.SendAsync(HttpMethod.Delete, $"/v2/{repository}/manifests/{manifest.Digest}");
        using var accepted = await _client.SendAsync(HttpMethod.Delete, $"/v2/{repository}/blobs/{layer.Digest}");

        await AssertErrorAsync(refused, HttpStatusCode.Conflict, "DENIED");
        Assert.Contains(manifest.Digest, body, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, stillThere.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, deleteManifest.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
    }

    [Fact]
    public async Task DeleteOfUnknownBlobIs404BlobUnknown()
    {
        using var response = await _client.SendAsync(HttpMethod.Delete, $"/v2/{Names.Unique("blob")}/blobs/{UnknownDigest}");

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }

    [Fact]
    public async Task BlobOfAnotherRepositoryIsNotVisible()
    {
        var (_, blob) = await PushedBlobAsync(100);
        var other = Names.Unique("blob");
        await _client.PushImageAsync(other, "latest"); // the other repository exists, just without this blob

        using var head = await _client.SendAsync(HttpMethod.Head, $"/v2/{other}/blobs/{blob.Digest}");
        using var get = await _client.GetAsync($"/v2/{other}/blobs/{blob.Digest}");

        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
        await AssertErrorAsync(get, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }

    [Fact]
    public async Task DeleteInOneRepositoryLeavesTheBlobInAnother()
    {
        var blob = TestBlob.Random(100);
        var first = Names.Unique("blob");
        var second = Names.Unique("blob");
        await _client.PushBlobAsync(first, blob);
        await _client.PushBlobAsync(second, blob);

        using var delete = await _client.SendAsync(HttpMethod.Delete, $"/v2/{first}/blobs/{blob.Digest}");
        using var get = await _client.GetAsync($"/v2/{second}/blobs/{blob.Digest}");

        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(blob.Content, await get.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task EmptyBlobIsServedWithZeroLength()
    {
        var repository = Names.Unique("blob");
        var empty = new TestBlob([]);
        await _client.PushBlobAsync(repository, empty);

        using var response = await _client.GetAsync($"/v2/{repository}/blobs/{empty.Digest}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, response.Content.Headers.ContentLength);
        Assert.Equal(empty.Digest, Header(response, "Docker-Content-Digest"));
    }

    [Fact]
    public async Task OciEmptyJsonUploadsUnderItsWellKnownDigest()
    {
        // The digest of "{}" every OCI artifact with an empty config refers to.
        const string digest = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
        var repository = Names.Unique("blob");

        using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?digest={digest}", "{}"u8.ToArray());

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(digest, TestBlob.EmptyJson.Digest);
    }

    [Theory]
    [InlineData("sha256:abc")]
    [InlineData("sha256:B94D27B9934D3E08A52E52D7DA7DABFAC484EFE37A5380EE9088F7ACE2EFCDE9")]
    [InlineData("nodigest")]
    public async Task MalformedDigestIs400DigestInvalid(string digest)
    {
        using var response = await _client.GetAsync($"/v2/{Names.Unique("blob")}/blobs/{digest}");

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    [Theory]
    [InlineData("sha384:38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b")]
    [InlineData("md5:5eb63bbbe01eeed093cb22bb8f5acdc3")]
    public async Task UnsupportedDigestAlgorithmIs400DigestInvalid(string digest)
    {
        using var response = await _client.GetAsync($"/v2/{Names.Unique("blob")}/blobs/{digest}");

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    private async Task<(string Repository, TestBlob Blob)> PushedBlobAsync(int size)
    {
        var repository = Names.Unique("blob");
        var blob = TestBlob.Random(size);
        await _client.PushBlobAsync(repository, blob);
        return (repository, blob);
    }
}
