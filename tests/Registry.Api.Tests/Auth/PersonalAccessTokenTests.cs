using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.AuthHttp;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>Personal access tokens (regpat_...) used as the password of docker login, limited by their scope.</summary>
public sealed class PersonalAccessTokenTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    [Fact]
    public async Task SecretIsShownOnceInTheDocumentedFormat()
    {
        var alice = await registry.NewUserAsync();

        var created = await registry.NewPersonalTokenAsync(alice, new { name = "ci", scope = "read" });
        using var api = registry.CreateApiClient(alice.Name, alice.Password);
        using var list = await api.GetAsync("/api/v1/tokens");

        var secret = created.GetProperty("token").GetString()!;
        Assert.Matches("^regpat_[A-Za-z0-9_-]{44}$", secret); // a 12-character lookup id and a 32-character secret
        using var listed = await ReadJsonAsync(list);
        Assert.DoesNotContain(secret, listed.RootElement.GetRawText(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadTokenPullsButCannotPush()
    {
        var (alice, repository) = await UserWithImageAsync();
        var secret = await SecretAsync(alice, new { name = "read", scope = "read" });
        using var client = registry.CreateClientFor(alice.Name, secret);

        using var pull = await client.GetAsync($"/v2/{repository}/manifests/v1");
        using var push = await client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/");

        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
        await AssertErrorAsync(push, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task ReadWriteTokenPushesButCannotDelete()
    {
        var (alice, repository) = await UserWithImageAsync();
        var secret = await SecretAsync(alice, new { name = "rw", scope = "read-write" });
        using var client = registry.CreateClientFor(alice.Name, secret);

        await client.PushImageAsync(repository, "v2");
        using var delete = await client.SendAsync(HttpMethod.Delete, $"/v2/{repository}/manifests/v2");

        await AssertErrorAsync(delete, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task TokenLimitedToOneRepositoryCannotPullAnother()
    {
        var (alice, repository) = await UserWithImageAsync();
        using (var owner = registry.CreateClientFor(alice.Name, alice.Password))
        {
            await owner.PushImageAsync($"{alice.Name}/other", "v1");
        }

        var secret = await SecretAsync(alice, new { name = "one", scope = "read", repository });
        using var client = registry.CreateClientFor(alice.Name, secret);

        using var allowed = await client.GetAsync($"/v2/{repository}/manifests/v1");
        using var refused = await client.GetAsync($"/v2/{alice.Name}/other/manifests/v1");

        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        await AssertErrorAsync(refused, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task TokenNeverGrantsMoreThanItsUserMay()
    {
        var alice = await registry.NewUserAsync();
        var bob = await registry.NewUserAsync();
        var secret = await SecretAsync(alice, new { name = "all", scope = "read-write-delete" });
        using var client = registry.CreatePlainClient();

        var token = await client.TokenAsync(alice.Name, secret, $"repository:{bob.Name}/app:pull,push", $"repository:{alice.Name}/app:pull,push,delete");

        Assert.Empty(ActionsOn(token, $"{bob.Name}/app"));
        Assert.Equal(["delete", "pull", "push"], ActionsOn(token, $"{alice.Name}/app"));
    }

    [Fact]
    public async Task DockerLoginWithATokenGetsNoRefreshToken()
    {
        var alice = await registry.NewUserAsync();
        var secret = await SecretAsync(alice, new { name = "login", scope = "read" });
        using var client = registry.CreatePlainClient();

        using var response = await client.RequestTokenWithQueryAsync(alice.Name, secret, $"service={Service}&offline_token=true&client_id=docker");

        using var json = await ReadJsonAsync(response);
        Assert.False(json.RootElement.TryGetProperty("refresh_token", out _));
    }

    [Fact]
    public async Task TokenAuthenticatesTheRestApiAsBearer()
    {
        var alice = await registry.NewUserAsync();
        var secret = await SecretAsync(alice, new { name = "api", scope = "read" });
        using var client = registry.CreatePlainClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);

        using var response = await client.GetAsync("/api/v1/user");

        using var json = await ReadJsonAsync(response);
        Assert.Equal(alice.Name, json.RootElement.GetProperty("username").GetString());
    }

    [Fact]
    public async Task ReadTokenCannotListTheTokensOfItsOwner()
    {
        var alice = await registry.NewUserAsync();
        var secret = await SecretAsync(alice, new { name = "reader", scope = "read" });
        using var client = registry.CreatePlainClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);

        using var response = await client.GetAsync("/api/v1/tokens");

        await AssertErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task UnlimitedTokenListsTheTokensOfItsOwner()
    {
        var alice = await registry.NewUserAsync();
        var secret = await SecretAsync(alice, new { name = "manager", scope = "read-write-delete" });
        using var client = registry.CreatePlainClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);

        using var response = await client.GetAsync("/api/v1/tokens");

        using var json = await ReadJsonAsync(response);
        Assert.Equal("manager", json.RootElement[0].GetProperty("name").GetString());
    }

    [Fact]
    public async Task InactiveTokenIsRefusedWithItsReason()
    {
        var alice = await registry.NewUserAsync();
        var created = await registry.NewPersonalTokenAsync(alice, new { name = "paused", scope = "read" });
        using var api = registry.CreateApiClient(alice.Name, alice.Password);
        using var patch = await api.PatchAsJsonAsync($"/api/v1/tokens/{created.GetProperty("id")}", new { active = false });
        Assert.True(patch.IsSuccessStatusCode, await patch.Content.ReadAsStringAsync());
        using var client = registry.CreatePlainClient();

        using var response = await client.RequestTokenAsync(alice.Name, created.GetProperty("token").GetString(), $"repository:{alice.Name}/app:pull");

        await AssertErrorMessageAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED", "token is inactive");
    }

    [Fact]
    public async Task ReactivatedTokenWorksAgain()
    {
        var alice = await registry.NewUserAsync();
        var created = await registry.NewPersonalTokenAsync(alice, new { name = "paused", scope = "read" });
        using var api = registry.CreateApiClient(alice.Name, alice.Password);
        var url = $"/api/v1/tokens/{created.GetProperty("id")}";
        using var deactivated = await api.PatchAsJsonAsync(url, new { active = false });
        using var reactivated = await api.PatchAsJsonAsync(url, new { active = true });
        using var client = registry.CreatePlainClient();

        using var response = await client.RequestTokenAsync(alice.Name, created.GetProperty("token").GetString(), $"repository:{alice.Name}/app:pull");

        Assert.True(deactivated.IsSuccessStatusCode && reactivated.IsSuccessStatusCode);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task DeletedTokenIsRefused()
    {
        var alice = await registry.NewUserAsync();
        var created = await registry.NewPersonalTokenAsync(alice, new { name = "gone", scope = "read" });
        using var api = registry.CreateApiClient(alice.Name, alice.Password);
        using var delete = await api.DeleteAsync($"/api/v1/tokens/{created.GetProperty("id")}");
        using var client = registry.CreatePlainClient();

        using var response = await client.RequestTokenAsync(alice.Name, created.GetProperty("token").GetString(), $"repository:{alice.Name}/app:pull");

        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        await AssertErrorMessageAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED", "invalid username or password");
    }

    [Fact]
    public async Task TokenOfAnotherUserIsNoPassword()
    {
        var alice = await registry.NewUserAsync();
        var bob = await registry.NewUserAsync();
        var secret = await SecretAsync(alice, new { name = "mine", scope = "read" });
        using var client = registry.CreatePlainClient();

        using var response = await client.RequestTokenAsync(bob.Name, secret, $"repository:{bob.Name}/app:pull");

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task ExpiryInThePastIsRefusedAtCreation()
    {
        var alice = await registry.NewUserAsync();
        using var api = registry.CreateApiClient(alice.Name, alice.Password);

        using var response = await api.PostAsJsonAsync("/api/v1/tokens", new { name = "late", scope = "read", expiresAt = DateTimeOffset.UtcNow.AddHours(-1) });

        await AssertErrorAsync(response, HttpStatusCode.BadRequest, "INVALID");
    }

    private async Task<string> SecretAsync(TestUser owner, object request) =>
        (await registry.NewPersonalTokenAsync(owner, request)).GetProperty("token").GetString()!;

    private async Task<(TestUser User, string Repository)> UserWithImageAsync()
    {
        var user = await registry.NewUserAsync();
        var repository = $"{user.Name}/app";
        using var client = registry.CreateClientFor(user.Name, user.Password);
        await client.PushImageAsync(repository, "v1");
        return (user, repository);
    }
}
