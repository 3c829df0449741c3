using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>Blob uploads that succeed: monolithic, session with PUT, chunked, streamed; status and cancel.</summary>
public sealed class UploadTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private readonly HttpClient _client = registry.CreateRegistryClient();

    [Fact]
    public async Task MonolithicPostWithDigestCreatesBlob()
    {
        var repository = Names.Unique("upload");
        var blob = TestBlob.Random(2000);

        using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?digest={blob.Digest}", blob.Content);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/v2/{repository}/blobs/{blob.Digest}", Location(response));
        Assert.Equal(blob.Digest, Header(response, "Docker-Content-Digest"));
        await AssertBlobAsync(repository, blob);
    }

    [Fact]
    public async Task PostStartsSessionWithLocationUuidAndEmptyRange()
    {
        var repository = Names.Unique("upload");

        using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var uuid = Header(response, "Docker-Upload-UUID");
        Assert.False(string.IsNullOrEmpty(uuid));
        Assert.Equal($"/v2/{repository}/blobs/uploads/{uuid}", Location(response));
        Assert.Equal("0-0", Header(response, "Range"));
    }

    [Fact]
    public async Task PostWithEmptyBodyAndZeroContentLengthStartsSession()
    {
        using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{Names.Unique("upload")}/blobs/uploads/", []);

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal(0, response.Content.Headers.ContentLength);
        Assert.NotEmpty(Location(response));
    }

    [Fact]
    public async Task PostWithoutTrailingSlashStartsSession()
    {
        using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{Names.Unique("upload")}/blobs/uploads");

        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task PutWithWholeBodyCompletesSession()
    {
        var repository = Names.Unique("upload");
        var blob = TestBlob.Random(3000);
        var location = await _client.StartUploadAsync(repository);

        using var response = await _client.SendAsync(HttpMethod.Put, WithDigest(location, blob.Digest), blob.Content);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal($"/v2/{repository}/blobs/{blob.Digest}", Location(response));
        Assert.Equal(blob.Digest, Header(response, "Docker-Content-Digest"));
        await AssertBlobAsync(repository, blob);
    }

    [Fact]
    public async Task BlobIsNotVisibleBeforeTheUploadCompletes()
    {
        var repository = Names.Unique("upload");
        var blob = TestBlob.Random(100);
        var location = await _client.StartUploadAsync(repository);
        using var patch = await _client.PatchChunkAsync(location, blob.Content, start: 0);

        Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, await _client.StatusAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{blob.Digest}"));
    }

    [Fact]
    public async Task ChunkedPatchesWithContentRangeThenEmptyPutCompletes()
    {
        var repository = Names.Unique("upload");
        var blob = TestBlob.Random(42);
        var location = await _client.StartUploadAsync(repository);

        using var first = await _client.PatchChunkAsync(location, blob.Content[..22], start: 0);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal("0-21", Header(first, "Range"));
        using var second = await _client.PatchChunkAsync(Location(first), blob.Content[22..], start: 22);
        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal("0-41", Header(second, "Range"));
        using var put = await _client.SendAsync(HttpMethod.Put, WithDigest(Location(second), blob.Digest), []);

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        Assert.NotEmpty(Location(put));
        await AssertBlobAsync(repository, blob);
    }

    [Fact]
    public async Task PatchAnswersWithLocationAndUploadUuid()
    {
        var location = await _client.StartUploadAsync(Names.Unique("upload"));

        using var patch = await _client.PatchChunkAsync(location, [1, 2, 3], start: 0);

        Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        Assert.Equal(location, Location(patch));
        Assert.Equal(location.Split('/')[^1], Header(patch, "Docker-Upload-UUID"));
        Assert.Equal(0, patch.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task PutWithFinalChunkAndContentRangeCompletes()
    {
        var repository = Names.Unique("upload");
        var blob = TestBlob.Random(42);
        var location = await _client.StartUploadAsync(repository);
        using var first = await _client.PatchChunkAsync(location, blob.Content[..22], start: 0);

        using var put = await _client.SendAsync(HttpMethod.Put, WithDigest(Location(first), blob.Digest), blob.Content[22..],
            configure: r => r.Content!.Headers.TryAddWithoutValidation("Content-Range", "22-41"));

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        await AssertBlobAsync(repository, blob);
    }

    [Fact]
    public async Task PatchWithoutContentRangeStreamsThenEmptyPutCompletes()
    {
        var repository = Names.Unique("upload");
        var blob = TestBlob.Random(42);
        var location = await _client.StartUploadAsync(repository);

        using var patch = await _client.PatchChunkAsync(location, blob.Content, start: null);
        Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        Assert.Equal("0-41", Header(patch, "Range"));
        using var put = await _client.SendAsync(HttpMethod.Put, WithDigest(Location(patch), blob.Digest), []);

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        await AssertBlobAsync(repository, blob);
    }

    [Fact]
    public async Task StreamedPatchesWithoutContentRangeAppendInOrder()
    {
        var repository = Names.Unique("upload");
        var blob = TestBlob.Random(300);
        var location = await _client.StartUploadAsync(repository);

        using var first = await _client.PatchChunkAsync(location, blob.Content[..100], start: null);
        using var second = await _client.PatchChunkAsync(Location(first), blob.Content[100..], start: null);
        using var put = await _client.SendAsync(HttpMethod.Put, WithDigest(Location(second), blob.Digest));

        Assert.Equal("0-299", Header(second, "Range"));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        await AssertBlobAsync(repository, blob);
    }

    [Fact]
    public async Task PatchWithoutContentLengthStreamsTheWholeBody()
    {
        var repository = Names.Unique("upload");
        var blob = TestBlob.Random(100_000);
        var location = await _client.StartUploadAsync(repository);

        // A stream of unknown length goes out without Content-Length (chunked on a real connection).
        using var request = new HttpRequestMessage(HttpMethod.Patch, location) { Content = new StreamContent(new UnseekableStream(blob.Content)) };
        using var patch = await _client.SendAsync(request);
        using var put = await _client.SendAsync(HttpMethod.Put, WithDigest(Location(patch), blob.Digest), []);

        Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
        Assert.Equal("0-99999", Header(patch, "Range"));
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        await AssertBlobAsync(repository, blob);
    }

    [Fact]
    public async Task StatusReturns204WithRangeLocationAndUuid()
    {
        var location = await _client.StartUploadAsync(Names.Unique("upload"));
        using var patch = await _client.PatchChunkAsync(location, new byte[22], start: 0);

        using var status = await _client.GetAsync(location);

        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal("0-21", Header(status, "Range"));
        Assert.Equal(location, Location(status));
        Assert.Equal(location.Split('/')[^1], Header(status, "Docker-Upload-UUID"));
    }

    [Fact]
    public async Task StatusOfFreshSessionShowsEmptyRange()
    {
        var location = await _client.StartUploadAsync(Names.Unique("upload"));

        using var status = await _client.GetAsync(location);

        Assert.Equal(HttpStatusCode.NoContent, status.StatusCode);
        Assert.Equal("0-0", Header(status, "Range"));
    }

    [Fact]
    public async Task CancelReturns204ThenUploadIsUnknown()
    {
        var location = await _client.StartUploadAsync(Names.Unique("upload"));
        using var patch = await _client.PatchChunkAsync(location, new byte[10], start: 0);

        using var cancel = await _client.SendAsync(HttpMethod.Delete, location);
        using var status = await _client.GetAsync(location);

        Assert.Equal(HttpStatusCode.NoContent, cancel.StatusCode);
        await AssertErrorAsync(status, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
    }

    [Fact]
    public async Task CompletedUploadIsGone()
    {
        var repository = Names.Unique("upload");
        var blob = TestBlob.Random(10);
        var location = await _client.StartUploadAsync(repository);
        using var put = await _client.SendAsync(HttpMethod.Put, WithDigest(location, blob.Digest), blob.Content);

        using var status = await _client.GetAsync(location);

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        await AssertErrorAsync(status, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
    }

    [Fact]
    public async Task EmptyBlobUploadsMonolithically()
    {
        var repository = Names.Unique("upload");
        var empty = new TestBlob([]);

        using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?digest={empty.Digest}", []);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        await AssertBlobAsync(repository, empty);
    }

    [Fact]
    public async Task EmptyBlobUploadsThroughSessionWithEmptyPut()
    {
        var repository = Names.Unique("upload");
        var empty = new TestBlob([]);
        var location = await _client.StartUploadAsync(repository);

        using var put = await _client.SendAsync(HttpMethod.Put, WithDigest(location, empty.Digest), []);

        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        await AssertBlobAsync(repository, empty);
    }

    [Fact]
    public async Task Sha512DigestIsVerifiedAndServed()
    {
        var repository = Names.Unique("upload");
        var content = TestBlob.Random(500).Content;
        var digest = "sha512:" + Convert.ToHexStringLower(System.Security.Cryptography.SHA512.HashData(content));

        using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?digest={digest}", content);
        using var get = await _client.GetAsync($"/v2/{repository}/blobs/{digest}");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal(content, await get.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task SameBlobUploadedTwiceStaysServable()
    {
        var repository = Names.Unique("upload");
        var blob = TestBlob.Random(100);
        await _client.PushBlobAsync(repository, blob);

        await _client.PushBlobAsync(repository, blob);

        await AssertBlobAsync(repository, blob);
    }

    private async Task AssertBlobAsync(string repository, TestBlob blob)
    {
        using var get = await _client.GetAsync($"/v2/{repository}/blobs/{blob.Digest}");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(blob.Content, await get.Content.ReadAsByteArrayAsync());
    }

    /// <summary>Content whose length the client cannot know in advance.</summary>
    private sealed class UnseekableStream(byte[] content) : MemoryStream(content)
    {
        public override bool CanSeek => false;
    }
}
