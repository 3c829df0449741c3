using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.AuthHttp;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>
/// Registry tokens expire; an upload session outlives the token that started it, for its owner only.
/// The registry runs on a <see cref="FakeTimeProvider"/>, which issues and validates tokens, so each
/// test moves the clock instead of waiting. Token lifetime is the default five minutes, upload
/// sessions live an hour here.
/// </summary>
public sealed class TokenExpiryTests(TokenExpiryTests.Registry fixture) : IClassFixture<TokenExpiryTests.Registry>
{
    private static readonly TimeSpan PastTokenLifetime = TimeSpan.FromMinutes(6);
    private static readonly TimeSpan UploadSessionLifetime = TimeSpan.FromHours(1);

    private readonly RegistryFactory _registry = fixture.Factory;
    private readonly FakeTimeProvider _clock = fixture.Clock;
    private readonly HttpClient _client = fixture.Factory.CreatePlainClient();

    [Fact]
    public async Task ExpiredTokenIsRefused()
    {
        var token = await _client.TokenAsync(RegistryFactory.Admin, _registry.AdminPassword, "repository:expiry/app:pull");
        using var fresh = await _client.SendWithTokenAsync(HttpMethod.Get, "/v2/", token);

        _clock.Advance(PastTokenLifetime);
        using var expired = await _client.SendWithTokenAsync(HttpMethod.Get, "/v2/", token);

        Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);
        await AssertErrorAsync(expired, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.NotNull(expired.BearerChallenge());
    }

    [Fact]
    public async Task UploadContinuesWithItsOwnersExpiredToken()
    {
        var repository = Names.Unique("expiry");
        var blob = TestBlob.Random(2000);
        var token = await _client.TokenAsync(RegistryFactory.Admin, _registry.AdminPassword, $"repository:{repository}:pull,push");
        using var start = await _client.SendWithTokenAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/", token);
        var location = Location(start);
        using var first = await _client.SendWithTokenAsync(HttpMethod.Patch, location, token, blob.Content[..1000]);

        _clock.Advance(PastTokenLifetime);
        using var second = await _client.SendWithTokenAsync(HttpMethod.Patch, Location(first), token, blob.Content[1000..]);
        using var put = await _client.SendWithTokenAsync(HttpMethod.Put, WithDigest(Location(second), blob.Digest), token);

        Assert.Equal(HttpStatusCode.Accepted, second.StatusCode);
        Assert.Equal(HttpStatusCode.Created, put.StatusCode);
    }

