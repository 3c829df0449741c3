using System.Text.Json;
using Registry.Testing;

namespace Registry.Node.Tests.Runtime;

/// <summary>
/// <c>registry-node run</c> as the built executable, as root, against a busybox image: output,
/// exit codes, pid 1, isolation (pid, mount, uts, capabilities, masked paths), overrides and the
/// container's state on disk. The image has busybox's applets sh, echo, cat, ls, id, hostname,
/// head, … as links; others (tr, mount) are called as <c>busybox APPLET</c>.
/// </summary>
[Collection(ContainerTestCollection.Name)]
public sealed class RunCommandTests(RuntimeImageFixture fixture) : IClassFixture<RuntimeImageFixture>
{
    private const string Image = RuntimeImageFixture.Reference;

    [Fact]
    public async Task Echo_output_comes_back_on_stdout()
    {
        var result = await fixture.RunAsync("run", "--rm", Image, "echo", "hello");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("hello\n", result.StandardOutput);
    }

    [Fact]
    public async Task Without_a_command_the_images_default_command_runs()
    {
        var result = await fixture.RunAsync("run", "--rm", Image);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(fixture.Image.ExpectedOutput, result.StandardOutput);
    }

    [Fact]
    public async Task The_containers_exit_code_is_returned()
    {
        var result = await fixture.RunAsync("run", "--rm", Image, "sh", "-c", "exit 3");

        Assert.Equal(3, result.ExitCode);
    }

    [Fact]
    public async Task The_images_process_is_pid_1()
    {
        var shell = await fixture.RunAsync("run", "--rm", Image, "sh", "-c", "echo $$");
        var cmdline = await fixture.RunAsync("run", "--rm", Image, "cat", "/proc/1/cmdline");

        Assert.Equal("1\n", shell.StandardOutput);
        Assert.Equal("cat\0/proc/1/cmdline\0", cmdline.StandardOutput);
    }

