using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>GET /v2/NAME/tags/list with n/last pagination and the Link header.</summary>
public sealed class TagListTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private readonly HttpClient _client = registry.CreateRegistryClient();

    [Fact]
    public async Task ListsNameAndTagsInLexicalOrder()
    {
        var repository = await RepositoryWithTagsAsync("v2", "latest", "V1", "1.0", "beta", "_private");

        using var response = await _client.GetAsync($"/v2/{repository}/tags/list");

        using var json = await ReadJsonAsync(response);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(repository, json.RootElement.GetProperty("name").GetString());
        Assert.Equal(["1.0", "V1", "_private", "beta", "latest", "v2"], Tags(json));
        Assert.False(response.Headers.Contains("Link"));
    }

    [Fact]
    public async Task NLimitsThePageAndLinksToTheNext()
    {
        var repository = await RepositoryWithTagsAsync("test0", "test1", "test2", "test3");

        using var response = await _client.GetAsync($"/v2/{repository}/tags/list?n=2");

        using var json = await ReadJsonAsync(response);
        Assert.Equal(["test0", "test1"], Tags(json));
        Assert.Equal($"</v2/{repository}/tags/list?last=test1&n=2>; rel=\"next\"", Header(response, "Link"));
    }

    [Fact]
    public async Task LastStartsAfterTheGivenTag()
    {
        var repository = await RepositoryWithTagsAsync("test0", "test1", "test2", "test3");

        using var response = await _client.GetAsync($"/v2/{repository}/tags/list?n=2&last=test1");

        using var json = await ReadJsonAsync(response);
        Assert.Equal(["test2", "test3"], Tags(json));
    }

    [Fact]
    public async Task LastWithoutNListsEverythingAfterIt()
    {
        var repository = await RepositoryWithTagsAsync("a", "b", "c");

        using var response = await _client.GetAsync($"/v2/{repository}/tags/list?last=a");

        using var json = await ReadJsonAsync(response);
        Assert.Equal(["b", "c"], Tags(json));
    }

    [Fact]
    public async Task LastPageHasNoLink()
    {
        var repository = await RepositoryWithTagsAsync("test0", "test1", "test2", "test3");

        using var response = await _client.GetAsync($"/v2/{repository}/tags/list?n=2&last=test1");

        Assert.False(response.Headers.Contains("Link"));
    }

    [Fact]
    public async Task FollowingLinksWalksEveryTagOnce()
    {
        var expected = Enumerable.Range(0, 7).Select(i => $"t{i}").ToArray();
        var repository = await RepositoryWithTagsAsync(expected);
        var seen = new List<string?>();
        var url = $"/v2/{repository}/tags/list?n=3";

        for (var pages = 0; url is not null; pages++)
        {
            Assert.True(pages < 10, "pagination does not end");
            using var response = await _client.GetAsync(url);
            using var json = await ReadJsonAsync(response);
            seen.AddRange(Tags(json));
            url = Header(response, "Link") is { } link ? link[1..link.IndexOf('>', StringComparison.Ordinal)] : null;
        }

        Assert.Equal(expected, seen);
    }

    [Fact]
    public async Task NZeroGivesAnEmptyList()
    {
        var repository = await RepositoryWithTagsAsync("a", "b");

        using var response = await _client.GetAsync($"/v2/{repository}/tags/list?n=0");

        using var json = await ReadJsonAsync(response);
        Assert.Empty(Tags(json));
    }

    [Fact]
    public async Task NLargerThanTheTagCountListsAllWithoutLink()
    {
        var repository = await RepositoryWithTagsAsync("a", "b");

        using var response = await _client.GetAsync($"/v2/{repository}/tags/list?n=100");

        using var json = await ReadJsonAsync(response);
        Assert.Equal(["a", "b"], Tags(json));
        Assert.False(response.Headers.Contains("Link"));
    }

    [Fact]
    public async Task LargestNListsAllTags()
    {
        var repository = await RepositoryWithTagsAsync("a", "b");

        using var response = await _client.GetAsync($"/v2/{repository}/tags/list?n={int.MaxValue}");

        using var json = await ReadJsonAsync(response);
        Assert.Equal(["a", "b"], Tags(json));
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("ten")]
    public async Task InvalidNIs400PaginationNumberInvalid(string n)
    {
        var repository = await RepositoryWithTagsAsync("a");

        using var response = await _client.GetAsync($"/v2/{repository}/tags/list?n={n}");

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "PAGINATION_NUMBER_INVALID");
    }

    [Fact]
    public async Task HeadAnswers200WithoutBody()
    {
        var repository = await RepositoryWithTagsAsync("a");

        using var response = await _client.SendAsync(HttpMethod.Head, $"/v2/{repository}/tags/list");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task UnknownRepositoryIs404NameUnknown()
    {
        using var response = await _client.GetAsync($"/v2/{Names.Unique("tags")}/tags/list");

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "NAME_UNKNOWN");
    }

    [Fact]
    public async Task RepositoryWithoutTagsListsAnEmptyArray()
    {
        var repository = Names.Unique("tags");
        await _client.PushBlobAsync(repository, TestBlob.Random(10));

        using var response = await _client.GetAsync($"/v2/{repository}/tags/list");

        using var json = await ReadJsonAsync(response);
        Assert.Empty(Tags(json));
    }

    [Fact]
    public async Task DeletedTagIsNoLongerListed()
    {
        var repository = await RepositoryWithTagsAsync("keep", "drop");

        using var delete = await _client.SendAsync(HttpMethod.Delete, $"/v2/{repository}/manifests/drop");
        using var response = await _client.GetAsync($"/v2/{repository}/tags/list");

        using var json = await ReadJsonAsync(response);
        Assert.Equal(["keep"], Tags(json));
    }

    private static List<string?> Tags(System.Text.Json.JsonDocument json) =>
        [.. json.RootElement.GetProperty("tags").EnumerateArray().Select(t => t.GetString())];

    private async Task<string> RepositoryWithTagsAsync(params string[] tags)
    {
        var repository = Names.Unique("tags");
        var manifest = await _client.PushImageAsync(repository, tags[0]);
        foreach (var tag in tags.Skip(1))
        {
            await _client.PushManifestAsync(repository, tag, manifest);
        }

        return repository;
    }
}
