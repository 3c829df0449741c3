using System.Text.Json.Nodes;
using Registry.Node.Agent;
using Registry.Node.Tests.Cli;
using Registry.Node.Tests.Runtime;
using Registry.Testing;

namespace Registry.Node.Tests.Agent;

/// <summary>
/// The log shipper reading a real container's <c>container.log</c> and sending it to
/// <see cref="ProtocolServer"/> over HTTP, with its offsets in the node root's <c>agent/logs.json</c>.
/// </summary>
[Collection(ContainerTestCollection.Name)]
public sealed class LogShipperTests(RuntimeImageFixture fixture) : IClassFixture<RuntimeImageFixture>, IAsyncLifetime, IDisposable
{
    private const int LineCount = 2500;

    private readonly string _name = $"ship-{Guid.NewGuid():N}"[..20];
    private ProtocolServer _server = null!;
    private NodeServerClient _client = null!;
    private string _credential = null!;
    private ManagedContainer _container = null!;

    public async Task InitializeAsync()
    {
        _server = ProtocolServer.Start();
        _credential = _server.AddNode("node-a");
        _client = new NodeServerClient(new Uri(_server.Url), _credential);
        // Lines of different lengths, on both streams.
        (await fixture.RunAsync("run", "-d", "--network", "none", "--name", _name, RuntimeImageFixture.Reference, "sh", "-c",
            $"i=1; while [ $i -le {LineCount} ]; do if [ $((i % 7)) -eq 0 ]; then echo \"line $i to stderr\" >&2; else echo \"line $i $(seq -s . 1 $((i % 13)))\"; fi; i=$((i + 1)); done")).EnsureSuccess();
        var directory = fixture.ContainerDirectory(_name);
        _container = new ManagedContainer { Id = Path.GetFileName(directory), Placement = 3, Created = true };
        await WaitForExitAsync();
    }

    public async Task DisposeAsync()
    {
        await fixture.RunAsync("rm", "-f", _name);
        await _server.DisposeAsync();
        var agent = Path.Combine(fixture.Root, "agent");
        if (Directory.Exists(agent))
        {
            Directory.Delete(agent, recursive: true);
        }
    }

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task Every_line_reaches_the_registry_once_in_batches_of_at_most_a_thousand()
    {
        var shipper = new LogShipper(new AgentFiles(fixture.Root), fixture.Root);
        var requests = new List<int>();

        while (await shipper.ShipAsync([_container], (request, ct) => SendAsync(request, requests, ct), CancellationToken.None))
        {
        }

        AssertAllLinesOnce();
        Assert.Equal(0, _server.DuplicateLines);
        Assert.Equal(new List<int> { 1000, 1000, 500 }, requests);
        Assert.Equal(new FileInfo(LogFile).Length, shipper.OffsetOf(_container.Id, _container.Placement));
        Assert.Equal("0600", FileModes.Of(Path.Combine(fixture.Root, "agent", "logs.json")));
        // Nothing new: nothing is sent.
        Assert.False(await shipper.ShipAsync([_container], (request, ct) => SendAsync(request, requests, ct), CancellationToken.None));
        Assert.Equal(3, requests.Count);
    }

