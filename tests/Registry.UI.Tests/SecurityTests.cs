using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Registry.Testing;

namespace Registry.UI.Tests;

/// <summary>What must not happen: script from users or images running, private repositories showing, forms posted from elsewhere.</summary>
[Collection(UiCollection.Name)]
public sealed class SecurityTests(UiFixture fixture)
{
    private const string DescriptionPayload = "# Hello\n<script>window.__xss=1</script><img src=x onerror=\"window.__xss=1\">\n[click](javascript:window.__xss=1)";

    [Fact]
    public async Task ScriptInADescriptionRendersAsText()
    {
        await fixture.PushTestImageAsync("admin/ui-xss:v1");
        var page = await fixture.NewPageAsync();
        var dialogs = 0;
        page.Dialog += (_, dialog) => { dialogs++; _ = dialog.DismissAsync(); };

        await page.GotoAsync("/r/admin/ui-xss");
        await page.GetByLabel("Description (Markdown)").FillAsync(DescriptionPayload);
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.Locator(".flash")).ToHaveTextAsync("Settings saved.");

        var description = page.Locator("#description");
        await Assertions.Expect(description.Locator("h1")).ToHaveTextAsync("Hello"); // Markdown is rendered
        await Assertions.Expect(description).ToContainTextAsync("<script>window.__xss=1</script>");
        await Assertions.Expect(description).ToContainTextAsync("<img src=x onerror=\"window.__xss=1\">");
        await Assertions.Expect(description.Locator("script, img")).ToHaveCountAsync(0);
        await Assertions.Expect(description.Locator("a", new() { HasText = "click" })).Not.ToHaveAttributeAsync("href", new Regex("javascript", RegexOptions.IgnoreCase));
        await description.Locator("a", new() { HasText = "click" }).ClickAsync();
        Assert.Null(await page.EvaluateAsync<int?>("window.__xss"));
        Assert.Equal(0, dialogs);
        await UiFixture.ScreenshotAsync(page, "description-xss");
    }

    [Fact]
    public async Task ScriptInAnImageLabelRendersAsText()
    {
        var page = await fixture.NewPageAsync();
        var dialogs = 0;
        page.Dialog += (_, dialog) => { dialogs++; _ = dialog.DismissAsync(); };

        await page.GotoAsync("/m/admin/ui-app:v1");
        var labels = page.Locator("#labels");
        await Assertions.Expect(labels.Locator("tr", new() { HasText = "org.example.note" })).ToContainTextAsync(UiFixture.LabelPayload);
        await Assertions.Expect(labels.Locator("img")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("main img")).ToHaveCountAsync(0);
        Assert.Null(await page.EvaluateAsync<int?>("window.__xss"));
        Assert.Equal(0, dialogs);
    }

    [Fact]
    public async Task AnonymousVisitorCannotSeeAPrivateRepository()
    {
        await fixture.PushTestImageAsync("admin/ui-secret:v1");
        await fixture.PushTestImageAsync("admin/ui-open:v1");
        var owner = await fixture.NewPageAsync();
        await owner.GotoAsync("/r/admin/ui-open");
        await owner.GetByLabel("Visibility").SelectOptionAsync("public");
        await owner.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(owner.Locator("h1 .badge")).ToHaveTextAsync("public");

        var page = await fixture.NewPageAsync(signedIn: false);
        var secret = await page.GotoAsync("/r/admin/ui-secret");
        Assert.Equal(404, secret!.Status);
        await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Not found");
        Assert.Equal(404, (await page.GotoAsync("/m/admin/ui-secret:v1"))!.Status);
        Assert.Equal(404, (await page.GotoAsync("/r/admin/no-such-repository"))!.Status);
        await UiFixture.ScreenshotAsync(page, "not-found");

        await page.GotoAsync("/?q=ui-");
        await Assertions.Expect(page.Locator("#repositories")).ToContainTextAsync("admin/ui-open");
        await Assertions.Expect(page.Locator("#repositories")).Not.ToContainTextAsync("ui-secret");
        await UiFixture.ScreenshotAsync(page, "explore-anonymous");

        using var http = fixture.NewHttpClient();
        using var search = JsonDocument.Parse(await http.GetStringAsync("/v1/search?q=ui-&n=100"));
        var names = search.RootElement.GetProperty("results").EnumerateArray().Select(r => r.GetProperty("name").GetString()).ToList();
        Assert.Contains("admin/ui-open", names);
        Assert.DoesNotContain("admin/ui-secret", names);
    }

    [Fact]
    public async Task PostWithoutAntiforgeryTokenIsRefused()
    {
        using var http = fixture.NewHttpClient();
        using var login = await http.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Username"] = fixture.Registry.Admin.Username,
            ["Password"] = fixture.Registry.Admin.Password,
        }));
        Assert.Equal(HttpStatusCode.BadRequest, login.StatusCode);
        Assert.DoesNotContain(login.Headers, h => h.Key == "Set-Cookie" && h.Value.Any(v => v.StartsWith("registry_session", StringComparison.Ordinal)));

        // Signed in, a state change without the token is refused as well.
        var page = await fixture.NewPageAsync();
        var cookies = await page.Context.CookiesAsync();
        var session = cookies.Single(c => c.Name == "registry_session");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/r/admin/ui-app?handler=Settings")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["Visibility"] = "public", ["Description"] = "changed" }),
        };
        request.Headers.Add("Cookie", $"registry_session={session.Value}");
        using var change = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, change.StatusCode);
    }

    [Fact]
    public async Task SignedInUserCannotChangeOrDeleteWhatIsNotTheirs()
    {
        using (var api = new RegistryApiClient(fixture.Registry, fixture.Registry.Admin))
        {
            await api.CreateUserAsync("ui-dave", "a-long-password-2");
        }

        var page = await fixture.NewPageAsync(signedIn: false);
        await fixture.SignInAsync(page, "ui-dave", "a-long-password-2");
        await page.GotoAsync("/r/" + UiFixture.AppRepository); // public: readable, not theirs
        await Assertions.Expect(page.Locator("#settings")).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("#tag-table")).Not.ToContainTextAsync("Delete");

        // Forms they were never shown, posted with a valid antiforgery token (from the sign-out form), are refused.
        const string Post = """
            async ([url, fields]) => {
              const token = document.querySelector('input[name=__RequestVerificationToken]').value;
              const body = new URLSearchParams({ __RequestVerificationToken: token, ...fields });
              return (await fetch(url, { method: 'POST', body, redirect: 'manual' })).status;
            }
            """;
        Assert.Equal(403, await page.EvaluateAsync<int>(Post, new object[] { "/r/admin/ui-app?handler=Settings", new Dictionary<string, string> { ["Visibility"] = "private" } }));
        Assert.Equal(403, await page.EvaluateAsync<int>(Post, new object[] { "/r/admin/ui-app?handler=Delete", new Dictionary<string, string>() }));
        Assert.Equal(403, await page.EvaluateAsync<int>(Post, new object[] { "/m/admin/ui-app:v1?handler=Delete", new Dictionary<string, string>() }));
        Assert.Equal(404, await page.EvaluateAsync<int>(Post, new object[] { "/r/admin/ui-secret-none?handler=Delete", new Dictionary<string, string>() }));
        Assert.Equal(404, (await page.GotoAsync("/admin/audit"))!.Status);

        await page.GotoAsync("/r/" + UiFixture.AppRepository);
        await Assertions.Expect(page.Locator("h1 .badge")).ToHaveTextAsync("public");
        await Assertions.Expect(page.Locator("#tag-table tbody tr")).ToHaveCountAsync(1);
    }

    [Fact]
    public async Task UiResponsesCarrySecurityHeaders()
    {
        using var http = fixture.NewHttpClient();
        using var response = await http.GetAsync("/");
        var csp = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("frame-ancestors 'none'", csp, StringComparison.Ordinal);
        Assert.DoesNotContain("unsafe-inline", csp, StringComparison.Ordinal);
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
    }
}
