using System.Text.Json;
using Registry.Testing;

namespace Registry.Node.Tests.Runtime;

/// <summary>
/// User-namespace remapping with real containers: <c>--userns-remap START:COUNT</c> (or
/// <c>REGISTRY_NODE_USERNS_REMAP</c>) on the node, <c>--userns remap|host</c> on run.
/// </summary>
[Collection(ContainerTestCollection.Name)]
public sealed class UsernsTests(RuntimeImageFixture fixture) : IClassFixture<RuntimeImageFixture>
{
    private const string Image = RuntimeImageFixture.Reference;
    private const uint HostId = 231072;
    private const string Remap = "231072:65536";

    [Fact]
    public async Task The_containers_root_is_an_unprivileged_host_user_and_owns_what_it_writes()
    {
        var name = $"userns-{Guid.NewGuid():N}"[..20];
        var volume = $"userns-vol-{Guid.NewGuid():N}"[..24];
        (await fixture.RunAsync("--userns-remap", Remap, "run", "-d", "--name", name, "--network", "none", "-v", $"{volume}:/data", Image, "sleep", "60")).EnsureSuccess();
        try
        {
            var inside = await fixture.RunAsync("exec", name, "sh", "-c", "id -u; cat /proc/self/uid_map; echo made > /data/file; echo made > /written; ls -ln /bin/busybox");
            var pid = await Pid1Async(name);
            var hostUid = File.ReadLines($"/proc/{pid}/status").Single(l => l.StartsWith("Uid:", StringComparison.Ordinal));

            Assert.True(inside.ExitCode == 0, inside.ToString());
            var lines = inside.StandardOutput.Split('\n');
            Assert.Equal("0", lines[0]);
            Assert.Equal(["0", "231072", "65536"], lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries));
            // The image's files are root's inside (the layers are idmapped), though root owns them on the host.
            Assert.Equal("0", lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries)[2]);
            Assert.Equal($"Uid:\t{HostId}\t{HostId}\t{HostId}\t{HostId}", hostUid);
            Assert.Equal($"{HostId}:{HostId}", await OwnerAsync(Path.Combine(fixture.Root, "volumes", volume, "_data", "file")));
            Assert.Equal($"{HostId}:{HostId}", await OwnerAsync(Path.Combine(fixture.ContainerDirectory(name), "upper", "written")));
        }
        finally
        {
            await fixture.RunAsync("rm", "-f", name);
        }
    }

    [Fact]
    public async Task A_foreground_run_is_remapped_and_can_change_the_images_files()
    {
        var result = await fixture.RunAsync("--userns-remap", Remap, "run", "--rm", Image, "sh", "-c", "id -u; echo changed >> /etc/test-image-marker && echo changed; cat /proc/self/uid_map");

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = result.StandardOutput.Split('\n');
        Assert.Equal(["0", "changed"], lines[..2]);
        Assert.Equal(["0", "231072", "65536"], lines[2].Split(' ', StringSplitOptions.RemoveEmptyEntries));
    }

    [Fact]
    public async Task The_node_setting_makes_remapping_the_default_and_userns_host_turns_it_off()
    {
        var environment = new Dictionary<string, string?> { ["REGISTRY_NODE_USERNS_REMAP"] = Remap };

        var remapped = await fixture.RunWithEnvironmentAsync(environment, "run", "--rm", Image, "cat", "/proc/self/uid_map");
        var host = await fixture.RunWithEnvironmentAsync(environment, "run", "--rm", "--userns", "host", Image, "cat", "/proc/self/uid_map");
        var plain = await fixture.RunAsync("run", "--rm", Image, "cat", "/proc/self/uid_map");

        Assert.Equal(["0", "231072", "65536"], remapped.StandardOutput.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal(["0", "0", "4294967295"], host.StandardOutput.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.Equal(host.StandardOutput, plain.StandardOutput);
    }

    [Fact]
    public async Task Inspect_shows_the_remapping()
    {
        var name = $"userns-inspect-{Guid.NewGuid():N}"[..24];
        (await fixture.RunAsync("--userns-remap", Remap, "run", "--name", name, Image, "true")).EnsureSuccess();

        var inspect = await fixture.RunAsync("inspect", name);
        using var json = JsonDocument.Parse(inspect.StandardOutput);

        Assert.Equal("remap", json.RootElement[0].GetProperty("HostConfig").GetProperty("UsernsMode").GetString());
        Assert.Equal("231072:231072:65536", json.RootElement[0].GetProperty("Config").GetProperty("usernsRemap").GetString());
    }

    [Theory]
    [InlineData(new[] { "run", "--userns", "remap" }, "--userns remap needs the node's mapping")]
    [InlineData(new[] { "--userns-remap", Remap, "run", "--network", "host" }, "--network host cannot be used with a remapped user namespace")]
    [InlineData(new[] { "--userns-remap", "0:65536", "run" }, "the host range must start above 0")]
    [InlineData(new[] { "--userns-remap", "nosuchuser-registry-node", "run" }, "no range for nosuchuser-registry-node")]
    public async Task A_remapping_that_cannot_work_fails_with_125(string[] options, string message)
    {
        var result = await fixture.RunAsync([.. options, Image, "true"]);

        Assert.Equal(125, result.ExitCode);
        Assert.Contains(message, result.StandardError, StringComparison.Ordinal);
    }

    private async Task<int> Pid1Async(string name)
    {
        var inspect = await fixture.RunAsync("inspect", name);
        using var json = JsonDocument.Parse(inspect.StandardOutput);
        return json.RootElement[0].GetProperty("State").GetProperty("pid").GetInt32();
    }

    private static async Task<string> OwnerAsync(string path) =>
        (await ProcessRunner.RunAsync("stat", ["-c", "%u:%g", path])).EnsureSuccess().StandardOutput.Trim();
}
