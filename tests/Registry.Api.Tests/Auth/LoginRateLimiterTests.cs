using System.Diagnostics;
using System.Net;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.AuthHttp;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>
/// The rate limiter in front of the surfaces that check credentials (Registry:RateLimit): per client network and for
/// everyone together, 429 with Retry-After in each surface's own error format, back to normal after the window, and
/// never in the way of /v2 requests with a registry token. Each test starts a registry with small limits of its own.
/// </summary>
public sealed class LoginRateLimiterTests
{
    [Fact]
    public async Task GlobalLimitRefusesEverySurfaceInItsFormatAndRecovers()
    {
        await using var registry = RegistryFactory.WithSettings(new Dictionary<string, string?>
        {
            ["Registry:RateLimit:GlobalLimit"] = "6",
            ["Registry:RateLimit:PerAddressLimit"] = "1000",
            ["Registry:RateLimit:Window"] = "00:00:03",
        });
        using var client = registry.CreatePlainClient();
        using var api = registry.CreateAdminApiClient();
        const string scope = "repository:limited/app:pull";
        var token = await client.TokenAsync(RegistryFactory.Admin, registry.AdminPassword, scope);

        using var get = await FirstRefusalAsync(() => client.RequestTokenAsync(RegistryFactory.Admin, registry.AdminPassword, scope));
        var registryApi = await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => client.SendWithTokenAsync(HttpMethod.Get, "/v2/", token)));
        using var post = await FirstRefusalAsync(() => client.PostTokenAsync(
            ("grant_type", "password"), ("username", RegistryFactory.Admin), ("password", registry.AdminPassword), ("scope", scope)));
        using var rest = await FirstRefusalAsync(() => api.GetAsync("/api/v1/user"));
        using var form = await FirstRefusalAsync(() => client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["Username"] = "x", ["Password"] = "y" })));

        await AssertErrorAsync(get, HttpStatusCode.TooManyRequests, "TOOMANYREQUESTS");
        Assert.InRange(get.Headers.RetryAfter?.Delta ?? TimeSpan.Zero, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));
        Assert.All(registryApi, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        await AssertOAuthErrorAsync(post, HttpStatusCode.TooManyRequests, "too_many_requests");
        Assert.NotNull(post.Headers.RetryAfter?.Delta);
        await AssertErrorAsync(rest, HttpStatusCode.TooManyRequests, "TOO_MANY_REQUESTS");
        Assert.NotNull(rest.Headers.RetryAfter?.Delta);
        Assert.Contains("Too many requests from your network", await form.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.NotNull(form.Headers.RetryAfter?.Delta);

        await Task.Delay(get.Headers.RetryAfter!.Delta!.Value);
        Assert.Equal(HttpStatusCode.OK, await StatusOnceAdmittedAsync(() => client.RequestTokenAsync(RegistryFactory.Admin, registry.AdminPassword, scope)));
        foreach (var response in registryApi)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task PerAddressLimitRefusesOneClientNetworkAndNotAnother()
    {
        await using var registry = RegistryFactory.WithSettings(new Dictionary<string, string?>
        {
            ["Registry:RateLimit:GlobalLimit"] = "1000",
            ["Registry:RateLimit:PerAddressLimit"] = "4",
            ["Registry:RateLimit:Window"] = "00:00:30",
        }).OnKestrel();
        registry.StartKestrel();
        using var busy = registry.CreateClientFrom(IPAddress.Parse("127.0.0.2"));
        using var other = registry.CreateClientFrom(IPAddress.Parse("127.0.0.3"));
        const string scope = "repository:limited/app:pull";
        var token = await busy.TokenAsync(RegistryFactory.Admin, registry.AdminPassword, scope);

        using var refused = await FirstRefusalAsync(() => busy.RequestTokenAsync(RegistryFactory.Admin, registry.AdminPassword, scope));
        using var otherNetwork = await other.RequestTokenAsync(RegistryFactory.Admin, registry.AdminPassword, scope);
        using var registryApi = await busy.SendWithTokenAsync(HttpMethod.Get, "/v2/", token);

        await AssertErrorAsync(refused, HttpStatusCode.TooManyRequests, "TOOMANYREQUESTS");
        Assert.Equal(HttpStatusCode.OK, otherNetwork.StatusCode);
        Assert.Equal(HttpStatusCode.OK, registryApi.StatusCode);
    }

    /// <summary>Sends until the answer is 429 (at most 20 times) and returns that answer.</summary>
    private static async Task<HttpResponseMessage> FirstRefusalAsync(Func<Task<HttpResponseMessage>> send)
    {
        for (var attempt = 0; attempt < 20; attempt++)
        {
            var response = await send();
            if (response.StatusCode == HttpStatusCode.TooManyRequests)
            {
                return response;
            }

            response.Dispose();
        }

        Assert.Fail("20 requests in a row were admitted");
        return null!;
    }

    /// <summary>Sends until the answer is not 429, for at most ten seconds, and returns its status.</summary>
    private static async Task<HttpStatusCode> StatusOnceAdmittedAsync(Func<Task<HttpResponseMessage>> send)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            using var response = await send();
            if (response.StatusCode != HttpStatusCode.TooManyRequests || clock.Elapsed > TimeSpan.FromSeconds(10))
            {
                return response.StatusCode;
            }

            await Task.Delay(200);
        }
    }
}
