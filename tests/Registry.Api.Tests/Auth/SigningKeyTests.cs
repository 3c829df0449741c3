using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Registry.Api.Identity;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.AuthHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>
/// The key that signs registry tokens is made at first start, kept in the database and rotatable: after a
/// rotation new tokens carry the new key's id, and tokens of the old key keep working until they expire.
/// </summary>
public sealed class SigningKeyTests(SigningKeyTests.Registry fixture) : IClassFixture<SigningKeyTests.Registry>
{
    private readonly RegistryFactory _registry = fixture.Factory;
    private readonly FakeTimeProvider _clock = fixture.Clock;
    private readonly HttpClient _client = fixture.Factory.CreatePlainClient();

    [Fact]
    public async Task TokensOfTheRetiredKeyWorkUntilTheyExpireAndNewTokensUseTheNewKey()
    {
        var before = await _client.TokenAsync(RegistryFactory.Admin, _registry.AdminPassword, "repository:keys/app:pull");

        var newKey = await _registry.Services.GetRequiredService<SigningKeys>().RotateAsync(default);
        var after = await _client.TokenAsync(RegistryFactory.Admin, _registry.AdminPassword, "repository:keys/app:pull");

        Assert.NotEqual(Header(before).GetProperty("kid").GetString(), newKey);
        Assert.Equal(newKey, Header(after).GetProperty("kid").GetString());
        using var old = await _client.SendWithTokenAsync(HttpMethod.Get, "/v2/", before);
        using var fresh = await _client.SendWithTokenAsync(HttpMethod.Get, "/v2/", after);
        Assert.Equal(HttpStatusCode.OK, old.StatusCode);
        Assert.Equal(HttpStatusCode.OK, fresh.StatusCode);

        // Past the old tokens' lifetime the retired key is no longer loaded; the new key goes on signing.
        _clock.Advance(TimeSpan.FromMinutes(10));
        var later = await _client.TokenAsync(RegistryFactory.Admin, _registry.AdminPassword, "repository:keys/app:pull");
        using var expired = await _client.SendWithTokenAsync(HttpMethod.Get, "/v2/", before);
        using var current = await _client.SendWithTokenAsync(HttpMethod.Get, "/v2/", later);
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
        Assert.Equal(HttpStatusCode.OK, current.StatusCode);
        Assert.Equal(newKey, Header(later).GetProperty("kid").GetString());
    }

    [Fact]
    public async Task AKeyRotatedByAnotherReplicaIsPickedUpWhenATokenNamesIt()
    {
        // Another replica rotates through the database; this one learns of the key from the token's kid.
        var keys = _registry.Services.GetRequiredService<SigningKeys>();
        var otherReplica = new SigningKeys(_registry.Services.GetRequiredService<IServiceScopeFactory>(),
            _registry.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuthOptions>>(), _clock,
            _registry.Services.GetRequiredService<global::Registry.Api.Security.KeyEncryptionKey>());
        await otherReplica.EnsureKeyAsync(default);
        var newKey = await otherReplica.RotateAsync(default);
        _clock.Advance(TimeSpan.FromSeconds(5));

        var issuer = new TokenIssuer(otherReplica, _registry.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<AuthOptions>>(), _clock);
        var token = issuer.Issue(new Caller(0, RegistryFactory.Admin, IsAdmin: true), []).Token;
        using var response = await _client.SendWithTokenAsync(HttpMethod.Get, "/v2/", token);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains(newKey, keys.Resolve(newKey).Select(k => k.KeyId));
    }

    public sealed class Registry : IAsyncLifetime
    {
        public Registry() => Factory = new RegistryFactory().WithServices(services => services.AddSingleton<TimeProvider>(Clock));

        public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

        public RegistryFactory Factory { get; }

        public Task InitializeAsync() => Task.CompletedTask;

        public Task DisposeAsync() => Factory.DisposeAsync().AsTask();
    }
}
