using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Registry.UI.Tests;

/// <summary>Signing in and browsing what a docker push made: explore, the repository page and the tag page.</summary>
[Collection(UiCollection.Name)]
public sealed partial class BrowseTests(UiFixture fixture)
{
    [Fact]
    public async Task SignedInUserFindsThePushedImageOnExplore()
    {
        var page = await fixture.NewPageAsync();
        await Assertions.Expect(page.Locator("header .who")).ToContainTextAsync("admin");

        await page.GotoAsync("/?q=ui-app&sort=updated");
        var card = page.Locator("#repositories li", new() { HasText = UiFixture.AppRepository });
        await Assertions.Expect(card).ToBeVisibleAsync();
        await Assertions.Expect(card).ToContainTextAsync("1 tag");
        await Assertions.Expect(page).ToHaveTitleAsync("Explore · Registry");
        await Assertions.Expect(card).ToContainTextAsync("ui-app"); // the description's first line
        await page.GotoAsync("/?sort=updated");
        await UiFixture.ScreenshotAsync(page, "explore");
        await page.GotoAsync("/?q=ui-app");

        await card.GetByRole(AriaRole.Link, new() { Name = UiFixture.AppRepository }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("/r/admin/ui-app$"));
        var row = page.Locator("#tag-table tbody tr", new() { HasText = "v1" });
        await Assertions.Expect(row).ToContainTextAsync("linux/amd64");
        await Assertions.Expect(row).ToContainTextAsync("admin"); // who pushed
        await Assertions.Expect(page.Locator("#pull-command")).ToHaveTextAsync($"docker pull {fixture.Registry.HostPort}/admin/ui-app:v1");
        await Assertions.Expect(page.Locator("#description strong")).ToHaveTextAsync("busybox");
        await UiFixture.ScreenshotAsync(page, "repository");
    }

    [Fact]
    public async Task TagPageShowsLayersWithSizesAndTheHistoryMatchedToThem()
    {
        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/m/admin/ui-app:v1");
        await Assertions.Expect(page).ToHaveTitleAsync("admin/ui-app:v1 · Registry");

        var rows = page.Locator("#layers tbody tr");
        await Assertions.Expect(rows).ToHaveCountAsync(6);
        string[] commands = ["ADD busybox rootfs /", "COPY hello.txt /hello.txt", "COPY run.sh /app/run.sh"];
        for (var i = 0; i < 3; i++)
        {
            var row = rows.Nth(i);
            await Assertions.Expect(row.Locator("td").Nth(0)).ToHaveTextAsync((i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
            await Assertions.Expect(row.Locator("td").Nth(1)).ToHaveTextAsync(commands[i]);
            await Assertions.Expect(row.Locator("td").Nth(2)).ToHaveTextAsync(new Regex(@"^\d+(\.\d)? (B|KB|MB)$"));
            await Assertions.Expect(row.Locator("td").Nth(3)).ToHaveTextAsync(new Regex("^[0-9a-f]{12}$"));
        }

        // The build's metadata steps made no layer, and the legacy builder's "/bin/sh -c #(nop)" is gone.
        for (var i = 3; i < 6; i++)
        {
            await Assertions.Expect(rows.Nth(i)).ToHaveClassAsync("empty-layer");
            await Assertions.Expect(rows.Nth(i).Locator("td").Nth(2)).ToHaveTextAsync("empty layer");
        }

        await Assertions.Expect(rows.Nth(3).Locator("td").Nth(1)).ToHaveTextAsync(new Regex("^LABEL org.example.note="));
        await Assertions.Expect(rows.Nth(4).Locator("td").Nth(1)).ToHaveTextAsync("ENV GREETING=hello");
        await Assertions.Expect(page.Locator("#layers")).Not.ToContainTextAsync("#(nop)");

        await Assertions.Expect(page.Locator("dl.facts")).ToContainTextAsync("8080/tcp");
        await Assertions.Expect(page.Locator("dl.facts")).ToContainTextAsync("[\"/bin/sh\",\"/app/run.sh\"]");
        await Assertions.Expect(page.Locator("#env")).ToContainTextAsync("GREETING=hello");
        await Assertions.Expect(page.Locator("#raw-manifest")).ToContainTextAsync("\"layers\"");
        await UiFixture.ScreenshotAsync(page, "tag");
    }

    [Fact]
    public async Task PageIsUsableOnAPhoneSizedScreen()
    {
        var page = await fixture.NewPageAsync();
        await page.SetViewportSizeAsync(390, 844);
        await page.GotoAsync("/r/admin/ui-app");
        var width = await page.EvaluateAsync<int>("document.documentElement.scrollWidth");
        Assert.True(width <= 400, $"the page is {width}px wide on a 390px screen");
        await UiFixture.ScreenshotAsync(page, "repository-phone");
    }
}