    [Fact]
    public async Task A_second_shipper_process_goes_on_from_logs_json_and_a_lost_answer_costs_no_line()
    {
        var files = new AgentFiles(fixture.Root);
        var first = new LogShipper(files, fixture.Root);
        await first.ShipAsync([_container], _client.PostLogsAsync, CancellationToken.None);
        // The registry stores the second batch but its answer never arrives; this shipper ends there.
        _server.LoseLogAnswers = 1;
        await Assert.ThrowsAsync<NodeServerException>(() => first.ShipAsync([_container], _client.PostLogsAsync, CancellationToken.None));
        Assert.Equal(2000, _server.Lines(_container.Id, _container.Placement).Count);
        var acknowledged = first.OffsetOf(_container.Id, _container.Placement);

        // The second shipper is the agent, a process of its own that knows the container from containers.json.
        files.WriteIdentity(new NodeIdentity($"{_server.Url}/", "node-a", _credential, 1));
        new ManagedContainers(files).Put(_container with { StartSerial = 1 });
        _server.SetDesired(new JsonObject
        {
            ["id"] = _container.Id,
            ["placement"] = _container.Placement,
            ["image"] = RuntimeImageFixture.Reference,
            ["desired"] = "running",
            ["startSerial"] = 1,
        });
        await using (var agent = ChildProcess.Start(
            NodeCliProcess.Executable, ["--root", fixture.Root, "agent"], new Dictionary<string, string?> { ["REGISTRY_NODE_ROOT"] = null }))
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (_server.Lines(_container.Id, _container.Placement).Count < LineCount)
            {
                Assert.True(DateTime.UtcNow < deadline && !agent.HasExited, agent.Output);
                await Task.Delay(100);
            }

            await agent.StopAsync(TimeSpan.FromSeconds(20));
        }

        Assert.True(acknowledged > 0);
        AssertAllLinesOnce();
        // Only the batch whose answer was lost went twice, and the registry stored it once.
        Assert.Equal(1000, _server.DuplicateLines);
        Assert.Equal(new FileInfo(LogFile).Length, new LogShipper(files, fixture.Root).OffsetOf(_container.Id, _container.Placement));
    }

    [Fact]
    public async Task A_container_of_another_placement_starts_from_the_beginning()
    {
        var shipper = new LogShipper(new AgentFiles(fixture.Root), fixture.Root);
        await shipper.ShipAsync([_container], _client.PostLogsAsync, CancellationToken.None);

        Assert.Equal(0, shipper.OffsetOf(_container.Id, _container.Placement + 1));
        Assert.Single(JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(fixture.Root, "agent", "logs.json")))!["containers"]!.AsArray());
        // A container no longer managed is forgotten.
        await shipper.ShipAsync([], _client.PostLogsAsync, CancellationToken.None);
        Assert.Empty(JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(fixture.Root, "agent", "logs.json")))!["containers"]!.AsArray());
    }

    private string LogFile => Path.Combine(fixture.ContainerDirectory(_name), "container.log");

    private Task<LogsAnswer> SendAsync(LogsRequest request, List<int> sizes, CancellationToken cancellationToken)
    {
        sizes.Add(request.Containers.Sum(c => c.Lines.Count));
        return _client.PostLogsAsync(request, cancellationToken);
    }

    private void AssertAllLinesOnce()
    {
        var lines = _server.Lines(_container.Id, _container.Placement);
        Assert.Equal(LineCount, lines.Count);
        var offsets = lines.Select(l => (long)l["offset"]!).ToList();
        Assert.Equal(0, offsets[0]);
        Assert.True(offsets.Zip(offsets.Skip(1)).All(p => p.First < p.Second));
        // stdout and stderr are read apart, so their lines may interleave out of order: each number once, on its stream.
        var numbered = lines.Select(l => (Number: int.Parse(((string)l["text"]!).Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), Line: l))
            .OrderBy(l => l.Number).ToList();
        Assert.Equal(Enumerable.Range(1, LineCount), numbered.Select(l => l.Number));
        Assert.All(numbered, l => Assert.Equal(l.Number % 7 == 0 ? "stderr" : "stdout", (string?)l.Line["stream"]));
        Assert.All(lines, l => Assert.DoesNotContain("\n", (string?)l["text"], StringComparison.Ordinal));

        // Each offset is where the line starts in the file.
        var bytes = File.ReadAllBytes(LogFile);
        Assert.All(offsets.Skip(1), o => Assert.Equal((byte)'\n', bytes[o - 1]));
    }

    private async Task WaitForExitAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!(await fixture.RunAsync("ps", "-a")).StandardOutput.Split('\n').Any(l => l.EndsWith(_name, StringComparison.Ordinal) && l.Contains("Exited", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "the container did not exit");
            await Task.Delay(100);
        }
    }
}
