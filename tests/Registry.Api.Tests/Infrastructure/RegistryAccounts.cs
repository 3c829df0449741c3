using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;

namespace Registry.Api.Tests.Infrastructure;

/// <summary>A user a test created, with its password.</summary>
internal sealed record TestUser(string Name, string Password);

/// <summary>Setting up users, organizations, repositories and personal access tokens through the REST API /api/v1.</summary>
internal static class RegistryAccounts
{
    /// <summary>A user no other test uses (the name is also its namespace), created by the administrator.</summary>
    public static async Task<TestUser> NewUserAsync(this RegistryFactory registry, string prefix = "u")
    {
        var user = new TestUser(UniqueName(prefix), "pw-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(12)));
        using var admin = registry.CreateAdminApiClient();
        using var response = await admin.PostAsJsonAsync("/api/v1/users", new { username = user.Name, password = user.Password });
        await AssertStatusAsync(response, HttpStatusCode.Created, $"creating user {user.Name}");
        return user;
    }

    /// <summary>An organization owned by <paramref name="owner"/>.</summary>
    public static async Task<string> NewOrganizationAsync(this RegistryFactory registry, TestUser owner)
    {
        var name = UniqueName("org");
        using var client = registry.CreateApiClient(owner.Name, owner.Password);
        using var response = await client.PostAsJsonAsync("/api/v1/orgs", new { name });
        await AssertStatusAsync(response, HttpStatusCode.Created, $"creating organization {name}");
        return name;
    }

    public static async Task SetMemberAsync(this RegistryFactory registry, TestUser owner, string organization, string username, string role)
    {
        using var client = registry.CreateApiClient(owner.Name, owner.Password);
        using var response = await client.PutAsJsonAsync($"/api/v1/orgs/{organization}/members/{username}", new { role });
        Assert.True(response.IsSuccessStatusCode, $"adding {username} to {organization} as {role} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    public static async Task SetVisibilityAsync(this RegistryFactory registry, TestUser owner, string repository, string visibility)
    {
        using var client = registry.CreateApiClient(owner.Name, owner.Password);
        using var response = await client.PatchAsJsonAsync($"/api/v1/repositories/{repository}", new { visibility });
        Assert.True(response.IsSuccessStatusCode, $"setting {repository} {visibility} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
    }

    /// <summary>Creates a personal access token of the user and returns the created object (with its secret in "token").</summary>
    public static async Task<JsonElement> NewPersonalTokenAsync(this RegistryFactory registry, TestUser owner, object request)
    {
        using var client = registry.CreateApiClient(owner.Name, owner.Password);
        using var response = await client.PostAsJsonAsync("/api/v1/tokens", request);
        await AssertStatusAsync(response, HttpStatusCode.Created, "creating a personal access token");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static HttpClient CreateAdminApiClient(this RegistryFactory registry) =>
        registry.CreateApiClient(RegistryFactory.Admin, registry.AdminPassword);

    public static string UniqueName(string prefix) => prefix + Guid.NewGuid().ToString("N")[..10];

    public static async Task AssertStatusAsync(HttpResponseMessage response, HttpStatusCode status, string what) =>
        Assert.True(response.StatusCode == status, $"{what} answered {(int)response.StatusCode}, not {(int)status}: {await response.Content.ReadAsStringAsync()}");
}
