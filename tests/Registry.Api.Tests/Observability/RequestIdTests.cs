using System.Net;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;
using Registry.Testing;

namespace Registry.Api.Tests.Observability;

/// <summary>
/// Every answer carries X-Request-Id, and the log lines written while the request ran carry the same id: read from
/// the output of a real registry process logging JSON (<c>Logging__Console__FormatterName=json</c>).
/// </summary>
public sealed class RequestIdTests
{
    [Fact]
    public async Task EveryAnswerCarriesARequestIdOfItsOwn()
    {
        await using var registry = await RegistryProcess.StartAsync();
        using var client = ObservedRegistry.PlainClient(registry);

        var ids = new List<string>();
        foreach (var path in new[] { "/healthz", "/v2/", "/v2/nothing/here/manifests/latest", "/auth/token?service=registry", "/no-such-page", "/metrics" })
        {
            using var response = await client.GetAsync(path);
            ids.Add(Assert.Single(response.Headers.GetValues("X-Request-Id")));
        }

        Assert.All(ids, id => Assert.False(string.IsNullOrWhiteSpace(id)));
        Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public async Task ALogLineOfARequestCarriesItsRequestId()
    {
        await using var registry = await RegistryProcess.StartAsync(environment: new Dictionary<string, string?>
        {
            ["Logging__Console__FormatterName"] = "json",
        });
        using var client = RegistryAuthHandler.CreateClient(registry);
        var blob = TestBlob.Random(1000);

        using var response = await client.PostAsync($"/v2/{Names.Unique("logs")}/blobs/uploads/?digest={blob.Digest}", new ByteArrayContent(blob.Content));
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var id = Assert.Single(response.Headers.GetValues("X-Request-Id"));

        // The commit's log line ("Blob … committed to …") is written while the request runs.
        var line = await WaitForLogLineAsync(registry, blob.Digest);
        Assert.Contains(id, RequestIds(line));
    }

    private static async Task<JsonElement> WaitForLogLineAsync(RegistryProcess registry, string text)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            foreach (var line in registry.Output.Split('\n').Where(l => l.StartsWith('{') && l.Contains(text, StringComparison.Ordinal)))
            {
                return JsonDocument.Parse(line).RootElement.Clone();
            }

            await Task.Delay(100);
        }

        throw new Xunit.Sdk.XunitException($"no JSON log line mentions {text}:\n{registry.Output}");
    }

    private static List<string> RequestIds(JsonElement line) =>
        line.TryGetProperty("Scopes", out var scopes)
            ? scopes.EnumerateArray()
                .Where(s => s.ValueKind == JsonValueKind.Object && s.TryGetProperty("RequestId", out _))
                .Select(s => s.GetProperty("RequestId").GetString()!)
                .ToList()
            : [];
}
