using Microsoft.Playwright;
using Registry.Testing;

namespace Registry.UI.Tests;

/// <summary>Users, organizations, the audit log and the profile, managed in the browser.</summary>
[Collection(UiCollection.Name)]
public sealed class ManagementTests(UiFixture fixture)
{
    private const string Password = "a-long-password-1";

    [Fact]
    public async Task AdministratorCreatesAUserAndAnOrganizationWithThatMember()
    {
        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/admin/users");
        await page.GetByLabel("User name").FillAsync("ui-bob");
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create user" }).ClickAsync();
        await Assertions.Expect(page.Locator(".flash")).ToHaveTextAsync("User ui-bob created.");
        await Assertions.Expect(page.Locator("#users tbody tr", new() { HasText = "ui-bob" })).ToContainTextAsync("active");
        await UiFixture.ScreenshotAsync(page, "admin-users");

        await page.GotoAsync("/orgs");
        await page.GetByLabel("Name").FillAsync("ui-acme");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create organization" }).ClickAsync();
        await Assertions.Expect(page).ToHaveTitleAsync("ui-acme · Registry");
        await page.GetByLabel("User", new() { Exact = true }).FillAsync("ui-bob");
        await page.GetByRole(AriaRole.Button, new() { Name = "Add" }).ClickAsync();
        var bob = page.Locator("#members tbody tr", new() { HasText = "ui-bob" });
        await Assertions.Expect(bob.Locator("td").Nth(1)).ToHaveTextAsync("member");
        await bob.GetByLabel("Role").SelectOptionAsync("maintainer");
        await bob.GetByRole(AriaRole.Button, new() { Name = "Change" }).ClickAsync();
        await Assertions.Expect(page.Locator("#members tbody tr", new() { HasText = "ui-bob" }).Locator("td").Nth(1)).ToHaveTextAsync("maintainer");
        await UiFixture.ScreenshotAsync(page, "organization");

        // The maintainer pushes to the organization; its page lists the repository.
        var docker = DockerCli.Default.WithConfigDirectory(fixture.NewDirectory("docker-bob"));
        (await docker.LoginAsync(fixture.Registry.HostPort, new RegistryCredentials("ui-bob", Password))).EnsureSuccess();
        await fixture.PushTestImageAsync("ui-acme/api:1.0");
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("#repositories")).ToContainTextAsync("ui-acme/api");

        await page.GotoAsync("/admin/audit?action=member.set");
        await Assertions.Expect(page.Locator("#audit tbody tr").First).ToContainTextAsync("ui-acme/ui-bob");
        await UiFixture.ScreenshotAsync(page, "audit");
    }

    [Fact]
    public async Task AdministratorDeletesAUserAndDecidesAboutItsRepositories()
    {
        using (var api = new RegistryApiClient(fixture.Registry, fixture.Registry.Admin))
        {
            await api.CreateUserAsync("ui-dan", Password);
            await api.CreateRepositoryAsync("ui-dan/tools", "private");
        }

        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/admin/users");
        await page.Locator("#users tbody tr", new() { HasText = "ui-dan" }).GetByRole(AriaRole.Link, new() { Name = "Delete…" }).ClickAsync();
        var confirm = page.Locator("#delete");
        await Assertions.Expect(confirm).ToContainTextAsync("ui-dan owns 1 repository: ui-dan/tools");
        await UiFixture.ScreenshotAsync(page, "admin-delete-user");
        await confirm.GetByLabel("Delete them with all their tags and manifests").CheckAsync();
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Yes, delete ui-dan" }).ClickAsync();

        await Assertions.Expect(page.Locator(".flash")).ToHaveTextAsync("User ui-dan deleted with 1 repositories.");
        await Assertions.Expect(page.Locator("#users")).Not.ToContainTextAsync("ui-dan");
        Assert.Equal(404, (await page.GotoAsync("/r/ui-dan/tools"))!.Status); // the administrator sees every repository
    }

    [Fact]
    public async Task UserChangesThePasswordAndSignsInWithTheNewOne()
    {
        using (var api = new RegistryApiClient(fixture.Registry, fixture.Registry.Admin))
        {
            await api.CreateUserAsync("ui-carol", Password);
        }

        var otherSession = await fixture.NewPageAsync(signedIn: false);
        await fixture.SignInAsync(otherSession, "ui-carol", Password);
        var page = await fixture.NewPageAsync(signedIn: false);
        await fixture.SignInAsync(page, "ui-carol", Password);
        await Assertions.Expect(page.Locator("header .who")).ToContainTextAsync("ui-carol");
        await Assertions.Expect(page.Locator("header nav")).Not.ToContainTextAsync("Users"); // no admin pages
        Assert.Equal(404, (await page.GotoAsync("/admin/users"))!.Status);

        await page.GotoAsync("/settings/profile");
        await page.GetByLabel("Current password").FillAsync(Password);
        await page.GetByLabel("New password").FillAsync(Password + "-new");
        await page.GetByRole(AriaRole.Button, new() { Name = "Change password" }).ClickAsync();
        await Assertions.Expect(page.Locator(".flash")).ToHaveTextAsync("Password changed.");
        await UiFixture.ScreenshotAsync(page, "profile");

        // The change ends the user's other sessions, not this one.
        await page.ReloadAsync();
        await Assertions.Expect(page.Locator("header .who")).ToContainTextAsync("ui-carol");
        await otherSession.ReloadAsync();
        await Assertions.Expect(otherSession.Locator("header .who")).ToContainTextAsync("Sign in");

        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Assertions.Expect(page.Locator("header .who")).ToContainTextAsync("Sign in");
        await page.GotoAsync("/login");
        await page.GetByLabel("User name").FillAsync("ui-carol");
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.Locator(".error")).ToHaveTextAsync("Invalid user name or password.");
        await fixture.SignInAsync(page, "ui-carol", Password + "-new");
        await Assertions.Expect(page.Locator("header .who")).ToContainTextAsync("ui-carol");
    }
}
