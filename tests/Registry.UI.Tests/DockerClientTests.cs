using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Registry.Testing;

namespace Registry.UI.Tests;

/// <summary>What is done in the UI, seen by the docker CLI: access tokens, tag deletion, search.</summary>
[Collection(UiCollection.Name)]
public sealed class DockerClientTests(UiFixture fixture)
{
    [Fact]
    public async Task TokenCreatedInTheUiLogsDockerInUntilDeactivated()
    {
        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/settings/tokens");
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync("ui-test-token");
        await page.GetByLabel("Scope").SelectOptionAsync("read");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create token" }).ClickAsync();
        var secret = (await page.Locator("#token-secret").TextContentAsync())!.Trim();
        Assert.StartsWith("regpat_", secret, StringComparison.Ordinal);
        await Assertions.Expect(page.Locator("#login-command")).ToHaveTextAsync($"docker login {fixture.Registry.HostPort} -u admin --password-stdin");
        await UiFixture.ScreenshotAsync(page, "token-created");

        var docker = DockerCli.Default.WithConfigDirectory(fixture.NewDirectory("docker-token"));
        var credentials = new RegistryCredentials("admin", secret);
        (await docker.LoginAsync(fixture.Registry.HostPort, credentials)).EnsureSuccess();

        // Shown once: the list does not show it again.
        await page.GotoAsync("/settings/tokens");
        await Assertions.Expect(page.Locator("main")).Not.ToContainTextAsync(secret);
        var row = page.Locator("#tokens tbody tr", new() { HasText = "ui-test-token" });
        await Assertions.Expect(row.Locator("td").Nth(5).Locator("time")).ToHaveCountAsync(1); // last used: set by the login
        await row.GetByRole(AriaRole.Button, new() { Name = "Deactivate" }).ClickAsync();
        await Assertions.Expect(page.Locator("#tokens tbody tr", new() { HasText = "ui-test-token" })).ToContainTextAsync("inactive");
        await UiFixture.ScreenshotAsync(page, "tokens");

        var refused = await docker.LoginAsync(fixture.Registry.HostPort, credentials);
        Assert.False(refused.Succeeded, refused.ToString());
    }

    [Fact]
    public async Task TagDeletedInTheUiCannotBePulled()
    {
        await fixture.PushTestImageAsync("admin/ui-delete:v1");
        await fixture.PushTestImageAsync("admin/ui-delete:v2");
        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/r/admin/ui-delete");
        await page.Locator("#tag-table tbody tr", new() { HasText = "v1" }).GetByRole(AriaRole.Link, new() { Name = "Delete" }).ClickAsync();
        await Assertions.Expect(page.Locator("#delete")).ToContainTextAsync("Delete the tag v1?");
        await UiFixture.ScreenshotAsync(page, "delete-confirm");
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, delete" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/r/admin/ui-delete$"));
        await Assertions.Expect(page.Locator(".flash")).ToHaveTextAsync("Deleted the tag v1.");
        await Assertions.Expect(page.Locator("#tag-table tbody tr")).ToHaveCountAsync(1);

        var remote = $"{fixture.Registry.HostPort}/admin/ui-delete";
        await fixture.Docker.RemoveImageAsync(remote + ":v1", force: true);
        var pull = await fixture.Docker.TryPullAsync(remote + ":v1");
        Assert.False(pull.Succeeded, pull.ToString());
        Assert.Contains("not found", pull.CombinedOutput, StringComparison.OrdinalIgnoreCase);
        await fixture.Docker.RemoveImageAsync(remote + ":v2", force: true);
        (await fixture.Docker.TryPullAsync(remote + ":v2")).EnsureSuccess();
    }

    [Fact]
    public async Task DockerSearchFindsPublicRepositories()
    {
        await fixture.PushTestImageAsync("admin/ui-searchable:v1");
        await fixture.PushTestImageAsync("admin/ui-searchhidden:v1");
        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/r/admin/ui-searchable");
        await page.GetByLabel("Description (Markdown)").FillAsync("Findable by docker search");
        await page.GetByLabel("Visibility").SelectOptionAsync("public");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.Locator("h1 .badge")).ToHaveTextAsync("public");

        // Anonymous: the public repository only.
        var anonymous = DockerCli.Default.WithConfigDirectory(fixture.NewDirectory("docker-anonymous"));
        var found = await anonymous.RunCheckedAsync(["search", "--no-trunc", $"{fixture.Registry.HostPort}/ui-search"]);
        Assert.Contains("admin/ui-searchable", found.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("Findable by docker search", found.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain("ui-searchhidden", found.StandardOutput, StringComparison.Ordinal);

        // Logged in as the owner: the private one too.
        var owner = await fixture.Docker.RunCheckedAsync(["search", "--no-trunc", $"{fixture.Registry.HostPort}/ui-search"]);
        Assert.Contains("admin/ui-searchhidden", owner.StandardOutput, StringComparison.Ordinal);
    }
}
