using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;

namespace Registry.Api.Tests.Webhooks;

/// <summary>Managing webhooks through /api/v1: who may, what is refused, and what the audit log keeps.</summary>
public sealed class WebhookApiTests(WebhookRegistry fixture) : IClassFixture<WebhookRegistry>
{
    private const string Url = "http://127.0.0.1:9/hook";

    private readonly RegistryFactory _registry = fixture.Factory;

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("ftp://127.0.0.1/hook")]
    [InlineData("javascript:alert(1)")]
    [InlineData("/relative/hook")]
    [InlineData("http://user:password@127.0.0.1/hook")]
    [InlineData("")]
    public async Task AnUrlThatIsNoPlainHttpUrlIsRefused(string url)
    {
        var alice = await _registry.NewUserAsync();
        using var api = _registry.CreateApiClient(alice.Name, alice.Password);

        using var response = await api.PostAsJsonAsync(WebhookApi.Path(alice.Name), new { url, events = WebhookApi.Push });

        await AssertInvalidAsync(response, "url");
        Assert.Empty(await ListAsync(api, alice.Name));
    }

    [Fact]
    public async Task EventsMustBeANonEmptySetOfKnownEvents()
    {
        var alice = await _registry.NewUserAsync();
        using var api = _registry.CreateApiClient(alice.Name, alice.Password);

        using var none = await api.PostAsJsonAsync(WebhookApi.Path(alice.Name), new { url = Url, events = Array.Empty<string>() });
        using var missing = await api.PostAsJsonAsync(WebhookApi.Path(alice.Name), new { url = Url });
        using var unknown = await api.PostAsJsonAsync(WebhookApi.Path(alice.Name), new { url = Url, events = WebhookApi.PushAndBuild });
        using var shortSecret = await api.PostAsJsonAsync(WebhookApi.Path(alice.Name), new { url = Url, events = WebhookApi.Push, secret = "short" });

        await AssertInvalidAsync(none, "events");
        await AssertInvalidAsync(missing, "events");
        await AssertInvalidAsync(unknown, "build");
        await AssertInvalidAsync(shortSecret, "secret");
        Assert.Empty(await ListAsync(api, alice.Name));
    }

    [Fact]
    public async Task ANamespaceHasAtMostTheConfiguredNumberOfWebhooks()
    {
        var alice = await _registry.NewUserAsync();
        using var api = _registry.CreateApiClient(alice.Name, alice.Password);
        for (var i = 0; i < 3; i++)
        {
            await api.CreateWebhookAsync(alice.Name, new { url = Url, events = WebhookApi.Push });
        }

        using var refused = await api.PostAsJsonAsync(WebhookApi.Path(alice.Name), new { url = Url, events = WebhookApi.Push });

        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        Assert.Equal(3, (await ListAsync(api, alice.Name)).Length);
    }

    [Fact]
    public async Task TheSecretIsShownOnceAndChangesAreAuditedWithoutIt()
    {
        var alice = await _registry.NewUserAsync();
        using var api = _registry.CreateApiClient(alice.Name, alice.Password);
        var created = await api.CreateWebhookAsync(alice.Name, new { url = Url, events = WebhookApi.PushAndPull });
        var id = created.GetProperty("id").GetString()!;
        var secret = created.GetProperty("secret").GetString()!;

        using var get = await api.GetAsync(WebhookApi.Path(alice.Name, $"/{id}"));
        using var patch = await api.PatchAsJsonAsync(WebhookApi.Path(alice.Name, $"/{id}"), new { enabled = false, events = WebhookApi.Delete });
        using var delete = await api.DeleteAsync(WebhookApi.Path(alice.Name, $"/{id}"));
        using var gone = await api.GetAsync(WebhookApi.Path(alice.Name, $"/{id}"));
        using var admin = _registry.CreateAdminApiClient();
        using var auditResponse = await admin.GetAsync($"/api/v1/audit?actor={alice.Name}");
        var audit = await auditResponse.Content.ReadAsStringAsync();

        Assert.StartsWith("whsec_", secret, StringComparison.Ordinal);
        var fetched = await get.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(JsonValueKind.Null, fetched.GetProperty("secret").ValueKind);
        var changed = await patch.Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(changed.GetProperty("enabled").GetBoolean());
        Assert.Equal(["delete"], changed.GetProperty("events").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
        Assert.Contains("webhook.create", audit, StringComparison.Ordinal);
        Assert.Contains("webhook.update", audit, StringComparison.Ordinal);
        Assert.Contains("webhook.delete", audit, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OnlyOwnersAndAdministratorsManageAnOrganizationsWebhooks()
    {
        var owner = await _registry.NewUserAsync();
        var maintainer = await _registry.NewUserAsync();
        var member = await _registry.NewUserAsync();
        var stranger = await _registry.NewUserAsync();
        var org = await _registry.NewOrganizationAsync(owner);
        await _registry.SetMemberAsync(owner, org, maintainer.Name, "maintainer");
        await _registry.SetMemberAsync(owner, org, member.Name, "member");
        using var ownerApi = _registry.CreateApiClient(owner.Name, owner.Password);
        var id = (await ownerApi.CreateWebhookAsync(org, new { url = Url, events = WebhookApi.Push })).GetProperty("id").GetString()!;

        foreach (var user in new[] { maintainer, member })
        {
            using var api = _registry.CreateApiClient(user.Name, user.Password);
            using var list = await api.GetAsync(WebhookApi.Path(org));
            using var create = await api.PostAsJsonAsync(WebhookApi.Path(org), new { url = Url, events = WebhookApi.Push });
            using var delete = await api.DeleteAsync(WebhookApi.Path(org, $"/{id}"));
            using var test = await api.PostAsync(WebhookApi.Path(org, $"/{id}/test"), content: null);
            using var deliveries = await api.GetAsync(WebhookApi.Path(org, $"/{id}/deliveries"));
            Assert.All([list, create, delete, test, deliveries], r => Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode));
        }

        using (var api = _registry.CreateApiClient(stranger.Name, stranger.Password))
        {
            using var list = await api.GetAsync(WebhookApi.Path(org));
            using var patch = await api.PatchAsJsonAsync(WebhookApi.Path(org, $"/{id}"), new { enabled = false });
            Assert.Equal(HttpStatusCode.NotFound, list.StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, patch.StatusCode);
        }

        using var admin = _registry.CreateAdminApiClient();
        Assert.Single(await ListAsync(admin, org));
        Assert.True((await ListAsync(ownerApi, org)).Single().GetProperty("enabled").GetBoolean());
    }

    [Fact]
    public async Task ALimitedAccessTokenCannotChangeWebhooks()
    {
        var alice = await _registry.NewUserAsync();
        using var api = _registry.CreateApiClient(alice.Name, alice.Password);
        var id = (await api.CreateWebhookAsync(alice.Name, new { url = Url, events = WebhookApi.Push })).GetProperty("id").GetString()!;

        foreach (var scope in WebhookApi.LimitedScopes)
        {
            var token = (await _registry.NewPersonalTokenAsync(alice, new { name = scope, scope })).GetProperty("token").GetString()!;
            using var client = _registry.CreatePlainClient();
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var create = await client.PostAsJsonAsync(WebhookApi.Path(alice.Name), new { url = Url, events = WebhookApi.Push });
            using var patch = await client.PatchAsJsonAsync(WebhookApi.Path(alice.Name, $"/{id}"), new { enabled = false });
            using var delete = await client.DeleteAsync(WebhookApi.Path(alice.Name, $"/{id}"));
            using var test = await client.PostAsync(WebhookApi.Path(alice.Name, $"/{id}/test"), content: null);
            Assert.All([create, patch, delete, test], r => Assert.Equal(HttpStatusCode.Forbidden, r.StatusCode));
        }

        var remaining = Assert.Single(await ListAsync(api, alice.Name));
        Assert.True(remaining.GetProperty("enabled").GetBoolean());
        Assert.Empty(await api.DeliveriesAsync(alice.Name, id));
    }

    [Fact]
    public async Task AnonymousCallersAreAskedToSignIn()
    {
        var alice = await _registry.NewUserAsync();
        using var client = _registry.CreatePlainClient();

        using var response = await client.GetAsync(WebhookApi.Path(alice.Name));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    private static async Task<JsonElement[]> ListAsync(HttpClient api, string ns)
    {
        using var response = await api.GetAsync(WebhookApi.Path(ns));
        await RegistryAccounts.AssertStatusAsync(response, HttpStatusCode.OK, "listing webhooks");
        return (await response.Content.ReadFromJsonAsync<JsonElement[]>())!;
    }

    private static async Task AssertInvalidAsync(HttpResponseMessage response, string mention)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"answered {(int)response.StatusCode}: {body}");
        Assert.Contains("INVALID", body, StringComparison.Ordinal);
        Assert.Contains(mention, body, StringComparison.Ordinal);
    }
}
