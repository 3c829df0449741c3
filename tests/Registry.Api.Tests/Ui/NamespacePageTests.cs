using System.Net;
using Registry.Api.Tests.Infrastructure;

namespace Registry.Api.Tests.Ui;

/// <summary>
/// <c>/orgs/NAME</c> shows a namespace's repositories; to a visitor who may see none of them it answers as for a name
/// that does not exist, so it cannot be used to learn which user and organization names there are.
/// </summary>
public sealed class NamespacePageTests : IAsyncLifetime
{
    private readonly RegistryFactory _registry = RegistryFactory.WithSettings(new Dictionary<string, string?> { ["Registry:Auth:AnonymousPull"] = "true" });

    [Fact]
    public async Task AnAccountWithNothingVisibleLooksLikeNoAccount()
    {
        var quiet = await _registry.NewUserAsync();
        var secretive = await _registry.NewUserAsync();
        using (var client = _registry.CreateClientFor(secretive.Name, secretive.Password))
        {
            await client.PushImageAsync($"{secretive.Name}/private", "v1");
        }

        using var anonymous = _registry.CreatePlainClient();
        using var none = await anonymous.GetAsync($"/orgs/{RegistryAccounts.UniqueName("nobody")}");
        using var empty = await anonymous.GetAsync($"/orgs/{quiet.Name}");
        using var hidden = await anonymous.GetAsync($"/orgs/{secretive.Name}");

        Assert.Equal(HttpStatusCode.NotFound, none.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, empty.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, hidden.StatusCode);
        Assert.Equal(await none.Content.ReadAsStringAsync(), await empty.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ANamespaceWithPublicRepositoriesIsShown()
    {
        var open = await _registry.NewUserAsync();
        using (var client = _registry.CreateClientFor(open.Name, open.Password))
        {
            await client.PushImageAsync($"{open.Name}/app", "v1");
        }

        await _registry.SetVisibilityAsync(open, $"{open.Name}/app", "public");
        using var anonymous = _registry.CreatePlainClient();
        using var page = await anonymous.GetAsync($"/orgs/{open.Name}");

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains($"/r/{open.Name}/app", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => _registry.DisposeAsync().AsTask();
}
