using Microsoft.Playwright;
using Registry.Testing;

namespace Registry.UI.Tests;

/// <summary>A namespace's settings page: usage against the quota, and immutable-tag rules.</summary>
[Collection(UiCollection.Name)]
public sealed class PolicyTests(UiFixture fixture)
{
    private const string Password = "a-long-password-1";

    [Fact]
    public async Task AnAdministratorSetsAQuotaAndTheOwnerAddsAnImmutableRule()
    {
        const string owner = "ui-quota";
        using (var api = new RegistryApiClient(fixture.Registry, fixture.Registry.Admin))
        {
            await api.CreateUserAsync(owner, Password);
        }

        await fixture.PushTestImageAsync($"{owner}/app:1.0");

        var admin = await fixture.NewPageAsync();
        await admin.GotoAsync($"/namespaces/{owner}/settings");
        await Assertions.Expect(admin.Locator("#usage-summary")).ToContainTextAsync("used");
        await Assertions.Expect(admin.Locator("#usage-summary")).Not.ToContainTextAsync("used of");
        await admin.GetByLabel("Quota", new() { Exact = true }).FillAsync("2");
        await admin.GetByLabel("Unit").SelectOptionAsync("GB");
        await admin.GetByRole(AriaRole.Button, new() { Name = "Set quota" }).ClickAsync();
        await Assertions.Expect(admin.Locator(".flash")).ToHaveTextAsync($"The quota of {owner} is 2.0 GB.");
        await Assertions.Expect(admin.Locator("#usage-summary")).ToContainTextAsync("used of 2.0 GB");
        await Assertions.Expect(admin.Locator("#usage-bar")).ToHaveAttributeAsync("max", "2000000000");
        await Assertions.Expect(admin.Locator("#repository-usage tbody tr", new() { HasText = $"{owner}/app" })).ToContainTextAsync(new System.Text.RegularExpressions.Regex(@"[0-9.]+ (KB|MB)$"));
        await Assertions.Expect(admin.Locator("#counting-rule")).ToContainTextAsync("counts once");
        await UiFixture.ScreenshotAsync(admin, "namespace-settings");

        var page = await fixture.NewPageAsync(signedIn: false);
        await fixture.SignInAsync(page, owner, Password);
        await page.GotoAsync($"/r/{owner}/app");
        await page.GetByRole(AriaRole.Link, new() { Name = "quota and immutable tags" }).ClickAsync();
        await Assertions.Expect(page.Locator("#usage-summary")).ToContainTextAsync("used of 2.0 GB");
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Set quota" })).ToHaveCountAsync(0);
        await page.GetByLabel("Pattern", new() { Exact = true }).FillAsync("1.[");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Assertions.Expect(page.Locator(".error")).ToContainTextAsync("without its ']'");
        await page.GetByLabel("Pattern", new() { Exact = true }).FillAsync("1.*");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add rule" }).ClickAsync();
        await Assertions.Expect(page.Locator(".flash")).ToHaveTextAsync($"Tags matching 1.* are immutable in every repository of {owner}.");
        var rule = page.Locator("#rules tbody tr", new() { HasText = "1.*" });
        await Assertions.Expect(rule).ToContainTextAsync("every repository");

        // The rule holds: docker cannot move the tag to another image.
        var remote = await RetagAsync($"{owner}/app:1.0");
        try
        {
            var moved = await fixture.Docker.TryPushAsync(remote);
            Assert.False(moved.Succeeded);
            Assert.Contains($"tag 1.0 of {owner}/app is immutable", moved.CombinedOutput, StringComparison.Ordinal);
        }
        finally
        {
            await fixture.Docker.RemoveImageAsync(remote, force: true);
        }

        await rule.GetByRole(AriaRole.Button, new() { Name = "Delete rule 1.*" }).ClickAsync();
        await Assertions.Expect(page.Locator(".flash")).ToHaveTextAsync("The rule 1.* is deleted.");
        await Assertions.Expect(page.Locator("#rules tbody tr")).ToHaveCountAsync(0);
    }

    /// <summary>Tags a fresh test image as HOST/REFERENCE locally, without pushing it.</summary>
    private async Task<string> RetagAsync(string reference)
    {
        var image = Registry.Testing.Images.TestImages.Create(layerCount: 1);
        var archive = Path.Combine(fixture.NewDirectory("retag"), "image.tar");
        var local = $"registry-ui/{image.Marker}:v1";
        await image.WriteDockerArchiveAsync(archive, local);
        await fixture.Docker.LoadAsync(archive);
        var remote = $"{fixture.Registry.HostPort}/{reference}";
        (await fixture.Docker.TagAsync(local, remote)).EnsureSuccess();
        await fixture.Docker.RemoveImageAsync(local);
        return remote;
    }
}
