using System.Diagnostics;
using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.AuthHttp;

namespace Registry.Api.Tests.Auth;

/// <summary>
/// The token endpoint bounds what one request may ask for (Registry:Auth:MaxScopesPerTokenRequest, 50 by default) and
/// the size of its form, so a request with thousands of scopes is refused before any of them is looked at.
/// </summary>
public sealed class TokenRequestLimitTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private const int Limit = 50;
    private static readonly TimeSpan Fast = TimeSpan.FromSeconds(5);

    private readonly HttpClient _client = registry.CreatePlainClient();

    [Fact]
    public async Task TwentyThousandScopesInAFormAreRefusedFast()
    {
        var form = string.Join(' ', Scopes(20_000));
        var clock = Stopwatch.StartNew();

        using var response = await _client.PostTokenAsync(
            ("grant_type", "password"), ("username", RegistryFactory.Admin), ("password", registry.AdminPassword), ("service", Service), ("scope", form));

        clock.Stop();
        await AssertOAuthErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
        Assert.True(clock.Elapsed < Fast, $"the refusal took {clock.Elapsed}");
    }

    [Fact]
    public async Task TwentyThousandScopesInAQueryAreRefusedFast()
    {
        // 20,000 scopes make a URL longer than System.Uri takes, so the request is handed to the server as it is.
        var query = "?service=registry&" + string.Join('&', Scopes(20_000).Select(s => "scope=" + Uri.EscapeDataString(s)));
        var basic = TokenAuthHandler.Basic(RegistryFactory.Admin, registry.AdminPassword).ToString();
        var clock = Stopwatch.StartNew();

        var context = await registry.Server.SendAsync(c =>
        {
            c.Request.Method = HttpMethods.Get;
            c.Request.Path = "/auth/token";
            c.Request.QueryString = new QueryString(query);
            c.Request.Headers.Authorization = basic;
        });

        clock.Stop();
        var body = await new StreamReader(context.Response.Body, Encoding.UTF8).ReadToEndAsync();
        Assert.Equal(StatusCodes.Status400BadRequest, context.Response.StatusCode);
        Assert.Contains("\"invalid_request\"", body, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < Fast, $"the refusal took {clock.Elapsed}");
    }

    [Fact]
    public async Task TheLimitIsExactForQueriesAndForms()
    {
        var alice = await registry.NewUserAsync();
        var atLimit = Scopes(Limit, alice.Name).ToArray();
        var pastLimit = Scopes(Limit + 1, alice.Name).ToArray();

        using var getAtLimit = await _client.RequestTokenAsync(alice.Name, alice.Password, atLimit);
        using var getPastLimit = await _client.RequestTokenAsync(alice.Name, alice.Password, pastLimit);
        using var postAtLimit = await _client.PostTokenAsync(
            ("grant_type", "password"), ("username", alice.Name), ("password", alice.Password), ("scope", string.Join(' ', atLimit)));
        using var postPastLimit = await _client.PostTokenAsync(
            ("grant_type", "password"), ("username", alice.Name), ("password", alice.Password), ("scope", string.Join(' ', pastLimit)));

        Assert.Equal(HttpStatusCode.OK, getAtLimit.StatusCode);
        await AssertOAuthErrorAsync(getPastLimit, HttpStatusCode.BadRequest, "invalid_request");
        Assert.Equal(HttpStatusCode.OK, postAtLimit.StatusCode);
        await AssertOAuthErrorAsync(postPastLimit, HttpStatusCode.BadRequest, "invalid_request");
    }

    [Fact]
    public async Task AnOversizedFormIsRefusedWhateverItHolds()
    {
        var padding = new string('x', 1024 * 1024);

        using var response = await _client.PostTokenAsync(
            ("grant_type", "password"), ("username", RegistryFactory.Admin), ("password", registry.AdminPassword), ("client_id", padding));

        await AssertOAuthErrorAsync(response, HttpStatusCode.BadRequest, "invalid_request");
    }

    private static IEnumerable<string> Scopes(int count, string ns = "limits") =>
        Enumerable.Range(0, count).Select(i => $"repository:{ns}/r{i}:pull");
}
