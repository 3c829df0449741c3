using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;

namespace Registry.Api.Tests.Policies;

/// <summary>The settings page's forms refuse who may not use them, and the UI shows why an immutable tag stays.</summary>
public sealed class NamespaceSettingsPageTests(RegistryFactory registry) : IClassFixture<RegistryFactory>
{
    private static string Settings(string ns) => $"/namespaces/{ns}/settings";

    [Fact]
    public async Task AnOwnerCannotSetTheQuotaThroughThePage()
    {
        var owner = await registry.NewUserAsync();
        var session = new UiSession(registry.CreatePlainClient());
        using (await session.SignInAsync(owner.Name, owner.Password))
        {
        }

        using var page = await session.GetAsync(Settings(owner.Name));
        var html = await page.Content.ReadAsStringAsync();
        using var post = await session.PostFormAsync(Settings(owner.Name), Settings(owner.Name) + "?handler=Quota",
            new Dictionary<string, string> { ["Limit"] = "100", ["Unit"] = "TB" });

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.DoesNotContain("Set quota", html, StringComparison.Ordinal);
        Assert.Contains("Add rule", html, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, post.StatusCode);
        using var admin = registry.CreateAdminApiClient();
        var quota = await admin.GetFromJsonAsync<JsonElement>($"/api/v1/namespaces/{owner.Name}/quota");
        Assert.Equal(JsonValueKind.Null, quota.GetProperty("limitBytes").ValueKind);
    }

    [Fact]
    public async Task AStrangerFindsNoSettingsPage()
    {
        var owner = await registry.NewUserAsync();
        var stranger = await registry.NewUserAsync();
        var session = new UiSession(registry.CreatePlainClient());
        using (await session.SignInAsync(stranger.Name, stranger.Password))
        {
        }

        using var page = await session.GetAsync(Settings(owner.Name));
        using var anonymous = await new UiSession(registry.CreatePlainClient()).GetAsync(Settings(owner.Name));

        Assert.Equal(HttpStatusCode.NotFound, page.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, anonymous.StatusCode);
    }

    [Fact]
    public async Task DeletingAnImmutableTagInTheUiShowsTheRule()
    {
        var owner = await registry.NewUserAsync();
        using (var client = registry.CreateClientFor(owner.Name, owner.Password))
        {
            await client.PushImageAsync($"{owner.Name}/app", "v1");
        }

        var session = new UiSession(registry.CreatePlainClient());
        using (await session.SignInAsync(owner.Name, owner.Password))
        {
        }

        using var added = await session.PostFormAsync(Settings(owner.Name), Settings(owner.Name) + "?handler=AddRule",
            new Dictionary<string, string> { ["Pattern"] = "v*", ["Repository"] = string.Empty });
        var tagPage = $"/m/{owner.Name}/app:v1";
        using var delete = await session.PostFormAsync(tagPage + "?confirm=delete", tagPage + "?handler=Delete", []);

        Assert.Equal(HttpStatusCode.Redirect, added.StatusCode);
        Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        Assert.Contains($"tag v1 of {owner.Name}/app is immutable (rule &quot;v*&quot;)", await delete.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var still = await session.GetAsync(tagPage);
        Assert.Equal(HttpStatusCode.OK, still.StatusCode);
    }
}
