using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Registry.Api.Tests.Infrastructure;
using Registry.Storage.Metadata;
using static Registry.Api.Tests.Infrastructure.AuthHttp;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Hosting;

/// <summary>
/// X-Forwarded-For and X-Forwarded-Proto are believed from configured proxies only, on a real socket from 127.0.0.1:
/// from anyone else they change neither the client address (audit log, login throttling) nor the token realm, even
/// with ASP.NET's own ASPNETCORE_FORWARDEDHEADERS_ENABLED switch on. The realm's host never comes from a Host header a
/// client chose.
/// </summary>
public sealed class ForwardedHeadersTests
{
    private const string Spoofed = "203.0.113.9";

    [Fact]
    public async Task HeadersFromAnUntrustedAddressChangeNeitherTheRealmNorTheClientAddress()
    {
        await using var registry = Start(new()
        {
            ["ForwardedHeaders_Enabled"] = "true", // what ASPNETCORE_FORWARDEDHEADERS_ENABLED=true sets
            ["Registry:Proxy:KnownProxies:0"] = "192.0.2.1",
        });
        using var client = registry.CreatePlainClient();

        using var probe = await SendAsync(client, HttpMethod.Get, "/v2/", r =>
        {
            r.Headers.Host = "evil.example";
            r.Headers.Add("X-Forwarded-Host", "evil.example");
            r.Headers.Add("X-Forwarded-Proto", "https");
            r.Headers.Add("X-Forwarded-For", Spoofed);
        });
        var user = await registry.NewUserAsync();
        using var failed = await LoginAsync(client, user.Name, "wrong", Spoofed);

        Assert.Equal($"http://127.0.0.1:{client.BaseAddress!.Port}/auth/token", probe.BearerChallenge()!.Realm);
        Assert.Equal(HttpStatusCode.Unauthorized, failed.StatusCode);
        Assert.Equal("127.0.0.1", await LastFailureAddressAsync(registry, user.Name));
    }

    [Fact]
    public async Task RotatingXForwardedForDoesNotEscapeTheLoginThrottle()
    {
        await using var registry = Start(new()
        {
            ["ForwardedHeaders_Enabled"] = "true",
            ["Registry:Auth:LoginFailureLimit"] = "3",
        });
        using var client = registry.CreatePlainClient();
        var user = await registry.NewUserAsync();
        for (var i = 0; i < 3; i++)
        {
            using var wrong = await LoginAsync(client, user.Name, "wrong", $"198.51.100.{i + 1}");
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        using var locked = await LoginAsync(client, user.Name, user.Password, "198.51.100.99");

        Assert.Equal(HttpStatusCode.TooManyRequests, locked.StatusCode);
    }

    [Fact]
    public async Task HeadersFromAConfiguredProxyAreBelieved()
    {
        await using var registry = Start(new() { ["Registry:Proxy:KnownProxies:0"] = "127.0.0.1" });
        using var client = registry.CreatePlainClient();

        using var probe = await SendAsync(client, HttpMethod.Get, "/v2/", r =>
        {
            r.Headers.Host = "registry.example.com";
            r.Headers.Add("X-Forwarded-Host", "evil.example");
            r.Headers.Add("X-Forwarded-Proto", "https");
            r.Headers.Add("X-Forwarded-For", Spoofed);
        });
        var user = await registry.NewUserAsync();
        using var failed = await LoginAsync(client, user.Name, "wrong", Spoofed);

        Assert.Equal("https://registry.example.com/auth/token", probe.BearerChallenge()!.Realm);
        Assert.Equal(Spoofed, await LastFailureAddressAsync(registry, user.Name));
    }

    [Fact]
    public async Task AProxyNetworkIsTrustedAndOnlyTheLastHopIsTaken()
    {
        await using var registry = Start(new() { ["Registry:Proxy:KnownNetworks:0"] = "127.0.0.0/8" });
        using var client = registry.CreatePlainClient();
        var user = await registry.NewUserAsync();

        // The proxy appended the address it saw; what the client wrote before it is not believed.
        using var failed = await LoginAsync(client, user.Name, "wrong", $"10.6.6.6, {Spoofed}");

        Assert.Equal(Spoofed, await LastFailureAddressAsync(registry, user.Name));
    }

    [Fact]
    public async Task AllowedHostsMakeTheHostHeaderTheRealmsHostAndRefuseOthers()
    {
        await using var registry = Start(new() { ["AllowedHosts"] = "registry.example.com" });
        using var client = registry.CreatePlainClient();

        using var listed = await SendAsync(client, HttpMethod.Get, "/v2/", r => r.Headers.Host = $"registry.example.com:{client.BaseAddress!.Port}");
        using var other = await SendAsync(client, HttpMethod.Get, "/v2/", r => r.Headers.Host = "evil.example");

        Assert.Equal($"http://registry.example.com:{client.BaseAddress!.Port}/auth/token", listed.BearerChallenge()!.Realm);
        Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
    }

    [Fact]
    public async Task AConfiguredRealmIsUsedWhateverTheRequestSays()
    {
        await using var registry = Start(new() { ["Registry:Auth:Realm"] = "https://auth.example.com/auth/token" });
        using var client = registry.CreatePlainClient();

        using var probe = await SendAsync(client, HttpMethod.Get, "/v2/", r => r.Headers.Host = "evil.example");

        Assert.Equal("https://auth.example.com/auth/token", probe.BearerChallenge()!.Realm);
    }

    [Theory]
    [InlineData("https://registry.example.com", "https://registry.example.com/auth/token")]
    [InlineData("https://example.com:8443/registry/", "https://example.com:8443/registry/auth/token")]
    public async Task APublicUrlIsTheRealmsBaseWhateverTheRequestSays(string publicUrl, string realm)
    {
        await using var registry = Start(new() { ["Registry:PublicUrl"] = publicUrl });
        using var client = registry.CreatePlainClient();

        using var probe = await SendAsync(client, HttpMethod.Get, "/v2/", r => r.Headers.Host = "evil.example");

        Assert.Equal(realm, probe.BearerChallenge()!.Realm);
    }

    [Fact]
    public async Task AConfiguredRealmWinsOverThePublicUrl()
    {
        await using var registry = Start(new()
        {
            ["Registry:PublicUrl"] = "https://registry.example.com",
            ["Registry:Auth:Realm"] = "https://auth.example.com/auth/token",
        });
        using var client = registry.CreatePlainClient();

        using var probe = await SendAsync(client, HttpMethod.Get, "/v2/", _ => { });

        Assert.Equal("https://auth.example.com/auth/token", probe.BearerChallenge()!.Realm);
    }

    private static RegistryFactory Start(Dictionary<string, string?> settings)
    {
        var registry = RegistryFactory.WithSettings(settings).OnKestrel();
        registry.StartKestrel();
        return registry;
    }

    private static Task<HttpResponseMessage> LoginAsync(HttpClient client, string username, string password, string forwardedFor) =>
        SendAsync(client, HttpMethod.Get, "/auth/token?service=registry", r =>
        {
            r.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{username}:{password}")));
            r.Headers.Add("X-Forwarded-For", forwardedFor);
        });

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string url, Action<HttpRequestMessage> configure) =>
        client.SendAsync(method, url, configure: configure);

    private static async Task<string?> LastFailureAddressAsync(RegistryFactory registry, string username)
    {
        await using var scope = registry.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<RegistryDbContext>().AuditEvents
            .Where(e => e.Actor == username && e.Action == AuditActions.LoginFailure)
            .OrderByDescending(e => e.Id)
            .Select(e => e.ClientAddress)
            .FirstAsync();
    }
}
