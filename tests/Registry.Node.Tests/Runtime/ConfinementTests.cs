using System.Text.Json;
using Registry.Node.Tests.Snapshots;
using Registry.Testing;

namespace Registry.Node.Tests.Runtime;

/// <summary>
/// <c>--cap-add</c>/<c>--cap-drop</c>, <c>--read-only</c> and <c>--security-opt no-new-privileges</c>
/// with real containers, and <c>exec</c> taking the container's settings, as docker does.
/// </summary>
[Collection(ContainerTestCollection.Name)]
public sealed class ConfinementTests(RuntimeImageFixture fixture) : IClassFixture<RuntimeImageFixture>
{
    private const string Image = RuntimeImageFixture.Reference;

    [Fact]
    public async Task Cap_drop_takes_a_capability_away()
    {
        var dropped = await fixture.RunAsync("run", "--rm", "--cap-drop", "chown", Image, "sh", "-c", "echo > /tmp/f; busybox chown 1000 /tmp/f");
        var kept = await fixture.RunAsync("run", "--rm", Image, "sh", "-c", "echo > /tmp/f; busybox chown 1000 /tmp/f");

        Assert.NotEqual(0, dropped.ExitCode);
        Assert.Contains("Operation not permitted", dropped.StandardError, StringComparison.Ordinal);
        Assert.True(kept.ExitCode == 0, kept.ToString());
        Assert.Equal("00000000a80425fa", await CapEffAsync("--cap-drop", "CAP_CHOWN"));
    }

    [Fact]
    public async Task Cap_add_SYS_ADMIN_also_allows_the_system_calls_docker_ties_to_it()
    {
        var result = await fixture.RunAsync("run", "--rm", "--cap-add", "SYS_ADMIN", Image, "sh", "-c", "busybox unshare -U true && echo unshared; busybox mount -t tmpfs scratch /tmp && echo mounted");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("unshared\nmounted\n", result.StandardOutput);
        Assert.Equal("00000000a82425fb", await CapEffAsync("--cap-add", "sys_admin"));
    }

    [Fact]
    public async Task Cap_add_ALL_is_every_capability_the_node_holds_but_the_dropped_ones()
    {
        // Every capability of the kernel on a plain host; the node's own bounding set where it runs confined.
        var bounding = File.ReadLines("/proc/self/status").Single(l => l.StartsWith("CapBnd:", StringComparison.Ordinal))["CapBnd:".Length..].Trim();
        var expected = (Convert.ToUInt64(bounding, 16) & ~(1UL << 13)).ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

        Assert.Equal(expected, await CapEffAsync("--cap-add", "ALL", "--cap-drop", "NET_RAW"));
    }

    [Fact]
    public async Task Cap_drop_ALL_keeps_only_the_added_ones()
    {
        Assert.Equal("0000000000000001", await CapEffAsync("--cap-drop", "all", "--cap-add", "Cap_Chown"));
    }

