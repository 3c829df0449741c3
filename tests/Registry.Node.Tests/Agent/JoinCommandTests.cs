using System.Text.Json.Nodes;
using Registry.Node.Agent;
using Registry.Node.Tests.Cli;
using Registry.Testing;

namespace Registry.Node.Tests.Agent;

/// <summary><c>registry-node join</c>, run as the built executable against <see cref="ProtocolServer"/>.</summary>
public sealed class JoinCommandTests : IAsyncLifetime, IDisposable
{
    private readonly NodeCliProcess _cli = new();
    private ProtocolServer _server = null!;

    private string NodeFile => Path.Combine(_cli.Root, "agent", "node.json");

    public Task InitializeAsync()
    {
        _server = ProtocolServer.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _cli.Dispose();

    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://registry.example.com")]
    [InlineData("registry.example.com:5000")]
    public async Task A_server_that_is_not_an_http_url_is_refused_in_one_line(string server)
    {
        var result = await _cli.RunAsync("join", "--server", server, "--token", _server.JoinToken);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"registry-node: --server must be an http or https URL, got '{server}'\n", result.StandardError);
        Assert.False(File.Exists(NodeFile));
    }

    [Fact]
    public async Task A_server_nothing_listens_on_fails_in_one_line()
    {
        var port = FreePort.Get();

        var result = await _cli.RunAsync("join", "--server", $"http://127.0.0.1:{port}", "--token", _server.JoinToken);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"registry-node: cannot join: cannot reach http://127.0.0.1:{port}/: ", result.StandardError, StringComparison.Ordinal);
        Assert.Single(result.StandardError.TrimEnd('\n').Split('\n'));
        Assert.False(File.Exists(NodeFile));
    }

    [Fact]
    public async Task A_join_keeps_the_credential_in_a_private_file_and_never_the_join_token()
    {
        var result = await _cli.RunAsync("join", "--server", _server.Url, "--token", _server.JoinToken, "--name", "node-a", "--label", "zone=a", "--label", "disk=ssd");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"joined {_server.Url}/ as node-a\n", result.StandardOutput);
        Assert.Equal("0700", FileModes.Of(Path.GetDirectoryName(NodeFile)!));
        Assert.Equal("0600", FileModes.Of(NodeFile));
        var stored = JsonNode.Parse(await File.ReadAllTextAsync(NodeFile))!.AsObject();
        Assert.Equal($"{_server.Url}/", (string?)stored["server"]);
        Assert.Equal("node-a", (string?)stored["name"]);
        Assert.StartsWith("regnode_", (string?)stored["credential"], StringComparison.Ordinal);
        foreach (var file in Directory.EnumerateFiles(_cli.Root, "*", SearchOption.AllDirectories))
        {
            Assert.DoesNotContain(_server.JoinToken, await File.ReadAllTextAsync(file), StringComparison.Ordinal);
        }

        Assert.DoesNotContain(_server.JoinToken, result.StandardOutput + result.StandardError, StringComparison.Ordinal);
        var join = Assert.Single(_server.Joins);
        Assert.Equal("a", (string?)join["labels"]!["zone"]);
        Assert.Equal("ssd", (string?)join["labels"]!["disk"]);
        Assert.Equal(Environment.ProcessorCount, (int)join["capacity"]!["cpus"]!);
        Assert.True((long)join["capacity"]!["memoryBytes"]! > 0);
        Assert.True((long)join["capacity"]!["diskFreeBytes"]! > 0);
        Assert.False(string.IsNullOrEmpty((string?)join["agentVersion"]));
        Assert.InRange(DateTimeOffset.Parse((string)join["time"]!, System.Globalization.CultureInfo.InvariantCulture), DateTimeOffset.UtcNow.AddMinutes(-1), DateTimeOffset.UtcNow);
    }

    [Fact]
    public async Task Without_a_name_the_node_is_named_after_its_host()
    {
        var result = await _cli.RunAsync("join", "--server", _server.Url, "--token", _server.JoinToken);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(NodeJoin.DefaultName(System.Net.Dns.GetHostName()), (string?)Assert.Single(_server.Joins)["name"]);
    }

    [Theory]
    [InlineData("Web01", "web01")]
    [InlineData("web_01.example.com", "web-01")]
    [InlineData("-edge-", "edge")]
    [InlineData("___", "node")]
    public void A_host_name_becomes_a_dns_label(string hostName, string expected) =>
        Assert.Equal(expected, NodeJoin.DefaultName(hostName));

    [Fact]
    public async Task An_unknown_token_prints_the_registrys_message()
    {
        var result = await _cli.RunAsync("join", "--server", _server.Url, "--token", "regjoin_unknown", "--name", "node-a");

        AssertRefused(result, "JOIN_TOKEN_INVALID: the join token is not known to this registry");
    }

    [Fact]
    public async Task A_used_token_prints_the_registrys_message()
    {
        (await _cli.RunAsync("join", "--server", _server.Url, "--token", _server.JoinToken, "--name", "node-a")).EnsureSuccess();
        File.Delete(NodeFile);

        var result = await _cli.RunAsync("join", "--server", _server.Url, "--token", _server.JoinToken, "--name", "node-b");

        AssertRefused(result, "JOIN_TOKEN_INVALID: the join token has been used");
    }

    [Fact]
    public async Task A_name_taken_prints_the_registrys_conflict()
    {
        _server.AddNode("node-a");

        var result = await _cli.RunAsync("join", "--server", _server.Url, "--token", _server.JoinToken, "--name", "node-a");

        AssertRefused(result, "CONFLICT: a node named node-a exists");
    }

    [Fact]
    public async Task A_bad_name_prints_the_registrys_invalid()
    {
        var result = await _cli.RunAsync("join", "--server", _server.Url, "--token", _server.JoinToken, "--name", "Node_A");

        AssertRefused(result, "INVALID: 'Node_A' is not a node name");
    }

    [Fact]
    public async Task A_clock_far_from_the_registrys_prints_the_registrys_clock_skew()
    {
        _server.ClockOffset = TimeSpan.FromMinutes(10);

        var result = await _cli.RunAsync("join", "--server", _server.Url, "--token", _server.JoinToken, "--name", "node-a");

        AssertRefused(result, "CLOCK_SKEW: the node's clock differs from the registry's by");
    }

    [Fact]
    public async Task A_node_that_joined_says_so_and_joins_again_only_with_force()
    {
        _server.JoinTokenUses = 2;
        (await _cli.RunAsync("join", "--server", _server.Url, "--token", _server.JoinToken, "--name", "node-a")).EnsureSuccess();
        var first = await File.ReadAllTextAsync(NodeFile);

        var again = await _cli.RunAsync("join", "--server", _server.Url, "--token", _server.JoinToken, "--name", "node-b");
        var forced = await _cli.RunAsync("join", "--server", _server.Url, "--token", _server.JoinToken, "--name", "node-b", "--force");

        Assert.Equal(1, again.ExitCode);
        Assert.Equal(
            $"registry-node: this node has already joined {_server.Url}/ as node-a ({NodeFile}); run registry-node join --force to join again\n",
            again.StandardError);
        Assert.True(forced.ExitCode == 0, forced.ToString());
        Assert.NotEqual(first, await File.ReadAllTextAsync(NodeFile));
        Assert.Equal("node-b", (string?)JsonNode.Parse(await File.ReadAllTextAsync(NodeFile))!["name"]);
        Assert.Equal(2, _server.Joins.Count);
    }

    private void AssertRefused(ProcessResult result, string message)
    {
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"registry-node: the registry refused the join: {message}", result.StandardError, StringComparison.Ordinal);
        Assert.Single(result.StandardError.TrimEnd('\n').Split('\n'));
        Assert.False(File.Exists(NodeFile));
    }
}
