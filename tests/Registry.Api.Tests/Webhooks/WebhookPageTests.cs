using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;

namespace Registry.Api.Tests.Webhooks;

/// <summary>The page /namespaces/NAME/webhooks answers only those who may administer the namespace.</summary>
public sealed class WebhookPageTests(WebhookRegistry fixture) : IClassFixture<WebhookRegistry>
{
    private readonly RegistryFactory _registry = fixture.Factory;

    [Fact]
    public async Task OthersCanNeitherSeeNorChangeAnOrganizationsWebhooks()
    {
        var owner = await _registry.NewUserAsync();
        var maintainer = await _registry.NewUserAsync();
        var stranger = await _registry.NewUserAsync();
        var org = await _registry.NewOrganizationAsync(owner);
        await _registry.SetMemberAsync(owner, org, maintainer.Name, "maintainer");
        using var ownerApi = _registry.CreateApiClient(owner.Name, owner.Password);
        var id = (await ownerApi.CreateWebhookAsync(org, new { url = "http://127.0.0.1:9/hook", events = WebhookApi.Push })).GetProperty("id").GetString()!;

        var maintainerUi = new UiSession(_registry.CreatePlainClient());
        (await maintainerUi.SignInAsync(maintainer.Name, maintainer.Password)).Dispose();
        var strangerUi = new UiSession(_registry.CreatePlainClient());
        (await strangerUi.SignInAsync(stranger.Name, stranger.Password)).Dispose();
        var ownerUi = new UiSession(_registry.CreatePlainClient());
        (await ownerUi.SignInAsync(owner.Name, owner.Password)).Dispose();
        var anonymous = new UiSession(_registry.CreatePlainClient());

        using var maintainerView = await maintainerUi.GetAsync($"/namespaces/{org}/webhooks");
        using var strangerView = await strangerUi.GetAsync($"/namespaces/{org}/webhooks");
        using var anonymousView = await anonymous.GetAsync($"/namespaces/{org}/webhooks");
        using var ownerView = await ownerUi.GetAsync($"/namespaces/{org}/webhooks");

        // Forms are posted with an antiforgery token from the user's own webhooks page.
        var delete = new Dictionary<string, string> { ["Id"] = id };
        using var maintainerDelete = await maintainerUi.PostFormAsync($"/namespaces/{maintainer.Name}/webhooks", $"/namespaces/{org}/webhooks?handler=Delete", delete);
        using var strangerTest = await strangerUi.PostFormAsync($"/namespaces/{stranger.Name}/webhooks", $"/namespaces/{org}/webhooks?handler=Test", delete);

        Assert.Equal(HttpStatusCode.Forbidden, maintainerView.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, strangerView.StatusCode);
        Assert.Equal(HttpStatusCode.Redirect, anonymousView.StatusCode);
        Assert.Equal(HttpStatusCode.OK, ownerView.StatusCode);
        Assert.Contains("127.0.0.1:9/hook", await ownerView.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, maintainerDelete.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, strangerTest.StatusCode);
        var list = await ownerApi.GetFromJsonAsync<JsonElement[]>(WebhookApi.Path(org));
        Assert.Single(list!);
        Assert.Empty(await ownerApi.DeliveriesAsync(org, id));
    }
}
