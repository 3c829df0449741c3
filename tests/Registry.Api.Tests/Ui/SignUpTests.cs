using System.Net;
using System.Text.RegularExpressions;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Ui;

/// <summary>Self sign-up through the UI's form: off unless <c>Registry:Auth:AllowSignUp</c> is true.</summary>
public sealed partial class SignUpTests
{
    private const string Password = "a-long-password-1";

    [Fact]
    public async Task SignUpIsOffByDefault()
    {
        await using var factory = new RegistryFactory();
        using var client = factory.CreatePlainClient();

        using var page = await client.GetAsync("/signup");
        using var login = await client.GetAsync("/login");

        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        Assert.DoesNotContain("/signup", await login.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WhenAllowedAVisitorSignsUpIsSignedInAndGetsTokensAsAnOrdinaryUser()
    {
        await using var factory = RegistryFactory.WithSettings(new Dictionary<string, string?> { ["Registry:Auth:AllowSignUp"] = "true" });
        using var client = factory.CreatePlainClient();
        var name = "signup" + Guid.NewGuid().ToString("N")[..8];

        using var created = await PostSignUpAsync(client, name, Password);
        using var home = await GetWithCookiesAsync(client, "/", SessionCookies(created));
        using var admin = await GetWithCookiesAsync(client, "/admin/users", SessionCookies(created));
        var token = await client.TokenAsync(name, Password, $"repository:{name}/app:pull,push");

        Assert.Equal(HttpStatusCode.Redirect, created.StatusCode);
        Assert.Equal("/", created.Headers.Location?.OriginalString);
        Assert.Contains($">{name}</a>", await home.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, admin.StatusCode);
        Assert.NotEmpty(token);
    }

    [Fact]
    public async Task ATakenNameOrAShortPasswordIsRefusedOnTheForm()
    {
        await using var factory = RegistryFactory.WithSettings(new Dictionary<string, string?> { ["Registry:Auth:AllowSignUp"] = "true" });
        using var client = factory.CreatePlainClient();

        using var taken = await PostSignUpAsync(client, RegistryFactory.Admin, Password);
        using var shortPassword = await PostSignUpAsync(client, "short" + Guid.NewGuid().ToString("N")[..8], "short");

        Assert.NotEqual(HttpStatusCode.Redirect, taken.StatusCode);
        Assert.Contains("class=\"error\"", await taken.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.NotEqual(HttpStatusCode.Redirect, shortPassword.StatusCode);
        Assert.Contains("class=\"error\"", await shortPassword.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task SignUpCannotTakeANamespaceThatHoldsRepositories()
    {
        // E.g. the namespace of a user deleted before deletions decided about repositories: they are the administrators'.
        await using var factory = RegistryFactory.WithSettings(new Dictionary<string, string?> { ["Registry:Auth:AllowSignUp"] = "true" });
        var name = "orphan" + Guid.NewGuid().ToString("N")[..8];
        using (var admin = factory.CreateRegistryClient())
        {
            await admin.PushImageAsync($"{name}/private", "v1");
        }

        using var client = factory.CreatePlainClient();
        using var refused = await PostSignUpAsync(client, name, Password);

        Assert.NotEqual(HttpStatusCode.Redirect, refused.StatusCode);
        Assert.Contains("holds repositories", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    /// <summary>GET the form (antiforgery cookie and token), then POST it as a browser would.</summary>
    private static async Task<HttpResponseMessage> PostSignUpAsync(HttpClient client, string username, string password)
    {
        using var form = await client.GetAsync("/signup");
        form.EnsureSuccessStatusCode();
        var token = AntiforgeryField().Match(await form.Content.ReadAsStringAsync()).Groups[1].Value;
        using var request = new HttpRequestMessage(HttpMethod.Post, "/signup")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["Username"] = username,
                ["Password"] = password,
                ["__RequestVerificationToken"] = token,
            }),
        };
        request.Headers.Add("Cookie", string.Join("; ", Cookies(form)));
        return await client.SendAsync(request);
    }

    private static async Task<HttpResponseMessage> GetWithCookiesAsync(HttpClient client, string path, IEnumerable<string> cookies)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("Cookie", string.Join("; ", cookies));
        return await client.SendAsync(request);
    }

    private static List<string> SessionCookies(HttpResponseMessage response)
    {
        var cookies = Cookies(response);
        Assert.Contains(cookies, c => c.StartsWith("registry_session=", StringComparison.Ordinal));
        return cookies;
    }

    private static List<string> Cookies(HttpResponseMessage response) =>
        response.Headers.TryGetValues("Set-Cookie", out var values) ? [.. values.Select(v => v.Split(';')[0])] : [];

    [GeneratedRegex("name=\"__RequestVerificationToken\" type=\"hidden\" value=\"([^\"]+)\"")]
    private static partial Regex AntiforgeryField();
}
