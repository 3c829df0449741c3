using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.AuthHttp;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>What /v2 does with a Bearer token that does not cover the request or is not genuine.</summary>
public sealed class TokenValidationTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private readonly HttpClient _client = registry.CreatePlainClient();

    [Fact]
    public async Task RequestWithoutTokenIs401WithAChallengeForWhatItNeeds()
    {
        using var response = await _client.GetAsync("/v2/some/app/tags/list");

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        var challenge = response.BearerChallenge();
        Assert.NotNull(challenge);
        Assert.Equal(new Uri(_client.BaseAddress!, "/auth/token"), challenge.RealmUri);
        Assert.Equal(Service, challenge.Service);
        Assert.Equal(["repository:some/app:pull"], challenge.Scopes);
    }

    [Fact]
    public async Task BaseEndpointWithoutTokenIs401WithTheApiVersionHeader()
    {
        using var response = await _client.GetAsync("/v2/");

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal("registry/2.0", Header(response, "Docker-Distribution-API-Version"));
        Assert.NotNull(response.BearerChallenge());
    }

    [Fact]
    public async Task TokenForOneRepositoryIsRefusedOnAnother()
    {
        var alice = await registry.NewUserAsync();
        using var pusher = registry.CreateClientFor(alice.Name, alice.Password);
        await pusher.PushImageAsync($"{alice.Name}/one", "v1");
        await pusher.PushImageAsync($"{alice.Name}/two", "v1");
        var token = await _client.TokenAsync(alice.Name, alice.Password, $"repository:{alice.Name}/one:pull");

        using var allowed = await _client.SendWithTokenAsync(HttpMethod.Get, $"/v2/{alice.Name}/one/manifests/v1", token);
        using var refused = await _client.SendWithTokenAsync(HttpMethod.Get, $"/v2/{alice.Name}/two/manifests/v1", token);

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        await AssertErrorAsync(refused, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        var challenge = refused.BearerChallenge();
        Assert.Equal("insufficient_scope", challenge?.Error);
        Assert.Equal([$"repository:{alice.Name}/two:pull"], challenge?.Scopes);
    }

    [Fact]
    public async Task PullTokenDoesNotPush()
    {
        var alice = await registry.NewUserAsync();
        var token = await _client.TokenAsync(alice.Name, alice.Password, $"repository:{alice.Name}/app:pull");

        using var response = await _client.SendWithTokenAsync(HttpMethod.Post, $"/v2/{alice.Name}/app/blobs/uploads/", token);

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal("insufficient_scope", response.BearerChallenge()?.Error);
    }

    [Fact]
    public async Task AnyValidTokenOpensTheBaseEndpoint()
    {
        var alice = await registry.NewUserAsync();
        var token = await _client.TokenAsync(alice.Name, alice.Password);

        using var response = await _client.SendWithTokenAsync(HttpMethod.Get, "/v2/", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task TokenWithARewrittenPayloadIsRefused()
    {
        // A user's token made to claim another subject and more access, with the original signature.
        var alice = await registry.NewUserAsync();
        var token = await _client.TokenAsync(alice.Name, alice.Password, $"repository:{alice.Name}/app:pull");
        var parts = token.Split('.');
        var payload = JsonNode.Parse(Base64UrlDecode(parts[1]))!;
        payload["sub"] = RegistryFactory.Admin;
        payload["access"] = JsonNode.Parse("""[{"type":"registry","name":"catalog","actions":["*"]}]""");
        var forged = $"{parts[0]}.{Base64UrlEncode(payload.ToJsonString())}.{parts[2]}";

        using var response = await _client.SendWithTokenAsync(HttpMethod.Get, "/v2/_catalog", forged);

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task TokenWithOneFlippedPayloadCharacterIsRefused()
    {
        var token = await _client.TokenAsync(RegistryFactory.Admin, registry.AdminPassword, "repository:flip/app:pull");
        var parts = token.Split('.');
        var payload = Encoding.UTF8.GetString(Base64UrlDecode(parts[1])).Replace("flip/app", "flip/apq", StringComparison.Ordinal);
        var tampered = $"{parts[0]}.{Base64UrlEncode(payload)}.{parts[2]}";

        using var genuine = await _client.SendWithTokenAsync(HttpMethod.Get, "/v2/flip/app/tags/list", token);
        using var response = await _client.SendWithTokenAsync(HttpMethod.Get, "/v2/flip/apq/tags/list", tampered);

        Assert.NotEqual(HttpStatusCode.Unauthorized, genuine.StatusCode);
        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task TokenSignedWithAnotherServersKeyIsRefused()
    {
        var genuine = await _client.TokenAsync(RegistryFactory.Admin, registry.AdminPassword, "repository:foreign/app:pull", "registry:catalog:*");
        var parts = genuine.Split('.');
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var signingInput = $"{parts[0]}.{parts[1]}";
        var signature = otherKey.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256);
        var foreign = $"{signingInput}.{Base64UrlEncode(signature)}";

        using var response = await _client.SendWithTokenAsync(HttpMethod.Get, "/v2/_catalog", foreign);

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task UnsignedTokenIsRefused()
    {
        var genuine = await _client.TokenAsync(RegistryFactory.Admin, registry.AdminPassword, "registry:catalog:*");
        var unsigned = $"{Base64UrlEncode("""{"alg":"none","typ":"JWT"}""")}.{genuine.Split('.')[1]}.";

        using var response = await _client.SendWithTokenAsync(HttpMethod.Get, "/v2/_catalog", unsigned);

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task GarbageBearerIsRefused()
    {
        using var response = await _client.SendWithTokenAsync(HttpMethod.Get, "/v2/", "not.a.jwt");

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task CatalogNeedsTheCatalogScope()
    {
        var token = await _client.TokenAsync(RegistryFactory.Admin, registry.AdminPassword, "repository:some/app:pull");

        using var response = await _client.SendWithTokenAsync(HttpMethod.Get, "/v2/_catalog", token);

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal(["registry:catalog:*"], response.BearerChallenge()?.Scopes);
    }

    [Fact]
    public async Task UserIsDeniedTheCatalog()
    {
        var alice = await registry.NewUserAsync();
        using var client = registry.CreateClientFor(alice.Name, alice.Password);

        using var response = await client.GetAsync("/v2/_catalog");

        await AssertErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
    }
}
