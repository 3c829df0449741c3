using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Registry.Testing;

namespace Registry.Node.Tests.Runtime;

/// <summary>
/// <c>--network none|bridge</c> and <c>-p</c>, with real containers. The tests reach containers
/// only through 127.0.0.1 (published ports) or from other containers on the node's bridge, and
/// check that the host's own interfaces are the same before and after.
/// </summary>
[Collection(ContainerTestCollection.Name)]
public sealed class NetworkTests(RuntimeImageFixture fixture) : IClassFixture<RuntimeImageFixture>
{
    private const string Image = RuntimeImageFixture.Reference;

    // A web server that stays up until SIGTERM (pid 1 ignores signals it has no handler for).
    private const string ServeUntilTerm =
        "mkdir -p /www && echo \"hello from $(hostname)\" > /www/index.html && busybox httpd -p 8080 -h /www && trap 'exit 0' TERM && echo ready; while true; do sleep 0.1; done";

    [Fact]
    public async Task Network_none_has_only_loopback()
    {
        var result = await fixture.RunAsync("run", "--rm", "--network", "none", Image, "busybox", "ip", "-o", "link");

        Assert.True(result.ExitCode == 0, result.ToString());
        var links = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(links);
        Assert.Contains(": lo:", links[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_the_bridge_a_container_has_eth0_with_an_address_and_a_default_route()
    {
        var before = await HostNetworkAsync();

        var result = await fixture.RunAsync("run", "--rm", "--network", "bridge", Image, "sh", "-c", "busybox ip -o -4 addr show eth0; busybox ip route; cat /etc/hostname");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches(@"eth0\s+inet 10\.88\.[0-9]+\.[0-9]+/16", result.StandardOutput);
        Assert.Contains("default via 10.88.0.1 dev eth0", result.StandardOutput, StringComparison.Ordinal);
        Assert.Equal(before, await HostNetworkAsync());
        AssertBridgeGone();
    }

    [Fact]
    public async Task Containers_on_the_bridge_reach_each_other_by_name()
    {
        var before = await HostNetworkAsync();
        var server = $"web-{Guid.NewGuid():N}"[..16];
        await using var web = await BackgroundRun.StartAsync(fixture, "run", "--rm", "--name", server, "--network", "bridge", Image, "sh", "-c", ServeUntilTerm);
        var during = await HostNetworkAsync();

        var client = await fixture.RunAsync(
            "run", "--rm", "--network", "bridge", Image, "sh", "-c",
            $"grep -w {server} /etc/hosts >&2; i=0; while [ $i -lt 50 ]; do busybox wget -q -O - http://{server}:8080/ && exit 0; i=$((i+1)); sleep 0.1; done; exit 1");
        var stopped = await web.StopAsync();

        Assert.True(client.ExitCode == 0, client.ToString());
        Assert.Equal($"hello from {server}\n", client.StandardOutput);
        Assert.Equal(0, stopped);
        Assert.Equal(before, during);
        Assert.Equal(before, await HostNetworkAsync());
        AssertBridgeGone();
    }

    [Fact]
    public async Task A_running_containers_hosts_file_learns_of_a_container_started_after_it()
    {
        var first = $"first-{Guid.NewGuid():N}"[..16];
        var second = $"second-{Guid.NewGuid():N}"[..16];
        await using var waiting = await BackgroundRun.StartAsync(
            fixture, "run", "--rm", "--name", first, "--network", "bridge", Image, "sh", "-c",
            $"trap 'exit 0' TERM; echo ready; while ! grep -qw {second} /etc/hosts; do sleep 0.1; done; grep -w {second} /etc/hosts");

        var result = await fixture.RunAsync("run", "--rm", "--name", second, "--network", "bridge", Image, "sh", "-c", "sleep 1");
        var output = await waiting.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Matches($@"^10\.88\.[0-9.]+\t{second}\n$", output);
    }

    [Fact]
    public async Task A_published_port_answers_on_127_0_0_1()
    {
        var before = await HostNetworkAsync();
        var port = FreePort.Get();
        var name = $"pub-{Guid.NewGuid():N}"[..16];
        await using var web = await BackgroundRun.StartAsync(fixture, "run", "--rm", "--name", name, "--network", "bridge", "-p", $"{port}:8080", Image, "sh", "-c", ServeUntilTerm);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var body = await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}/"));
        var stopped = await web.StopAsync();

        Assert.Equal($"hello from {name}\n", body);
        Assert.Equal(0, stopped);
        var refused = await Assert.ThrowsAnyAsync<SocketException>(async () =>
        {
            using var socket = new TcpClient();
            await socket.ConnectAsync(IPAddress.Loopback, port);
        });
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        Assert.Equal(before, await HostNetworkAsync());
        AssertBridgeGone();
    }

    [Fact]
    public async Task The_forwarder_carries_megabytes_both_ways_and_passes_a_half_close_on()
    {
        // The container hashes what it receives until end-of-file, then answers: only a half-close
        // passed through the forwarder (shutdown(SHUT_WR)) lets it answer on the same connection.
        var port = FreePort.Get();
        await using var hasher = await BackgroundRun.StartAsync(
            fixture, "run", "--rm", "-p", $"{port}:9000", Image, "sh", "-c", "echo ready; busybox nc -l -p 9000 -e /bin/sha256sum");
        var data = System.Security.Cryptography.RandomNumberGenerator.GetBytes(4 << 20);
        var expected = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data));

        var answer = "";
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (answer.Length == 0 && DateTime.UtcNow < deadline)
        {
            // Until nc listens, the forwarder's connection to it is refused and it closes ours.
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port);
                var stream = client.GetStream();
                await stream.WriteAsync(data);
                client.Client.Shutdown(SocketShutdown.Send);
                using var reader = new StreamReader(stream);
                answer = await reader.ReadToEndAsync();
            }
            catch (IOException)
            {
            }
            catch (SocketException)
            {
            }

