using System.Diagnostics;
using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.AuthHttp;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>
/// Failed logins lock the (account, client address) out for a while: Registry:Auth:LoginFailureLimit=3
/// and a lockout of two seconds here, so the test can wait it out.
/// </summary>
public sealed class LoginRateLimitTests(LoginRateLimitTests.Registry fixture) : IClassFixture<LoginRateLimitTests.Registry>
{
    private readonly RegistryFactory _registry = fixture.Factory;

    [Fact]
    public async Task AfterTheLimitEvenTheRightPasswordWaitsForTheLockout()
    {
        var alice = await _registry.NewUserAsync();
        using var client = _registry.CreatePlainClient();
        var scope = $"repository:{alice.Name}/app:pull";
        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var wrong = await client.RequestTokenAsync(alice.Name, "wrong", scope);
            await AssertErrorAsync(wrong, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        }

        using var locked = await client.RequestTokenAsync(alice.Name, alice.Password, scope);

        // The distribution spec's code for 429 is TOOMANYREQUESTS.
        await AssertErrorAsync(locked, HttpStatusCode.TooManyRequests, "TOOMANYREQUESTS");
        var retryAfter = locked.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.InRange(retryAfter.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));

        await Task.Delay(retryAfter.Value);
        var status = await StatusOnceUnlockedAsync(client, alice, scope, deadline: TimeSpan.FromSeconds(3));
        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Fact]
    public async Task PasswordGrantIsLockedOutToo()
    {
        var alice = await _registry.NewUserAsync();
        using var client = _registry.CreatePlainClient();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var wrong = await client.PostTokenAsync(("grant_type", "password"), ("username", alice.Name), ("password", "wrong"), ("service", Service), ("client_id", "test"));
            await AssertOAuthErrorAsync(wrong, HttpStatusCode.Unauthorized, "invalid_grant");
        }

        using var locked = await client.PostTokenAsync(("grant_type", "password"), ("username", alice.Name), ("password", alice.Password), ("service", Service), ("client_id", "test"));

        await AssertOAuthErrorAsync(locked, HttpStatusCode.TooManyRequests, "too_many_requests");
        Assert.NotNull(locked.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task RestApiIsLockedOutToo()
    {
        var alice = await _registry.NewUserAsync();
        using var wrong = _registry.CreateApiClient(alice.Name, "wrong");
        for (var attempt = 0; attempt < 3; attempt++)
        {
            using var refused = await wrong.GetAsync("/api/v1/user");
            await AssertErrorAsync(refused, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        }

        using var right = _registry.CreateApiClient(alice.Name, alice.Password);
        using var locked = await right.GetAsync("/api/v1/user");

        await AssertErrorAsync(locked, HttpStatusCode.TooManyRequests, "TOO_MANY_REQUESTS");
        Assert.NotNull(locked.Headers.RetryAfter?.Delta);
    }

    [Fact]
    public async Task ValidAccessTokenLogsInWhileItsUsersPasswordIsLockedOut()
    {
        // Someone guesses alice's password from the address her CI logs in from: her token must keep working.
        var alice = await _registry.NewUserAsync();
        var secret = (await _registry.NewPersonalTokenAsync(alice, new { name = "ci", scope = "read" })).GetProperty("token").GetString()!;
        using var client = _registry.CreatePlainClient();
        var scope = $"repository:{alice.Name}/app:pull";
        await FailLoginsAsync(client, alice, count: 3);

        using var password = await client.RequestTokenAsync(alice.Name, alice.Password, scope);
        using var basic = await client.RequestTokenAsync(alice.Name, secret, scope);
        using var grant = await client.PostTokenAsync(("grant_type", "password"), ("username", alice.Name), ("password", secret), ("scope", scope));
        using var api = _registry.CreateApiClient(alice.Name, secret);
        using var rest = await api.GetAsync("/api/v1/user");

        await AssertErrorAsync(password, HttpStatusCode.TooManyRequests, "TOOMANYREQUESTS");
        Assert.Equal(HttpStatusCode.OK, basic.StatusCode);
        Assert.Equal(HttpStatusCode.OK, grant.StatusCode);
        Assert.Equal(HttpStatusCode.OK, rest.StatusCode);
    }

    [Fact]
    public async Task WrongAccessTokensDoNotLockThePasswordOut()
    {
        var alice = await _registry.NewUserAsync();
        using var client = _registry.CreatePlainClient();
        for (var attempt = 0; attempt < 5; attempt++)
        {
            using var wrong = await client.RequestTokenAsync(alice.Name, "regpat_" + new string('x', 44), $"repository:{alice.Name}/app:pull");
            await AssertErrorAsync(wrong, HttpStatusCode.Unauthorized, "UNAUTHORIZED");
        }

        using var password = await client.RequestTokenAsync(alice.Name, alice.Password, $"repository:{alice.Name}/app:pull");

        Assert.Equal(HttpStatusCode.OK, password.StatusCode);
    }

    [Fact]
    public async Task LockoutOfOneAccountLeavesOthersAlone()
    {
        var alice = await _registry.NewUserAsync();
        var bob = await _registry.NewUserAsync();
        using var client = _registry.CreatePlainClient();
        await FailLoginsAsync(client, alice, count: 4);

        using var response = await client.RequestTokenAsync(bob.Name, bob.Password, $"repository:{bob.Name}/app:pull");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task FailuresBelowTheLimitDoNotLockOut()
    {
        var alice = await _registry.NewUserAsync();
        using var client = _registry.CreatePlainClient();
        await FailLoginsAsync(client, alice, count: 2);

        using var response = await client.RequestTokenAsync(alice.Name, alice.Password, $"repository:{alice.Name}/app:pull");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static async Task FailLoginsAsync(HttpClient client, TestUser user, int count)
    {
        for (var attempt = 0; attempt < count; attempt++)
        {
            using var response = await client.RequestTokenAsync(user.Name, "wrong", $"repository:{user.Name}/app:pull");
        }
    }

    /// <summary>Asks with the right password until the answer is not 429, for at most <paramref name="deadline"/>.</summary>
    private static async Task<HttpStatusCode> StatusOnceUnlockedAsync(HttpClient client, TestUser user, string scope, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var response = await client.RequestTokenAsync(user.Name, user.Password, scope);
            if (response.StatusCode != HttpStatusCode.TooManyRequests || clock.Elapsed > deadline)
            {
                return response.StatusCode;
            }

            await Task.Delay(100);
        }
    }

    /// <summary>The fixture: a registry that locks an account out for two seconds after three failed logins.</summary>
    public sealed class Registry : IAsyncLifetime
    {
        public RegistryFactory Factory { get; } = RegistryFactory.WithSettings(new Dictionary<string, string?>
        {
            ["Registry:Auth:LoginFailureLimit"] = "3",
            ["Registry:Auth:LoginLockout"] = "00:00:02",
        });

        public Task InitializeAsync() => Task.CompletedTask;

        public Task DisposeAsync() => Factory.DisposeAsync().AsTask();
    }
}
