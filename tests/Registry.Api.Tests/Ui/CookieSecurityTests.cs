using System.Net;
using System.Text.RegularExpressions;
using Registry.Api.Tests.Infrastructure;

namespace Registry.Api.Tests.Ui;

/// <summary>
/// The UI's cookies carry the Secure flag over HTTPS, served directly or behind a trusted TLS proxy, and the session
/// cookie always when <c>Registry:Ui:SecureCookies=Always</c>; HTTPS responses carry HSTS.
/// </summary>
public sealed partial class CookieSecurityTests
{
    [Fact]
    public async Task OverHttpsTheCookiesAreSecureAndHstsIsSent()
    {
        await using var factory = new RegistryFactory();
        using var client = factory.CreatePlainClient(new Uri("https://registry.test"));

        var (form, session) = await SignInAsync(client, factory.AdminPassword, configure: null);

        AssertSecure(form, "registry_antiforgery");
        AssertSecure(session, "registry_session");
        Assert.StartsWith("max-age=", Hsts(form), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BehindATrustedTlsProxyTheCookiesAreSecureAndHstsIsSent()
    {
        await using var factory = RegistryFactory.WithSettings(new Dictionary<string, string?> { ["Registry:Proxy:KnownProxies:0"] = "127.0.0.1" }).OnKestrel();
        factory.StartKestrel();
        using var client = factory.CreatePlainClient();

        var (form, session) = await SignInAsync(client, factory.AdminPassword, r =>
        {
            r.Headers.Host = "registry.example.com";
            r.Headers.Add("X-Forwarded-Proto", "https");
        });

        AssertSecure(form, "registry_antiforgery");
        AssertSecure(session, "registry_session");
        Assert.StartsWith("max-age=", Hsts(form), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OverPlainHttpTheCookiesAreSecureOnlyWhenConfigured()
    {
        await using var automatic = new RegistryFactory();
        await using var always = RegistryFactory.WithSettings(new Dictionary<string, string?> { ["Registry:Ui:SecureCookies"] = "Always" });
        using var plain = automatic.CreatePlainClient(new Uri("http://registry.test"));
        using var forced = always.CreatePlainClient(new Uri("http://registry.test"));

        var (form, session) = await SignInAsync(plain, automatic.AdminPassword, configure: null);
        var (_, forcedSession) = await SignInAsync(forced, always.AdminPassword, configure: null);

        Assert.DoesNotContain("secure", Cookie(form, "registry_antiforgery"), StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secure", Cookie(session, "registry_session"), StringComparison.OrdinalIgnoreCase);
        Assert.Null(Hsts(form));
        AssertSecure(forcedSession, "registry_session");
    }

    /// <summary>GETs the sign-in form and posts it as the administrator; returns both responses.</summary>
    private static async Task<(HttpResponseMessage Form, HttpResponseMessage Session)> SignInAsync(
        HttpClient client, string password, Action<HttpRequestMessage>? configure)
    {
        using var get = new HttpRequestMessage(HttpMethod.Get, "/login");
        configure?.Invoke(get);
        var form = await client.SendAsync(get);
        Assert.Equal(HttpStatusCode.OK, form.StatusCode);
        var token = AntiforgeryField().Match(await form.Content.ReadAsStringAsync()).Groups[1].Value;
        using var post = new HttpRequestMessage(HttpMethod.Post, "/login")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["Username"] = RegistryFactory.Admin,
                ["Password"] = password,
                ["__RequestVerificationToken"] = token,
            }),
        };
        configure?.Invoke(post);
        post.Headers.Add("Cookie", string.Join("; ", SetCookies(form).Select(c => c.Split(';')[0])));
        var session = await client.SendAsync(post);
        Assert.Equal(HttpStatusCode.Redirect, session.StatusCode);
        return (form, session);
    }

    private static void AssertSecure(HttpResponseMessage response, string name) =>
        Assert.Contains("; secure", Cookie(response, name), StringComparison.OrdinalIgnoreCase);

    private static string Cookie(HttpResponseMessage response, string name) =>
        Assert.Single(SetCookies(response), c => c.StartsWith(name + "=", StringComparison.Ordinal));

    private static IEnumerable<string> SetCookies(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values) ? values : [];

    private static string? Hsts(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Strict-Transport-Security", out var values) ? values.Single() : null;

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
