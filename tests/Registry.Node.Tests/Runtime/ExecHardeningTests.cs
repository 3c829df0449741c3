using System.Text.Json;
using Registry.Node.Runtime;
using Registry.Testing;

namespace Registry.Node.Tests.Runtime;

/// <summary>
/// What a container can see of the runtime's own binary while an exec enters it: CVE-2019-5736's
/// attack on runc, played by Probes/syscall-probe.c as the container's pid 1 against rn-init.
/// </summary>
[Collection(ContainerTestCollection.Name)]
public sealed class ExecHardeningTests(RuntimeImageFixture fixture) : IClassFixture<RuntimeImageFixture>
{
    private const string Image = RuntimeImageFixture.Reference;

    [Fact]
    public async Task A_container_cannot_reach_the_runtime_binary_through_an_exec()
    {
        // The attack may succeed against a vulnerable runtime: it gets a copy of rn-init to destroy, not the build's.
        using var directory = new TemporaryDirectory("exec-hardening");
        var init = directory.Combine("rn-init");
        File.Copy(Path.Combine(Path.GetDirectoryName(NodeCliExecutable())!, "rn-init"), init);
        var original = await File.ReadAllBytesAsync(init);
        var inode = (await ProcessRunner.RunAsync("stat", ["-c", "%d:%i", init])).EnsureSuccess().StandardOutput.Trim();
        var environment = new Dictionary<string, string?> { [ContainerRunner.InitVariable] = init };
        var name = $"exe-attack-{Guid.NewGuid():N}"[..24];

        // rn-init is linked against the host's libc: the image brings a loader and a libc, as most images do.
        (await fixture.RunWithEnvironmentAsync(
            environment,
            "run", "-d", "--name", name, "--network", "none",
            "-v", SeccompTests.ProbeMount,
            "-v", $"{HostFile("/lib64/ld-linux-x86-64.so.2")}:/lib64/ld-linux-x86-64.so.2:ro",
            "-v", $"{HostFile("/lib/x86_64-linux-gnu/libc.so.6")}:/lib/x86_64-linux-gnu/libc.so.6:ro",
            Image, "/probe/syscall-probe", "exe-attack", "/tmp/hold", "/evil")).EnsureSuccess();
        try
        {
            await WaitForAsync(async () => (await fixture.RunAsync("logs", name)).StandardOutput.Contains("ready\n", StringComparison.Ordinal));

            // The exec runs /evil, "#!/proc/self/exe --supervise": the kernel starts the exec's own binary
            // again, inside the container, where it waits to read /tmp/hold as its spec.
            await fixture.RunWithEnvironmentAsync(environment, "exec", name, "/evil", "/tmp/hold", "1");
            await WaitForAsync(async () => await StatusAsync(name) == "Exited");
            var log = (await fixture.RunAsync("logs", name)).StandardOutput;

            // It found the exec's process; whatever its /proc/PID/exe gave (if anything), it was not the host's file.
            Assert.Contains("found: yes\n", log, StringComparison.Ordinal);
            Assert.DoesNotContain($"exe-inode: {inode}\n", log, StringComparison.Ordinal);
            Assert.DoesNotContain("write-exe: ok", log, StringComparison.Ordinal);
            Assert.Equal(original, await File.ReadAllBytesAsync(init));
        }
        finally
        {
            await fixture.RunWithEnvironmentAsync(environment, "rm", "-f", name);
        }
    }

    private static string NodeCliExecutable() => Registry.Node.Tests.Cli.NodeCliProcess.Executable;

    /// <summary>The file a host path names, symlinks resolved (a bind mount's source is taken as it is).</summary>
    private static string HostFile(string path) => new FileInfo(path).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? path;

    private async Task<string?> StatusAsync(string name)
    {
        var inspect = await fixture.RunAsync("inspect", name);
        return inspect.ExitCode == 0 ? JsonDocument.Parse(inspect.StandardOutput).RootElement[0].GetProperty("State").GetProperty("status").GetString() : null;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition)
    {
        for (var i = 0; i < 300; i++)
        {
            if (await condition())
            {
                return;
            }

            await Task.Delay(100);
        }

        throw new TimeoutException("the container did not get there in 30 s");
    }
}
