using System.Diagnostics;
using Registry.Node.Runtime;
using Registry.Testing;

namespace Registry.Node.Tests.Runtime;

/// <summary>
/// <c>exec -u NAME</c> resolves NAME in the container's own /etc/passwd and /etc/group, which the
/// container controls. A host file (here one the test writes, naming a user "intruder") must never
/// be read in their place: neither through a symlink the container made, nor by swapping the file
/// for such a symlink between a check and an open.
/// </summary>
[Collection(ContainerTestCollection.Name)]
public sealed class ExecUserTests(RuntimeImageFixture fixture) : IClassFixture<RuntimeImageFixture>, IAsyncLifetime, IDisposable
{
    private const string Users = "registry.test/node-tests/exec-users:latest";
    private static readonly TimeSpan RaceDuration = TimeSpan.FromSeconds(10);

    private readonly TemporaryDirectory _host = new("exec-passwd");
    private readonly List<string> _names = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var name in _names)
        {
            await fixture.RunAsync("rm", "-f", name);
        }
    }

    public void Dispose() => _host.Dispose();

    [Fact]
    public async Task A_passwd_symlinked_to_a_host_file_is_not_followed_out_of_the_container()
    {
        var name = await RunAsync($"ln -sf {HostPasswd()} /etc/passwd && ln -sf {HostGroup()} /etc/group && echo ready; while :; do sleep 1; done");

        var exec = await fixture.RunAsync("exec", "-u", "intruder", name, "id");
        var known = await fixture.RunAsync("exec", "-u", "1000", name, "id", "-u");

        Assert.Equal(125, exec.ExitCode);
        Assert.Contains("unable to find user intruder: no matching entries in passwd file", exec.StandardError, StringComparison.Ordinal);
        Assert.DoesNotContain("4242", exec.StandardOutput, StringComparison.Ordinal);
        Assert.True(known.ExitCode == 0, known.ToString());
        Assert.Equal("1000\n", known.StandardOutput);
    }

    [Fact]
    public async Task A_passwd_the_container_keeps_swapping_for_a_symlink_to_a_host_file_is_never_read()
    {
        // The container's /etc/passwd is its own file, then a symlink to the host's file, and back, as fast as it can.
        var name = await RunAsync(
            $"busybox cp /etc/passwd /etc/passwd.own && echo ready; while :; do "
            + $"ln -sfn {HostPasswd()} /etc/passwd.link && busybox mv -f /etc/passwd.link /etc/passwd; "
            + "busybox cp /etc/passwd.own /etc/passwd.file && busybox mv -f /etc/passwd.file /etc/passwd; done");
        var lifecycle = new ContainerLifecycle(new ContainerStore(fixture.Root));
        var id = lifecycle.Find(name);

        // In process, so that thousands of lookups race the container's swaps within the time limit.
        var attempts = 0;
        var refusals = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < RaceDuration)
        {
            attempts++;
            try
            {
                var exit = await lifecycle.ExecAsync(id, new ExecRequest(["true"], [], null, "intruder"), CancellationToken.None);
                Assert.Fail($"exec -u intruder ran (exit code {exit}) after {attempts} attempts: the host's passwd file was read");
            }
            catch (ContainerConfigException e)
            {
                Assert.Equal("unable to find user intruder: no matching entries in passwd file", e.Message);
                refusals++;
            }
        }

        Assert.Equal(attempts, refusals);
        Assert.True(attempts > 100, $"only {attempts} lookups in {RaceDuration}");
    }

    private string HostPasswd() => _host.Combine("passwd");

    private string HostGroup() => _host.Combine("group");

    /// <summary>Writes the host's files naming "intruder", then runs a detached container of the users image (as root) with <paramref name="script"/>.</summary>
    private async Task<string> RunAsync(string script)
    {
        await File.WriteAllTextAsync(HostPasswd(), "intruder:x:4242:4242:on the host:/:/bin/sh\n");
        await File.WriteAllTextAsync(HostGroup(), "intruder:x:4242:\n");
        await fixture.ImportUsersImageAsync(Users);
        var name = $"exec-user-{Guid.NewGuid():N}"[..20];
        _names.Add(name);
        (await fixture.RunAsync("run", "-d", "--name", name, "-u", "0", Users, "sh", "-c", script)).EnsureSuccess();
        var clock = Stopwatch.StartNew();
        while (!(await fixture.RunAsync("logs", name)).StandardOutput.Contains("ready", StringComparison.Ordinal))
        {
            Assert.True(clock.Elapsed < TimeSpan.FromMinutes(1), $"container {name} did not start");
            await Task.Delay(100);
        }

        return name;
    }
}
