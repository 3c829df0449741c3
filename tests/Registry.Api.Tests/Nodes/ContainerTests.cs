using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Registry.Api.Nodes;
using Registry.Api.Tests.Infrastructure;
using Registry.Storage.Metadata;

namespace Registry.Api.Tests.Nodes;

/// <summary>
/// Containers through the API and the node protocol, on SQLite and PostgreSQL: observed state from heartbeats, the
/// desired state a node is given, who may see and change a container, what an image must be, and the logs.
/// </summary>
public abstract class ContainerTests(NodeRegistry fixture)
{
    private static readonly string[] ExitThree = ["sh", "-c", "exit 3"];
    private static readonly string[] RootBind = ["/:/host"];
    private static readonly string[] NamedVolumes = ["data:/data", "cache:/cache:ro"];
    private static readonly string[] HostBind = ["/srv/data:/data:ro"];

    private readonly RegistryFactory _registry = fixture.Factory;

    [Fact]
    public async Task ObservedStateFlowsFromTheHeartbeatToTheContainer()
    {
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var node = await _registry.NewNodeAsync();
        using var other = await _registry.NewNodeAsync();
        var id = (await api.RunOkAsync(new { image, node = node.Name, command = ExitThree, env = new Dictionary<string, string> { ["A"] = "1" } }))
            .GetProperty("id").GetString()!;
        var desired = await node.DesiredContainerAsync(id);
        var started = DateTimeOffset.UtcNow.AddSeconds(-1);

        await node.HeartbeatAsync(new { id, placement = 1, state = "running", exitCode = (int?)null, restartCount = 0, startedAt = started });
        var running = await api.GetContainerAsync(id);
        await other.HeartbeatAsync(new { id, placement = 1, state = "failed", error = "not mine" });
        await node.HeartbeatAsync(new { id, placement = 7, state = "failed", error = "an old placement" });
        var unchanged = await api.GetContainerAsync(id);
        await node.HeartbeatAsync(new { id, placement = 1, state = "exited", exitCode = 3, restartCount = 2, startedAt = started, finishedAt = DateTimeOffset.UtcNow });
        var exited = await api.GetContainerAsync(id);

        Assert.Equal(["sh", "-c", "exit 3"], desired.GetProperty("command").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(["A=1"], desired.GetProperty("env").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("running", desired.GetProperty("desired").GetString());
        Assert.Equal("running", running.State());
        Assert.Equal(started.UtcDateTime, running.GetProperty("startedAt").GetDateTime().ToUniversalTime(), TimeSpan.FromMilliseconds(1));
        Assert.Equal("running", unchanged.State());
        Assert.Equal(JsonValueKind.Null, unchanged.GetProperty("error").ValueKind);
        Assert.Equal("exited", exited.State());
        Assert.Equal(3, exited.GetProperty("exitCode").GetInt32());
        Assert.Equal(2, exited.GetProperty("restartCount").GetInt32());
        api.Dispose();
    }

    [Fact]
    public async Task AHeartbeatWithAnUnknownStateIsRefused()
    {
        using var node = await _registry.NewNodeAsync();

        using var response = await node.PostHeartbeatAsync(new { id = "x", placement = 1, state = "sleeping" });

        await NodeApi.AssertApiErrorAsync(response, HttpStatusCode.BadRequest, "INVALID", "state");
    }

    [Fact]
    public async Task StopStartAndRestartChangeWhatTheNodeIsToldAndAreAudited()
    {
        var (user, api, image, _) = await _registry.UserWithImageAsync();
        using var node = await _registry.NewNodeAsync();
        var id = (await api.RunOkAsync(new { image, node = node.Name, restart = "always" })).GetProperty("id").GetString()!;
        var before = await node.DesiredAsync();

        using var stop = await api.PostAsync($"/api/v1/containers/{id}/stop", null);
        var stopped = await node.DesiredContainerAsync(id);
        var afterStop = (await node.DesiredAsync()).GetProperty("generation").GetInt64();
        using var start = await api.PostAsync($"/api/v1/containers/{id}/start", null);
        var started = await node.DesiredContainerAsync(id);
        using var restart = await api.PostAsync($"/api/v1/containers/{id}/restart", null);
        var restarted = await node.DesiredContainerAsync(id);
        using var delete = await api.DeleteAsync($"/api/v1/containers/{id}");
        var gone = await node.DesiredAsync();
        using var admin = _registry.CreateAdminApiClient();
        var audit = (await admin.GetFromJsonAsync<JsonElement[]>($"/api/v1/audit?actor={user.Name}"))!
            .Where(e => e.GetProperty("target").GetString() == id).Select(e => e.GetProperty("action").GetString());

        Assert.Equal("stopped", (await NodeApi.ReadAsync(stop, HttpStatusCode.OK, "stop")).GetProperty("desired").GetString());
        Assert.Equal("stopped", stopped.GetProperty("desired").GetString());
        Assert.True(afterStop > before.GetProperty("generation").GetInt64());
        Assert.Equal("running", started.GetProperty("desired").GetString());
        Assert.Equal(stopped.GetProperty("startSerial").GetInt32() + 1, started.GetProperty("startSerial").GetInt32());
        Assert.Equal(started.GetProperty("startSerial").GetInt32() + 1, restarted.GetProperty("startSerial").GetInt32());
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        Assert.Empty(gone.GetProperty("containers").EnumerateArray());
        Assert.Equal(["container.delete", "container.restart", "container.start", "container.stop", "container.create"], audit);
        api.Dispose();
    }

    [Fact]
    public async Task AnotherUserCannotSeeStopOrDeleteMyContainer()
    {
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var node = await _registry.NewNodeAsync();
        var id = (await api.RunOkAsync(new { image, node = node.Name })).GetProperty("id").GetString()!;
        var bob = await _registry.NewUserAsync();
        using var bobApi = _registry.CreateApiClient(bob.Name, bob.Password);
        using var admin = _registry.CreateAdminApiClient();

        using var get = await bobApi.GetAsync($"/api/v1/containers/{id}");
        using var stop = await bobApi.PostAsync($"/api/v1/containers/{id}/stop", null);
        using var logs = await bobApi.GetAsync($"/api/v1/containers/{id}/logs");
        using var delete = await bobApi.DeleteAsync($"/api/v1/containers/{id}");
        var bobsList = (await bobApi.GetFromJsonAsync<JsonElement[]>("/api/v1/containers"))!;
        var adminList = (await admin.GetFromJsonAsync<JsonElement[]>($"/api/v1/containers?node={node.Name}"))!;
        var mine = await api.GetContainerAsync(id);

        foreach (var refused in new[] { get, stop, logs, delete })
        {
            await NodeApi.AssertApiErrorAsync(refused, HttpStatusCode.NotFound, "NOT_FOUND", $"there is no container {id}");
        }

        Assert.Empty(bobsList);
        Assert.Equal([id], adminList.Select(c => c.GetProperty("id").GetString()));
        Assert.Equal("running", mine.GetProperty("desired").GetString());
        api.Dispose();
    }

    [Fact]
    public async Task BindMountsAreForAdministratorsOnly()
    {
        var (user, api, image, _) = await _registry.UserWithImageAsync();
        using var node = await _registry.NewNodeAsync();
        using var admin = _registry.CreateAdminApiClient();

        using var bind = await api.RunAsync(new { image, node = node.Name, volumes = RootBind });
        var named = await api.RunOkAsync(new { image, node = node.Name, volumes = NamedVolumes });
        var byAdmin = await admin.RunOkAsync(new { image, node = node.Name, volumes = HostBind });
        var mine = (await api.GetFromJsonAsync<JsonElement[]>("/api/v1/containers"))!;

        await NodeApi.AssertApiErrorAsync(bind, HttpStatusCode.Forbidden, "DENIED", "bind mounts");
        Assert.Equal(["data:/data", "cache:/cache:ro"], named.GetProperty("volumes").EnumerateArray().Select(v => v.GetString()));
        Assert.Equal(user.Name, named.GetProperty("createdBy").GetString());
        Assert.Equal(RegistryFactory.Admin, byAdmin.GetProperty("createdBy").GetString());
        Assert.Single(mine);
        api.Dispose();

        // On the node a named volume is its user's own: another user's "data" is another volume; a bind mount is as given.
        var (_, otherApi, otherImage, _) = await _registry.UserWithImageAsync();
        var others = await otherApi.RunOkAsync(new { image = otherImage, node = node.Name, volumes = NamedVolumes });
        var mineOnNode = (await node.DesiredContainerAsync(named.GetProperty("id").GetString()!)).GetProperty("volumes").EnumerateArray().Select(v => v.GetString()!).ToList();
        var othersOnNode = (await node.DesiredContainerAsync(others.GetProperty("id").GetString()!)).GetProperty("volumes").EnumerateArray().Select(v => v.GetString()!).ToList();
        Assert.All(mineOnNode.Concat(othersOnNode), v => Assert.Matches("^u[0-9]+-(data:/data|cache:/cache:ro)$", v));
        Assert.Empty(mineOnNode.Intersect(othersOnNode));
        Assert.Equal(HostBind, (await node.DesiredContainerAsync(byAdmin.GetProperty("id").GetString()!)).GetProperty("volumes").EnumerateArray().Select(v => v.GetString()));
        otherApi.Dispose();
    }

    [Theory]
    [InlineData(":v2", HttpStatusCode.NotFound, "MANIFEST_UNKNOWN")]
    [InlineData("-nothing:v1", HttpStatusCode.NotFound, "MANIFEST_UNKNOWN")]
    [InlineData(":Bad Tag", HttpStatusCode.BadRequest, "INVALID")]
    [InlineData("@sha256:123", HttpStatusCode.BadRequest, "INVALID")]
    public async Task AnImageThatIsNotThereOrMalformedIsRefused(string suffix, HttpStatusCode status, string code)
    {
        var (user, api, _, _) = await _registry.UserWithImageAsync();
        using var node = await _registry.NewNodeAsync();

        using var response = await api.RunAsync(new { image = $"{user.Name}/app{suffix}", node = node.Name });

        await NodeApi.AssertApiErrorAsync(response, status, code);
        Assert.Empty((await api.GetFromJsonAsync<JsonElement[]>("/api/v1/containers"))!);
        api.Dispose();
    }

    [Fact]
    public async Task AnotherUsersPrivateImageIsUnknownAndTheirPublicOneRuns()
    {
        var (alice, aliceApi, image, _) = await _registry.UserWithImageAsync();
        var bob = await _registry.NewUserAsync();
        using var bobApi = _registry.CreateApiClient(bob.Name, bob.Password);
        using var node = await _registry.NewNodeAsync();

        using var hidden = await bobApi.RunAsync(new { image, node = node.Name });
        await _registry.SetVisibilityAsync(alice, $"{alice.Name}/app", "public");
        using var shown = await bobApi.RunAsync(new { image, node = node.Name });

        await NodeApi.AssertApiErrorAsync(hidden, HttpStatusCode.NotFound, "MANIFEST_UNKNOWN");
        Assert.Equal(HttpStatusCode.Created, shown.StatusCode);
        aliceApi.Dispose();
    }

    [Fact]
    public async Task LogsAreStoredOnceAndReadWithTailAndSince()
    {
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var node = await _registry.NewNodeAsync();
        var id = (await api.RunOkAsync(new { image, node = node.Name })).GetProperty("id").GetString()!;

        var ack = await node.SendLogsAsync(id, 1, (0, "one"), (4, "two"));
        await node.SendLogsAsync(id, 1, (0, "one"), (4, "two"));
        await Task.Delay(50);
        var between = DateTimeOffset.UtcNow;
        await Task.Delay(50);
        await node.SendLogsAsync(id, 1, (4, "two"), (8, "three"));
        await node.SendLogsAsync(id, 9, (12, "from a placement that is not the container's"));

        var all = await api.GetStringAsync($"/api/v1/containers/{id}/logs");
        var tail = await api.GetStringAsync($"/api/v1/containers/{id}/logs?tail=2");
        var since = await api.GetStringAsync($"/api/v1/containers/{id}/logs?since={Uri.EscapeDataString(between.ToString("O"))}");

        Assert.Equal(4, ack.GetProperty("containers")[0].GetProperty("acked").GetInt64());
        Assert.Equal("one\ntwo\nthree\n", all);
        Assert.Equal("two\nthree\n", tail);
        Assert.Equal("three\n", since);
        api.Dispose();
    }

    [Fact]
    public async Task FollowingLogsShowsNewLinesAndEndsWhenTheContainerIsRemoved()
    {
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var node = await _registry.NewNodeAsync();
        var id = (await api.RunOkAsync(new { image, node = node.Name })).GetProperty("id").GetString()!;
        await node.SendLogsAsync(id, 1, (0, "before"));

        using var response = await api.GetAsync($"/api/v1/containers/{id}/logs?follow=true", HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var first = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await node.SendLogsAsync(id, 1, (7, "after"));
        var second = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));
        using (var delete = await api.DeleteAsync($"/api/v1/containers/{id}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        }

        var end = await reader.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal("text/plain; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        Assert.Equal("before", first);
        Assert.Equal("after", second);
        Assert.Null(end);
        api.Dispose();
    }

    [Fact]
    public async Task TrimmingKeepsTheNewestLinesOfAContainer()
    {
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var node = await _registry.NewNodeAsync();
        var id = (await api.RunOkAsync(new { image, node = node.Name })).GetProperty("id").GetString()!;
        var otherId = (await api.RunOkAsync(new { image, node = node.Name })).GetProperty("id").GetString()!;
        await node.SendLogsAsync(id, 1, (0, "a"), (2, "b"), (4, "c"), (6, "d"), (8, "e"));
        await node.SendLogsAsync(otherId, 1, (0, "x"), (2, "y"));

        await using (var scope = _registry.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
            await NodeLogTrimmer.TrimAsync(db, id, keep: 3, CancellationToken.None);
            await NodeLogTrimmer.TrimAsync(db, otherId, keep: 3, CancellationToken.None);
        }

        Assert.Equal("c\nd\ne\n", await api.GetStringAsync($"/api/v1/containers/{id}/logs"));
        Assert.Equal("x\ny\n", await api.GetStringAsync($"/api/v1/containers/{otherId}/logs"));
        api.Dispose();
    }

    [Fact]
    public async Task TooManyLogLinesInOneRequestAreRefused()
    {
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var node = await _registry.NewNodeAsync();
        var id = (await api.RunOkAsync(new { image, node = node.Name })).GetProperty("id").GetString()!;

        using var response = await node.Client.PostAsJsonAsync("/api/v1/node/logs", new
        {
            containers = new[] { new { id, placement = 1, lines = Enumerable.Range(0, 1001).Select(i => new { offset = i, stream = "stdout", time = DateTimeOffset.UtcNow, text = "x" }).ToArray() } },
        });

        await NodeApi.AssertApiErrorAsync(response, HttpStatusCode.BadRequest, "INVALID", "at most 1000 lines");
        Assert.Equal(string.Empty, await api.GetStringAsync($"/api/v1/containers/{id}/logs"));
        api.Dispose();
    }
}

public sealed class SqliteContainerTests(SqliteNodeRegistry fixture) : ContainerTests(fixture), IClassFixture<SqliteNodeRegistry>;

public sealed class PostgresContainerTests(PostgresNodeRegistry fixture) : ContainerTests(fixture), IClassFixture<PostgresNodeRegistry>;
