using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Api.Tests.Infrastructure;

namespace Registry.Api.Tests.Nodes;

/// <summary>
/// What happens when nodes stop reporting, on SQLite and PostgreSQL, with NotReadyAfter and PendingTimeout of two
/// seconds: status, rescheduling of what may move and nothing else, failures with their reasons.
/// </summary>
public abstract class NodeFailureTests(NodeRegistry fixture)
{
    private const long GiB = 1L << 30;

    private readonly RegistryFactory _registry = fixture.Factory;

    [Fact]
    public async Task HeartbeatsKeepANodeReadyAndTheirAbsenceMakesItNotReady()
    {
        using var node = await _registry.NewNodeAsync();
        var answer = await node.HeartbeatAsync();
        var ready = await _registry.GetNodeAsync(node.Name);

        var notReady = await NodeApi.EventuallyAsync(
            () => _registry.GetNodeAsync(node.Name), n => n.GetProperty("status").GetString() == "NotReady", "NotReady");
        await node.HeartbeatAsync();
        var back = await _registry.GetNodeAsync(node.Name);

        Assert.Equal(1, answer.GetProperty("heartbeatSeconds").GetInt32());
        Assert.Equal("Ready", ready.GetProperty("status").GetString());
        Assert.Equal("test", ready.GetProperty("agentVersion").GetString());
        Assert.Equal("NotReady", notReady.GetProperty("status").GetString());
        Assert.Equal("Ready", back.GetProperty("status").GetString());
    }

    [Fact]
    public async Task AnUnpinnedAlwaysContainerMovesWhenItsNodeTurnsNotReady()
    {
        var zone = RegistryAccounts.UniqueName("z");
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var lost = await _registry.NewNodeAsync(new { zone }, memory: 16 * GiB);
        using var spare = await _registry.NewNodeAsync(new { zone }, memory: 8 * GiB);
        using var alive = KeepAlive(spare);
        await lost.HeartbeatAsync();
        var id = (await api.RunOkAsync(new { image, selector = new { zone }, memory = "1g", restart = "always" })).GetProperty("id").GetString()!;
        Assert.Equal(lost.Name, (await api.GetContainerAsync(id)).NodeOf());
        await lost.HeartbeatAsync(new { id, placement = 1, state = "running", restartCount = 0 });

        var moved = await NodeApi.EventuallyAsync(() => api.GetContainerAsync(id), c => c.NodeOf() == spare.Name, "the move");
        var onSpare = await spare.DesiredContainerAsync(id);
        var leftBehind = await lost.DesiredAsync();
        var lostStatus = await _registry.GetNodeAsync(lost.Name);

        // The new node reports it; then the lost node comes back and reports its old copy, of another placement: that
        // changes nothing.
        await spare.HeartbeatAsync(new { id, placement = 2, state = "running", restartCount = 0 });
        await lost.HeartbeatAsync(new { id, placement = 1, state = "exited", exitCode = 137, restartCount = 0 });
        var after = await api.GetContainerAsync(id);

        Assert.Equal(1, moved.GetProperty("restartCount").GetInt32());
        Assert.Equal(2, onSpare.GetProperty("placement").GetInt32());
        Assert.Empty(leftBehind.GetProperty("containers").EnumerateArray());
        Assert.Equal(0, lostStatus.GetProperty("allocated").GetProperty("memoryBytes").GetInt64());
        Assert.Equal("running", after.State());
        Assert.Equal(spare.Name, after.NodeOf());
        Assert.Equal(1, after.GetProperty("restartCount").GetInt32());
        api.Dispose();
    }

    [Fact]
    public async Task PinnedAndRestartNoContainersStayOnTheirNode()
    {
        var zone = RegistryAccounts.UniqueName("z");
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var lost = await _registry.NewNodeAsync(new { zone }, memory: 16 * GiB);
        using var spare = await _registry.NewNodeAsync(new { zone }, memory: 8 * GiB);
        using var alive = KeepAlive(spare);
        await lost.HeartbeatAsync();
        var pinned = (await api.RunOkAsync(new { image, node = lost.Name, restart = "always" })).GetProperty("id").GetString()!;
        var once = (await api.RunOkAsync(new { image, selector = new { zone }, restart = "no" })).GetProperty("id").GetString()!;
        await lost.HeartbeatAsync(new { id = pinned, placement = 1, state = "running" }, new { id = once, placement = 1, state = "running" });

        await NodeApi.EventuallyAsync(() => _registry.GetNodeAsync(lost.Name), n => n.GetProperty("status").GetString() == "NotReady", "NotReady");
        await Task.Delay(TimeSpan.FromSeconds(5)); // more than two rounds of the monitor

        Assert.Equal(lost.Name, (await api.GetContainerAsync(pinned)).NodeOf());
        Assert.Equal(lost.Name, (await api.GetContainerAsync(once)).NodeOf());
        Assert.Equal(0, (await api.GetContainerAsync(once)).GetProperty("restartCount").GetInt32());
        api.Dispose();
    }

