using System.Net;
using System.Net.Http.Json;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>/api/v1/user and /api/v1/users: who the caller is, and only administrators manage users.</summary>
public sealed class UserApiTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    [Fact]
    public async Task AdministratorCreatesAUserWhoCanSignIn()
    {
        var name = RegistryAccounts.UniqueName("u");
        using var admin = registry.CreateAdminApiClient();

        using var created = await admin.PostAsJsonAsync("/api/v1/users", new { username = name, password = "first-password" });
        using var user = registry.CreateApiClient(name, "first-password");
        using var me = await user.GetAsync("/api/v1/user");

        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        using var json = await ReadJsonAsync(me);
        Assert.Equal(name, json.RootElement.GetProperty("username").GetString());
        Assert.False(json.RootElement.GetProperty("isAdmin").GetBoolean());
    }

    [Fact]
    public async Task AdministratorIsAdmin()
    {
        using var admin = registry.CreateAdminApiClient();

        using var me = await admin.GetAsync("/api/v1/user");

        using var json = await ReadJsonAsync(me);
        Assert.Equal(RegistryFactory.Admin, json.RootElement.GetProperty("username").GetString());
        Assert.True(json.RootElement.GetProperty("isAdmin").GetBoolean());
    }

    [Fact]
    public async Task UserCannotCreateUsers()
    {
        var alice = await registry.NewUserAsync();
        using var client = registry.CreateApiClient(alice.Name, alice.Password);

        using var response = await client.PostAsJsonAsync("/api/v1/users", new { username = RegistryAccounts.UniqueName("u"), password = "secret-password" });

        await AssertErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task UserCannotListUsers()
    {
        var alice = await registry.NewUserAsync();
        using var client = registry.CreateApiClient(alice.Name, alice.Password);

        using var response = await client.GetAsync("/api/v1/users");

        await AssertErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task ExistingUserNameIs409()
    {
        var alice = await registry.NewUserAsync();
        using var admin = registry.CreateAdminApiClient();

        using var response = await admin.PostAsJsonAsync("/api/v1/users", new { username = alice.Name, password = "another-password" });

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
    }

    [Fact]
    public async Task WrongPasswordIs401()
    {
        var alice = await registry.NewUserAsync();
        using var client = registry.CreateApiClient(alice.Name, "not-" + alice.Password);

        using var response = await client.GetAsync("/api/v1/user");

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task NoCredentialsIs401()
    {
        using var client = registry.CreatePlainClient();

        using var response = await client.GetAsync("/api/v1/user");

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task ChangedPasswordReplacesTheOldOne()
    {
        var alice = await registry.NewUserAsync();
        using var client = registry.CreateApiClient(alice.Name, alice.Password);

        using var change = await client.PutAsJsonAsync($"/api/v1/users/{alice.Name}/password", new { password = "new-" + alice.Password, currentPassword = alice.Password });
        using var plain = registry.CreatePlainClient();
        using var withOld = await plain.RequestTokenAsync(alice.Name, alice.Password);
        using var withNew = await plain.RequestTokenAsync(alice.Name, "new-" + alice.Password);

        Assert.True(change.IsSuccessStatusCode, await change.Content.ReadAsStringAsync());
        await AssertErrorAsync(withOld, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal(HttpStatusCode.OK, withNew.StatusCode);
    }
}
