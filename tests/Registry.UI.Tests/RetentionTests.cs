using Microsoft.Playwright;

namespace Registry.UI.Tests;

/// <summary>A retention policy made in the browser, its dry run's report, and a real run.</summary>
[Collection(UiCollection.Name)]
public sealed class RetentionTests(UiFixture fixture)
{
    private const string Repository = "admin/ui-retention";

    // Newest first, as the report lists them: 1.2 is the one kept.
    private static readonly string[] WouldDelete = ["1.1", "1.0"];

    [Fact]
    public async Task APolicyMadeInTheUiShowsOnADryRunWhichTagsItWouldDelete()
    {
        foreach (var tag in new[] { "1.0", "1.1", "1.2" })
        {
            await fixture.PushTestImageAsync($"{Repository}:{tag}");
        }

        var page = await fixture.NewPageAsync();
        await page.GotoAsync($"/r/{Repository}");
        await page.GetByRole(AriaRole.Link, new() { Name = "Retention policies of admin" }).ClickAsync();
        await Assertions.Expect(page).ToHaveTitleAsync("Retention · admin · Registry");

        // A mistake first: the form says what is wrong and keeps what was typed.
        var form = page.Locator("#new-policy");
        await form.GetByLabel("Repository").FillAsync(Repository);
        await form.GetByLabel("Tag pattern").FillAsync("1.*");
        await form.GetByLabel("Keep the most recent").FillAsync("0");
        await form.GetByRole(AriaRole.Button, new() { Name = "Add policy" }).ClickAsync();
        await Assertions.Expect(page.Locator(".error")).ToContainTextAsync("keepMostRecent");
        await Assertions.Expect(page.Locator("#policies")).ToHaveCountAsync(0);

        await form.GetByLabel("Keep the most recent").FillAsync("1");
        await form.GetByRole(AriaRole.Button, new() { Name = "Add policy" }).ClickAsync();
        await Assertions.Expect(page.Locator(".flash")).ToContainTextAsync("added");
        var row = page.Locator("#policies tbody tr", new() { HasText = Repository });
        await Assertions.Expect(row).ToContainTextAsync("1 most recent");

        await row.GetByRole(AriaRole.Button, new() { Name = "Dry run" }).ClickAsync();
        var report = page.Locator("#report");
        await Assertions.Expect(report).ToContainTextAsync("Would delete 2 tags");
        var tags = report.Locator("table.retention-tags tbody tr td:nth-child(2)");
        await Assertions.Expect(tags).ToHaveTextAsync(WouldDelete);
        await UiFixture.ScreenshotAsync(page, "retention-dry-run");

        // The dry run deleted nothing; a real run deletes what it showed.
        await page.GotoAsync($"/r/{Repository}");
        await Assertions.Expect(page.Locator("#tag-table tbody tr")).ToHaveCountAsync(3);
        await page.GotoAsync("/namespaces/admin/retention");
        await page.Locator("#policies tbody tr", new() { HasText = Repository }).GetByRole(AriaRole.Button, new() { Name = "Run now" }).ClickAsync();
        await Assertions.Expect(page.Locator("#report")).ToContainTextAsync("Deleted 2 tags");
        await page.GotoAsync($"/r/{Repository}");
        await Assertions.Expect(page.Locator("#tag-table tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#tag-table")).ToContainTextAsync("1.2");
    }
}
