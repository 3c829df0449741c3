using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;
using static Registry.Api.Tests.Infrastructure.RegistryHttp;

namespace Registry.Api.Tests.Webhooks;

/// <summary>Events of real pushes, deletes and pulls through /v2 reach a real receiver on 127.0.0.1, signed, with retries.</summary>
public sealed class WebhookDeliveryTests(WebhookRegistry fixture) : IClassFixture<WebhookRegistry>
{
    private readonly RegistryFactory _registry = fixture.Factory;

    [Fact]
    public async Task APushIsDeliveredSignedWithTheWebhookSecret()
    {
        await using var receiver = new WebhookReceiver();
        var alice = await _registry.NewUserAsync();
        using var api = _registry.CreateApiClient(alice.Name, alice.Password);
        const string secret = "a-secret-of-the-receiver";
        await api.CreateWebhookAsync(alice.Name, new { url = receiver.Url, events = WebhookApi.Push, secret });

        using var client = _registry.CreateClientFor(alice.Name, alice.Password);
        var manifest = await client.PushImageAsync($"{alice.Name}/app", "1.0");
        var request = await receiver.NextAsync();

        var expected = "sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), request.Body));
        using var body = JsonDocument.Parse(request.Body);
        var json = body.RootElement;
        Assert.Equal("POST", request.Method);
        Assert.Equal("/hook", request.Path);
        Assert.Equal(expected, request.Headers["X-Registry-Signature-256"]);
        Assert.Equal("push", request.Headers["X-Registry-Event"]);
        Assert.Equal(json.GetProperty("id").GetString(), request.Headers["X-Registry-Delivery"]);
        Assert.StartsWith("application/json", request.Headers["Content-Type"], StringComparison.Ordinal);
        Assert.StartsWith("Registry-Webhooks/", request.Headers["User-Agent"], StringComparison.Ordinal);
        Assert.Equal("push", json.GetProperty("event").GetString());
        Assert.Equal($"{alice.Name}/app", json.GetProperty("repository").GetString());
        Assert.Equal("1.0", json.GetProperty("tag").GetString());
        Assert.Equal(manifest.Digest, json.GetProperty("digest").GetString());
        Assert.Equal(manifest.MediaType, json.GetProperty("mediaType").GetString());
        Assert.Equal(alice.Name, json.GetProperty("actor").GetString());
        Assert.EndsWith("Z", json.GetProperty("time").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ADeleteIsDeliveredToWebhooksThatWantDeletes()
    {
        await using var receiver = new WebhookReceiver();
        var alice = await _registry.NewUserAsync();
        using var api = _registry.CreateApiClient(alice.Name, alice.Password);
        await api.CreateWebhookAsync(alice.Name, new { url = receiver.Url, events = WebhookApi.Delete });
        using var client = _registry.CreateClientFor(alice.Name, alice.Password);
        var manifest = await client.PushImageAsync($"{alice.Name}/app", "old");

        using var delete = await client.SendAsync(HttpMethod.Delete, $"/v2/{alice.Name}/app/manifests/{manifest.Digest}");
        var request = await receiver.NextAsync();

        Assert.Equal(HttpStatusCode.Accepted, delete.StatusCode);
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal("delete", body.RootElement.GetProperty("event").GetString());
        Assert.Equal(manifest.Digest, body.RootElement.GetProperty("digest").GetString());
        Assert.Equal(JsonValueKind.Null, body.RootElement.GetProperty("tag").ValueKind);
    }

    [Fact]
    public async Task APullIsDeliveredOnlyToWebhooksSubscribedToPulls()
    {
        await using var pulls = new WebhookReceiver();
        await using var pushes = new WebhookReceiver();
        var alice = await _registry.NewUserAsync();
        using var api = _registry.CreateApiClient(alice.Name, alice.Password);
        var pullHook = await api.CreateWebhookAsync(alice.Name, new { url = pulls.Url, events = WebhookApi.Pull });
        var pushHook = await api.CreateWebhookAsync(alice.Name, new { url = pushes.Url, events = WebhookApi.Push });
        using var client = _registry.CreateClientFor(alice.Name, alice.Password);
        var manifest = await client.PushImageAsync($"{alice.Name}/app", "v1");
        await pushes.NextAsync();

        using var head = await client.SendAsync(HttpMethod.Head, $"/v2/{alice.Name}/app/manifests/v1");
        using var get = await client.SendAsync(HttpMethod.Get, $"/v2/{alice.Name}/app/manifests/v1");
        var pulled = await pulls.NextAsync();

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        using var body = JsonDocument.Parse(pulled.Body);
        Assert.Equal("pull", body.RootElement.GetProperty("event").GetString());
        Assert.Equal("v1", body.RootElement.GetProperty("tag").GetString());
        Assert.Equal(manifest.Digest, body.RootElement.GetProperty("digest").GetString());

        // Both webhooks' deliveries of one batch are recorded together: the push-only one got none, and a HEAD is no pull.
        var pushOnly = await api.DeliveriesAsync(alice.Name, pushHook.GetProperty("id").GetString()!);
        var pullOnly = await api.DeliveriesAsync(alice.Name, pullHook.GetProperty("id").GetString()!);
        Assert.All(pushOnly, d => Assert.Equal("push", d.GetProperty("event").GetString()));
        Assert.Single(pullOnly);
    }

    [Fact]
    public async Task AFailedDeliveryIsRetriedAndTheLogShowsEveryStatus()
    {
        await using var receiver = new WebhookReceiver((n, _) => Task.FromResult(n == 1 ? 500 : 200));
        var alice = await _registry.NewUserAsync();
        using var api = _registry.CreateApiClient(alice.Name, alice.Password);
        var hook = await api.CreateWebhookAsync(alice.Name, new { url = receiver.Url, events = WebhookApi.Push });
        var id = hook.GetProperty("id").GetString()!;
        using var client = _registry.CreateClientFor(alice.Name, alice.Password);
        await client.PushImageAsync($"{alice.Name}/app", "v1");

        var first = await receiver.NextAsync();
        var second = await receiver.NextAsync();
        var delivery = await api.WaitForDeliveryAsync(alice.Name, id, d => d.GetProperty("state").GetString() == "delivered");

        Assert.Equal(first.Body, second.Body);
        Assert.Equal(first.Headers["X-Registry-Signature-256"], second.Headers["X-Registry-Signature-256"]);
        Assert.Equal(2, delivery.GetProperty("attempts").GetInt32());
        Assert.Equal(200, delivery.GetProperty("lastStatusCode").GetInt32());
        Assert.Equal([500, 200], delivery.GetProperty("attemptLog").EnumerateArray().Select(a => a.GetProperty("statusCode").GetInt32()));
    }

    [Fact]
    public async Task AHangingReceiverNeitherDelaysThePushNorOtherDeliveries()
    {
        var released = new TaskCompletionSource();
        var answered = false;
        await using var hanging = new WebhookReceiver(async (_, stop) =>
        {
            await released.Task.WaitAsync(stop);
            answered = true;
            return 200;
        });
        await using var healthy = new WebhookReceiver();
        var alice = await _registry.NewUserAsync();
        var bob = await _registry.NewUserAsync();
        using var aliceApi = _registry.CreateApiClient(alice.Name, alice.Password);
        using var bobApi = _registry.CreateApiClient(bob.Name, bob.Password);
        var hook = await aliceApi.CreateWebhookAsync(alice.Name, new { url = hanging.Url, events = WebhookApi.Push });
        await bobApi.CreateWebhookAsync(bob.Name, new { url = healthy.Url, events = WebhookApi.Push });
        using var aliceClient = _registry.CreateClientFor(alice.Name, alice.Password);
        using var bobClient = _registry.CreateClientFor(bob.Name, bob.Password);

        await aliceClient.PushImageAsync($"{alice.Name}/app", "v1");
        await hanging.NextAsync();

        // The push has returned while its receiver still hangs, and another namespace's delivery goes through meanwhile.
        Assert.False(answered);
        await bobClient.PushImageAsync($"{bob.Name}/app", "v1");
        await healthy.NextAsync();
        Assert.False(answered);

        var timedOut = await aliceApi.WaitForDeliveryAsync(alice.Name, hook.GetProperty("id").GetString()!,
            d => d.GetProperty("attemptLog").EnumerateArray().Any(a => a.GetProperty("error").GetString()?.Contains("timed out", StringComparison.Ordinal) == true));
        released.SetResult();
        Assert.Equal(JsonValueKind.Null, timedOut.GetProperty("attemptLog")[0].GetProperty("statusCode").ValueKind);
    }

    [Fact]
    public async Task ATestDeliveryIsAPing()
    {
        await using var receiver = new WebhookReceiver();
        var alice = await _registry.NewUserAsync();
        using var api = _registry.CreateApiClient(alice.Name, alice.Password);
        var hook = await api.CreateWebhookAsync(alice.Name, new { url = receiver.Url, events = WebhookApi.Push });
        var id = hook.GetProperty("id").GetString()!;
        var secret = hook.GetProperty("secret").GetString()!;

        using var test = await api.PostAsync(WebhookApi.Path(alice.Name, $"/{id}/test"), content: null);
        var request = await receiver.NextAsync();
        var delivery = await api.WaitForDeliveryAsync(alice.Name, id, d => d.GetProperty("state").GetString() == "delivered");

        Assert.Equal(HttpStatusCode.Accepted, test.StatusCode);
        Assert.Equal("ping", request.Headers["X-Registry-Event"]);
        Assert.Equal("sha256=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), request.Body)), request.Headers["X-Registry-Signature-256"]);
        Assert.Equal("ping", delivery.GetProperty("event").GetString());
        Assert.Equal(200, delivery.GetProperty("lastStatusCode").GetInt32());
    }
}