    [Fact]
    public async Task The_hostname_is_the_containers_name()
    {
        var name = $"host-{Guid.NewGuid():N}"[..20];

        var result = await fixture.RunAsync("run", "--rm", "--name", name, Image, "hostname");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"{name}\n", result.StandardOutput);
    }

    [Fact]
    public async Task Only_the_containers_processes_are_visible()
    {
        // sh is pid 1, ls its child: nothing of the host's.
        var result = await fixture.RunAsync("run", "--rm", Image, "sh", "-c", "ls -d /proc/[0-9]*");

        Assert.True(result.ExitCode == 0, result.ToString());
        var pids = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("/proc/1", pids);
        Assert.InRange(pids.Length, 1, 2);
    }

    [Fact]
    public async Task A_file_written_in_a_container_stays_in_its_own_upper_layer()
    {
        var first = $"writer-{Guid.NewGuid():N}"[..20];
        var second = $"reader-{Guid.NewGuid():N}"[..20];
        var fileName = $"written-{Guid.NewGuid():N}.txt";

        var write = await fixture.RunAsync("run", "--name", first, Image, "sh", "-c", $"echo data > /{fileName} && cat /{fileName}");
        var read = await fixture.RunAsync("run", "--rm", "--name", second, Image, "test", "-e", $"/{fileName}");

        Assert.True(write.ExitCode == 0, write.ToString());
        Assert.Equal("data\n", write.StandardOutput);
        Assert.Equal(1, read.ExitCode);
        Assert.Equal("data\n", await File.ReadAllTextAsync(Path.Combine(fixture.ContainerDirectory(first), "upper", fileName)));
        foreach (var chainId in fixture.ChainIds)
        {
            Assert.False(File.Exists(Path.Combine(fixture.Root, "snapshots", chainId.Encoded, fileName)));
        }

    }

    [Fact]
    public async Task Sys_is_read_only()
    {
        var result = await fixture.RunAsync("run", "--rm", Image, "sh", "-c", "echo x > /sys/kernel/uevent_helper");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("Read-only file system", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Kernel_paths_are_masked_or_read_only_as_runc_does()
    {
        // /proc/kcore does not exist on every kernel; where it does it reads empty, like /proc/keys.
        var result = await fixture.RunAsync("run", "--rm", Image, "sh", "-c",
            "wc -c < /proc/keys; cat /proc/kcore 2>/dev/null | wc -c; ls -A /sys/firmware | wc -l; echo x > /proc/sysrq-trigger || echo sysrq-refused");

        Assert.Equal("0\n0\n0\nsysrq-refused\n", result.StandardOutput);
    }

    [Fact]
    public async Task The_process_has_dockers_default_capabilities_and_no_new_privs_off_as_in_docker()
    {
        var result = await fixture.RunAsync("run", "--rm", Image, "sh", "-c", "grep -E '^(CapEff|CapBnd|CapInh|NoNewPrivs)' /proc/self/status");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => string.Join(' ', l.Split((char[])[' ', '\t'], StringSplitOptions.RemoveEmptyEntries)));
        Assert.Equal(["CapInh: 0000000000000000", "CapEff: 00000000a80425fb", "CapBnd: 00000000a80425fb", "NoNewPrivs: 0"], lines);
    }

    [Fact]
    public async Task The_container_cannot_mount()
    {
        var result = await fixture.RunAsync("run", "--rm", Image, "busybox", "mount", "-t", "tmpfs", "none", "/tmp");

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("denied", result.StandardError, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_device_node_made_in_the_container_cannot_be_opened()
    {
        // CAP_MKNOD is in docker's set, but there is no devices cgroup: the root filesystem and /dev are nodev instead.
        var result = await fixture.RunAsync("run", "--rm", Image, "sh", "-c", "busybox mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem; echo rc=$?; head -c 1 /dev/zero | wc -c");

        Assert.Equal("rc=1\n1\n", result.StandardOutput);
        Assert.Contains("Permission denied", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_hosts_root_is_not_visible()
    {
        var marker = $"/rn-host-marker-{Guid.NewGuid():N}";
        await File.WriteAllTextAsync(marker, "host");
        try
        {
            var result = await fixture.RunAsync("run", "--rm", Image, "sh", "-c", $"test -e {marker} && echo visible || echo hidden; ls /");

            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.StartsWith("hidden\n", result.StandardOutput, StringComparison.Ordinal);
            Assert.DoesNotContain(Path.GetFileName(marker), result.StandardOutput, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(marker);
        }
    }

    [Fact]
    public async Task Env_workdir_and_user_overrides_apply()
    {
        var result = await fixture.RunAsync(
            "run", "--rm", "-e", "GREETING=hi there", "-w", "/work/dir", "-u", "1000:1000", Image,
            "sh", "-c", "echo \"$GREETING\"; pwd; id -u; id -g; echo $TEST_IMAGE_MARKER");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"hi there\n/work/dir\n1000\n1000\n{fixture.Image.Marker}\n", result.StandardOutput);
    }

    [Fact]
    public async Task The_images_user_and_a_user_name_resolve_in_the_images_passwd_and_group()
    {
        const string users = "registry.test/node-tests/users:latest";
        await fixture.ImportUsersImageAsync(users);

        var byImage = await fixture.RunAsync("run", "--rm", users);
        var byName = await fixture.RunAsync("run", "--rm", "-u", "app:wheel", users, "sh", "-c", "id -u; id -g; echo $HOME");
        var unknown = await fixture.RunAsync("run", "--rm", "-u", "nobody", users);

        Assert.True(byImage.ExitCode == 0, byImage.ToString());
        Assert.Equal("uid=1000(app) gid=1000(app) groups=10(wheel),29(audio)\n", byImage.StandardOutput);
        Assert.Equal("1000\n10\n/home/app\n", byName.StandardOutput);
        Assert.Equal(125, unknown.ExitCode);
        Assert.Contains("unable to find user nobody", unknown.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_entrypoint_can_be_overridden()
    {
        var result = await fixture.RunAsync("run", "--rm", "--entrypoint", "/bin/echo", Image, "from", "echo");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("from echo\n", result.StandardOutput);
    }

    [Fact]
    public async Task A_process_allocating_past_the_memory_limit_is_oom_killed_and_reported_so()
    {
        var name = $"oom-{Guid.NewGuid():N}"[..20];

        var result = await fixture.RunAsync(
            "run", "--name", name, "--memory", "32m", Image, "sh", "-c", "x=$(head -c 100000000 /dev/zero | busybox tr '\\0' a); echo survived");

        Assert.True(result.ExitCode == 137, result.ToString());
        Assert.DoesNotContain("survived", result.StandardOutput, StringComparison.Ordinal);
        using var state = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(fixture.ContainerDirectory(name), "state.json")));
        Assert.Equal("oom", state.RootElement.GetProperty("reason").GetString(), ignoreCase: true);
        Assert.True(state.RootElement.GetProperty("oomKilled").GetBoolean());
        Assert.Equal(137, state.RootElement.GetProperty("exitCode").GetInt32());
    }

    [Fact]
    public async Task The_pids_limit_stops_a_fork_bomb()
    {
        // Bounded: at most 40 background sleeps, each printing its number once started.
        var result = await fixture.RunAsync(
            "run", "--rm", "--pids-limit", "20", Image, "sh", "-c", "i=0; while [ $i -lt 40 ]; do sleep 5 & i=$((i+1)); echo $i; done; wait");

        var started = result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length;
        Assert.InRange(started, 1, 19);
        Assert.Contains("fork", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_command_not_found_exits_127_with_a_clear_message()
    {
        var inPath = await fixture.RunAsync("run", "--rm", Image, "no-such-command");
        var byPath = await fixture.RunAsync("run", "--rm", Image, "/bin/no-such-command");

        Assert.Equal(127, inPath.ExitCode);
        Assert.Contains("exec: \"no-such-command\": executable file not found in $PATH", inPath.StandardError, StringComparison.Ordinal);
        Assert.Equal(127, byPath.ExitCode);
        Assert.Contains("no such file or directory", byPath.StandardError, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_file_that_is_not_executable_exits_126()
    {
        var result = await fixture.RunAsync("run", "--rm", Image, "/etc/test-image-marker");

        Assert.Equal(126, result.ExitCode);
        Assert.Contains("permission denied", result.StandardError, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task With_rm_no_container_directory_and_no_cgroup_remain()
    {
        // Without --name the hostname is the container's short id, which names its directory and cgroup. Other
        // processes may run containers meanwhile, so only this container's traces are looked for.
        var result = await fixture.RunAsync("run", "--rm", Image, "hostname");
        var name = $"rm-{Guid.NewGuid():N}"[..20];
        var named = await fixture.RunAsync("run", "--rm", "--name", name, Image, "true");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(named.ExitCode == 0, named.ToString());
        var shortId = result.StandardOutput.Trim();
        Assert.Matches("^[0-9a-f]{12}$", shortId);
        Assert.DoesNotContain(Directory.EnumerateDirectories(Path.Combine(fixture.Root, "containers")), d => Path.GetFileName(d).StartsWith(shortId, StringComparison.Ordinal));
        Assert.DoesNotContain(ContainerCgroups(), c => c[(c.IndexOf(':', StringComparison.Ordinal) + 1)..].StartsWith(shortId, StringComparison.Ordinal));
        Assert.False(File.Exists(Path.Combine(fixture.Root, "containers", ".names", name)));
    }

    [Fact]
    public async Task Output_is_logged_as_json_lines_and_the_exit_recorded()
    {
        var name = $"log-{Guid.NewGuid():N}"[..20];

        var result = await fixture.RunAsync("run", "--name", name, Image, "sh", "-c", "echo out; echo err >&2; exit 5");

        Assert.Equal(5, result.ExitCode);
        var directory = fixture.ContainerDirectory(name);
        var lines = (await File.ReadAllLinesAsync(Path.Combine(directory, "container.log"))).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Contains(lines, l => l.GetProperty("log").GetString() == "out\n" && l.GetProperty("stream").GetString() == "stdout");
        Assert.Contains(lines, l => l.GetProperty("log").GetString() == "err\n" && l.GetProperty("stream").GetString() == "stderr");
        Assert.All(lines, l => Assert.True(l.GetProperty("time").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddMinutes(-5)));
        using var state = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(directory, "state.json")));
        Assert.Equal("exited", state.RootElement.GetProperty("status").GetString(), ignoreCase: true);
        Assert.Equal(5, state.RootElement.GetProperty("exitCode").GetInt32());
    }

    [Fact]
    public async Task Running_without_root_is_refused_with_125()
    {
        var result = await ProcessRunner.RunAsync(
            "setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", Cli.NodeCliProcess.Executable, "--root", fixture.Root, "run", "--rm", Image, "true"],
            TimeSpan.FromMinutes(1),
            new Dictionary<string, string?> { ["HOME"] = "/tmp", ["DOTNET_CLI_HOME"] = "/tmp" });

        Assert.Equal(125, result.ExitCode);
        Assert.Contains("needs root", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_name_in_use_is_refused_with_125()
    {
        var name = $"taken-{Guid.NewGuid():N}"[..20];
        (await fixture.RunAsync("run", "--name", name, Image, "true")).EnsureSuccess();

        var second = await fixture.RunAsync("run", "--rm", "--name", name, Image, "true");

        Assert.Equal(125, second.ExitCode);
        Assert.Contains($"The container name \"/{name}\" is already in use", second.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sigterm_to_registry_node_reaches_the_container()
    {
        var start = new System.Diagnostics.ProcessStartInfo(Cli.NodeCliProcess.Executable)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in new[] { "--root", fixture.Root, "run", "--rm", Image, "sh", "-c", "trap 'echo got-term; exit 7' TERM; echo ready; while true; do sleep 0.1; done" })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            Assert.Equal("ready", await process.StandardOutput.ReadLineAsync(timeout.Token));
            (await ProcessRunner.RunAsync("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])).EnsureSuccess();
            var rest = await process.StandardOutput.ReadToEndAsync(timeout.Token);
            await process.WaitForExitAsync(timeout.Token);

            Assert.Equal("got-term\n", rest);
            Assert.Equal(7, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    private static SortedSet<string> ContainerCgroups()
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var controller in new[] { "memory", "cpu", "pids", "unified", "" })
        {
            var parent = Path.Combine("/sys/fs/cgroup", controller, "registry-node");
            if (Directory.Exists(parent))
            {
                names.UnionWith(Directory.EnumerateDirectories(parent).Select(d => $"{controller}:{Path.GetFileName(d)}"));
            }
        }

        return names;
    }
}
