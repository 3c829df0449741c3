using System.Net;
using Microsoft.Playwright;
using Registry.Testing;

namespace Registry.UI.Tests;

/// <summary>Deleting from the tag page: a tag alone, or a manifest with every tag on it, said before it is done.</summary>
[Collection(UiCollection.Name)]
public sealed class DeleteTests(UiFixture fixture)
{
    [Fact]
    public async Task DeletingByDigestSaysEveryTagGoesAndThenRemovesThemAll()
    {
        await fixture.PushTestImageAsync("admin/ui-delete:one");
        var second = $"{fixture.Registry.HostPort}/admin/ui-delete:two";
        await fixture.Docker.TagAsync($"{fixture.Registry.HostPort}/admin/ui-delete:one", second);
        await fixture.Docker.PushAsync(second);
        await fixture.Docker.RemoveImageAsync(second);
        var page = await fixture.NewPageAsync();

        await page.GotoAsync("/m/admin/ui-delete:one");
        await page.GetByRole(AriaRole.Link, new() { Name = "Delete tag…" }).ClickAsync();
        await Assertions.Expect(page.Locator("#delete")).ToContainTextAsync("Only this tag goes");
        await page.GetByRole(AriaRole.Link, new() { Name = "Cancel" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Delete manifest…" }).ClickAsync();
        var confirmation = page.Locator("#delete");
        await Assertions.Expect(confirmation).ToContainTextAsync("removes all 2 tags on it");
        await Assertions.Expect(confirmation).ToContainTextAsync("Tags removed: one, two.");
        await Assertions.Expect(confirmation).ToContainTextAsync("skopeo delete");
        await UiFixture.ScreenshotAsync(page, "delete-manifest");
        await confirmation.GetByRole(AriaRole.Button, new() { Name = "Yes, delete" }).ClickAsync();

        await Assertions.Expect(page.Locator(".flash")).ToContainTextAsync("Deleted the manifest");
        using var v2 = RegistryAuthHandler.CreateClient(fixture.Registry, fixture.Registry.Admin);
        foreach (var tag in new[] { "one", "two" })
        {
            using var manifest = await v2.GetAsync($"/v2/admin/ui-delete/manifests/{tag}");
            Assert.Equal(HttpStatusCode.NotFound, manifest.StatusCode);
        }
    }
}
