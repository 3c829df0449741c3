using System.Text.Json.Nodes;
using Registry.Node.Tests.Cli;
using Registry.Node.Tests.Client;
using Registry.Node.Tests.Runtime;
using Registry.Testing;

namespace Registry.Node.Tests.Agent;

/// <summary>
/// <c>registry-node agent</c> as the built executable, joined to <see cref="ProtocolServer"/> and
/// pulling from our registry: heartbeats, the desired state made true, logs shipped, the registry
/// going away and coming back, SIGTERM, and a registry that forgot the node.
/// </summary>
[Collection(ContainerTestCollection.Name)]
public sealed class AgentProcessTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>, IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(45);

    private readonly NodeCliProcess _cli = new();
    private ProtocolServer _server = null!;

    public Task InitializeAsync()
    {
        _server = ProtocolServer.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var id in (await _cli.RunAsync("ps", "-a", "-q")).StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            await _cli.RunAsync("rm", "-f", id);
        }

        await _server.DisposeAsync();
        Registry.Node.Runtime.Cgroups.CgroupManager.ForHost().RemoveParentsIfEmpty();
    }

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task An_agent_of_a_node_that_has_not_joined_says_so_and_exits_1()
    {
        var result = await _cli.RunAsync("agent");

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("registry-node: this node has not joined a registry: run registry-node join\n", result.StandardError);
    }

    [Fact]
    public async Task The_agent_runs_what_the_registry_asks_rides_out_its_absence_and_leaves_containers_running_when_it_stops()
    {
        var image = await AgentTestImage.PushAsync(fixture);
        (await _cli.RunAsync("join", "--server", _server.Url, "--token", _server.JoinToken, "--name", "node-a")).EnsureSuccess();
        var id = AgentTestImage.NewId();
        var running = Container(image, id, "running", 1);

        await using (var agent = StartAgent())
        {
            var first = await _server.WaitForHeartbeatAsync(_ => true, WaitLimit);
            Assert.Equal(Environment.ProcessorCount, (int)first["capacity"]!["cpus"]!);
            Assert.Empty(first["containers"]!.AsArray());

            _server.SetDesired(running);
            await WaitForStateAsync(id, "running");
            await WaitForLineAsync(id, "hello from the agent");

            // The registry goes away: the container keeps running; the stop asked meanwhile is done when it is back.
            _server.Away = true;
            _server.SetDesired(Container(image, id, "stopped", 1));
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.Contains("Up ", await PsLineAsync(id), StringComparison.Ordinal);
            _server.Away = false;
            await WaitForStateAsync(id, "exited");

            _server.SetDesired(Container(image, id, "running", 2));
            await WaitForStateAsync(id, "running");

            await agent.StopAsync(TimeSpan.FromSeconds(20));
            Assert.True(agent.HasExited);
            Assert.Equal(0, agent.ExitCode);
            Assert.Contains("registry-node agent: stopped; the containers keep running", agent.Output, StringComparison.Ordinal);
            Assert.Contains("the registry answers again", agent.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(image.PullToken, agent.Output, StringComparison.Ordinal);
            Assert.DoesNotContain((string)JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(_cli.Root, "agent", "node.json")))!["credential"]!, agent.Output, StringComparison.Ordinal);
        }

        Assert.Contains("Up ", await PsLineAsync(id), StringComparison.Ordinal);

        // The node is removed on the registry: the next agent exits 1 and leaves the container alone.
        _server.RemoveNodes();
        await using (var agent = StartAgent())
        {
            using var timeout = new CancellationTokenSource(WaitLimit);
            await agent.WaitForExitAsync(timeout.Token);
            Assert.Equal(1, agent.ExitCode);
            Assert.Contains("the registry no longer knows this node (removed?); run registry-node join again", agent.Output, StringComparison.Ordinal);
        }

        Assert.Contains("Up ", await PsLineAsync(id), StringComparison.Ordinal);
    }

    private ChildProcess StartAgent() =>
        ChildProcess.Start(
            NodeCliProcess.Executable,
            ["--root", _cli.Root, "agent"],
            new Dictionary<string, string?> { ["DOCKER_CONFIG"] = _cli.DockerConfig, ["REGISTRY_NODE_ROOT"] = null });

    private static JsonObject Container(AgentTestImage image, string id, string desired, long startSerial) => new()
    {
        ["id"] = id,
        ["placement"] = 1,
        ["image"] = image.Image,
        ["reference"] = $"{image.Repository}:v1",
        ["command"] = new JsonArray("sh", "-c", "trap 'exit 0' TERM; echo hello from the agent; while true; do sleep 0.1; done"),
        ["env"] = new JsonArray("K=V"),
        ["ports"] = new JsonArray(),
        ["volumes"] = new JsonArray(),
        ["memory"] = 64L * 1024 * 1024,
        ["cpus"] = 0.5,
        ["pids"] = 100,
        ["restart"] = "unless-stopped",
        ["desired"] = desired,
        ["startSerial"] = startSerial,
        ["pullToken"] = image.PullToken,
        ["pullTokenExpiresAt"] = DateTimeOffset.UtcNow.AddMinutes(10).ToString("O", System.Globalization.CultureInfo.InvariantCulture),
    };

    private Task<JsonObject> WaitForStateAsync(string id, string state) =>
        _server.WaitForHeartbeatAsync(h => (string?)ProtocolServer.ContainerIn(h, id)?["state"] == state && _server.Heartbeats[^1] == h, WaitLimit);

    private async Task WaitForLineAsync(string id, string text)
    {
        var deadline = DateTime.UtcNow + WaitLimit;
        while (!_server.Lines(id, 1).Any(l => (string?)l["text"] == text))
        {
            Assert.True(DateTime.UtcNow < deadline, $"'{text}' did not reach the registry");
            await Task.Delay(100);
        }
    }

    private async Task<string> PsLineAsync(string id) =>
        (await _cli.RunAsync("ps", "-a")).StandardOutput.Split('\n').Single(l => l.EndsWith($"node-{id[..12]}", StringComparison.Ordinal));
}
