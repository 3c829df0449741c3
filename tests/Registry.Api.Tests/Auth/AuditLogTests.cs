using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>GET /api/v1/audit: administrators see who signed in, failed to, and pushed.</summary>
public sealed class AuditLogTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private const string LoginFailed = "login.failure";
    private const string Push = "manifest.push";

    [Fact]
    public async Task FailedLoginIsListed()
    {
        var alice = await registry.NewUserAsync();
        await FailLoginsAsync(alice, count: 1);

        var entries = await AuditAsync($"actor={alice.Name}");

        Assert.Contains(entries, e => e.Action == LoginFailed);
    }

    [Fact]
    public async Task PushIsListed()
    {
        var alice = await registry.NewUserAsync();
        using var client = registry.CreateClientFor(alice.Name, alice.Password);
        await client.PushImageAsync($"{alice.Name}/app", "v1");

        var entries = await AuditAsync($"actor={alice.Name}");

        Assert.Contains(entries, e => e.Action == Push && e.Target.Contains($"{alice.Name}/app", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ActionFilterAndLimitApply()
    {
        var alice = await registry.NewUserAsync();
        await FailLoginsAsync(alice, count: 3);

        var entries = await AuditAsync($"actor={alice.Name}&action={LoginFailed}&limit=2");

        Assert.Equal(2, entries.Count);
        Assert.All(entries, e => Assert.Equal(LoginFailed, e.Action));
    }

    [Fact]
    public async Task UserCannotReadTheAuditLog()
    {
        var alice = await registry.NewUserAsync();
        using var client = registry.CreateApiClient(alice.Name, alice.Password);

        using var response = await client.GetAsync("/api/v1/audit");

        await AssertErrorAsync(response, HttpStatusCode.Forbidden, "DENIED");
    }

    private sealed record AuditEntry(string? Actor, string Action, string Target);

    private async Task FailLoginsAsync(TestUser user, int count)
    {
        using var client = registry.CreatePlainClient();
        for (var attempt = 0; attempt < count; attempt++)
        {
            using var response = await client.RequestTokenAsync(user.Name, "wrong", $"repository:{user.Name}/app:pull");
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        }
    }

    private async Task<List<AuditEntry>> AuditAsync(string query)
    {
        using var admin = registry.CreateAdminApiClient();
        using var response = await admin.GetAsync("/api/v1/audit?" + query);
        using var json = await ReadJsonAsync(response);
        return [.. json.RootElement.EnumerateArray().Select(e => new AuditEntry(
            e.TryGetProperty("actor", out var actor) ? actor.GetString() : null,
            e.GetProperty("action").GetString()!,
            e.TryGetProperty("target", out var target) ? target.GetString() ?? string.Empty : string.Empty))];
    }
}
