using System.Text.RegularExpressions;
using Registry.Testing;

namespace Registry.E2E.Tests.Readme;

/// <summary>
/// README.md's shell blocks, run in order as a new user would run them (<see cref="ReadmeRun"/>): the registry that
/// the Quick start starts, then docker, skopeo, podman, ctr and curl against it. The blocks that cannot run on a
/// test machine are marked in README.md and say why.
/// </summary>
public sealed partial class ReadmeExamplesTests : IDisposable
{
    /// <summary>The image the README pushes; "any image you have", so one is made from /bin/busybox when missing.</summary>
    private const string ReadmeImage = "busybox";

    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(10);

    private readonly TemporaryDirectory _directory = new("e2e-readme");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Every_shell_block_of_the_readme_runs_in_order_against_the_registry_it_starts()
    {
        using var timeout = new CancellationTokenSource(RunTimeout + TimeSpan.FromMinutes(3));
        var ct = timeout.Token;
        var docker = DockerCli.Default;
        await docker.EnsureAvailableAsync(ct);
        await EnsureImageAsync(docker, ct);
        var blocks = ReadmeBlocks();
        var port = FreePort.Get();
        var containerdNamespace = "readme-" + Guid.NewGuid().ToString("N")[..12];
        Directory.CreateDirectory(_directory.Combine("tmp"));
        await File.WriteAllTextAsync(_directory.Combine("auth.json"), "{}", ct);
        var environment = new Dictionary<string, string?>
        {
            ["REGISTRY_DATA_DIR"] = _directory.Combine("data"),
            ["Urls"] = $"http://127.0.0.1:{port}",
            ["ASPNETCORE_ENVIRONMENT"] = "Production",
            ["DOTNET_ENVIRONMENT"] = "Production",
            // Client state of this run only: docker's logins, skopeo's and podman's auth file, ctr's namespace.
            ["DOCKER_CONFIG"] = _directory.Combine("docker-config"),
            ["REGISTRY_AUTH_FILE"] = _directory.Combine("auth.json"),
            ["CONTAINERD_NAMESPACE"] = containerdNamespace,
            ["TMPDIR"] = _directory.Combine("tmp"),
        };

        ReadmeRunResult result;
        try
        {
            result = await ReadmeRun.RunAsync(
                blocks, port, RepositoryRoot.Path, _directory.Path, environment, RunTimeout, ct);
        }
        finally
        {
            await RemoveWhatTheRunPulledAsync(docker, port, containerdNamespace);
        }

        Assert.True(result.Succeeded, result.ToString());
        Assert.Equal(blocks.Where(b => b.IsRunnable).Select(b => b.Line), result.BlocksStarted);
    }

    [Fact]
    public void The_readme_runs_its_walkthrough_and_says_why_of_every_block_it_skips()
    {
        var blocks = ReadmeBlocks();
        var runnable = blocks.Where(b => b.IsRunnable).ToList();

        // The walkthrough: start, push, users and tokens, every client, policies, collection, compose.
        Assert.True(runnable.Count >= 8, $"only {runnable.Count} runnable blocks");
        Assert.Contains(runnable, b => b.Code.Contains("dotnet run --project src/Registry.Api &", StringComparison.Ordinal));
        foreach (var client in new[] { "docker push", "skopeo copy", "podman pull", "ctr ", "curl " })
        {
            Assert.Contains(runnable, b => b.Code.Contains(client, StringComparison.Ordinal));
        }

        Assert.All(blocks.Where(b => b.IsShell && !b.IsRunnable), b => Assert.False(string.IsNullOrWhiteSpace(b.SkipReason)));
        // A date written into an example expires; examples compute theirs.
        Assert.All(runnable, b => Assert.DoesNotMatch(Date(), b.Code));
        // Every address the examples use is the one the test moves to a free port.
        Assert.All(runnable, b => Assert.DoesNotMatch(OtherLocalAddress(), b.Code));
    }

