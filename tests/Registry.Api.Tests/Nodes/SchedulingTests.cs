using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;

namespace Registry.Api.Tests.Nodes;

/// <summary>
/// Placement on SQLite and PostgreSQL: by selector, on a named node, on the node with the most memory free; declared
/// memory never overcommitted, even by concurrent requests; the reasons when nothing fits; and the long-poll that
/// tells a node of its new work. Each test labels its nodes with a zone of its own, so that only they match.
/// </summary>
public abstract class SchedulingTests(NodeRegistry fixture)
{
    private const long GiB = 1L << 30;

    private readonly RegistryFactory _registry = fixture.Factory;

    [Fact]
    public async Task ASelectorPlacesOnAMatchingNode()
    {
        var zone = Zone();
        var (_, api, image, digest) = await _registry.UserWithImageAsync();
        using var matching = await _registry.NewNodeAsync(new { zone, disk = "ssd" }, memory: 2 * GiB);
        using var other = await _registry.NewNodeAsync(new { zone = Zone(), disk = "ssd" }, memory: 16 * GiB);

        var container = await api.RunOkAsync(new { image, selector = new { zone, disk = "ssd" } });

        Assert.Equal(matching.Name, container.NodeOf());
        Assert.False(container.GetProperty("pinned").GetBoolean());
        Assert.Equal(digest, container.GetProperty("digest").GetString());
        Assert.Equal(image, container.GetProperty("image").GetString());
        Assert.Equal("pending", container.State());
        Assert.Equal("running", container.GetProperty("desired").GetString());
        api.Dispose();
    }

    [Fact]
    public async Task TheNodeWithTheMostMemoryFreeWins()
    {
        var zone = Zone();
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var small = await _registry.NewNodeAsync(new { zone }, memory: 4 * GiB);
        using var large = await _registry.NewNodeAsync(new { zone }, memory: 8 * GiB);

        var first = await api.RunOkAsync(new { image, selector = new { zone }, memory = "2g" });
        var second = await api.RunOkAsync(new { image, selector = new { zone }, memory = "3g" });
        var third = await api.RunOkAsync(new { image, selector = new { zone }, memory = 2 * GiB });
        var largeStatus = await _registry.GetNodeAsync(large.Name);

        Assert.Equal(large.Name, first.NodeOf());   // 4 GiB free against 8
        Assert.Equal(large.Name, second.NodeOf());  // 4 against 6
        Assert.Equal(small.Name, third.NodeOf());   // 4 against 3
        Assert.Equal(5 * GiB, largeStatus.GetProperty("allocated").GetProperty("memoryBytes").GetInt64());
        Assert.Equal(2, largeStatus.GetProperty("allocated").GetProperty("containers").GetInt64());
        api.Dispose();
    }

    [Fact]
    public async Task ANamedNodePinsTheContainer()
    {
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var small = await _registry.NewNodeAsync(new { zone = Zone() }, memory: 1 * GiB);
        using var large = await _registry.NewNodeAsync(new { zone = Zone() }, memory: 16 * GiB);

        var container = await api.RunOkAsync(new { image, node = small.Name, memory = "512m" });

        Assert.Equal(small.Name, container.NodeOf());
        Assert.True(container.GetProperty("pinned").GetBoolean());
        Assert.Equal(512L << 20, container.GetProperty("memory").GetInt64());
        api.Dispose();
    }

    [Fact]
    public async Task ACordonedNodeTakesNothingNew()
    {
        var zone = Zone();
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var node = await _registry.NewNodeAsync(new { zone });
        using (var admin = _registry.CreateAdminApiClient())
        using (var cordon = await admin.PostAsync($"/api/v1/nodes/{node.Name}/cordon", null))
        {
            Assert.Equal(HttpStatusCode.OK, cordon.StatusCode);
        }

        using var pinned = await api.RunAsync(new { image, node = node.Name });
        using var selected = await api.RunAsync(new { image, selector = new { zone } });

        await NodeApi.AssertApiErrorAsync(pinned, HttpStatusCode.Conflict, "NO_NODE_FITS", $"node {node.Name} is cordoned");
        await NodeApi.AssertApiErrorAsync(selected, HttpStatusCode.Conflict, "NO_NODE_FITS", $"no Ready node matches selector zone={zone}");
        Assert.Empty((await api.GetFromJsonAsync<JsonElement[]>("/api/v1/containers"))!);
        api.Dispose();
    }

    [Fact]
    public async Task WhenNothingFitsTheReasonIsGiven()
    {
        var zone = Zone();
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var node = await _registry.NewNodeAsync(new { zone }, memory: 3 * GiB + 100 * (1L << 20));

        using var noMatch = await api.RunAsync(new { image, selector = new { zone = "b" + zone } });
        using var tooBig = await api.RunAsync(new { image, selector = new { zone }, memory = "64g" });
        using var noNode = await api.RunAsync(new { image, node = RegistryAccounts.UniqueName("absent-") });

        await NodeApi.AssertApiErrorAsync(noMatch, HttpStatusCode.Conflict, "NO_NODE_FITS", $"no Ready node matches selector zone=b{zone}");
        await NodeApi.AssertApiErrorAsync(tooBig, HttpStatusCode.Conflict, "NO_NODE_FITS", "needs 64 GiB of memory; the most free on a matching node is 3 GiB");
        await NodeApi.AssertApiErrorAsync(noNode, HttpStatusCode.Conflict, "NO_NODE_FITS", "there is no node absent-");
        api.Dispose();
    }