    [Fact]
    public async Task ExpiredTokenStillOpensNothingButItsUploads()
    {
        var repository = Names.Unique("expiry");
        var token = await _client.TokenAsync(RegistryFactory.Admin, _registry.AdminPassword, $"repository:{repository}:pull,push");
        using var start = await _client.SendWithTokenAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/", token);

        _clock.Advance(PastTokenLifetime);
        using var newSession = await _client.SendWithTokenAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/", token);
        using var tags = await _client.SendWithTokenAsync(HttpMethod.Get, $"/v2/{repository}/tags/list", token);

        Assert.Equal(HttpStatusCode.Accepted, start.StatusCode);
        await AssertErrorAsync(newSession, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        await AssertErrorAsync(tags, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task AnotherUsersExpiredTokenIsRefusedOnTheSession()
    {
        // Both may push to the organization's repositories; the session still belongs to the one who started it.
        var (session, ownerToken, otherToken) = await OwnersSessionInAnOrganizationAsync();

        _clock.Advance(PastTokenLifetime);
        using var other = await _client.SendWithTokenAsync(HttpMethod.Patch, session, otherToken, new byte[100]);
        using var own = await _client.SendWithTokenAsync(HttpMethod.Patch, session, ownerToken, new byte[100]);

        await AssertErrorAsync(other, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        Assert.Equal(HttpStatusCode.Accepted, own.StatusCode);
    }

    [Fact]
    public async Task AnotherUsersValidTokenIsRefusedOnTheSession()
    {
        // The session belongs to who started it (UploadService.StartAsync: "who alone may continue it"),
        // also for another user who may push to the repository; to that user it is as unknown as any other id.
        var (session, _, otherToken) = await OwnersSessionInAnOrganizationAsync();

        using var other = await _client.SendWithTokenAsync(HttpMethod.Patch, session, otherToken, new byte[100]);

        await AssertErrorAsync(other, HttpStatusCode.NotFound, "BLOB_UPLOAD_UNKNOWN");
    }

    [Fact]
    public async Task SessionOlderThanItsLifetimeNoLongerTakesAnExpiredToken()
    {
        var repository = Names.Unique("expiry");
        var token = await _client.TokenAsync(RegistryFactory.Admin, _registry.AdminPassword, $"repository:{repository}:pull,push");
        using var start = await _client.SendWithTokenAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/", token);

        _clock.Advance(UploadSessionLifetime + TimeSpan.FromMinutes(1));
        using var late = await _client.SendWithTokenAsync(HttpMethod.Patch, Location(start), token, new byte[100]);

        await AssertErrorAsync(late, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
    }

    [Fact]
    public async Task ExpiredPersonalAccessTokenIsRefusedWithItsReason()
    {
        var alice = await _registry.NewUserAsync();
        var created = await _registry.NewPersonalTokenAsync(alice, new { name = "short", scope = "read", expiresAt = _clock.GetUtcNow().AddHours(1) });
        var secret = created.GetProperty("token").GetString();
        using var before = await _client.RequestTokenAsync(alice.Name, secret, $"repository:{alice.Name}/app:pull");

        _clock.Advance(TimeSpan.FromHours(2));
        using var after = await _client.RequestTokenAsync(alice.Name, secret, $"repository:{alice.Name}/app:pull");

        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        await AssertErrorMessageAsync(after, HttpStatusCode.Unauthorized, "UNAUTHORIZED", "token has expired");
    }

    [Fact]
    public async Task ClientFetchesANewTokenWhenItsOwnExpired()
    {
        // The handler sends its expired token, gets 401 and sends the request again with a new one, body included.
        using var client = _registry.CreateRegistryClient();
        var repository = Names.Unique("expiry");
        await client.PushImageAsync(repository, "v1");

        _clock.Advance(PastTokenLifetime);
        using var pull = await client.GetAsync($"/v2/{repository}/manifests/v1");
        _clock.Advance(PastTokenLifetime);
        await client.PushImageAsync(repository, "v2");

        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
    }

    /// <summary>
    /// An organization's repository that its owner and a maintainer may both push to, an upload session the
    /// owner started there (its location), and push tokens of both.
    /// </summary>
    private async Task<(string Session, string OwnerToken, string MaintainerToken)> OwnersSessionInAnOrganizationAsync()
    {
        var owner = await _registry.NewUserAsync();
        var maintainer = await _registry.NewUserAsync();
        var org = await _registry.NewOrganizationAsync(owner);
        await _registry.SetMemberAsync(owner, org, maintainer.Name, "maintainer");
        var repository = $"{org}/app";
        var ownerToken = await _client.TokenAsync(owner.Name, owner.Password, $"repository:{repository}:pull,push");
        var maintainerToken = await _client.TokenAsync(maintainer.Name, maintainer.Password, $"repository:{repository}:pull,push");
        using var start = await _client.SendWithTokenAsync(HttpMethod.Post, $"/v2/{repository}/blobs/uploads/", ownerToken);
        return (Location(start), ownerToken, maintainerToken);
    }

    /// <summary>The fixture: a registry whose clock the tests move.</summary>
    public sealed class Registry : IAsyncLifetime
    {
        public Registry()
        {
            Factory = RegistryFactory
                .WithSettings(new Dictionary<string, string?> { ["Registry:Auth:UploadSessionLifetime"] = UploadSessionLifetime.ToString() })
                .WithServices(services => services.AddSingleton<TimeProvider>(Clock));
        }

        public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

        public RegistryFactory Factory { get; }

        public Task InitializeAsync() => Task.CompletedTask;

        public Task DisposeAsync() => Factory.DisposeAsync().AsTask();
    }
}