    [Fact]
    public async Task AContainerFailsWithTheReasonWhenNoOtherNodeFits()
    {
        var zone = RegistryAccounts.UniqueName("z");
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var lost = await _registry.NewNodeAsync(new { zone });
        await lost.HeartbeatAsync();
        var id = (await api.RunOkAsync(new { image, selector = new { zone }, restart = "on-failure:3" })).GetProperty("id").GetString()!;
        await lost.HeartbeatAsync(new { id, placement = 1, state = "running" });

        var failed = await NodeApi.EventuallyAsync(() => api.GetContainerAsync(id), c => c.State() == "failed", "the failure");

        Assert.Null(failed.NodeOf());
        Assert.Contains($"node {lost.Name} is NotReady; no node fits: no Ready node matches selector zone={zone}", failed.GetProperty("error").GetString(), StringComparison.Ordinal);
        api.Dispose();
    }

    [Fact]
    public async Task AContainerItsNodeDoesNotReportFailsAfterThePendingTimeout()
    {
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var node = await _registry.NewNodeAsync();
        using var alive = KeepAlive(node);
        var id = (await api.RunOkAsync(new { image, node = node.Name })).GetProperty("id").GetString()!;

        var failed = await NodeApi.EventuallyAsync(() => api.GetContainerAsync(id), c => c.State() == "failed", "the pending timeout");

        Assert.Equal(node.Name, failed.NodeOf());
        Assert.Contains("did not report it within 00:00:02", failed.GetProperty("error").GetString(), StringComparison.Ordinal);
        api.Dispose();
    }

    [Fact]
    public async Task DrainingMovesUnpinnedContainersAndStopsPinnedOnes()
    {
        var zone = RegistryAccounts.UniqueName("z");
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var drained = await _registry.NewNodeAsync(new { zone }, memory: 16 * GiB);
        using var spare = await _registry.NewNodeAsync(new { zone }, memory: 8 * GiB);
        using var alive = KeepAlive(drained, spare);
        var free = (await api.RunOkAsync(new { image, selector = new { zone } })).GetProperty("id").GetString()!;
        var pinned = (await api.RunOkAsync(new { image, node = drained.Name })).GetProperty("id").GetString()!;
        using var admin = _registry.CreateAdminApiClient();

        using var drain = await admin.PostAsync($"/api/v1/nodes/{drained.Name}/drain", null);
        var moved = await api.GetContainerAsync(free);
        var stopped = await api.GetContainerAsync(pinned);

        Assert.Equal(HttpStatusCode.OK, drain.StatusCode);
        Assert.Equal(spare.Name, moved.NodeOf());
        Assert.Equal(drained.Name, stopped.NodeOf());
        Assert.Equal("stopped", stopped.GetProperty("desired").GetString());
        api.Dispose();
    }

    [Fact]
    public async Task RemovingANodeMovesItsContainersAndFailsThePinnedOnes()
    {
        var zone = RegistryAccounts.UniqueName("z");
        var (_, api, image, _) = await _registry.UserWithImageAsync();
        using var removed = await _registry.NewNodeAsync(new { zone }, memory: 16 * GiB);
        using var spare = await _registry.NewNodeAsync(new { zone }, memory: 8 * GiB);
        using var alive = KeepAlive(removed, spare);
        var free = (await api.RunOkAsync(new { image, selector = new { zone }, memory = "1g" })).GetProperty("id").GetString()!;
        var pinned = (await api.RunOkAsync(new { image, node = removed.Name })).GetProperty("id").GetString()!;
        using var admin = _registry.CreateAdminApiClient();

        using var remove = await admin.DeleteAsync($"/api/v1/nodes/{removed.Name}");
        var moved = await api.GetContainerAsync(free);
        var failed = await api.GetContainerAsync(pinned);
        var spareStatus = await _registry.GetNodeAsync(spare.Name);

        Assert.Equal(HttpStatusCode.NoContent, remove.StatusCode);
        Assert.Equal(spare.Name, moved.NodeOf());
        Assert.Null(failed.NodeOf());
        Assert.Equal("failed", failed.State());
        Assert.Contains($"node {removed.Name} was removed", failed.GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Equal(GiB, spareStatus.GetProperty("allocated").GetProperty("memoryBytes").GetInt64());
        api.Dispose();
    }

    /// <summary>Heartbeats for the nodes every half second, reporting no containers, until disposed.</summary>
    private static HeartbeatLoop KeepAlive(params TestNode[] nodes) => new(nodes);

    private sealed class HeartbeatLoop : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;

        public HeartbeatLoop(TestNode[] nodes)
        {
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    // A node the test removes answers 401 from then on; the others keep going.
                    foreach (var node in nodes)
                    {
                        using var response = await node.PostHeartbeatAsync();
                    }

                    await Task.Delay(500);
                }
            });
        }

        public void Dispose()
        {
            _stop.Cancel();
            _loop.GetAwaiter().GetResult();
            _stop.Dispose();
        }
    }
}

public sealed class SqliteNodeFailureTests(SqliteFastFailureRegistry fixture) : NodeFailureTests(fixture), IClassFixture<SqliteFastFailureRegistry>;

public sealed class PostgresNodeFailureTests(PostgresFastFailureRegistry fixture) : NodeFailureTests(fixture), IClassFixture<PostgresFastFailureRegistry>;