            if (answer.Length == 0)
            {
                await Task.Delay(100);
            }
        }

        Assert.Equal($"{expected}  -\n", answer);
        Assert.Equal(0, await hasher.StopAsync());
    }

    [Fact]
    public async Task A_port_in_use_fails_the_run_with_125_and_leaves_nothing_behind()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var name = $"busy-{Guid.NewGuid():N}"[..16];

        var result = await fixture.RunAsync("run", "--rm", "--name", name, "--network", "bridge", "-p", $"{port}:80", Image, "true");

        Assert.Equal(125, result.ExitCode);
        Assert.Contains($"Bind for 127.0.0.1:{port} failed: port is already allocated", result.StandardError, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(fixture.Root, "containers", ".names", name)));
        Assert.DoesNotContain(
            Directory.EnumerateDirectories(Path.Combine(fixture.Root, "containers")),
            d => File.Exists(Path.Combine(d, "config.json")) && File.ReadAllText(Path.Combine(d, "config.json")).Contains($"\"{name}\"", StringComparison.Ordinal));
        AssertBridgeGone();
    }

    [Fact]
    public async Task Containers_started_together_get_distinct_addresses_and_the_bridge_goes_after_the_last()
    {
        // Each waits (at most 20 s) until its /etc/hosts lists all four: they are on the bridge at the same time.
        var runs = Enumerable.Range(0, 4).Select(_ => fixture.RunAsync(
            "run", "--rm", Image, "sh", "-c",
            "i=0; while [ $(grep -c '^10[.]88[.]' /etc/hosts) -lt 4 ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; busybox ip -o -4 addr show eth0 | busybox awk '{print $4}'")).ToList();
        var results = await Task.WhenAll(runs);

        Assert.All(results, r => Assert.True(r.ExitCode == 0, r.ToString()));
        var addresses = results.Select(r => r.StandardOutput.Trim()).ToList();
        Assert.All(addresses, a => Assert.Matches(@"^10\.88\.[0-9]+\.[0-9]+/16$", a));
        Assert.Equal(addresses.Count, addresses.Distinct().Count());
        AssertBridgeGone();
    }

    [Fact]
    public async Task Published_ports_need_the_bridge()
    {
        var result = await fixture.RunAsync("run", "--rm", "--network", "none", "-p", "8080:80", Image, "true");

        Assert.Equal(125, result.ExitCode);
        Assert.Contains("published ports need the bridge network", result.StandardError, StringComparison.Ordinal);
    }

    /// <summary>Once no container of this node is on the bridge, its namespace and addresses are gone.</summary>
    private void AssertBridgeGone()
    {
        // Other tests of this class may still have containers on the bridge: wait until they are done.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var leases = Path.Combine(fixture.Root, "networks", "bridge", "leases");
        while (DateTime.UtcNow < deadline && Directory.Exists(leases) && Directory.EnumerateFiles(leases).Any())
        {
            Thread.Sleep(100);
        }

        Assert.Empty(Directory.Exists(leases) ? Directory.EnumerateFiles(leases) : []);
        Assert.False(File.Exists(Path.Combine(fixture.Root, "netns", "bridge")));
        Assert.DoesNotContain(File.ReadAllLines("/proc/self/mountinfo"), l => l.Contains(fixture.Root, StringComparison.Ordinal));
    }

    /// <summary>The host's interfaces and their addresses, as <c>ip</c> lists them (no counters or states).</summary>
    private static async Task<string> HostNetworkAsync()
    {
        var links = (await ProcessRunner.RunAsync("ip", ["-o", "link", "show"])).EnsureSuccess().StandardOutput;
        var addresses = (await ProcessRunner.RunAsync("ip", ["-o", "addr", "show"])).EnsureSuccess().StandardOutput;
        var names = links.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split(':')[1].Trim());
        var inet = addresses.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(f => $"{f[1]} {f[3]}");
        return string.Join('\n', names.Concat(inet).Order(StringComparer.Ordinal));
    }

    /// <summary><c>registry-node run</c> in the background, stopped with SIGTERM as a terminal's user would.</summary>
    private sealed class BackgroundRun : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly Task<string> _rest;

        private BackgroundRun(Process process, Task<string> rest)
        {
            _process = process;
            _rest = rest;
        }

        /// <summary>Starts it and waits (bounded) for the container to print "ready".</summary>
        public static async Task<BackgroundRun> StartAsync(RuntimeImageFixture fixture, params string[] arguments)
        {
            var start = new ProcessStartInfo(Cli.NodeCliProcess.Executable) { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
            foreach (var argument in (string[])["--root", fixture.Root, .. arguments])
            {
                start.ArgumentList.Add(argument);
            }

            var process = Process.Start(start)!;
            var stderr = process.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var first = await process.StandardOutput.ReadLineAsync(timeout.Token);
            if (first != "ready")
            {
                process.Kill(entireProcessTree: true);
                throw new InvalidOperationException($"the container did not get ready: {first}\n{await stderr}");
            }

            return new BackgroundRun(process, process.StandardOutput.ReadToEndAsync());
        }

        /// <summary>The rest of its output once it exits by itself.</summary>
        public async Task<string> WaitAsync(TimeSpan timeout)
        {
            using var source = new CancellationTokenSource(timeout);
            await _process.WaitForExitAsync(source.Token);
            return await _rest;
        }

        /// <summary>SIGTERM (passed on to the container), then its exit code.</summary>
        public async Task<int> StopAsync()
        {
            if (!_process.HasExited)
            {
                (await ProcessRunner.RunAsync("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)])).EnsureSuccess();
            }

            await WaitAsync(TimeSpan.FromSeconds(30));
            return _process.ExitCode;
        }

        public async ValueTask DisposeAsync()
        {
            if (!_process.HasExited)
            {
                try
                {
                    await StopAsync();
                }
                catch (OperationCanceledException)
                {
                    _process.Kill(entireProcessTree: true);
                }
            }

            _process.Dispose();
        }
    }
}
