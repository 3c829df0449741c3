using System.Text.Json;
using Registry.Testing;

namespace Registry.Node.Tests.Runtime;

/// <summary>
/// The seccomp filter, with real containers: on by default with docker's default profile in effect,
/// <c>--security-opt seccomp=unconfined</c> and <c>seccomp=PROFILE.json</c>. System calls busybox has
/// no applet for are attempted by Probes/syscall-probe.c, bind-mounted at /probe.
/// </summary>
[Collection(ContainerTestCollection.Name)]
public sealed class SeccompTests(RuntimeImageFixture fixture) : IClassFixture<RuntimeImageFixture>
{
    private const string Image = RuntimeImageFixture.Reference;

    /// <summary>Where the test build puts the probe: mounted read-only at /probe in the containers that use it.</summary>
    internal static string ProbeMount => $"{Path.Combine(AppContext.BaseDirectory, "probes")}:/probe:ro";

    [Fact]
    public async Task A_container_runs_under_a_seccomp_filter()
    {
        var result = await fixture.RunAsync("run", "--rm", Image, "grep", "Seccomp:", "/proc/self/status");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("Seccomp:\t2\n", result.StandardOutput);
    }

    [Fact]
    public async Task Creating_a_user_namespace_is_refused_unless_unconfined()
    {
        var confined = await fixture.RunAsync("run", "--rm", Image, "busybox", "unshare", "-U", "true");
        var unconfined = await fixture.RunAsync("run", "--rm", "--security-opt", "seccomp=unconfined", Image, "busybox", "unshare", "-U", "true");

        Assert.NotEqual(0, confined.ExitCode);
        Assert.Contains("Operation not permitted", confined.StandardError, StringComparison.Ordinal);
        Assert.True(unconfined.ExitCode == 0, unconfined.ToString());
    }

    [Fact]
    public async Task Keyring_system_calls_are_refused_unless_unconfined()
    {
        var confined = await fixture.RunAsync("run", "--rm", "-v", ProbeMount, Image, "/probe/syscall-probe", "keyctl");
        var unconfined = await fixture.RunAsync("run", "--rm", "-v", ProbeMount, "--security-opt", "seccomp=unconfined", Image, "/probe/syscall-probe", "keyctl");

        Assert.True(confined.ExitCode == 0, confined.ToString());
        Assert.Equal("add_key: errno 1\nkeyctl: errno 1\n", confined.StandardOutput);
        Assert.True(unconfined.ExitCode == 0, unconfined.ToString());
        Assert.Equal("add_key: ok\nkeyctl: ok\n", unconfined.StandardOutput);
    }

    [Fact]
    public async Task Personality_takes_only_the_values_docker_allows()
    {
        var result = await fixture.RunAsync("run", "--rm", "-v", ProbeMount, Image, "/probe/syscall-probe", "personality");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("personality-addr-no-randomize: errno 1\npersonality-query: ok\n", result.StandardOutput);
    }

    [Fact]
    public async Task Clone3_answers_ENOSYS_so_that_libc_falls_back_to_clone()
    {
        var result = await fixture.RunAsync("run", "--rm", "-v", ProbeMount, Image, "/probe/syscall-probe", "clone3");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("clone3: errno 38\n", result.StandardOutput);
    }

