using System.Globalization;
using System.Net;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.AuthHttp;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>GET and POST /auth/token: who gets a token, for what, and in which shape.</summary>
public sealed class TokenEndpointTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private readonly HttpClient _client = registry.CreatePlainClient();

    [Fact]
    public async Task BasicCredentialsGetATokenForTheirOwnRepository()
    {
        var alice = await registry.NewUserAsync();

        using var response = await _client.RequestTokenAsync(alice.Name, alice.Password, $"repository:{alice.Name}/app:pull,push");

        using var json = await ReadJsonAsync(response);
        var token = json.RootElement.GetProperty("token").GetString()!;
        Assert.Equal(token, json.RootElement.GetProperty("access_token").GetString());
        Assert.True(json.RootElement.GetProperty("expires_in").GetInt32() >= 60);
        Assert.True(DateTimeOffset.TryParse(json.RootElement.GetProperty("issued_at").GetString(), CultureInfo.InvariantCulture, out _));
        Assert.False(json.RootElement.TryGetProperty("refresh_token", out _));
        Assert.Equal([new GrantedAccess("repository", $"{alice.Name}/app", "pull,push")], Grants(token));
    }

    [Fact]
    public async Task TokenCarriesTheStandardClaims()
    {
        var alice = await registry.NewUserAsync();

        var token = await _client.TokenAsync(alice.Name, alice.Password, $"repository:{alice.Name}/app:pull");

        var header = AuthHttp.Header(token);
        var payload = Payload(token);
        Assert.Equal("ES256", header.GetProperty("alg").GetString());
        Assert.False(string.IsNullOrEmpty(header.GetProperty("kid").GetString()));
        Assert.Equal("registry", payload.GetProperty("iss").GetString());
        Assert.Equal(alice.Name, payload.GetProperty("sub").GetString());
        Assert.Equal(Service, Audience(payload));
        Assert.False(string.IsNullOrEmpty(payload.GetProperty("jti").GetString()));
        var issuedAt = payload.GetProperty("iat").GetInt64();
        Assert.True(payload.GetProperty("nbf").GetInt64() <= issuedAt);
        Assert.True(payload.GetProperty("exp").GetInt64() >= issuedAt + 60);
    }

    [Fact]
    public async Task SeveralScopesInOneRequestAreGrantedTogether()
    {
        var alice = await registry.NewUserAsync();

        var token = await _client.TokenAsync(alice.Name, alice.Password, $"repository:{alice.Name}/one:pull", $"repository:{alice.Name}/two:pull,push");

        Assert.Equal(["pull"], ActionsOn(token, $"{alice.Name}/one"));
        Assert.Equal(["pull", "push"], ActionsOn(token, $"{alice.Name}/two"));
    }

    [Fact]
    public async Task AccessIsWhatWasAskedForAndIsPermitted()
    {
        var alice = await registry.NewUserAsync();
        var bob = await registry.NewUserAsync();

        var token = await _client.TokenAsync(
            alice.Name, alice.Password,
            $"repository:{alice.Name}/app:pull",
            $"repository:{bob.Name}/app:pull,push",
            "repository:toplevel:pull",
            "registry:catalog:*");

        Assert.Equal(["pull"], ActionsOn(token, $"{alice.Name}/app")); // push was not asked for
        Assert.Empty(ActionsOn(token, $"{bob.Name}/app")); // another user's private namespace
        Assert.Empty(ActionsOn(token, "toplevel")); // single-component names: administrators only
        Assert.DoesNotContain(Grants(token), a => a.Type == "registry" && a.Actions.Length > 0);
    }

    [Fact]
    public async Task AdministratorGetsEveryActionAndTheCatalog()
    {
        var token = await _client.TokenAsync(RegistryFactory.Admin, registry.AdminPassword, "repository:toplevel:pull,push,delete", "registry:catalog:*");

        Assert.Equal(["delete", "pull", "push"], ActionsOn(token, "toplevel"));
        Assert.Contains(Grants(token), a => a is { Type: "registry", Name: "catalog" } && a.Actions == "*");
    }

    [Fact]
    public async Task UnknownResourceTypeGetsNothing()
    {
        var token = await _client.TokenAsync(RegistryFactory.Admin, registry.AdminPassword, "widget:anything:pull", "repository:known/app:pull");

        Assert.DoesNotContain(Grants(token), a => a.Type == "widget");
        Assert.Equal(["pull"], ActionsOn(token, "known/app"));
    }

    [Theory]
    [InlineData("repository")]
    [InlineData("repository:known/app")]
    [InlineData("repository::pull")]
    [InlineData("repository:Upper/Case:pull")]
    [InlineData("repository:known//app:pull")]
    public async Task MalformedScopeGrantsNothing(string scope)
    {
        using var response = await _client.RequestTokenAsync(RegistryFactory.Admin, registry.AdminPassword, scope, "repository:known/app:pull");

        using var json = await ReadJsonAsync(response);
        var token = json.RootElement.GetProperty("token").GetString()!;
        Assert.Equal([new GrantedAccess("repository", "known/app", "pull")], Grants(token));
    }

    [Fact]
    public async Task UnknownActionsAreDropped()
    {
        var token = await _client.TokenAsync(RegistryFactory.Admin, registry.AdminPassword, "repository:known/app:pull,fly");

        Assert.Equal(["pull"], ActionsOn(token, "known/app"));
    }

    [Fact]
    public async Task WrongPasswordIs401Unauthorized()
    {
        var alice = await registry.NewUserAsync();

        using var response = await _client.RequestTokenAsync(alice.Name, "not-" + alice.Password, $"repository:{alice.Name}/app:pull");

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task UnknownUserIs401Unauthorized()
    {
        using var response = await _client.RequestTokenAsync("nobody" + Guid.NewGuid().ToString("N")[..6], "whatever", "repository:known/app:pull");

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task NoCredentialsGetNoTokenWhenAnonymousPullIsOff()
    {
        using var response = await _client.RequestTokenAsync(null, null, "repository:known/app:pull");

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task DockerLoginGetsARefreshToken()
    {
        // docker login asks for no scope, just for an offline token to keep instead of the password.
        var alice = await registry.NewUserAsync();

        using var response = await _client.RequestTokenWithQueryAsync(alice.Name, alice.Password, $"service={Service}&offline_token=true&client_id=docker&account={alice.Name}");

        using var json = await ReadJsonAsync(response);
        Assert.False(string.IsNullOrEmpty(json.RootElement.GetProperty("refresh_token").GetString()));
        Assert.Empty(Grants(json.RootElement.GetProperty("token").GetString()!));
    }

    [Fact]
    public async Task RefreshTokenFromDockerLoginGetsTokensByPost()
    {
        var alice = await registry.NewUserAsync();
        using var login = await _client.RequestTokenWithQueryAsync(alice.Name, alice.Password, $"service={Service}&offline_token=true&client_id=docker");
        using var loginJson = await ReadJsonAsync(login);
        var refreshToken = loginJson.RootElement.GetProperty("refresh_token").GetString()!;

        using var response = await _client.PostTokenAsync(
            ("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("service", Service), ("client_id", "docker"),
            ("scope", $"repository:{alice.Name}/app:pull,push"));

        using var json = await ReadJsonAsync(response);
        var token = json.RootElement.GetProperty("access_token").GetString()!;
        Assert.Equal(alice.Name, Payload(token).GetProperty("sub").GetString());
        Assert.Equal(["pull", "push"], ActionsOn(token, $"{alice.Name}/app"));
    }

    [Fact]
    public async Task PasswordGrantByPostTakesSpaceSeparatedScopes()
    {
        var alice = await registry.NewUserAsync();

        using var response = await _client.PostTokenAsync(
            ("grant_type", "password"), ("username", alice.Name), ("password", alice.Password), ("service", Service), ("client_id", "test"),
            ("scope", $"repository:{alice.Name}/one:pull repository:{alice.Name}/two:pull,push"));

        using var json = await ReadJsonAsync(response);
        var token = json.RootElement.GetProperty("access_token").GetString()!;
        Assert.Equal(token, json.RootElement.GetProperty("token").GetString());
        Assert.True(json.RootElement.GetProperty("expires_in").GetInt32() >= 60);
        Assert.True(json.RootElement.TryGetProperty("issued_at", out _));
        Assert.True(json.RootElement.TryGetProperty("scope", out _));
        Assert.False(json.RootElement.TryGetProperty("refresh_token", out _));
        Assert.Equal(["pull"], ActionsOn(token, $"{alice.Name}/one"));
        Assert.Equal(["pull", "push"], ActionsOn(token, $"{alice.Name}/two"));
    }

    [Fact]
    public async Task PasswordGrantWithOfflineAccessReturnsARefreshTokenThatWorks()
    {
        var alice = await registry.NewUserAsync();
        using var first = await _client.PostTokenAsync(
            ("grant_type", "password"), ("username", alice.Name), ("password", alice.Password), ("service", Service), ("client_id", "test"),
            ("access_type", "offline"));
        using var firstJson = await ReadJsonAsync(first);
        var refreshToken = firstJson.RootElement.GetProperty("refresh_token").GetString()!;

        using var refreshed = await _client.PostTokenAsync(
            ("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("service", Service), ("client_id", "test"),
            ("scope", $"repository:{alice.Name}/app:pull"));

        using var json = await ReadJsonAsync(refreshed);
        Assert.Equal(["pull"], ActionsOn(json.RootElement.GetProperty("access_token").GetString()!, $"{alice.Name}/app"));
    }

    [Fact]
    public async Task PasswordGrantWithWrongPasswordIs401InvalidGrant()
    {
        var alice = await registry.NewUserAsync();

        using var response = await _client.PostTokenAsync(
            ("grant_type", "password"), ("username", alice.Name), ("password", "not-" + alice.Password), ("service", Service), ("client_id", "test"));

        await AssertOAuthErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_grant");
    }

    [Fact]
    public async Task GarbageRefreshTokenIsRefusedAsInvalidGrant()
    {
        using var response = await _client.PostTokenAsync(
            ("grant_type", "refresh_token"), ("refresh_token", "not-a-refresh-token"), ("service", Service), ("client_id", "test"));

        await AssertOAuthErrorAsync(response, HttpStatusCode.Unauthorized, "invalid_grant");
    }

    [Fact]
    public async Task PasswordGrantWithoutPasswordIs400InvalidRequest()
    {
        using var response = await _client.PostTokenAsync(("grant_type", "password"), ("username", "someone"), ("service", Service), ("client_id", "test"));

        await AssertOAuthErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    private static string? Audience(JsonElement payload)
    {
        var aud = payload.GetProperty("aud");
        return aud.ValueKind == JsonValueKind.Array ? aud[0].GetString() : aud.GetString();
    }
}
