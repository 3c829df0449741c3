using System.Net;
using Registry.Testing;

namespace Registry.Api.Tests.Observability;

/// <summary>
/// Who may read /metrics, on real registry processes and real sockets: clients in Registry:Metrics:AllowedNetworks
/// (loopback and private networks by default); anyone else gets 404, and X-Forwarded-For changes that only when a
/// trusted proxy sent it, in which case the client address it forwarded is judged.
/// </summary>
public sealed class MetricsAccessTests
{
    private static readonly IPAddress OtherLoopback = IPAddress.Parse("127.0.0.2");

    [Fact]
    public async Task LoopbackMayReadMetricsByDefault()
    {
        await using var registry = await RegistryProcess.StartAsync();
        using var client = ObservedRegistry.PlainClient(registry);

        var scrape = await MetricsScrape.ReadAsync(client);

        Assert.True(scrape.Has("registry_http_requests_total"), scrape.Text);
        Assert.True(scrape.Has("process_cpu_seconds_total"), scrape.Text);
    }

    [Fact]
    public async Task ACallerOutsideTheAllowedNetworksGets404AndCannotForgeItsAddress()
    {
        await using var registry = await RegistryProcess.StartAsync(environment: new Dictionary<string, string?>
        {
            ["Registry__Metrics__AllowedNetworks__0"] = "127.0.0.2/32",
        });
        using var outside = ObservedRegistry.PlainClient(registry);
        using var inside = ObservedRegistry.ClientFrom(registry, OtherLoopback);

        using var refused = await outside.GetAsync("/metrics");
        using var forged = await SendAsync(outside, "/metrics", "127.0.0.2");
        using var forgedChain = await SendAsync(outside, "/metrics", "10.1.2.3, 127.0.0.2");
        using var allowed = await inside.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        Assert.DoesNotContain("registry_", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, forged.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, forgedChain.StatusCode);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Contains("registry_http_requests_total", await allowed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BehindATrustedProxyTheForwardedClientAddressIsJudged()
    {
        await using var registry = await RegistryProcess.StartAsync(environment: new Dictionary<string, string?>
        {
            ["Registry__Proxy__KnownProxies__0"] = "127.0.0.1",
            ["Registry__Metrics__AllowedNetworks__0"] = "10.0.0.0/8",
        });
        using var proxy = ObservedRegistry.PlainClient(registry);

        using var privateClient = await SendAsync(proxy, "/metrics", "10.1.2.3");
        using var internetClient = await SendAsync(proxy, "/metrics", "203.0.113.9");
        using var smuggled = await SendAsync(proxy, "/metrics", "10.1.2.3, 203.0.113.9");
        using var noClientAddress = await proxy.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.OK, privateClient.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, internetClient.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, smuggled.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, noClientAddress.StatusCode);
    }

    [Fact]
    public async Task DisabledMetricsAreNotServedToAnyone()
    {
        await using var registry = await RegistryProcess.StartAsync(environment: new Dictionary<string, string?>
        {
            ["Registry__Metrics__Enabled"] = "false",
        });
        using var client = ObservedRegistry.PlainClient(registry);

        using var response = await client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string url, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        return await client.SendAsync(request);
    }
}
