using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.AuthHttp;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>
/// Public and private repositories, on a registry that lets anonymous callers pull public ones
/// (Registry:Auth:AnonymousPull=true). Repositories created by a push are private.
/// </summary>
public sealed class RepositoryVisibilityTests(RepositoryVisibilityTests.Registry fixture) : IClassFixture<RepositoryVisibilityTests.Registry>
{
    private readonly RegistryFactory _registry = fixture.Factory;

    [Fact]
    public async Task AnonymousTokenCoversOnlyPullOfPublicRepositories()
    {
        var (_, publicRepository, privateRepository) = await OwnerWithRepositoriesAsync();
        using var client = _registry.CreatePlainClient();

        var token = await client.TokenAsync(null, null, $"repository:{publicRepository}:pull,push", $"repository:{privateRepository}:pull");

        Assert.False(Payload(token).TryGetProperty("sub", out _));
        Assert.Equal(["pull"], ActionsOn(token, publicRepository));
        Assert.Empty(ActionsOn(token, privateRepository));
    }

    [Fact]
    public async Task AnonymousTokenOpensTheBaseEndpoint()
    {
        using var client = _registry.CreateAnonymousClient();

        using var response = await client.GetAsync("/v2/");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task AnonymousPullOfAPublicRepositoryWorks()
    {
        var (_, publicRepository, _) = await OwnerWithRepositoriesAsync();
        using var anonymous = _registry.CreateAnonymousClient();

        using var manifest = await anonymous.GetAsync($"/v2/{publicRepository}/manifests/v1");

        Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);
    }

    [Fact]
    public async Task AnonymousPullOfAPrivateRepositoryIs401()
    {
        var (_, _, privateRepository) = await OwnerWithRepositoriesAsync();
        using var anonymous = _registry.CreateAnonymousClient();

        using var manifest = await anonymous.GetAsync($"/v2/{privateRepository}/manifests/v1");

        await AssertErrorAsync(manifest, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.NotNull(manifest.BearerChallenge());
    }

    [Fact]
    public async Task AnonymousPushToAPublicRepositoryIs401()
    {
        var (_, publicRepository, _) = await OwnerWithRepositoriesAsync();
        using var anonymous = _registry.CreateAnonymousClient();

        using var response = await anonymous.SendAsync(HttpMethod.Post, $"/v2/{publicRepository}/blobs/uploads/");

        await AssertErrorAsync(response, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task SignedInUserPullsAnotherUsersPublicRepository()
    {
        var (_, publicRepository, _) = await OwnerWithRepositoriesAsync();
        var carol = await _registry.NewUserAsync();
        using var client = _registry.CreateClientFor(carol.Name, carol.Password);

        using var manifest = await client.GetAsync($"/v2/{publicRepository}/manifests/v1");

        Assert.Equal(HttpStatusCode.OK, manifest.StatusCode);
    }

    [Fact]
    public async Task SignedInUserWithoutAccessIsDeniedAnotherUsersPrivateRepository()
    {
        var (_, _, privateRepository) = await OwnerWithRepositoriesAsync();
        var carol = await _registry.NewUserAsync();
        using var client = _registry.CreateClientFor(carol.Name, carol.Password);

        using var manifest = await client.GetAsync($"/v2/{privateRepository}/manifests/v1");

        await AssertErrorAsync(manifest, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task SignedInUserCannotPushToAnotherUsersPublicRepository()
    {
        var (_, publicRepository, _) = await OwnerWithRepositoriesAsync();
        var carol = await _registry.NewUserAsync();
        using var client = _registry.CreateClientFor(carol.Name, carol.Password);

        using var response = await client.SendAsync(HttpMethod.Post, $"/v2/{publicRepository}/blobs/uploads/");

        await AssertErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
    }

    [Fact]
    public async Task MakingARepositoryPrivateAgainClosesItToNewTokens()
    {
        // A token already issued keeps what it grants until it expires; the next one no longer grants it.
        var (owner, publicRepository, _) = await OwnerWithRepositoriesAsync();
        using var before = _registry.CreateAnonymousClient();
        using var pulled = await before.GetAsync($"/v2/{publicRepository}/manifests/v1");

        await _registry.SetVisibilityAsync(owner, publicRepository, "private");
        using var after = _registry.CreateAnonymousClient();
        using var refused = await after.GetAsync($"/v2/{publicRepository}/manifests/v1");

        Assert.Equal(HttpStatusCode.OK, pulled.StatusCode);
        await AssertErrorAsync(refused, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    /// <summary>A user with an image in two repositories of its namespace, one made public.</summary>
    private async Task<(TestUser Owner, string Public, string Private)> OwnerWithRepositoriesAsync()
    {
        var owner = await _registry.NewUserAsync();
        using var client = _registry.CreateClientFor(owner.Name, owner.Password);
        var publicRepository = $"{owner.Name}/public";
        var privateRepository = $"{owner.Name}/private";
        await client.PushImageAsync(publicRepository, "v1");
        await client.PushImageAsync(privateRepository, "v1");
        await _registry.SetVisibilityAsync(owner, publicRepository, "public");
        return (owner, publicRepository, privateRepository);
    }

    /// <summary>The fixture: one registry that lets anonymous callers pull public repositories.</summary>
    public sealed class Registry : IAsyncLifetime
    {
        public RegistryFactory Factory { get; } = RegistryFactory.WithSettings(new Dictionary<string, string?> { ["Registry:Auth:AnonymousPull"] = "true" });

        public Task InitializeAsync() => Task.CompletedTask;

        public Task DisposeAsync() => Factory.DisposeAsync().AsTask();
    }
}
