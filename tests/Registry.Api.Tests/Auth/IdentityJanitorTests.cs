using System.Net;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using Registry.Api.Identity;
using Registry.Api.Tests.Infrastructure;
using Registry.Storage.Metadata;
using static Registry.Api.Tests.Infrastructure.AuthHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>
/// Expired refresh tokens and stale login counters are removed; live ones stay, and so does the memory of where a
/// user's password was last right (it exempts that address from an account-wide lockout).
/// </summary>
public sealed class IdentityJanitorTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);
    private readonly RegistryFactory _registry;

    public IdentityJanitorTests() =>
        _registry = RegistryFactory
            .WithSettings(new Dictionary<string, string?> { ["Registry:Auth:RefreshTokenLifetime"] = "1.00:00:00" })
            .WithServices(services => services.AddSingleton<TimeProvider>(_clock));

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _registry.DisposeAsync().AsTask();

    [Fact]
    public async Task ExpiredRefreshTokensAndStaleCountersGoLiveOnesStay()
    {
        using var client = _registry.CreatePlainClient();
        var user = await _registry.NewUserAsync();
        var old = await RefreshTokenAsync(client, user);
        using (await client.RequestTokenAsync(user.Name, "not-the-password"))
        {
        }

        _clock.Advance(TimeSpan.FromDays(2));
        var fresh = await RefreshTokenAsync(client, user);

        // The janitor's own timer may already have run when the clock moved; running it again changes nothing.
        await _registry.Services.GetRequiredService<IdentityJanitor>().CleanOnceAsync(default);

        await using var scope = _registry.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
        Assert.Equal(1, await db.RefreshTokens.CountAsync());
        var throttles = await db.LoginThrottles.ToListAsync();
        Assert.DoesNotContain(throttles, t => t.Failures > 0 || t.Key.EndsWith("|*", StringComparison.Ordinal));
        Assert.Contains(throttles, t => t.Key.StartsWith(user.Name + "|", StringComparison.Ordinal) && t.LastSuccessAt is not null);
        using var oldGrant = await client.PostTokenAsync(("grant_type", "refresh_token"), ("refresh_token", old));
        using var freshGrant = await client.PostTokenAsync(("grant_type", "refresh_token"), ("refresh_token", fresh));
        await AssertOAuthErrorAsync(oldGrant, HttpStatusCode.Unauthorized, "invalid_grant");
        Assert.Equal(HttpStatusCode.OK, freshGrant.StatusCode);
    }

    private static async Task<string> RefreshTokenAsync(HttpClient client, TestUser user)
    {
        using var login = await client.RequestTokenWithQueryAsync(user.Name, user.Password, "service=registry&offline_token=true&client_id=docker");
        using var body = JsonDocument.Parse(await login.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("refresh_token").GetString()!;
    }
}
