using System.Net;
using System.Net.Sockets;
using Microsoft.Playwright;

namespace Registry.UI.Tests;

/// <summary>A namespace's webhooks, managed in the browser, with a test delivery to a real receiver on 127.0.0.1.</summary>
[Collection(UiCollection.Name)]
public sealed class WebhookTests(UiFixture fixture)
{
    [Fact]
    public async Task OwnerAddsAWebhookSendsATestDeliveryAndSeesItsStatus()
    {
        using var receiver = new HttpListener();
        var port = FreePort();
        receiver.Prefixes.Add($"http://127.0.0.1:{port}/");
        receiver.Start();
        var answering = AnswerAsync(receiver);

        var page = await fixture.NewPageAsync();
        await page.GotoAsync("/settings/profile");
        await page.Locator("#webhooks-link").ClickAsync();
        await Assertions.Expect(page).ToHaveTitleAsync("Webhooks of admin · Registry");
        await page.GetByLabel("URL").FillAsync($"http://127.0.0.1:{port}/ui-hook");
        await page.GetByLabel("pull").CheckAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Add webhook" }).ClickAsync();
        await Assertions.Expect(page.Locator("#webhook-secret")).ToContainTextAsync("whsec_");

        var webhook = page.Locator("section.webhook", new() { HasText = $"127.0.0.1:{port}/ui-hook" });
        await Assertions.Expect(webhook).ToContainTextAsync("push, delete, pull");
        await webhook.GetByRole(AriaRole.Button, new() { Name = "Send test delivery" }).ClickAsync();
        await Assertions.Expect(page.Locator(".flash")).ToContainTextAsync("Test delivery queued");

        // The dispatcher sends in the background: reload (boundedly) until the delivery shows the receiver's answer.
        var status = page.Locator("section.webhook", new() { HasText = $"127.0.0.1:{port}/ui-hook" }).Locator(".deliveries tbody tr .status").First;
        for (var i = 0; i < 60 && !await ShowsAsync(status, "202"); i++)
        {
            await Task.Delay(500);
            await page.ReloadAsync();
        }

        await Assertions.Expect(status).ToHaveTextAsync("202");
        await Assertions.Expect(page.Locator("section.webhook .deliveries tbody tr").First).ToContainTextAsync("ping");
        await UiFixture.ScreenshotAsync(page, "webhooks");

        await page.Locator("section.webhook", new() { HasText = $"127.0.0.1:{port}/ui-hook" }).GetByRole(AriaRole.Link, new() { Name = "Delete…" }).ClickAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Yes, delete this webhook" }).ClickAsync();
        await Assertions.Expect(page.Locator(".flash")).ToHaveTextAsync("Webhook deleted.");
        await Assertions.Expect(page.Locator("section.webhook", new() { HasText = $"127.0.0.1:{port}/ui-hook" })).ToHaveCountAsync(0);

        receiver.Stop();
        await answering;
    }

    private static async Task<bool> ShowsAsync(ILocator locator, string text) =>
        await locator.CountAsync() > 0 && await locator.TextContentAsync() == text;

    private static int FreePort()
    {
        using var socket = new TcpListener(IPAddress.Loopback, 0);
        socket.Start();
        return ((IPEndPoint)socket.LocalEndpoint).Port;
    }

    private static async Task AnswerAsync(HttpListener receiver)
    {
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await receiver.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException)
            {
                return;
            }

            context.Response.StatusCode = (int)HttpStatusCode.Accepted;
            context.Response.Close();
        }
    }
}
