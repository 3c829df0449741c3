using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.AuthHttp;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>
/// Each lockout of an account and address in a row lasts twice as long as the one before, up to
/// Registry:Auth:MaxLoginLockout: here three wrong passwords lock out for a minute, then two, then at most three.
/// The registry runs on a <see cref="FakeTimeProvider"/>, so the tests move the clock instead of waiting.
/// </summary>
public sealed class LoginLockoutEscalationTests(LoginLockoutEscalationTests.Registry fixture) : IClassFixture<LoginLockoutEscalationTests.Registry>
{
    private readonly RegistryFactory _registry = fixture.Factory;
    private readonly FakeTimeProvider _clock = fixture.Clock;
    private readonly HttpClient _client = fixture.Factory.CreatePlainClient();

    [Fact]
    public async Task EachLockoutInARowDoublesUpToTheMaximum()
    {
        var alice = await _registry.NewUserAsync();

        var first = await LockOutAsync(alice);
        _clock.Advance(first + TimeSpan.FromSeconds(1));
        var second = await LockOutAsync(alice);
        _clock.Advance(second + TimeSpan.FromSeconds(1));
        var third = await LockOutAsync(alice);
        _clock.Advance(third + TimeSpan.FromSeconds(1));
        var fourth = await LockOutAsync(alice);

        Assert.Equal(TimeSpan.FromMinutes(1), first);
        Assert.Equal(TimeSpan.FromMinutes(2), second);
        Assert.Equal(TimeSpan.FromMinutes(3), third);
        Assert.Equal(TimeSpan.FromMinutes(3), fourth);
    }

    [Fact]
    public async Task TheDoublingStartsOverOnceTheLastLockoutIsOldOrThePasswordWasRight()
    {
        var alice = await _registry.NewUserAsync();
        var bob = await _registry.NewUserAsync();
        _clock.Advance(await LockOutAsync(alice) + TimeSpan.FromSeconds(1));
        _clock.Advance(await LockOutAsync(bob) + TimeSpan.FromSeconds(1));

        using var right = await _client.RequestTokenAsync(alice.Name, alice.Password, $"repository:{alice.Name}/app:pull");
        var afterRightPassword = await LockOutAsync(alice);
        _clock.Advance(TimeSpan.FromMinutes(3) + TimeSpan.FromSeconds(1));
        var afterLongPause = await LockOutAsync(bob);

        Assert.Equal(HttpStatusCode.OK, right.StatusCode);
        Assert.Equal(TimeSpan.FromMinutes(1), afterRightPassword);
        Assert.Equal(TimeSpan.FromMinutes(1), afterLongPause);
    }

    /// <summary>Three wrong passwords, then the lockout they cause, as Retry-After says.</summary>
    private async Task<TimeSpan> LockOutAsync(TestUser user)
    {
        var scope = $"repository:{user.Name}/app:pull";
        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var wrong = await _client.RequestTokenAsync(user.Name, "wrong", scope);
            await AssertErrorAsync(wrong, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        }

        using var locked = await _client.RequestTokenAsync(user.Name, user.Password, scope);
        await AssertErrorAsync(locked, HttpStatusCode.TooManyRequests, "TOOMANYREQUESTS");
        return locked.Headers.RetryAfter!.Delta!.Value;
    }

    /// <summary>The fixture: a registry whose clock the tests move.</summary>
    public sealed class Registry : IAsyncLifetime
    {
        public Registry()
        {
            Factory = RegistryFactory
                .WithSettings(new Dictionary<string, string?>
                {
                    ["Registry:Auth:LoginFailureLimit"] = "3",
                    ["Registry:Auth:LoginLockout"] = "00:01:00",
                    ["Registry:Auth:MaxLoginLockout"] = "00:03:00",
                })
                .WithServices(services => services.AddSingleton<TimeProvider>(Clock));
        }

        public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

        public RegistryFactory Factory { get; }

        public Task InitializeAsync() => Task.CompletedTask;

        public Task DisposeAsync() => Factory.DisposeAsync().AsTask();
    }
}