    [Fact]
    public async Task ConcurrentRequestsNeverOvercommitANode()
    {
        var zone = Zone();
        var (user, api, image, _) = await _registry.UserWithImageAsync();
        using var node = await _registry.NewNodeAsync(new { zone }, memory: 4 * GiB);

        var responses = await Task.WhenAll(Enumerable.Range(0, 12).Select(async _ =>
        {
            using var client = _registry.CreateApiClient(user.Name, user.Password);
            using var response = await client.RunAsync(new { image, selector = new { zone }, memory = "1g" });
            return (response.StatusCode, Body: await response.Content.ReadAsStringAsync());
        }));
        var status = await _registry.GetNodeAsync(node.Name);

        Assert.Equal(4, responses.Count(r => r.StatusCode == HttpStatusCode.Created));
        Assert.All(responses.Where(r => r.StatusCode != HttpStatusCode.Created), r =>
        {
            Assert.Equal(HttpStatusCode.Conflict, r.StatusCode);
            Assert.Contains("NO_NODE_FITS", r.Body, StringComparison.Ordinal);
        });
        Assert.Equal(4 * GiB, status.GetProperty("allocated").GetProperty("memoryBytes").GetInt64());
        Assert.Equal(4, status.GetProperty("allocated").GetProperty("containers").GetInt64());
        api.Dispose();
    }

    [Fact]
    public async Task DeletingAContainerGivesItsMemoryBack()
    {
        var zone = Zone();
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var node = await _registry.NewNodeAsync(new { zone }, memory: 2 * GiB);
        var first = await api.RunOkAsync(new { image, selector = new { zone }, memory = "2g" });
        using var full = await api.RunAsync(new { image, selector = new { zone }, memory = "1g" });

        using var deleted = await api.DeleteAsync($"/api/v1/containers/{first.GetProperty("id").GetString()}");
        var second = await api.RunOkAsync(new { image, selector = new { zone }, memory = "2g" });

        Assert.Equal(HttpStatusCode.Conflict, full.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(node.Name, second.NodeOf());
        api.Dispose();
    }

    [Fact]
    public async Task TheLongPollAnswersAtOnceOnAChangeAndWaitsOtherwise()
    {
        var (_, api, image, digest) = await _registry.UserWithImageAsync();
        using var node = await _registry.NewNodeAsync(new { zone = Zone() });
        var generation = (await node.DesiredAsync()).GetProperty("generation").GetInt64();

        var atOnce = Stopwatch.StartNew();
        var stale = await node.DesiredAsync(after: generation - 1, wait: 30);
        atOnce.Stop();
        var held = Stopwatch.StartNew();
        var unchanged = await node.DesiredAsync(after: generation, wait: 1);
        held.Stop();

        Assert.True(atOnce.Elapsed < TimeSpan.FromSeconds(5), $"a stale generation waited {atOnce.Elapsed}");
        Assert.Equal(generation, stale.GetProperty("generation").GetInt64());
        Assert.True(held.Elapsed >= TimeSpan.FromSeconds(0.9), $"an unchanged generation answered after {held.Elapsed}");
        Assert.Equal(generation, unchanged.GetProperty("generation").GetInt64());

        // A container made while the node waits wakes the poll within the watch interval (200 ms here).
        var poll = node.DesiredAsync(after: generation, wait: 30);
        await Task.Delay(500);
        Assert.False(poll.IsCompleted);
        var created = await api.RunOkAsync(new { image, node = node.Name });
        var since = Stopwatch.StartNew();
        var changed = await poll;
        since.Stop();

        var entry = Assert.Single(changed.GetProperty("containers").EnumerateArray());
        Assert.True(since.Elapsed < TimeSpan.FromSeconds(3), $"the poll answered {since.Elapsed} after the change");
        Assert.True(changed.GetProperty("generation").GetInt64() > generation);
        Assert.Equal(created.GetProperty("id").GetString(), entry.GetProperty("id").GetString());
        Assert.EndsWith($"/{image[..image.IndexOf(':', StringComparison.Ordinal)]}@{digest}", entry.GetProperty("image").GetString(), StringComparison.Ordinal);
        Assert.Equal(image, entry.GetProperty("reference").GetString());
        Assert.Equal(1, entry.GetProperty("placement").GetInt32());
        api.Dispose();
    }

    private static string Zone() => RegistryAccounts.UniqueName("z");
}

public sealed class SqliteSchedulingTests(SqliteNodeRegistry fixture) : SchedulingTests(fixture), IClassFixture<SqliteNodeRegistry>;

public sealed class PostgresSchedulingTests(PostgresNodeRegistry fixture) : SchedulingTests(fixture), IClassFixture<PostgresNodeRegistry>;