    [Fact]
    public async Task A_profile_file_in_dockers_format_is_the_filter()
    {
        using var directory = new TemporaryDirectory("seccomp-profile");
        var profile = directory.Combine("profile.json");
        // Everything allowed but making directories, which fails with EACCES (13).
        await File.WriteAllTextAsync(profile, """
            {
              "defaultAction": "SCMP_ACT_ALLOW",
              "syscalls": [ { "names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13 } ]
            }
            """);

        var result = await fixture.RunAsync("run", "--rm", "--security-opt", $"seccomp={profile}", Image, "sh", "-c", "grep Seccomp: /proc/self/status; mkdir /made; echo $?; busybox unshare -U true && echo unshared");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("Seccomp:\t2\n1\nunshared\n", result.StandardOutput);
        Assert.Contains("Permission denied", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_damaged_compiled_filter_is_compiled_again_rather_than_loaded()
    {
        (await fixture.RunAsync("run", "--rm", Image, "true")).EnsureSuccess();
        var compiled = Directory.GetFiles(Path.Combine(fixture.Root, "seccomp"), "*.bpf");
        Assert.NotEmpty(compiled);
        foreach (var file in compiled)
        {
            // A valid program that allows everything, made from another description: it must not be loaded.
            await File.WriteAllBytesAsync(file, [.. "rn-seccomp 1\n"u8, 4, 0, 0, 0, .. "none"u8, 1, 0, 0, 0, 0x06, 0, 0, 0, 0x00, 0x00, 0xff, 0x7f]);
        }

        var result = await fixture.RunAsync("run", "--rm", "-v", ProbeMount, Image, "/probe/syscall-probe", "keyctl");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal("add_key: errno 1\nkeyctl: errno 1\n", result.StandardOutput);
        // The default filter's file (other tests of this class leave theirs) was compiled again and replaced.
        Assert.Contains(compiled, file => new FileInfo(file).Length > 1000);
    }

    [Theory]
    [InlineData("missing", "opening seccomp profile")]
    [InlineData("{ not json", "compacting json for seccomp profile")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_EXPLODE" }""", "unrecognized seccomp action \"SCMP_ACT_EXPLODE\"")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ALLOW", "syscalls": [ { "names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [ { "index": 0, "value": 1, "op": "SCMP_CMP_SOMETIMES" } ] } ] }""", "unrecognized seccomp operator")]
    [InlineData("""{ "defaultAction": "SCMP_ACT_ALLOW", "defaultErrnoRet": "one" }""", "Decoding seccomp profile failed")]
    public async Task A_bad_profile_fails_with_125_and_leaves_no_container(string content, string message)
    {
        using var directory = new TemporaryDirectory("seccomp-bad");
        var profile = directory.Combine("profile.json");
        if (content != "missing")
        {
            await File.WriteAllTextAsync(profile, content);
        }

        var name = $"bad-profile-{Guid.NewGuid():N}"[..24];
        var before = ContainerDirectories();

        var result = await fixture.RunAsync("run", "--rm", "--name", name, "--security-opt", $"seccomp={profile}", Image, "true");

        Assert.Equal(125, result.ExitCode);
        Assert.Contains(message, result.StandardError, StringComparison.Ordinal);
        Assert.Equal(before, ContainerDirectories());
        Assert.False(File.Exists(Path.Combine(fixture.Root, "containers", ".names", name)));
    }

    [Fact]
    public async Task Inspect_shows_the_security_options_as_docker_does()
    {
        using var directory = new TemporaryDirectory("seccomp-inspect");
        var profile = directory.Combine("profile.json");
        await File.WriteAllTextAsync(profile, "{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\"\n}\n");
        var unconfined = $"unconfined-{Guid.NewGuid():N}"[..24];
        var custom = $"custom-{Guid.NewGuid():N}"[..24];
        var plain = $"plain-{Guid.NewGuid():N}"[..24];
        (await fixture.RunAsync("run", "--name", unconfined, "--security-opt", "seccomp=unconfined", Image, "true")).EnsureSuccess();
        (await fixture.RunAsync("run", "--name", custom, "--security-opt", $"seccomp={profile}", Image, "true")).EnsureSuccess();
        (await fixture.RunAsync("run", "--name", plain, Image, "true")).EnsureSuccess();

        Assert.Equal<string[]?>(["seccomp=unconfined"], await SecurityOptAsync(unconfined));
        Assert.Equal<string[]?>(["seccomp={\"defaultAction\":\"SCMP_ACT_ALLOW\"}"], await SecurityOptAsync(custom));
        Assert.Null(await SecurityOptAsync(plain));
    }

    [Fact]
    public async Task Exec_runs_under_the_containers_filter()
    {
        var confined = $"exec-seccomp-{Guid.NewGuid():N}"[..24];
        var unconfined = $"exec-unconf-{Guid.NewGuid():N}"[..24];
        (await fixture.RunAsync("run", "-d", "--name", confined, Image, "sleep", "60")).EnsureSuccess();
        (await fixture.RunAsync("run", "-d", "--name", unconfined, "--security-opt", "seccomp=unconfined", Image, "sleep", "60")).EnsureSuccess();
        try
        {
            var inConfined = await fixture.RunAsync("exec", confined, "sh", "-c", "grep Seccomp: /proc/self/status; busybox unshare -U true");
            var inUnconfined = await fixture.RunAsync("exec", unconfined, "sh", "-c", "grep Seccomp: /proc/self/status; busybox unshare -U true");

            Assert.NotEqual(0, inConfined.ExitCode);
            Assert.Equal("Seccomp:\t2\n", inConfined.StandardOutput);
            Assert.True(inUnconfined.ExitCode == 0, inUnconfined.ToString());
            Assert.Equal("Seccomp:\t0\n", inUnconfined.StandardOutput);
        }
        finally
        {
            await fixture.RunAsync("rm", "-f", confined, unconfined);
        }
    }

    private string[] ContainerDirectories() =>
        Directory.Exists(Path.Combine(fixture.Root, "containers"))
            ? [.. Directory.EnumerateDirectories(Path.Combine(fixture.Root, "containers")).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)]
            : [];

    private async Task<string[]?> SecurityOptAsync(string name)
    {
        var inspect = await fixture.RunAsync("inspect", name);
        Assert.True(inspect.ExitCode == 0, inspect.ToString());
        using var json = JsonDocument.Parse(inspect.StandardOutput);
        var options = json.RootElement[0].GetProperty("HostConfig").GetProperty("SecurityOpt");
        return options.ValueKind == JsonValueKind.Null ? null : [.. options.EnumerateArray().Select(o => o.GetString()!)];
    }
}
