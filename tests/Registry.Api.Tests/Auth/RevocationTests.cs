using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.AuthHttp;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>
/// A registry token stops working within Registry:Auth:PermissionCacheDuration (five seconds here) of the
/// credential or permission behind it going away: a deleted or suspended access token, a disabled user, a changed
/// password, a removed organization membership, a repository made private. Open upload sessions too, with a valid
/// token and with the expired one an upload session otherwise accepts. The registry runs on a
/// <see cref="FakeTimeProvider"/>; moving it past the cache duration leaves the registry tokens themselves valid.
/// </summary>
public sealed class RevocationTests(RevocationTests.Registry fixture) : IClassFixture<RevocationTests.Registry>
{
    private static readonly TimeSpan PastCacheDuration = TimeSpan.FromSeconds(6);
    private static readonly TimeSpan PastTokenLifetime = TimeSpan.FromMinutes(6);

    private readonly RegistryFactory _registry = fixture.Factory;
    private readonly FakeTimeProvider _clock = fixture.Clock;
    private readonly HttpClient _client = fixture.Factory.CreatePlainClient();

    [Fact]
    public async Task DeletedAccessTokensRegistryTokenIsRefused()
    {
        var (alice, repository) = await UserWithImageAsync();
        var created = await _registry.NewPersonalTokenAsync(alice, new { name = "ci", scope = "read" });
        var token = await _client.TokenAsync(alice.Name, created.GetProperty("token").GetString(), $"repository:{repository}:pull");
        using var before = await PullAsync(repository, token);

        using (var api = _registry.CreateApiClient(alice.Name, alice.Password))
        using (var delete = await api.DeleteAsync($"/api/v1/tokens/{created.GetProperty("id")}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        _clock.Advance(PastCacheDuration);
        using var after = await PullAsync(repository, token);

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        await AssertErrorAsync(after, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.NotNull(after.BearerChallenge());
    }

    [Fact]
    public async Task SuspendedAccessTokensRegistryTokenIsRefused()
    {
        var (alice, repository) = await UserWithImageAsync();
        var created = await _registry.NewPersonalTokenAsync(alice, new { name = "ci", scope = "read" });
        var token = await _client.TokenAsync(alice.Name, created.GetProperty("token").GetString(), $"repository:{repository}:pull");
        using var before = await PullAsync(repository, token);

        await SuspendAsync(alice, created.GetProperty("id").GetInt64());
        _clock.Advance(PastCacheDuration);
        using var after = await PullAsync(repository, token);

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        await AssertErrorAsync(after, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task DisabledUsersRegistryTokenIsRefused()
    {
        var (alice, repository) = await UserWithImageAsync();
        var token = await _client.TokenAsync(alice.Name, alice.Password, $"repository:{repository}:pull");
        using var before = await PullAsync(repository, token);

        await DisableAsync(alice);
        _clock.Advance(PastCacheDuration);
        using var after = await PullAsync(repository, token);

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        await AssertErrorAsync(after, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task RegistryTokenOfAnOldPasswordIsRefused()
    {
        var (alice, repository) = await UserWithImageAsync();
        var token = await _client.TokenAsync(alice.Name, alice.Password, $"repository:{repository}:pull");
        using var before = await PullAsync(repository, token);

        using (var api = _registry.CreateApiClient(alice.Name, alice.Password))
        using (var change = await api.PutAsJsonAsync($"/api/v1/users/{alice.Name}/password", new { password = "a-new-password-1", currentPassword = alice.Password }))
        {
            Assert.Equal(HttpStatusCode.NoContent, change.StatusCode);
        }

        _clock.Advance(PastCacheDuration);
        using var after = await PullAsync(repository, token);
        var fresh = await _client.TokenAsync(alice.Name, "a-new-password-1", $"repository:{repository}:pull");
        using var withNewPassword = await PullAsync(repository, fresh);

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        await AssertErrorAsync(after, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal(HttpStatusCode.OK, withNewPassword.StatusCode);
    }

    [Fact]
    public async Task RemovedOrganizationMemberIsDenied()
    {
        var (owner, member, repository) = await OrganizationRepositoryAsync("member");
        var token = await _client.TokenAsync(member.Name, member.Password, $"repository:{repository}:pull");
        using var before = await PullAsync(repository, token);

        await RemoveMemberAsync(owner, repository, member);
        _clock.Advance(PastCacheDuration);
        using var after = await PullAsync(repository, token);

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        await AssertErrorAsync(after, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task DowngradedMaintainerCanNoLongerPush()
    {
        var (owner, maintainer, repository) = await OrganizationRepositoryAsync("maintainer");
        var token = await _client.TokenAsync(maintainer.Name, maintainer.Password, $"repository:{repository}:pull,push");
        using var before = await _client.SendWithTokenAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/", token);

        await _registry.SetMemberAsync(owner, repository.Split('/')[0], maintainer.Name, "member");
        _clock.Advance(PastCacheDuration);
        using var push = await _client.SendWithTokenAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/", token);
        using var pull = await PullAsync(repository, token);

        Assert.Equal(HttpStatusCode.Accepted, before.StatusCode);
        await AssertErrorAsync(push, HttpStatusCode.Forbidden, "DENIED");
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
    }

    [Fact]
    public async Task RepositoryMadePrivateIsDeniedToOthers()
    {
        var (alice, repository) = await UserWithImageAsync();
        await _registry.SetVisibilityAsync(alice, repository, "public");
        var bob = await _registry.NewUserAsync();
        var token = await _client.TokenAsync(bob.Name, bob.Password, $"repository:{repository}:pull");
        using var before = await PullAsync(repository, token);

        await _registry.SetVisibilityAsync(alice, repository, "private");
        _clock.Advance(PastCacheDuration);
        using var after = await PullAsync(repository, token);

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        await AssertErrorAsync(after, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task OpenUploadSessionOfADeletedAccessTokenIsRefused()
    {
        var alice = await _registry.NewUserAsync();
        var repository = $"{alice.Name}/app";
        var created = await _registry.NewPersonalTokenAsync(alice, new { name = "ci", scope = "read-write" });
        var token = await _client.TokenAsync(alice.Name, created.GetProperty("token").GetString(), $"repository:{repository}:pull,push");
        var session = await StartSessionAsync(repository, token);

        using (var api = _registry.CreateApiClient(alice.Name, alice.Password))
        using (await api.DeleteAsync($"/api/v1/tokens/{created.GetProperty("id")}"))
        {
        }

        _clock.Advance(PastCacheDuration);
        using var withValidToken = await _client.SendWithTokenAsync(HttpMethod.Patch, session, token, new byte[100]);
        _clock.Advance(PastTokenLifetime);
        using var withExpiredToken = await _client.SendWithTokenAsync(HttpMethod.Patch, session, token, new byte[100]);

        await AssertErrorAsync(withValidToken, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        await AssertErrorAsync(withExpiredToken, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task OpenUploadSessionOfASuspendedAccessTokenRefusesItsExpiredToken()
    {
        var alice = await _registry.NewUserAsync();
        var repository = $"{alice.Name}/app";
        var created = await _registry.NewPersonalTokenAsync(alice, new { name = "ci", scope = "read-write" });
        var token = await _client.TokenAsync(alice.Name, created.GetProperty("token").GetString(), $"repository:{repository}:pull,push");
        var session = await StartSessionAsync(repository, token);

        _clock.Advance(PastTokenLifetime);
        await SuspendAsync(alice, created.GetProperty("id").GetInt64());
        _clock.Advance(PastCacheDuration);
        using var patch = await _client.SendWithTokenAsync(HttpMethod.Patch, session, token, new byte[100]);

        await AssertErrorAsync(patch, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task OpenUploadSessionOfADisabledUserRefusesItsExpiredToken()
    {
        var alice = await _registry.NewUserAsync();
        var repository = $"{alice.Name}/app";
        var token = await _client.TokenAsync(alice.Name, alice.Password, $"repository:{repository}:pull,push");
        var session = await StartSessionAsync(repository, token);

        _clock.Advance(PastTokenLifetime);
        using var beforeDisabling = await _client.SendWithTokenAsync(HttpMethod.Patch, session, token, new byte[100]);
        await DisableAsync(alice);
        _clock.Advance(PastCacheDuration);
        using var afterDisabling = await _client.SendWithTokenAsync(HttpMethod.Patch, session, token, new byte[100]);

        Assert.Equal(HttpStatusCode.Accepted, beforeDisabling.StatusCode);
        await AssertErrorAsync(afterDisabling, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task OpenUploadSessionOfARemovedMemberRefusesItsExpiredToken()
    {
        var (owner, maintainer, repository) = await OrganizationRepositoryAsync("maintainer");
        var token = await _client.TokenAsync(maintainer.Name, maintainer.Password, $"repository:{repository}:pull,push");
        var session = await StartSessionAsync(repository, token);

        _clock.Advance(PastTokenLifetime);
        await RemoveMemberAsync(owner, repository, maintainer);
        _clock.Advance(PastCacheDuration);
        using var patch = await _client.SendWithTokenAsync(HttpMethod.Patch, session, token, new byte[100]);

        await AssertErrorAsync(patch, HttpStatusCode.Forbidden, "DENIED");
    }

    private Task<HttpResponseMessage> PullAsync(string repository, string token) =>
        _client.SendWithTokenAsync(HttpMethod.Get, $"/v2/{repository}/manifests/v1", token);

    private async Task<string> StartSessionAsync(string repository, string token)
    {
        using var start = await _client.SendWithTokenAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/", token);
        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        using var first = await _client.SendWithTokenAsync(HttpMethod.Patch, Location(start), token, new byte[100]);
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        return Location(first);
    }

    private async Task<(TestUser User, string Repository)> UserWithImageAsync()
    {
        var user = await _registry.NewUserAsync();
        var repository = $"{user.Name}/app";
        using var client = _registry.CreateClientFor(user.Name, user.Password);
        await client.PushImageAsync(repository, "v1");
        return (user, repository);
    }

    /// <summary>An organization's repository with an image, its owner, and a user with the given role in it.</summary>
    private async Task<(TestUser Owner, TestUser Member, string Repository)> OrganizationRepositoryAsync(string role)
    {
        var owner = await _registry.NewUserAsync();
        var member = await _registry.NewUserAsync();
        var organization = await _registry.NewOrganizationAsync(owner);
        await _registry.SetMemberAsync(owner, organization, member.Name, role);
        var repository = $"{organization}/app";
        using var client = _registry.CreateClientFor(owner.Name, owner.Password);
        await client.PushImageAsync(repository, "v1");
        return (owner, member, repository);
    }

    private async Task SuspendAsync(TestUser owner, long tokenId)
    {
        using var api = _registry.CreateApiClient(owner.Name, owner.Password);
        using var patch = await api.PatchAsJsonAsync($"/api/v1/tokens/{tokenId}", new { active = false });
        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
    }

    private async Task DisableAsync(TestUser user)
    {
        using var admin = _registry.CreateAdminApiClient();
        using var patch = await admin.PatchAsJsonAsync($"/api/v1/users/{user.Name}", new { isDisabled = true });
        Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
    }

    private async Task RemoveMemberAsync(TestUser owner, string repository, TestUser member)
    {
        using var api = _registry.CreateApiClient(owner.Name, owner.Password);
        using var delete = await api.DeleteAsync($"/api/v1/orgs/{repository.Split('/')[0]}/members/{member.Name}");
        Assert.True(delete.IsSuccessStatusCode, $"removing {member.Name} answered {(int)delete.StatusCode}");
    }

    /// <summary>The fixture: a registry whose clock the tests move, caching permission checks for five seconds.</summary>
    public sealed class Registry : IAsyncLifetime
    {
        public Registry()
        {
            Factory = RegistryFactory
                .WithSettings(new Dictionary<string, string?> { ["Registry:Auth:PermissionCacheDuration"] = "00:00:05" })
                .WithServices(services => services.AddSingleton<TimeProvider>(Clock));
        }

        public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

        public RegistryFactory Factory { get; }

        public Task InitializeAsync() => Task.CompletedTask;

        public Task DisposeAsync() => Factory.DisposeAsync().AsTask();
    }
}
