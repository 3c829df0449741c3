using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;

namespace Registry.Api.Tests.Nodes;

/// <summary>
/// A node as the agent is to the registry: plain HTTP calls to the node API with the credential its join returned.
/// The tests drive it by hand: what it reports and when is theirs to choose.
/// </summary>
internal sealed class TestNode(string name, string credential, HttpClient client, long memory) : IDisposable
{
    public string Name { get; } = name;

    public string Credential { get; } = credential;

    public HttpClient Client { get; } = client;

    /// <summary>The memory the node declares, at its join and in every heartbeat.</summary>
    public long Memory { get; } = memory;

    /// <summary>A heartbeat with the given container reports (anonymous objects in the contract's shape).</summary>
    public Task<HttpResponseMessage> PostHeartbeatAsync(params object[] containers) =>
        Client.PostAsJsonAsync("/api/v1/node/heartbeat", new
        {
            capacity = new { cpus = 2, memoryBytes = Memory, diskFreeBytes = 10L << 30 },
            agentVersion = "test",
            time = DateTimeOffset.UtcNow,
            containers,
        });

    public async Task<JsonElement> HeartbeatAsync(params object[] containers)
    {
        using var response = await PostHeartbeatAsync(containers);
        return await NodeApi.ReadAsync(response, HttpStatusCode.OK, $"heartbeat of {Name}");
    }

    public async Task<JsonElement> DesiredAsync(long? after = null, int wait = 0)
    {
        var query = after is { } g ? $"?after={g}&wait={wait}" : $"?wait={wait}";
        using var response = await Client.GetAsync("/api/v1/node/desired" + query);
        return await NodeApi.ReadAsync(response, HttpStatusCode.OK, $"desired state of {Name}");
    }

    /// <summary>The desired entry of one container; fails when it is not there.</summary>
    public async Task<JsonElement> DesiredContainerAsync(string id) =>
        (await DesiredAsync()).GetProperty("containers").EnumerateArray().Single(c => c.GetProperty("id").GetString() == id);

    public async Task<JsonElement> SendLogsAsync(string id, int placement, params (long Offset, string Text)[] lines)
    {
        using var response = await Client.PostAsJsonAsync("/api/v1/node/logs", new
        {
            containers = new[]
            {
                new
                {
                    id,
                    placement,
                    lines = lines.Select(l => new { offset = l.Offset, stream = "stdout", time = DateTimeOffset.UtcNow, text = l.Text }).ToArray(),
                },
            },
        });
        return await NodeApi.ReadAsync(response, HttpStatusCode.OK, $"logs of {Name}");
    }

    public void Dispose() => Client.Dispose();
}

/// <summary>Join tokens, joins and containers through the REST API, as tests set them up.</summary>
internal static class NodeApi
{
    public const long NodeMemory = 8L << 30;

    public static async Task<string> NewJoinTokenAsync(this RegistryFactory registry, object? body = null)
    {
        using var admin = registry.CreateAdminApiClient();
        using var response = await admin.PostAsJsonAsync("/api/v1/nodes/join-tokens", body ?? new { });
        return (await ReadAsync(response, HttpStatusCode.Created, "creating a join token")).GetProperty("token").GetString()!;
    }

    public static async Task<HttpResponseMessage> JoinAsync(
        this RegistryFactory registry, string token, string name, object? labels = null, long memory = NodeMemory, DateTimeOffset? time = null)
    {
        using var client = registry.CreatePlainClient();
        return await client.PostAsJsonAsync("/api/v1/nodes/join", new
        {
            token,
            name,
            labels = labels ?? new { },
            capacity = new { cpus = 2, memoryBytes = memory, diskFreeBytes = 10L << 30 },
            agentVersion = "test",
            time = time ?? DateTimeOffset.UtcNow,
        });
    }

    /// <summary>A node that joined with a token of its own, under a name no other test uses.</summary>
    public static async Task<TestNode> NewNodeAsync(this RegistryFactory registry, object? labels = null, long memory = NodeMemory, string? name = null)
    {
        name ??= RegistryAccounts.UniqueName("node-");
        var token = await registry.NewJoinTokenAsync();
        using var response = await registry.JoinAsync(token, name, labels, memory);
        var joined = await ReadAsync(response, HttpStatusCode.Created, $"joining {name}");
        var credential = joined.GetProperty("credential").GetString()!;
        var client = registry.CreatePlainClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        return new TestNode(name, credential, client, memory);
    }

    /// <summary>A user with a private image <c>USER/app:v1</c> and a REST API client of theirs.</summary>
    public static async Task<(TestUser User, HttpClient Api, string Image, string Digest)> UserWithImageAsync(this RegistryFactory registry)
    {
        var user = await registry.NewUserAsync();
        using (var client = registry.CreateClientFor(user.Name, user.Password))
        {
            var manifest = await client.PushImageAsync($"{user.Name}/app", "v1");
            return (user, registry.CreateApiClient(user.Name, user.Password), $"{user.Name}/app:v1", manifest.Digest);
        }
    }

    public static Task<HttpResponseMessage> RunAsync(this HttpClient api, object body) => api.PostAsJsonAsync("/api/v1/containers", body);

    /// <summary>Runs a container and returns its view, checking it was created.</summary>
    public static async Task<JsonElement> RunOkAsync(this HttpClient api, object body)
    {
        using var response = await api.RunAsync(body);
        return await ReadAsync(response, HttpStatusCode.Created, "running a container");
    }

    public static async Task<JsonElement> GetContainerAsync(this HttpClient api, string id)
    {
        using var response = await api.GetAsync($"/api/v1/containers/{id}");
        return await ReadAsync(response, HttpStatusCode.OK, $"container {id}");
    }

    public static async Task<JsonElement> GetNodeAsync(this RegistryFactory registry, string name)
    {
        using var admin = registry.CreateAdminApiClient();
        using var response = await admin.GetAsync($"/api/v1/nodes/{name}");
        return await ReadAsync(response, HttpStatusCode.OK, $"node {name}");
    }

    /// <summary>Polls until the condition holds (bounded: 20 s), and returns the last value read.</summary>
    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{what} did not happen within 20 s; last: {(value is JsonElement e ? e.GetRawText() : value)}");
            }

            await Task.Delay(100);
        }
    }

    public static async Task<JsonElement> ReadAsync(HttpResponseMessage response, HttpStatusCode status, string what)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"{what} answered {(int)response.StatusCode}, not {(int)status}: {body}");
        return body.Length == 0 ? default : JsonDocument.Parse(body).RootElement.Clone();
    }

    /// <summary>Checks the API's error format, its code and that the message contains <paramref name="message"/>.</summary>
    public static async Task AssertApiErrorAsync(HttpResponseMessage response, HttpStatusCode status, string code, string? message = null)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"expected {(int)status} {code}, got {(int)response.StatusCode}: {body}");
        using var json = JsonDocument.Parse(body);
        var error = json.RootElement.GetProperty("errors")[0];
        Assert.Equal(code, error.GetProperty("code").GetString());
        if (message is not null)
        {
            Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    public static string State(this JsonElement container) => container.GetProperty("state").GetString()!;

    public static string? NodeOf(this JsonElement container) => container.GetProperty("node").GetString();
}
