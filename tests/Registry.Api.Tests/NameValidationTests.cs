using System.Net;
using Microsoft.AspNetCore.Http;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests;

/// <summary>Repository names outside the spec's grammar are refused before any handler runs.</summary>
public sealed class NameValidationTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private readonly HttpClient _client = registry.CreateRegistryClient();

    [Theory]
    [InlineData("Upper/case")]
    [InlineData("name/With/Caps")]
    [InlineData("a//b")]
    [InlineData("trailing-/x")]
    [InlineData("-leading/x")]
    [InlineData("a/.hidden")]
    [InlineData("a/b..c")]
    [InlineData("a/b___c")]
    public async Task InvalidNameIs400NameInvalid(string name)
    {
        using var response = await SendRawAsync(HttpMethod.Get, $"/v2/{name}/tags/list");

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "NAME_INVALID");
    }

    [Fact]
    public async Task DotDotComponentIsRefused()
    {
        // HttpClient and Kestrel both resolve dot segments; the path is set directly so the
        // dispatcher itself is shown to refuse "..", whatever server sits in front of it.
        var context = await registry.Server.SendAsync(c =>
        {
            c.Request.Method = "GET";
            c.Request.Path = "/v2/a/../b/tags/list";
        });

        Assert.Equal(StatusCodes.Status400BadRequest, context.Response.StatusCode);
        using var body = await System.Text.Json.JsonDocument.ParseAsync(context.Response.Body);
        Assert.Equal("NAME_INVALID", body.RootElement.GetProperty("errors")[0].GetProperty("code").GetString());
    }

    [Fact]
    public async Task NameOf256CharactersIs400NameInvalid()
    {
        var name = string.Join('/', Enumerable.Repeat(new string('a', 15), 16)); // 16*15 + 15 = 255
        name += "b";

        using var response = await _client.GetAsync($"/v2/{name}/tags/list");

        Assert.Equal(256, name.Length);
        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "NAME_INVALID");
    }

    [Fact]
    public async Task NameOf255CharactersIsAccepted()
    {
        var name = string.Join('/', Enumerable.Repeat(new string('a', 15), 16));
        var blob = TestBlob.Random(10);

        using var response = await _client.SendAsync(HttpMethod.Post, $"/v2/{name}/blobs/uploads/?digest={blob.Digest}", blob.Content);

        Assert.Equal(255, name.Length);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Theory]
    [InlineData("POST", "/blobs/uploads/")]
    [InlineData("PUT", "/manifests/latest")]
    [InlineData("GET", "/manifests/latest")]
    [InlineData("GET", "/blobs/sha256:0000000000000000000000000000000000000000000000000000000000000000")]
    [InlineData("GET", "/referrers/sha256:0000000000000000000000000000000000000000000000000000000000000000")]
    public async Task EveryRepositoryEndpointChecksTheName(string method, string suffix)
    {
        using var response = await SendRawAsync(new HttpMethod(method), $"/v2/Bad/Name{suffix}");

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "NAME_INVALID");
    }

    [Theory]
    [InlineData("a")]
    [InlineData("a/b/c/d")]
    [InlineData("a.b/c_d/e__f/g--h")]
    [InlineData("0/9")]
    public async Task NamesOfTheGrammarAreAccepted(string name)
    {
        using var response = await _client.GetAsync($"/v2/{name}/tags/list");

        // Valid but never pushed: the name passes validation and is simply unknown.
        await AssertErrorAsync(response, HttpStatusCode.NotFound, "NAME_UNKNOWN");
    }

    [Fact]
    public async Task NameMadeOfEndpointWordsReachesItsOwnRepository()
    {
        // The path is matched from its end, so names may contain "blobs", "manifests", "tags", ….
        var name = $"{Names.Unique("route")}/blobs/manifests/tags/referrers";
        var manifest = await _client.PushImageAsync(name, "list");

        using var tags = await _client.GetAsync($"/v2/{name}/tags/list");
        using var byTag = await _client.GetAsync($"/v2/{name}/manifests/list");

        using var json = await ReadJsonAsync(tags);
        Assert.Equal(name, json.RootElement.GetProperty("name").GetString());
        Assert.Equal("list", Assert.Single(json.RootElement.GetProperty("tags").EnumerateArray()).GetString());
        Assert.Equal(manifest.Digest, Header(byTag, "Docker-Content-Digest"));
    }

    private Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path) => _client.SendAsync(method, path);
}
