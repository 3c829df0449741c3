using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>Uploads that are refused, and what is left behind when they are.</summary>
public sealed class UploadErrorTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private readonly HttpClient _client = registry.CreateRegistryClient();

    [Fact]
    public async Task OutOfOrderChunkIs416WithCurrentRange()
    {
        var location = await _client.StartUploadAsync(Names.Unique("uperr"));
        using var first = await _client.PatchChunkAsync(location, new byte[10], start: 0);

        using var gap = await _client.PatchChunkAsync(location, new byte[10], start: 20);

        await AssertErrorAsync(gap, HttpStatusCode.RequestedRangeNotSatisfiable, "RANGE_INVALID");
        Assert.Equal("0-9", Header(gap, "Range"));
        Assert.Equal(location, Location(gap));
    }

    [Fact]
    public async Task FirstChunkNotStartingAtZeroIs416()
    {
        var location = await _client.StartUploadAsync(Names.Unique("uperr"));

        using var response = await _client.PatchChunkAsync(location, new byte[20], start: 22);

        await AssertErrorAsync(response, HttpStatusCode.RequestedRangeNotSatisfiable, "RANGE_INVALID");
        Assert.Equal("0-0", Header(response, "Range"));
    }

    [Fact]
    public async Task OverlappingChunkIs416WithCurrentRange()
    {
        var location = await _client.StartUploadAsync(Names.Unique("uperr"));
        using var first = await _client.PatchChunkAsync(location, new byte[10], start: 0);

        using var overlap = await _client.PatchChunkAsync(location, new byte[10], start: 5);

        await AssertErrorAsync(overlap, HttpStatusCode.RequestedRangeNotSatisfiable, "RANGE_INVALID");
        Assert.Equal("0-9", Header(overlap, "Range"));
    }

    [Fact]
    public async Task RetriedChunkIs416AndOffsetIsUnchanged()
    {
        var location = await _client.StartUploadAsync(Names.Unique("uperr"));
        using var first = await _client.PatchChunkAsync(location, new byte[22], start: 0);

        using var retry = await _client.PatchChunkAsync(location, new byte[22], start: 0);
        using var status = await _client.GetAsync(location);

        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, retry.StatusCode);
        Assert.Equal("0-21", Header(status, "Range"));
    }

    [Fact]
    public async Task FinalPutWithOutOfOrderContentRangeIs416AndKeepsTheUpload()
    {
        var blob = TestBlob.Random(40);
        var location = await _client.StartUploadAsync(Names.Unique("uperr"));
        using var first = await _client.PatchChunkAsync(location, blob.Content[..20], start: 0);

        using var put = await _client.SendAsync(HttpMethod.Put, WithDigest(location, blob.Digest), blob.Content[30..],
            configure: r => r.Content!.Headers.TryAddWithoutValidation("Content-Range", "30-39"));
        using var status = await _client.GetAsync(location);

        await AssertErrorAsync(put, HttpStatusCode.RequestedRangeNotSatisfiable, "RANGE_INVALID");
        Assert.Equal("0-19", Header(put, "Range"));
        Assert.Equal("0-19", Header(status, "Range"));
    }

    [Fact]
    public async Task MalformedContentRangeIs416RangeInvalid()
    {
        var location = await _client.StartUploadAsync(Names.Unique("uperr"));

        using var response = await _client.SendAsync(HttpMethod.Patch, location, new byte[10],
            configure: r => r.Content!.Headers.TryAddWithoutValidation("Content-Range", "ten-twenty"));

        await AssertErrorAsync(response, HttpStatusCode.RequestedRangeNotSatisfiable, "RANGE_INVALID");
    }

    [Fact]
    public async Task ContentRangeDisagreeingWithContentLengthIs416()
    {
        var location = await _client.StartUploadAsync(Names.Unique("uperr"));

        using var response = await _client.SendAsync(HttpMethod.Patch, location, new byte[10],
            configure: r => r.Content!.Headers.TryAddWithoutValidation("Content-Range", "0-19"));

        await AssertErrorAsync(response, HttpStatusCode.RequestedRangeNotSatisfiable, "RANGE_INVALID");
        Assert.Equal("0-0", Header(response, "Range"));
    }

    [Fact]
    public async Task WrongDigestOnFinalPutIs400DigestInvalid()
    {
        var repository = Names.Unique("uperr");
        var blob = TestBlob.Random(100);
        var claimed = TestBlob.Random(100);
        var location = await _client.StartUploadAsync(repository);

        using var put = await _client.SendAsync(HttpMethod.Put, WithDigest(location, claimed.Digest), blob.Content);

        await AssertErrorAsync(put, HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    [Fact]
    public async Task WrongDigestOnFinalPutRemovesTheUpload()
    {
        var repository = Names.Unique("uperr");
        var location = await _client.StartUploadAsync(repository);
        using var put = await _client.SendAsync(HttpMethod.Put, WithDigest(location, TestBlob.Random(10).Digest), TestBlob.Random(10).Content);

        using var status = await _client.GetAsync(location);

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        await AssertErrorAsync(status, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
    }

    [Fact]
    public async Task WrongDigestOnFinalPutLeavesNoBlobUnderEitherDigest()
    {
        var repository = Names.Unique("uperr");
        var blob = TestBlob.Random(100);
        var claimed = TestBlob.Random(100);
        var location = await _client.StartUploadAsync(repository);
        using var put = await _client.SendAsync(HttpMethod.Put, WithDigest(location, claimed.Digest), blob.Content);

        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, await _client.StatusAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{claimed.Digest}"));
        Assert.Equal(HttpStatusCode.NotFound, await _client.StatusAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{blob.Digest}"));
    }

    [Fact]
    public async Task WrongDigestOnMonolithicPostIs400AndLeavesNoBlob()
    {
        var repository = Names.Unique("uperr");
        var blob = TestBlob.Random(100);
        var claimed = TestBlob.Random(100);

        using var post = await _client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?digest={claimed.Digest}", blob.Content);

        await AssertErrorAsync(post, HttpStatusCode.BadRequest, "DIGEST_INVALID");
        Assert.Equal(HttpStatusCode.NotFound, await _client.StatusAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{claimed.Digest}"));
    }

    [Theory]
    [InlineData("sha384:38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b")]
    [InlineData("md5:5eb63bbbe01eeed093cb22bb8f5acdc3")]
    public async Task UnsupportedDigestAlgorithmOnPutIs400DigestInvalid(string digest)
    {
        var location = await _client.StartUploadAsync(Names.Unique("uperr"));

        using var put = await _client.SendAsync(HttpMethod.Put, WithDigest(location, digest), [1, 2, 3]);

        await AssertErrorAsync(put, HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    [Fact]
    public async Task UnsupportedDigestAlgorithmOnMonolithicPostIs400DigestInvalid()
    {
        using var post = await _client.SendAsync(HttpMethod.Post, $"/v2/{Names.Unique("uperr")}/blobs/uploads/?digest=md5:5eb63bbbe01eeed093cb22bb8f5acdc3", [1, 2, 3]);

        await AssertErrorAsync(post, HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    [Fact]
    public async Task PutWithoutDigestIs400DigestInvalid()
    {
        var location = await _client.StartUploadAsync(Names.Unique("uperr"));

        using var put = await _client.SendAsync(HttpMethod.Put, location, [1, 2, 3]);

        await AssertErrorAsync(put, HttpStatusCode.BadRequest, "DIGEST_INVALID");
    }

    [Fact]
    public async Task UnknownUploadIdIs404BlobUploadUnknown()
    {
        var url = $"/v2/{Names.Unique("uperr")}/blobs/uploads/{Guid.NewGuid():N}";

        using var get = await _client.GetAsync(url);
        using var patch = await _client.PatchChunkAsync(url, [1], start: 0);
        using var put = await _client.SendAsync(HttpMethod.Put, WithDigest(url, TestBlob.EmptyJson.Digest), TestBlob.EmptyJson.Content);
        using var delete = await _client.SendAsync(HttpMethod.Delete, url);

        await AssertErrorAsync(get, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        await AssertErrorAsync(patch, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        await AssertErrorAsync(put, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        await AssertErrorAsync(delete, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
    }

    [Theory]
    [InlineData("not-an-upload-id")]
    [InlineData("0123abcd")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF")]
    public async Task MalformedUploadIdIs404BlobUploadUnknown(string id)
    {
        using var response = await _client.GetAsync($"/v2/{Names.Unique("uperr")}/blobs/uploads/{id}");

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
    }

    [Fact]
    public async Task UploadIdOfAnotherRepositoryIs404()
    {
        var location = await _client.StartUploadAsync(Names.Unique("uperr"));
        var id = location.Split('/')[^1];
        var foreign = $"/v2/{Names.Unique("uperr")}/blobs/uploads/{id}";

        using var get = await _client.GetAsync(foreign);
        using var patch = await _client.PatchChunkAsync(foreign, [1, 2, 3], start: 0);
        using var put = await _client.SendAsync(HttpMethod.Put, WithDigest(foreign, TestBlob.EmptyJson.Digest), TestBlob.EmptyJson.Content);
        using var delete = await _client.SendAsync(HttpMethod.Delete, foreign);
        using var original = await _client.GetAsync(location);

        await AssertErrorAsync(get, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        await AssertErrorAsync(patch, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        await AssertErrorAsync(put, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        await AssertErrorAsync(delete, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
        Assert.Equal(HttpStatusCode.NoContent, original.StatusCode);
        Assert.Equal("0-0", Header(original, "Range"));
    }

    [Fact]
    public async Task PatchAfterCancelIs404BlobUploadUnknown()
    {
        var location = await _client.StartUploadAsync(Names.Unique("uperr"));
        using var cancel = await _client.SendAsync(HttpMethod.Delete, location);

        using var patch = await _client.PatchChunkAsync(location, [1, 2, 3], start: 0);

        await AssertErrorAsync(patch, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
    }
}
