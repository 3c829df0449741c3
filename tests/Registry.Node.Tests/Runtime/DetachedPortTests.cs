using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Registry.Testing;

namespace Registry.Node.Tests.Runtime;

/// <summary>
/// <c>run -d -p</c>: the supervisor owns the port forwarder, so the port answers after the CLI
/// exited, survives restarts, and closes — with no forwarder left — however the container ends.
/// </summary>
[Collection(ContainerTestCollection.Name)]
public sealed class DetachedPortTests(RuntimeImageFixture fixture) : IClassFixture<RuntimeImageFixture>
{
    private const string Image = RuntimeImageFixture.Reference;
    private const string Www = "mkdir -p /www && echo \"hello from $(hostname)\" > /www/index.html";

    [Fact]
    public async Task A_detached_published_port_answers_and_stop_closes_it_and_ends_the_forwarder()
    {
        var (name, port, forwarder) = await RunWebAsync($"{Www} && exec busybox httpd -f -p 80 -h /www");

        Assert.Equal($"hello from {name}\n", await GetAsync(port));
        (await fixture.RunAsync("stop", "-t", "1", name)).EnsureSuccess();

        AssertRefused(port);
        Assert.False(IsRunning(forwarder), $"the forwarder (pid {forwarder}) still runs");
        (await fixture.RunAsync("rm", name)).EnsureSuccess();
    }

    [Fact]
    public async Task Rm_f_of_a_running_container_closes_its_port_and_gives_its_address_back()
    {
        var (name, port, forwarder) = await RunWebAsync($"{Www} && exec busybox httpd -f -p 80 -h /www");
        Assert.Equal($"hello from {name}\n", await GetAsync(port));
        var id = Path.GetFileName(fixture.ContainerDirectory(name));

        (await fixture.RunAsync("rm", "-f", name)).EnsureSuccess();

        AssertRefused(port);
        Assert.False(IsRunning(forwarder), $"the forwarder (pid {forwarder}) still runs");
        var leases = Path.Combine(fixture.Root, "networks", "bridge", "leases");
        Assert.DoesNotContain(Directory.EnumerateFiles(leases), f => File.ReadAllText(f).StartsWith(id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_container_that_exits_by_itself_releases_its_port()
    {
        var (name, port, forwarder) = await RunWebAsync($"{Www} && busybox httpd -p 80 -h /www && sleep 2");
        Assert.Equal($"hello from {name}\n", await GetAsync(port));

        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (IsRunning(forwarder) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.False(IsRunning(forwarder), $"the forwarder (pid {forwarder}) still runs");
        AssertRefused(port);
        (await fixture.RunAsync("rm", name)).EnsureSuccess();
    }

    [Fact]
    public async Task Restarts_keep_the_forwarder_and_the_port()
    {
        // Each run serves for a second and fails; "always" starts it again.
        var (name, port, forwarder) = await RunWebAsync($"{Www} && busybox httpd -p 80 -h /www && sleep 1; exit 1", "--restart", "always");
        Assert.Equal($"hello from {name}\n", await GetAsync(port));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (RestartCount(name) < 1 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.True(RestartCount(name) >= 1, "the container was not restarted");
        Assert.Equal($"hello from {name}\n", await GetAsync(port));
        Assert.True(IsRunning(forwarder), "the forwarder did not survive the restart");
        Assert.Equal(forwarder, ForwarderOf(name));

        (await fixture.RunAsync("rm", "-f", name)).EnsureSuccess();
        AssertRefused(port);
        Assert.False(IsRunning(forwarder), $"the forwarder (pid {forwarder}) still runs");
    }

    private async Task<(string Name, int Port, (int Pid, ulong StartTime) Forwarder)> RunWebAsync(string script, params string[] options)
    {
        var name = $"dport-{Guid.NewGuid():N}"[..18];
        var port = FreePort.Get();
        var run = await fixture.RunAsync(["run", "-d", "--name", name, "-p", $"{port}:80", .. options, Image, "sh", "-c", script]);
        Assert.True(run.ExitCode == 0, run.ToString());
        return (name, port, ForwarderOf(name));
    }

    private (int Pid, ulong StartTime) ForwarderOf(string name)
    {
        using var network = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.ContainerDirectory(name), "network.json")));
        return (network.RootElement.GetProperty("forwarderPid").GetInt32(), network.RootElement.GetProperty("forwarderStartTime").GetUInt64());
    }

    private int RestartCount(string name)
    {
        using var state = JsonDocument.Parse(File.ReadAllText(Path.Combine(fixture.ContainerDirectory(name), "state.json")));
        return state.RootElement.TryGetProperty("restartCount", out var count) ? count.GetInt32() : 0;
    }

    /// <summary>Alive with the recorded start time (field 22 of /proc/PID/stat), so a reused pid does not count.</summary>
    private static bool IsRunning((int Pid, ulong StartTime) process)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{process.Pid}/stat");
        }
        catch (IOException)
        {
            return false;
        }

        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields[0] != "Z" && fields[19] == process.StartTime.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>GET / on the published port, retried while the server in the container is still starting.</summary>
    private static async Task<string> GetAsync(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            try
            {
                return await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/"));
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }
    }

    private static void AssertRefused(int port)
    {
        var refused = Assert.ThrowsAny<SocketException>(() =>
        {
            using var socket = new TcpClient();
            socket.Connect(IPAddress.Loopback, port);
        });
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }
}
