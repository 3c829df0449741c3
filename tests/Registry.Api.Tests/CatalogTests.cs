using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>
/// GET /v2/_catalog. The catalog lists the whole registry, so each test runs its own registry on a
/// fresh data directory and knows exactly what it holds.
/// </summary>
public sealed class CatalogTests
{
    [Fact]
    public async Task EmptyRegistryListsNoRepositories()
    {
        await using var registry = new RegistryFactory();
        using var client = registry.CreateRegistryClient();

        using var response = await client.GetAsync("/v2/_catalog");

        using var json = await ReadJsonAsync(response);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Empty(Repositories(json));
    }

    [Fact]
    public async Task ListsRepositoriesInLexicalOrder()
    {
        await using var registry = new RegistryFactory();
        using var client = registry.CreateRegistryClient();
        await PushAsync(client, "zeta", "alpha/two", "alpha", "alpha/one", "beta");

        using var response = await client.GetAsync("/v2/_catalog");

        using var json = await ReadJsonAsync(response);
        Assert.Equal(["alpha", "alpha/one", "alpha/two", "beta", "zeta"], Repositories(json));
    }

    [Fact]
    public async Task NLimitsThePageAndLinksToTheNext()
    {
        await using var registry = new RegistryFactory();
        using var client = registry.CreateRegistryClient();
        await PushAsync(client, "a", "b", "c");

        using var response = await client.GetAsync("/v2/_catalog?n=2");

        using var json = await ReadJsonAsync(response);
        Assert.Equal(["a", "b"], Repositories(json));
        Assert.Equal("</v2/_catalog?last=b&n=2>; rel=\"next\"", Header(response, "Link"));
    }

    [Fact]
    public async Task LastStartsAfterTheGivenRepositoryAndEndsWithoutLink()
    {
        await using var registry = new RegistryFactory();
        using var client = registry.CreateRegistryClient();
        await PushAsync(client, "a", "b", "c");

        using var response = await client.GetAsync("/v2/_catalog?n=2&last=b");

        using var json = await ReadJsonAsync(response);
        Assert.Equal(["c"], Repositories(json));
        Assert.False(response.Headers.Contains("Link"));
    }

    [Fact]
    public async Task FollowingLinksWalksEveryRepositoryOnce()
    {
        await using var registry = new RegistryFactory();
        using var client = registry.CreateRegistryClient();
        var names = new[] { "r/a", "r/b", "r/c", "r/d", "r/e" };
        await PushAsync(client, names);
        var seen = new List<string?>();
        var url = "/v2/_catalog?n=2";

        for (var pages = 0; url is not null; pages++)
        {
            Assert.True(pages < 10, "pagination does not end");
            using var response = await client.GetAsync(url);
            using var json = await ReadJsonAsync(response);
            seen.AddRange(Repositories(json));
            url = Header(response, "Link") is { } link ? link[1..link.IndexOf('>', StringComparison.Ordinal)] : null;
        }

        Assert.Equal(names, seen);
    }

    [Fact]
    public async Task NZeroGivesAnEmptyList()
    {
        await using var registry = new RegistryFactory();
        using var client = registry.CreateRegistryClient();
        await PushAsync(client, "a");

        using var response = await client.GetAsync("/v2/_catalog?n=0");

        using var json = await ReadJsonAsync(response);
        Assert.Empty(Repositories(json));
    }

    [Fact]
    public async Task UnfinishedOrRefusedPushesCreateNoRepository()
    {
        await using var registry = new RegistryFactory();
        using var client = registry.CreateRegistryClient();
        await client.StartUploadAsync("started/only");
        using var wrongDigest = await client.SendAsync(HttpMethod.Post, $"/v2/wrong/digest/blobs/uploads/?digest={TestBlob.Random(1).Digest}", [1, 2]);
        using var missingBlobs = await client.PutManifestAsync("missing/blobs", "v1", Manifests.OciImage(TestBlob.Config()));
        using var failedMount = await client.SendAsync(HttpMethod.Post, $"/v2/failed/mount/blobs/uploads/?mount={TestBlob.Random(1).Digest}&from=nowhere");

        using var response = await client.GetAsync("/v2/_catalog");

        Assert.Equal(HttpStatusCode.BadRequest, wrongDigest.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, missingBlobs.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, failedMount.StatusCode);
        using var json = await ReadJsonAsync(response);
        Assert.Empty(Repositories(json));
    }

    [Fact]
    public async Task InvalidNIs400PaginationNumberInvalid()
    {
        await using var registry = new RegistryFactory();
        using var client = registry.CreateRegistryClient();

        using var response = await client.GetAsync("/v2/_catalog?n=lots");

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID");
    }

    private static List<string?> Repositories(System.Text.Json.JsonDocument json) =>
        [.. json.RootElement.GetProperty("repositories").EnumerateArray().Select(r => r.GetString())];

    private static async Task PushAsync(HttpClient client, params string[] repositories)
    {
        foreach (var repository in repositories)
        {
            await client.PushImageAsync(repository, "latest");
        }
    }
}
