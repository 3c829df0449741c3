using System.Net;
using System.Net.Http.Json;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>Organizations own a namespace; their members' roles decide what they may do in it.</summary>
public sealed class OrganizationTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    [Fact]
    public async Task OwnerPushesToTheOrganization()
    {
        var owner = await registry.NewUserAsync();
        var org = await registry.NewOrganizationAsync(owner);
        using var client = registry.CreateClientFor(owner.Name, owner.Password);

        await client.PushImageAsync($"{org}/app", "v1");
    }

    [Fact]
    public async Task MemberPullsButCannotPush()
    {
        var (org, repository) = await OrganizationWithImageAsync();
        var member = await registry.NewUserAsync();
        await registry.SetMemberAsync(org.Owner, org.Name, member.Name, "member");
        using var client = registry.CreateClientFor(member.Name, member.Password);

        using var pull = await client.GetAsync($"/v2/{repository}/manifests/v1");
        using var push = await client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/");

        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
        await AssertErrorAsync(push, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task MaintainerPushes()
    {
        var (org, repository) = await OrganizationWithImageAsync();
        var maintainer = await registry.NewUserAsync();
        await registry.SetMemberAsync(org.Owner, org.Name, maintainer.Name, "maintainer");
        using var client = registry.CreateClientFor(maintainer.Name, maintainer.Password);

        await client.PushImageAsync(repository, "v2");
    }

    [Fact]
    public async Task PromotionTakesEffectOnTheNextToken()
    {
        // The client keeps its token; the push that the old token does not cover fetches a new one.
        var (org, repository) = await OrganizationWithImageAsync();
        var user = await registry.NewUserAsync();
        await registry.SetMemberAsync(org.Owner, org.Name, user.Name, "member");
        using var client = registry.CreateClientFor(user.Name, user.Password);
        using var denied = await client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/");

        await registry.SetMemberAsync(org.Owner, org.Name, user.Name, "maintainer");
        using var allowed = await client.SendAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/");

        await AssertErrorAsync(denied, HttpStatusCode.Forbidden, "DENIED");
        Assert.Equal(HttpStatusCode.Accepted, allowed.StatusCode);
    }

    [Fact]
    public async Task NonMemberIsDenied()
    {
        var (_, repository) = await OrganizationWithImageAsync();
        var outsider = await registry.NewUserAsync();
        using var client = registry.CreateClientFor(outsider.Name, outsider.Password);

        using var pull = await client.GetAsync($"/v2/{repository}/manifests/v1");

        await AssertErrorAsync(pull, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task RemovedMemberLosesAccess()
    {
        var (org, repository) = await OrganizationWithImageAsync();
        var member = await registry.NewUserAsync();
        await registry.SetMemberAsync(org.Owner, org.Name, member.Name, "member");
        using var api = registry.CreateApiClient(org.Owner.Name, org.Owner.Password);

        using var remove = await api.DeleteAsync($"/api/v1/orgs/{org.Name}/members/{member.Name}");
        using var client = registry.CreateClientFor(member.Name, member.Password);
        using var pull = await client.GetAsync($"/v2/{repository}/manifests/v1");

        Assert.True(remove.IsSuccessStatusCode, await remove.Content.ReadAsStringAsync());
        await AssertErrorAsync(pull, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task MemberCannotManageMembers()
    {
        var (org, _) = await OrganizationWithImageAsync();
        var member = await registry.NewUserAsync();
        var other = await registry.NewUserAsync();
        await registry.SetMemberAsync(org.Owner, org.Name, member.Name, "member");
        using var client = registry.CreateApiClient(member.Name, member.Password);

        using var response = await client.PutAsJsonAsync($"/api/v1/orgs/{org.Name}/members/{other.Name}", new { role = "owner" });

        await AssertErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task MembersAreListedWithTheirRoles()
    {
        var (org, _) = await OrganizationWithImageAsync();
        var member = await registry.NewUserAsync();
        await registry.SetMemberAsync(org.Owner, org.Name, member.Name, "maintainer");
        using var client = registry.CreateApiClient(org.Owner.Name, org.Owner.Password);

        using var response = await client.GetAsync($"/api/v1/orgs/{org.Name}/members");

        using var json = await ReadJsonAsync(response);
        var roles = json.RootElement.EnumerateArray().ToDictionary(m => m.GetProperty("username").GetString()!, m => m.GetProperty("role").GetString());
        Assert.Equal("owner", roles[org.Owner.Name]);
        Assert.Equal("maintainer", roles[member.Name]);
    }

    [Fact]
    public async Task OrganizationNameTakenByAUserIs409()
    {
        var alice = await registry.NewUserAsync();
        var bob = await registry.NewUserAsync();
        using var client = registry.CreateApiClient(alice.Name, alice.Password);

        using var response = await client.PostAsJsonAsync("/api/v1/orgs", new { name = bob.Name });

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
    }

    [Fact]
    public async Task OwnerMakesARepositoryPublicForEverySignedInUser()
    {
        var (org, repository) = await OrganizationWithImageAsync();
        var outsider = await registry.NewUserAsync();
        using var client = registry.CreateClientFor(outsider.Name, outsider.Password);
        using var before = await client.GetAsync($"/v2/{repository}/manifests/v1");

        await registry.SetVisibilityAsync(org.Owner, repository, "public");
        using var after = await client.GetAsync($"/v2/{repository}/manifests/v1");
        using var api = registry.CreateApiClient(org.Owner.Name, org.Owner.Password);
        using var shown = await api.GetAsync($"/api/v1/repositories/{repository}");

        await AssertErrorAsync(before, HttpStatusCode.Forbidden, "DENIED");
        Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        using var json = await ReadJsonAsync(shown);
        Assert.Equal("public", json.RootElement.GetProperty("visibility").GetString());
    }

    [Fact]
    public async Task MemberCannotChangeVisibility()
    {
        var (org, repository) = await OrganizationWithImageAsync();
        var member = await registry.NewUserAsync();
        await registry.SetMemberAsync(org.Owner, org.Name, member.Name, "maintainer");
        using var client = registry.CreateApiClient(member.Name, member.Password);

        using var response = await client.PatchAsJsonAsync($"/api/v1/repositories/{repository}", new { visibility = "public" });

        await AssertErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
    }

    private async Task<((TestUser Owner, string Name) Org, string Repository)> OrganizationWithImageAsync()
    {
        var owner = await registry.NewUserAsync();
        var org = await registry.NewOrganizationAsync(owner);
        var repository = $"{org}/app";
        using var client = registry.CreateClientFor(owner.Name, owner.Password);
        await client.PushImageAsync(repository, "v1");
        return ((owner, org), repository);
    }
}
