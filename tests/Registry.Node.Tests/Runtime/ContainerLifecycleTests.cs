using System.Diagnostics;
using System.Text.Json;
using Registry.Testing;

namespace Registry.Node.Tests.Runtime;

/// <summary>
/// Detached containers and their life, through the built executable as root: <c>run -d</c>,
/// <c>ps</c>, <c>logs</c>, <c>stop</c>, <c>start</c>, <c>rm</c>, <c>exec</c>, <c>inspect</c>, restart
/// policies and a supervisor that dies. Every container gets a unique name and is removed with
/// <c>rm -f</c> at the end of its test.
/// </summary>
[Collection(ContainerTestCollection.Name)]
public sealed class ContainerLifecycleTests(RuntimeImageFixture fixture) : IClassFixture<RuntimeImageFixture>, IAsyncLifetime
{
    private const string Image = RuntimeImageFixture.Reference;
    private const string Forever = "while true; do sleep 0.1; done";
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(30);
    private static readonly string[] CgroupControllers = ["memory", "cpu", "pids", "unified", ""];

    private readonly List<string> _names = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var name in _names)
        {
            await fixture.RunAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task Run_d_prints_the_id_and_the_container_keeps_running()
    {
        var name = NewName("up");

        var run = await fixture.RunAsync("run", "-d", "--name", name, Image, "sh", "-c", $"echo hello-detached; {Forever}");

        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches("^[0-9a-f]{64}\n$", run.StandardOutput);
        await WaitForLogAsync(name, "hello-detached\n");
        var ps = await fixture.RunAsync("ps");
        var row = Assert.Single(ps.StandardOutput.Split('\n'), l => l.EndsWith(name, StringComparison.Ordinal));
        Assert.StartsWith(run.StandardOutput[..12], row, StringComparison.Ordinal);
        Assert.Contains(" Up ", row, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Logs_shows_stdout_and_stderr_with_timestamps_on_request()
    {
        var name = NewName("logs");
        (await fixture.RunAsync("run", "-d", "--name", name, Image, "sh", "-c", "echo out; echo err >&2")).EnsureSuccess();
        await WaitForStatusAsync(name, "exited");

        var logs = await fixture.RunAsync("logs", name);
        var stamped = await fixture.RunAsync("logs", "--timestamps", name);

        Assert.Equal("out\n", logs.StandardOutput);
        Assert.Equal("err\n", logs.StandardError);
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z out\n$", stamped.StandardOutput);
    }

    [Fact]
    public async Task Logs_follow_returns_when_the_container_exits()
    {
        var name = NewName("follow");
        (await fixture.RunAsync("run", "-d", "--name", name, Image, "sh", "-c", "echo one; sleep 1; echo two")).EnsureSuccess();

        var logs = await fixture.RunAsync("logs", "-f", name);

        Assert.Equal("one\ntwo\n", logs.StandardOutput);
    }

    [Fact]
    public async Task Stop_kills_a_process_ignoring_sigterm_after_the_grace_period()
    {
        var name = NewName("stop");
        (await fixture.RunAsync("run", "-d", "--name", name, Image, "sh", "-c", $"trap 'echo term-ignored' TERM; echo ready; {Forever}")).EnsureSuccess();
        await WaitForLogAsync(name, "ready\n");

        var clock = Stopwatch.StartNew();
        var stop = await fixture.RunAsync("stop", "-t", "1", name);
        clock.Stop();

        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(8));
        using var state = await StateAsync(name);
        Assert.Equal(137, state.RootElement.GetProperty("exitCode").GetInt32());
        Assert.Equal("killed", state.RootElement.GetProperty("reason").GetString(), ignoreCase: true);
        Assert.Contains("term-ignored", (await fixture.RunAsync("logs", name)).StandardOutput, StringComparison.Ordinal);
        var ps = await fixture.RunAsync("ps", "-a");
        Assert.Contains(ps.StandardOutput.Split('\n'), l => l.EndsWith(name, StringComparison.Ordinal) && l.Contains("Exited (137) ", StringComparison.Ordinal));
        Assert.DoesNotContain(name, (await fixture.RunAsync("ps")).StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exec_sees_the_containers_files_and_processes_and_returns_its_exit_code()
    {
        var name = NewName("exec");
        (await fixture.RunAsync("run", "-d", "--name", name, Image, "sh", "-c", $"echo written-inside > /marker; echo ready; {Forever}")).EnsureSuccess();
        await WaitForLogAsync(name, "ready\n");

        var file = await fixture.RunAsync("exec", name, "cat", "/marker");
        var pid1 = await fixture.RunAsync("exec", name, "cat", "/proc/1/cmdline");
        var env = await fixture.RunAsync("exec", "-e", "EXTRA=1", "-w", "/tmp", name, "sh", "-c", "echo $EXTRA $(pwd) $(hostname)");
        var code = await fixture.RunAsync("exec", name, "sh", "-c", "exit 4");

        Assert.True(file.ExitCode == 0, file.ToString());
        Assert.Equal("written-inside\n", file.StandardOutput);
        Assert.StartsWith("sh\0-c\0echo written-inside", pid1.StandardOutput, StringComparison.Ordinal);
        Assert.Equal($"1 /tmp {name}\n", env.StandardOutput);
        Assert.Equal(4, code.ExitCode);
    }

    [Fact]
    public async Task Exec_runs_as_the_user_asked_for_without_capabilities()
    {
        var name = NewName("exec-u");
        (await fixture.RunAsync("run", "-d", "--name", name, Image, "sh", "-c", $"echo ready; {Forever}")).EnsureSuccess();
        await WaitForLogAsync(name, "ready\n");

        var exec = await fixture.RunAsync("exec", "-u", "1000:1000", name, "sh", "-c", "id -u; id -g; grep CapEff /proc/self/status");

        Assert.True(exec.ExitCode == 0, exec.ToString());
        Assert.Equal("1000\n1000\nCapEff:\t0000000000000000\n", exec.StandardOutput);
    }

    [Fact]
    public async Task An_oom_kill_of_a_detached_container_is_recorded_as_such()
    {
        var name = NewName("oom-d");
        var id = (await fixture.RunAsync(
            "run", "-d", "--name", name, "--memory", "32m", Image, "sh", "-c", "x=$(head -c 100000000 /dev/zero | busybox tr '\\0' a); echo survived"))
            .EnsureSuccess().StandardOutput.Trim();

        using var state = await WaitForStatusAsync(name, "exited");

        Assert.Equal(137, state.RootElement.GetProperty("exitCode").GetInt32());
        Assert.Equal("oom", state.RootElement.GetProperty("reason").GetString(), ignoreCase: true);
        Assert.True(state.RootElement.GetProperty("oomKilled").GetBoolean());
        Assert.Empty(CgroupDirectories(id));
    }

    [Fact]
    public async Task Exec_in_a_container_that_is_not_running_is_refused()
    {
        var name = NewName("exec-x");
        (await fixture.RunAsync("run", "-d", "--name", name, Image, "true")).EnsureSuccess();
        await WaitForStatusAsync(name, "exited");

        var exec = await fixture.RunAsync("exec", name, "true");

        Assert.Equal(1, exec.ExitCode);
        Assert.Contains("is not running", exec.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_runs_an_exited_container_again_with_its_upper_dir()
    {
        var name = NewName("start");
        (await fixture.RunAsync("run", "-d", "--name", name, Image, "sh", "-c", "echo run >> /runs; wc -l < /runs")).EnsureSuccess();
        await WaitForStatusAsync(name, "exited");

        var start = await fixture.RunAsync("start", name);
        await WaitForStatusAsync(name, "exited");

        Assert.True(start.ExitCode == 0, start.ToString());
        Assert.Equal(name + "\n", start.StandardOutput);
        Assert.Equal("1\n2\n", (await fixture.RunAsync("logs", name)).StandardOutput);
    }

    [Fact]
    public async Task Rm_refuses_a_running_container_and_rm_f_leaves_nothing_behind()
    {
        var name = NewName("rm");
        var id = (await fixture.RunAsync("run", "-d", "--name", name, Image, "sh", "-c", Forever)).EnsureSuccess().StandardOutput.Trim();
        await WaitForStatusAsync(name, "running");

        var refused = await fixture.RunAsync("rm", name);
        var removed = await fixture.RunAsync("rm", "-f", name);

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("container is running", refused.StandardError, StringComparison.Ordinal);
        Assert.True(removed.ExitCode == 0, removed.ToString());
        Assert.False(Directory.Exists(Path.Combine(fixture.Root, "containers", id)));
        Assert.False(File.Exists(Path.Combine(fixture.Root, "containers", ".names", name)));
        Assert.Empty(CgroupDirectories(id));
        Assert.Contains("No such container", (await fixture.RunAsync("logs", name)).StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_failure_restarts_up_to_its_limit_then_stays_exited()
    {
        var name = NewName("onfail");
        var id = (await fixture.RunAsync("run", "-d", "--restart", "on-failure:2", "--name", name, Image, "sh", "-c", "echo attempt; exit 1"))
            .EnsureSuccess().StandardOutput.Trim();

        using var state = await WaitForStatusAsync(name, "exited");

        Assert.Equal(2, state.RootElement.GetProperty("restartCount").GetInt32());
        Assert.Equal(1, state.RootElement.GetProperty("exitCode").GetInt32());
        Assert.Equal("attempt\nattempt\nattempt\n", (await fixture.RunAsync("logs", name)).StandardOutput);
        Assert.Empty(CgroupDirectories(id));
    }

    [Fact]
    public async Task Always_restarts_until_stop()
    {
        var name = NewName("always");
        (await fixture.RunAsync("run", "-d", "--restart", "always", "--name", name, Image, "sh", "-c", "sleep 0.2")).EnsureSuccess();
        await WaitUntilAsync(name, s => s.GetProperty("restartCount").GetInt32() >= 2);

        (await fixture.RunAsync("stop", "-t", "1", name)).EnsureSuccess();
        using var stopped = await StateAsync(name);
        await Task.Delay(TimeSpan.FromSeconds(1));
        using var later = await StateAsync(name);

        Assert.Equal("exited", stopped.RootElement.GetProperty("status").GetString(), ignoreCase: true);
        Assert.Equal("exited", later.RootElement.GetProperty("status").GetString(), ignoreCase: true);
        Assert.Equal(stopped.RootElement.GetProperty("restartCount").GetInt32(), later.RootElement.GetProperty("restartCount").GetInt32());
    }

    [Fact]
    public async Task A_container_whose_supervisor_was_killed_shows_as_exited()
    {
        var name = NewName("orphan");
        var id = (await fixture.RunAsync("run", "-d", "--name", name, Image, "sh", "-c", Forever)).EnsureSuccess().StandardOutput.Trim();
        using var running = await WaitForStatusAsync(name, "running");
        var monitor = running.RootElement.GetProperty("monitorPid").GetInt32();

        Process.GetProcessById(monitor).Kill();
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        var ps = await fixture.RunAsync("ps", "-a");

        Assert.Contains(ps.StandardOutput.Split('\n'), l => l.EndsWith(name, StringComparison.Ordinal) && l.Contains("Exited (137)", StringComparison.Ordinal));
        Assert.DoesNotContain(name, (await fixture.RunAsync("ps")).StandardOutput, StringComparison.Ordinal);
        Assert.Empty(CgroupDirectories(id));
    }

    [Fact]
    public async Task A_non_root_containers_process_dies_with_its_supervisor_too()
    {
        // Taking another uid clears a process's parent-death signal: pid 1 must have it set again afterwards.
        var name = NewName("pdeath");
        (await fixture.RunAsync("run", "-d", "-u", "1000", "--name", name, Image, "sh", "-c", Forever)).EnsureSuccess();
        try
        {
            using var running = await WaitForStatusAsync(name, "running");
            var pid = running.RootElement.GetProperty("pid").GetInt32();

            Process.GetProcessById(running.RootElement.GetProperty("monitorPid").GetInt32()).Kill();
            var gone = false;
            for (var i = 0; i < 50 && !gone; i++)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100));
                gone = !File.Exists($"/proc/{pid}/stat") || File.ReadAllText($"/proc/{pid}/stat").Split(')')[1].Trim().StartsWith('Z');
            }

            Assert.True(gone, $"pid 1 of {name} ({pid}) outlived its supervisor");
        }
        finally
        {
            await fixture.RunAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task Run_d_rm_removes_the_container_when_it_exits()
    {
        var name = NewName("drm-exit");
        var id = (await fixture.RunAsync("run", "-d", "--rm", "--name", name, Image, "sh", "-c", "echo bye"))
            .EnsureSuccess().StandardOutput.Trim();

        await WaitForRemovalAsync(name);

        Assert.False(Directory.Exists(Path.Combine(fixture.Root, "containers", id)));
        Assert.Empty(Directory.GetDirectories(Path.Combine(fixture.Root, "containers"), ".removing-" + id));
        Assert.Empty(CgroupDirectories(id));
        var again = await fixture.RunAsync("run", "--rm", "--name", name, Image, "true"); // the name is free again
        Assert.True(again.ExitCode == 0, again.ToString());
    }

    [Fact]
    public async Task Run_d_rm_of_a_command_that_is_not_there_fails_and_leaves_nothing()
    {
        var name = NewName("drm-fail");
        var before = Directory.CreateDirectory(Path.Combine(fixture.Root, "containers")).GetDirectories().Select(d => d.FullName).ToList();

        var run = await fixture.RunAsync("run", "-d", "--rm", "--name", name, Image, "no-such-command");

        Assert.Equal(127, run.ExitCode);
        Assert.Contains("executable file not found", run.StandardError, StringComparison.Ordinal);
        var psa = await fixture.RunAsync("ps", "-a");
        Assert.True(!psa.StandardOutput.Contains(name, StringComparison.Ordinal), run + "\n" + psa + (await fixture.RunAsync("inspect", name)));
        Assert.Empty(Directory.GetDirectories(Path.Combine(fixture.Root, "containers")).Except(before));
        Assert.False(File.Exists(Path.Combine(fixture.Root, "containers", ".names", name)));
    }

    [Fact]
    public async Task Stop_of_a_run_d_rm_container_removes_it()
    {
        var name = NewName("drm-stop");
        (await fixture.RunAsync("run", "-d", "--rm", "--name", name, Image, "sh", "-c", Forever)).EnsureSuccess();
        await WaitForStatusAsync(name, "running");

        var stop = await fixture.RunAsync("stop", "-t", "1", name);

        Assert.True(stop.ExitCode == 0, stop.ToString());
        Assert.Equal(name + "\n", stop.StandardOutput);
        await WaitForRemovalAsync(name);
    }

    [Fact]
    public async Task Rm_f_of_a_run_d_rm_container_removes_it_once()
    {
        var names = Enumerable.Range(0, 3).Select(i => NewName($"drm-rm{i}")).ToList();
        foreach (var name in names)
        {
            (await fixture.RunAsync("run", "-d", "--rm", "--name", name, Image, "sh", "-c", Forever)).EnsureSuccess();
            await WaitForStatusAsync(name, "running");
        }

        // The supervisor's own removal starts as soon as pid 1 dies, while rm -f is still at work.
        var removals = await Task.WhenAll(names.Select(name => fixture.RunAsync("rm", "-f", name)));

        foreach (var (removal, name) in removals.Zip(names))
        {
            Assert.True(removal.ExitCode == 0, removal.ToString());
            Assert.Equal(name + "\n", removal.StandardOutput);
            await WaitForRemovalAsync(name);
        }

        var left = Directory.GetDirectories(Path.Combine(fixture.Root, "containers"), ".removing-*");
        Assert.True(left.Length == 0, string.Join("\n", left.SelectMany(d => Directory.GetFileSystemEntries(d, "*", SearchOption.AllDirectories))));
    }

    [Fact]
    public async Task A_run_d_rm_container_whose_supervisor_was_killed_is_removed_by_ps()
    {
        var name = NewName("drm-orphan");
        var id = (await fixture.RunAsync("run", "-d", "--rm", "--name", name, Image, "sh", "-c", Forever)).EnsureSuccess().StandardOutput.Trim();
        using var running = await WaitForStatusAsync(name, "running");

        Process.GetProcessById(running.RootElement.GetProperty("monitorPid").GetInt32()).Kill();
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        var ps = await fixture.RunAsync("ps", "-a");

        Assert.True(ps.ExitCode == 0, ps.ToString());
        Assert.DoesNotContain(name, ps.StandardOutput, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(fixture.Root, "containers", id)));
        Assert.Empty(CgroupDirectories(id));
    }

    [Fact]
    public async Task A_foreground_run_with_a_restart_policy_returns_the_first_exit_and_goes_on_restarting()
    {
        var name = NewName("fg-restart");

        var run = await fixture.RunAsync("run", "--restart", "on-failure:2", "--name", name, Image, "sh", "-c", "echo attempt; echo oops >&2; exit 3");

        Assert.Equal(3, run.ExitCode);
        Assert.Equal("attempt\n", run.StandardOutput);
        Assert.Equal("oops\n", run.StandardError);
        using var state = await WaitUntilAsync(name, s => s.GetProperty("restartCount").GetInt32() == 2 && string.Equals(s.GetProperty("status").GetString(), "exited", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(3, state.RootElement.GetProperty("exitCode").GetInt32());
        Assert.Equal("attempt\nattempt\nattempt\n", (await fixture.RunAsync("logs", name)).StandardOutput);
    }

    [Fact]
    public async Task Inspect_shows_a_containers_config_and_state_before_images()
    {
        var name = NewName("inspect");
        (await fixture.RunAsync("run", "-d", "--name", name, Image, "true")).EnsureSuccess();
        await WaitForStatusAsync(name, "exited");

        var inspect = await fixture.RunAsync("inspect", name);

        Assert.True(inspect.ExitCode == 0, inspect.ToString());
        using var json = JsonDocument.Parse(inspect.StandardOutput);
        var container = json.RootElement[0];
        Assert.Equal(name, container.GetProperty("Name").GetString());
        Assert.Equal(Image, container.GetProperty("Image").GetString());
        Assert.Equal(0, container.GetProperty("State").GetProperty("exitCode").GetInt32());
    }

    private string NewName(string prefix)
    {
        var name = $"{prefix}-{Guid.NewGuid():N}"[..20];
        _names.Add(name);
        return name;
    }

    private async Task<JsonDocument> StateAsync(string name)
    {
        var inspect = (await fixture.RunAsync("inspect", name)).EnsureSuccess();
        using var json = JsonDocument.Parse(inspect.StandardOutput);
        return JsonDocument.Parse(json.RootElement[0].GetProperty("State").GetRawText());
    }

    private Task<JsonDocument> WaitForStatusAsync(string name, string status) =>
        WaitUntilAsync(name, s => string.Equals(s.GetProperty("status").GetString(), status, StringComparison.OrdinalIgnoreCase));

    private async Task<JsonDocument> WaitUntilAsync(string name, Func<JsonElement, bool> condition)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var state = await StateAsync(name);
            if (condition(state.RootElement))
            {
                return state;
            }

            if (clock.Elapsed > WaitLimit)
            {
                var text = state.RootElement.GetRawText();
                state.Dispose();
                throw new TimeoutException($"container {name} did not reach the expected state: {text}");
            }

            state.Dispose();
            await Task.Delay(100);
        }
    }

    /// <summary>Until <c>ps -a</c> no longer lists the container and its name is unknown.</summary>
    private async Task WaitForRemovalAsync(string name)
    {
        var clock = Stopwatch.StartNew();
        while ((await fixture.RunAsync("ps", "-a")).StandardOutput.Contains(name, StringComparison.Ordinal)
            || (await fixture.RunAsync("inspect", name)).ExitCode == 0)
        {
            Assert.True(clock.Elapsed < WaitLimit, $"container {name} was not removed");
            await Task.Delay(100);
        }
    }

    private async Task WaitForLogAsync(string name, string expected)
    {
        var clock = Stopwatch.StartNew();
        while (!(await fixture.RunAsync("logs", name)).StandardOutput.Contains(expected, StringComparison.Ordinal))
        {
            Assert.True(clock.Elapsed < WaitLimit, $"container {name} did not log {expected}");
            await Task.Delay(100);
        }
    }

    private static List<string> CgroupDirectories(string id) =>
        [.. CgroupControllers
            .Select(controller => Path.Combine("/sys/fs/cgroup", controller, "registry-node", id))
            .Where(Directory.Exists)];
}
