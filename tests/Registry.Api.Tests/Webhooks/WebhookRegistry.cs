using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;

namespace Registry.Api.Tests.Webhooks;

/// <summary>
/// The fixture: one registry whose dispatcher looks for deliveries often, retries after a fraction of a second and
/// gives up on a receiver after two seconds, so that tests see retries and timeouts quickly.
/// </summary>
public sealed class WebhookRegistry : IAsyncLifetime
{
    public RegistryFactory Factory { get; } = RegistryFactory.WithSettings(new Dictionary<string, string?>
    {
        ["Registry:Webhooks:PollInterval"] = "00:00:00.050",
        ["Registry:Webhooks:RetryDelays"] = "00:00:00.200",
        ["Registry:Webhooks:MaxAttempts"] = "3",
        ["Registry:Webhooks:Timeout"] = "00:00:02",
        ["Registry:Webhooks:MaxPerNamespace"] = "3",
    });

    public Task InitializeAsync() => Task.CompletedTask;

    public Task DisposeAsync() => Factory.DisposeAsync().AsTask();
}

internal static class WebhookApi
{
    public static readonly string[] Push = ["push"];
    public static readonly string[] Delete = ["delete"];
    public static readonly string[] Pull = ["pull"];
    public static readonly string[] PushAndPull = ["push", "pull"];
    public static readonly string[] PushAndBuild = ["push", "build"];
    public static readonly string[] LimitedScopes = ["read", "read-write"];

    public static string Path(string ns, string? rest = null) => $"/api/v1/namespaces/{ns}/webhooks{rest}";

    /// <summary>Creates a webhook and returns its JSON (with the secret).</summary>
    public static async Task<JsonElement> CreateWebhookAsync(this HttpClient api, string ns, object request)
    {
        using var response = await api.PostAsJsonAsync(Path(ns), request);
        await RegistryAccounts.AssertStatusAsync(response, HttpStatusCode.Created, "creating a webhook");
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }

    public static async Task<JsonElement[]> DeliveriesAsync(this HttpClient api, string ns, string id)
    {
        using var response = await api.GetAsync(Path(ns, $"/{id}/deliveries"));
        await RegistryAccounts.AssertStatusAsync(response, HttpStatusCode.OK, "listing deliveries");
        return (await response.Content.ReadFromJsonAsync<JsonElement[]>())!;
    }

    /// <summary>Polls the delivery log (bounded: 30 s) until a delivery matches.</summary>
    public static async Task<JsonElement> WaitForDeliveryAsync(this HttpClient api, string ns, string id, Func<JsonElement, bool> match)
    {
        for (var i = 0; i < 300; i++)
        {
            var found = (await api.DeliveriesAsync(ns, id)).FirstOrDefault(match);
            if (found.ValueKind == JsonValueKind.Object)
            {
                return found;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException($"no matching delivery of webhook {id} within 30 s: {JsonSerializer.Serialize(await api.DeliveriesAsync(ns, id))}");
    }
}
