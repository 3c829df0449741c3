using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>The /v2/ probe and what every /v2 response carries.</summary>
public sealed class BaseTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private readonly HttpClient _client = registry.CreateRegistryClient();

    [Fact]
    public async Task ProbeAnswers200WithJsonBody()
    {
        using var response = await _client.GetAsync("/v2/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("{}", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ProbeCarriesApiVersionHeader()
    {
        using var response = await _client.GetAsync("/v2/");

        Assert.Equal("registry/2.0", Header(response, "Docker-Distribution-API-Version"));
    }

    [Fact]
    public async Task HeadProbeAnswers200()
    {
        using var response = await _client.SendAsync(HttpMethod.Head, "/v2/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("registry/2.0", Header(response, "Docker-Distribution-API-Version"));
    }

    [Fact]
    public async Task ProbeWithoutTrailingSlashRedirectsToProbe()
    {
        using var response = await _client.GetAsync("/v2");

        Assert.Equal(HttpStatusCode.MovedPermanently, response.StatusCode);
        Assert.Equal("/v2/", Location(response));
    }

    [Fact]
    public async Task ProbeUsesTheConfiguredDataDirectory()
    {
        using var response = await _client.GetAsync("/v2/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.True(File.Exists(Path.Combine(registry.DataDirectory, "registry.db")));
    }

    [Theory]
    [InlineData("GET", "/v2/base/x/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("GET", "/v2/base/x/manifests/missing")]
    [InlineData("GET", "/v2/base/x/tags/list")]
    [InlineData("GET", "/v2/_catalog")]
    [InlineData("POST", "/v2/base/x/blobs/uploads/")]
    [InlineData("GET", "/v2/base/x/unknown/endpoint")]
    [InlineData("GET", "/v2/BAD/manifests/latest")]
    public async Task EveryV2ResponseCarriesApiVersionHeader(string method, string url)
    {
        using var response = await _client.SendAsync(new HttpMethod(method), url);

        Assert.Equal("registry/2.0", Header(response, "Docker-Distribution-API-Version"));
    }

    [Fact]
    public async Task UnknownEndpointIs404InErrorFormat()
    {
        using var response = await _client.GetAsync("/v2/base/x/unknown/endpoint");

        await AssertErrorAsync(response, HttpStatusCode.NotFound, "UNSUPPORTED");
    }

    [Fact]
    public async Task MethodNotServedByAnEndpointIs405Unsupported()
    {
        using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{Names.Unique("base")}/manifests/latest");

        await AssertErrorAsync(response, HttpStatusCode.MethodNotAllowed, "UNSUPPORTED");
    }

    [Fact]
    public async Task ErrorBodyIsJsonWithCodeMessageAndDetail()
    {
        using var response = await _client.GetAsync($"/v2/{Names.Unique("base")}/manifests/sha256:totallywrong");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var error = Assert.Single(json.RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal("DIGEST_INVALID", error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.False(string.IsNullOrEmpty(error.GetProperty("detail").GetString()));
    }

    [Fact]
    public async Task HeadErrorHasStatusButNoBody()
    {
        using var response = await _client.SendAsync(HttpMethod.Head, $"/v2/{Names.Unique("base")}/manifests/missing");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }
}