    [Theory]
    [InlineData("--cap-add", "FOO", "unknown capability: \"CAP_FOO\"")]
    [InlineData("--cap-drop", "CAP_NOPE", "unknown capability: \"CAP_NOPE\"")]
    [InlineData("--security-opt", "no-new-privileges=maybe", "invalid --security-opt: \"no-new-privileges=maybe\"")]
    [InlineData("--security-opt", "apparmor=docker-default", "invalid --security-opt: \"apparmor=docker-default\"")]
    public async Task A_bad_option_fails_with_125_and_leaves_no_container(string option, string value, string message)
    {
        var name = $"bad-option-{Guid.NewGuid():N}"[..24];

        var result = await fixture.RunAsync("run", "--rm", "--name", name, option, value, Image, "true");

        Assert.Equal(125, result.ExitCode);
        Assert.Contains(message, result.StandardError, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(fixture.Root, "containers", ".names", name)));
    }

    [Fact]
    public async Task Read_only_makes_the_root_filesystem_read_only_and_leaves_dev_volumes_and_tmpfs_writable()
    {
        var volume = $"ro-{Guid.NewGuid():N}"[..20];
        var script = "echo x > /file || echo refused; echo x > /dev/shm/f && echo shm; echo x > /data/f && echo volume; "
            + "echo x > /scratch/f && echo tmpfs; echo x > /dev/null && echo null; grep -c ' / overlay ro,' /proc/mounts";

        var result = await fixture.RunAsync("run", "--rm", "--read-only", "-v", $"{volume}:/data", "--tmpfs", "/scratch", "-w", "/made/by/run", Image, "sh", "-c", script);
        var writable = await fixture.RunAsync("run", "--rm", Image, "sh", "-c", "echo x > /file && echo written");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("refused\nshm\nvolume\ntmpfs\nnull\n1\n", result.StandardOutput);
        Assert.Contains("Read-only file system", result.StandardError, StringComparison.Ordinal);
        Assert.Equal("written\n", writable.StandardOutput);
    }

    [Fact]
    public async Task Without_no_new_privileges_a_setuid_program_runs_as_its_owner_as_under_docker()
    {
        var reference = await ImportSetuidImageAsync();

        var plain = await fixture.RunAsync("run", "--rm", "-u", "1000", reference, "sh", "-c", "/opt/suid-probe ids; grep NoNewPrivs: /proc/self/status");
        var off = await fixture.RunAsync("run", "--rm", "-u", "1000", "--security-opt", "no-new-privileges=false", reference, "/opt/suid-probe", "ids");

        Assert.True(plain.ExitCode == 0, plain.ToString());
        Assert.Equal("uid=1000 euid=0\nNoNewPrivs:\t0\n", plain.StandardOutput);
        Assert.Equal("uid=1000 euid=0\n", off.StandardOutput);
    }

    [Theory]
    [InlineData("no-new-privileges")]
    [InlineData("no-new-privileges=true")]
    [InlineData("no-new-privileges:true")]
    public async Task No_new_privileges_keeps_a_setuid_program_from_raising_privileges(string option)
    {
        var reference = await ImportSetuidImageAsync();

        var result = await fixture.RunAsync("run", "--rm", "-u", "1000", "--security-opt", option, reference, "sh", "-c", "/opt/suid-probe ids; grep NoNewPrivs: /proc/self/status");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("uid=1000 euid=1000\nNoNewPrivs:\t1\n", result.StandardOutput);
    }

    [Fact]
    public async Task Exec_takes_the_containers_capabilities_and_no_new_privileges()
    {
        var name = $"exec-caps-{Guid.NewGuid():N}"[..24];
        (await fixture.RunAsync("run", "-d", "--name", name, "--cap-drop", "CHOWN", "--cap-add", "SYS_ADMIN", "--security-opt", "no-new-privileges", Image, "sleep", "60")).EnsureSuccess();
        try
        {
            var exec = await fixture.RunAsync("exec", name, "sh", "-c", "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; busybox unshare -U true && echo unshared");

            Assert.True(exec.ExitCode == 0, exec.ToString());
            Assert.Equal("CapEff:\t00000000a82425fa\nNoNewPrivs:\t1\nunshared\n", exec.StandardOutput);
        }
        finally
        {
            await fixture.RunAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task Inspect_shows_the_capabilities_and_the_read_only_root_as_docker_does()
    {
        var name = $"inspect-caps-{Guid.NewGuid():N}"[..24];
        var plain = $"inspect-plain-{Guid.NewGuid():N}"[..24];
        (await fixture.RunAsync("run", "--name", name, "--cap-add", "sys_admin", "--cap-drop", "NET_RAW", "--read-only", "--security-opt", "no-new-privileges", Image, "true")).EnsureSuccess();
        (await fixture.RunAsync("run", "--name", plain, Image, "true")).EnsureSuccess();

        var host = await HostConfigAsync(name);
        var plainHost = await HostConfigAsync(plain);

        Assert.Equal(["sys_admin"], host.GetProperty("CapAdd").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(["NET_RAW"], host.GetProperty("CapDrop").EnumerateArray().Select(c => c.GetString()));
        Assert.True(host.GetProperty("ReadonlyRootfs").GetBoolean());
        Assert.Equal(["no-new-privileges"], host.GetProperty("SecurityOpt").EnumerateArray().Select(c => c.GetString()));
        Assert.Equal(JsonValueKind.Null, plainHost.GetProperty("CapAdd").ValueKind);
        Assert.False(plainHost.GetProperty("ReadonlyRootfs").GetBoolean());
    }

    private async Task<string> CapEffAsync(params string[] options)
    {
        var result = await fixture.RunAsync(["run", "--rm", .. options, Image, "grep", "CapEff:", "/proc/self/status"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return result.StandardOutput.Trim()["CapEff:".Length..].Trim();
    }

    private async Task<JsonElement> HostConfigAsync(string name)
    {
        var inspect = await fixture.RunAsync("inspect", name);
        Assert.True(inspect.ExitCode == 0, inspect.ToString());
        return JsonDocument.Parse(inspect.StandardOutput).RootElement[0].GetProperty("HostConfig").Clone();
    }

    /// <summary>The busybox image plus /opt/suid-probe, the probe setuid root (mode 4755), as an image may ship one.</summary>
    private async Task<string> ImportSetuidImageAsync()
    {
        const string reference = "registry.test/node-tests/setuid:latest";
        var probe = await File.ReadAllBytesAsync(Path.Combine(AppContext.BaseDirectory, "probes", "syscall-probe"));
        await fixture.ImportWithLayerAsync(reference, new TestLayer().Dir("opt").FileBytes("opt/suid-probe", probe, (UnixFileMode)0b100_111_101_101));
        return reference;
    }
}