    [Fact]
    public async Task A_failing_command_stops_the_run_in_its_block()
    {
        var blocks = MarkdownShellBlocks.Parse("""
            ```sh
            echo first-block
            ```

            ```sh
            false | cat
            echo after-the-failure
            ```

            ```sh
            echo third-block
            ```
            """);

        var result = await ReadmeRun.RunAsync(
            blocks, FreePort.Get(), _directory.Path, _directory.Path, new Dictionary<string, string?>(), TimeSpan.FromMinutes(1), CancellationToken.None);

        Assert.False(result.Succeeded);
        Assert.Equal([1, 5], result.BlocksStarted);
        Assert.Contains("first-block", result.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("after-the-failure", result.Log, StringComparison.Ordinal);
        Assert.DoesNotContain("third-block", result.Log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_process_a_block_leaves_running_is_stopped_when_the_run_ends()
    {
        var pidFile = _directory.Combine("sleeper.pid");
        var blocks = MarkdownShellBlocks.Parse($"""
            ```sh
            sleep 300 &
            echo $! > {pidFile}
            ```
            """);

        var result = await ReadmeRun.RunAsync(
            blocks, FreePort.Get(), _directory.Path, _directory.Path, new Dictionary<string, string?>(), TimeSpan.FromMinutes(1), CancellationToken.None);

        Assert.True(result.Succeeded, result.ToString());
        var pid = int.Parse(await File.ReadAllTextAsync(pidFile), System.Globalization.CultureInfo.InvariantCulture);
        Assert.False(Directory.Exists($"/proc/{pid}"), $"process {pid} still runs");
    }

    [Fact]
    public void Skip_markers_must_give_a_reason_and_apply_to_the_next_block_only()
    {
        Assert.Throws<FormatException>(() => MarkdownShellBlocks.Parse("<!-- readme-test: skip -->\n```sh\ntrue\n```\n"));

        var blocks = MarkdownShellBlocks.Parse(
            "<!-- readme-test: skip: needs a cluster -->\n\n```sh\nkubectl get pods\n```\n\n```sh\ntrue\n```\n\n```console\n$ x\n```\n");

        Assert.Equal(["needs a cluster", null, null], blocks.Select(b => b.SkipReason));
        Assert.Equal([false, true, false], blocks.Select(b => b.IsRunnable));
    }

    private static IReadOnlyList<MarkdownCodeBlock> ReadmeBlocks() =>
        MarkdownShellBlocks.Parse(File.ReadAllText(Path.Combine(RepositoryRoot.Path, "README.md")));

    /// <summary>
    /// A local image named <c>busybox</c> (nothing can be pulled here): made from Debian's static busybox with
    /// <c>docker import</c> when the engine has none. Kept afterwards, like a pulled image would be.
    /// </summary>
    private async Task EnsureImageAsync(DockerCli docker, CancellationToken ct)
    {
        if (await docker.ImageExistsAsync(ReadmeImage, ct))
        {
            return;
        }

        var rootfs = _directory.Combine("rootfs");
        Directory.CreateDirectory(Path.Combine(rootfs, "bin"));
        File.Copy(Registry.Testing.Images.TestImages.BusyboxPath, Path.Combine(rootfs, "bin", "busybox"));
        File.CreateSymbolicLink(Path.Combine(rootfs, "bin", "sh"), "busybox");
        var import = await ProcessRunner.RunAsync(
            "bash",
            ["-euo", "pipefail", "-c", "tar -C \"$1\" -c . | docker import -c 'CMD [\"/bin/sh\"]' -c 'LABEL registry-test=readme' - \"$2\"", "import", rootfs, ReadmeImage],
            TimeSpan.FromMinutes(2),
            cancellationToken: ct);
        import.EnsureSuccess();
    }

    /// <summary>The engine, podman and containerd are shared: only what this run pulled or tagged goes.</summary>
    private static async Task RemoveWhatTheRunPulledAsync(DockerCli docker, int port, string containerdNamespace)
    {
        var prefix = $"127.0.0.1:{port}/";
        var dockerImages = await docker.RunAsync(["images", "--format", "{{.Repository}}:{{.Tag}}"]);
        foreach (var reference in References(dockerImages.StandardOutput, prefix))
        {
            await docker.RemoveImageAsync(reference, force: true);
        }

        var podmanImages = await ProcessRunner.RunAsync("podman", ["images", "--format", "{{.Repository}}:{{.Tag}}"]);
        foreach (var reference in References(podmanImages.StandardOutput, prefix))
        {
            await ProcessRunner.RunAsync("podman", ["rmi", "--force", reference]);
        }

        try
        {
            var containerd = await ContainerdCli.ConnectAsync(containerdNamespace);
            await containerd.RemoveNamespaceAsync();
        }
        catch (InvalidOperationException)
        {
            // No containerd answers: the run could not have pulled anything into it.
        }
    }

    private static IEnumerable<string> References(string listing, string prefix) =>
        listing.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Where(r => r.StartsWith(prefix, StringComparison.Ordinal));

    [GeneratedRegex(@"\b20\d\d-[01]\d-[0-3]\d")]
    private static partial Regex Date();

    [GeneratedRegex(@"(localhost|127\.0\.0\.1):(?!5000\b)\d+")]
    private static partial Regex OtherLocalAddress();
}
