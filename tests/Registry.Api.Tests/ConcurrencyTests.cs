using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>Requests that race, as parallel layer pushes from one client do.</summary>
public sealed class ConcurrencyTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private const int Parallelism = 8;

    private readonly HttpClient _client = registry.CreateRegistryClient();

    [Fact]
    public async Task ParallelUploadsIntoANewRepositoryAllSucceed()
    {
        var repository = Names.Unique("race");
        var blobs = Enumerable.Range(0, Parallelism).Select(_ => TestBlob.Random(50_000)).ToList();

        var statuses = await Task.WhenAll(blobs.Select(async blob =>
        {
            using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?digest={blob.Digest}", blob.Content);
            return response.StatusCode;
        }));

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.Created, s));
        foreach (var blob in blobs)
        {
            Assert.Equal(HttpStatusCode.OK, await _client.StatusAsync(HttpMethod.Head, $"/v2/{repository}/blobs/{blob.Digest}"));
        }
    }

    [Fact]
    public async Task ParallelUploadsOfTheSameBlobAllSucceed()
    {
        var blob = TestBlob.Random(100_000);
        var repositories = Enumerable.Range(0, Parallelism).Select(_ => Names.Unique("race")).ToList();

        var statuses = await Task.WhenAll(repositories.Select(async repository =>
        {
            using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/?digest={blob.Digest}", blob.Content);
            return response.StatusCode;
        }));

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.Created, s));
        using var get = await _client.GetAsync($"/v2/{repositories[^1]}/blobs/{blob.Digest}");
        Assert.Equal(blob.Content, await get.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task ParallelManifestPushesToOneTagLeaveOneOfThem()
    {
        var repository = Names.Unique("race");
        var config = TestBlob.Config();
        var layers = Enumerable.Range(0, Parallelism).Select(_ => TestBlob.Random(100)).ToList();
        await _client.PushBlobsAsync(repository, [config, .. layers]);
        var manifests = layers.Select(l => Manifests.OciImage(config, l)).ToList();

        var statuses = await Task.WhenAll(manifests.Select(async manifest =>
        {
            using var response = await _client.PutManifestAsync(repository, "latest", manifest);
            return response.StatusCode;
        }));
        using var get = await _client.GetAsync($"/v2/{repository}/manifests/latest");

        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.Created, s));
        Assert.Contains(Header(get, "Docker-Content-Digest"), manifests.Select(m => m.Digest));
    }

    [Fact]
    public async Task SameChunkSentTwiceAtOnceIsTakenOnce()
    {
        var location = await _client.StartUploadAsync(Names.Unique("race"));
        var chunk = TestBlob.Random(200_000).Content;

        var statuses = await Task.WhenAll(Enumerable.Range(0, 2).Select(async _ =>
        {
            using var response = await _client.PatchChunkAsync(location, chunk, start: 0);
            return response.StatusCode;
        }));
        using var status = await _client.GetAsync(location);

        Assert.Equal([HttpStatusCode.Accepted, HttpStatusCode.RequestedRangeNotSatisfiable], statuses.Order());
        Assert.Equal("0-199999", Header(status, "Range"));
    }
}
