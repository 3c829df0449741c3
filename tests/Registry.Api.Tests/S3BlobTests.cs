using System.Net;
using System.Net.Http.Headers;
using Registry.Api.Tests.Infrastructure;
using Registry.Testing;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>Two registries with blobs in S3 (the shared s3rver, a bucket each): one streams blobs, one redirects.</summary>
public sealed class S3RegistryFixture : IAsyncLifetime
{
    public RegistryFactory Streaming { get; private set; } = null!;

    public RegistryFactory Redirecting { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var server = await S3Server.GetAsync();
        Streaming = RegistryFactory.WithSettings(Settings(server, redirect: false));
        Redirecting = RegistryFactory.WithSettings(Settings(server, redirect: true));
    }

    public async Task DisposeAsync()
    {
        await Streaming.DisposeAsync();
        await Redirecting.DisposeAsync();
    }

    private static Dictionary<string, string?> Settings(S3Server server, bool redirect) => new()
    {
        ["Registry:Storage:Provider"] = "S3",
        ["Registry:Storage:S3:Endpoint"] = server.Endpoint.ToString(),
        ["Registry:Storage:S3:Bucket"] = S3Server.NewBucketName(),
        ["Registry:Storage:S3:AccessKey"] = S3Server.AccessKey,
        ["Registry:Storage:S3:SecretKey"] = S3Server.SecretKey,
        ["Registry:Storage:S3:Redirect"] = redirect ? "true" : "false",
    };
}

/// <summary>The /v2 blob API over the S3 store: chunked pushes, whole and ranged GETs, and presigned redirects.</summary>
public sealed class S3BlobTests(S3RegistryFixture registries) : IClassFixture<S3RegistryFixture>
{
    private readonly HttpClient _client = registries.Streaming.CreateRegistryClient();

    [Fact]
    public async Task A_chunked_push_is_served_whole_and_by_range()
    {
        var repository = Names.Unique("s3blob");
        var blob = TestBlob.Random(3 * 1024 * 1024);
        using var started = await _client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/");
        var location = started.Headers.Location!.ToString();
        for (var offset = 0; offset < blob.Content.Length; offset += 1024 * 1024)
        {
            var start = offset;
            using var patch = await _client.SendAsync(HttpMethod.Patch, location, blob.Content[start..(start + (1024 * 1024))], configure: r =>
                r.Content!.Headers.TryAddWithoutValidation("Content-Range", $"{start}-{start + (1024 * 1024) - 1}"));
            Assert.Equal(HttpStatusCode.Accepted, patch.StatusCode);
            location = patch.Headers.Location!.ToString();
        }

        using var put = await _client.SendAsync(HttpMethod.Put, $"{location}{(location.Contains('?', StringComparison.Ordinal) ? '&' : '?')}digest={blob.Digest}");
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);

        using var whole = await _client.GetAsync($"/v2/{repository}/blobs/{blob.Digest}");
        using var range = await _client.SendAsync(HttpMethod.Get, $"/v2/{repository}/blobs/{blob.Digest}", configure: r => r.Headers.Range = new RangeHeaderValue(2_000_000, 2_000_099));
        using var tail = await _client.SendAsync(HttpMethod.Get, $"/v2/{repository}/blobs/{blob.Digest}", configure: r => r.Headers.Range = new RangeHeaderValue(null, 10));
        using var past = await _client.SendAsync(HttpMethod.Get, $"/v2/{repository}/blobs/{blob.Digest}", configure: r => r.Headers.Range = new RangeHeaderValue(blob.Content.Length, null));

        Assert.Equal(blob.Content, await whole.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.PartialContent, range.StatusCode);
        Assert.Equal($"bytes 2000000-2000099/{blob.Content.Length}", range.Content.Headers.ContentRange?.ToString());
        Assert.Equal(blob.Content[2_000_000..2_000_100], await range.Content.ReadAsByteArrayAsync());
        Assert.Equal(blob.Content[^10..], await tail.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.RequestedRangeNotSatisfiable, past.StatusCode);
    }

    [Fact]
    public async Task A_redirecting_registry_answers_307_to_a_presigned_url_of_the_blob()
    {
        using var client = registries.Redirecting.CreateRegistryClient();
        var repository = Names.Unique("s3redirect");
        var blob = TestBlob.Random(5000);
        await client.PushBlobAsync(repository, blob);

        using var response = await client.GetAsync($"/v2/{repository}/blobs/{blob.Digest}");
        using var head = await client.SendAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{blob.Digest}");

        Assert.Equal(HttpStatusCode.TemporaryRedirect, response.StatusCode);
        Assert.Equal(blob.Digest, Header(response, "Docker-Content-Digest"));
        Assert.Contains("X-Amz-Signature=", response.Headers.Location!.Query, StringComparison.Ordinal);
        using var s3 = new HttpClient();
        Assert.Equal(blob.Content, await s3.GetByteArrayAsync(response.Headers.Location));
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(blob.Content.Length, head.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task Another_repository_cannot_get_the_blob_or_its_redirect()
    {
        using var client = registries.Redirecting.CreateRegistryClient();
        var blob = TestBlob.Random(100);
        await client.PushBlobAsync(Names.Unique("s3owner"), blob);

        using var response = await client.GetAsync($"/v2/{Names.Unique("s3other")}/blobs/{blob.Digest}");

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "BLOB_UNKNOWN");
    }
}
