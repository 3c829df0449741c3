using System.Text;
using System.Text.Json.Nodes;
using Registry.Core;
using Registry.Node.Snapshots;
using Registry.Node.Tests.Client;
using Registry.Testing;
using Registry.Testing.Images;

namespace Registry.Node.Tests.Cli;

/// <summary>The <c>pull</c> command, run as the built executable against our registry.</summary>
public sealed class PullCommandTests(RegistryFixture fixture) : IClassFixture<RegistryFixture>, IDisposable
{
    private readonly NodeCliProcess _cli = new(fixture.Registry);

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task A_pull_prints_a_progress_line_per_layer_and_exits_0()
    {
        var image = TestImages.Create(layerCount: 3);
        var reference = await PushAsync(image);

        var result = await _cli.RunAsync("pull", reference);

        Assert.True(result.ExitCode == 0, result.ToString());
        var lines = Lines(result.StandardOutput);
        foreach (var layer in image.Layers)
        {
            Assert.Contains($"{layer.Compressed.Hex[..12]}: pull complete", lines);
        }

        Assert.Contains($"Status: Downloaded newer image for {reference}", lines);
        Assert.Contains($"Digest: {image.OciManifest.Digest}", lines);
    }

    [Fact]
    public async Task On_a_terminal_a_pull_draws_a_progress_bar_per_layer()
    {
        var image = TestImages.Create(layerCount: 2);
        var reference = await PushAsync(image);
        var command = string.Join(' ', new[] { NodeCliProcess.Executable, "--root", _cli.Root, "pull", reference }.Select(a => $"'{a}'"));

        // util-linux's script gives the child a pseudo-terminal for its stdout.
        var result = await ProcessRunner.RunAsync(
            "script", ["--quiet", "--return", "--command", command, "/dev/null"], TimeSpan.FromMinutes(2),
            new Dictionary<string, string?> { ["TERM"] = "xterm-256color", ["COLUMNS"] = "120", ["DOCKER_CONFIG"] = _cli.DockerConfig });

        Assert.True(result.ExitCode == 0, result.ToString());
        foreach (var layer in image.Layers)
        {
            Assert.Contains($"{layer.Compressed.Hex[..12]}: Pull complete", result.StandardOutput, StringComparison.Ordinal);
        }

        Assert.Contains("100%", result.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("\u001b[", result.StandardOutput, StringComparison.Ordinal);
        Assert.DoesNotContain(": pull complete", result.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pull_unpacks_each_layer_into_a_snapshot_named_by_its_chain_id()
    {
        var image = TestImages.Create(layerCount: 2);
        var reference = await PushAsync(image);

        (await _cli.RunAsync("pull", reference)).EnsureSuccess();

        var chainIds = ChainIds.Compute([.. image.Layers.Select(l => Digest.Parse(l.DiffId))]);
        var snapshots = Path.Combine(_cli.Root, "snapshots");
        Assert.Equal(
            chainIds.Select(c => c.Encoded).Order(StringComparer.Ordinal),
            Directory.EnumerateDirectories(snapshots).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var bottom = Path.Combine(snapshots, chainIds[0].Encoded);
        Assert.Equal(await File.ReadAllBytesAsync(TestImages.BusyboxPath), await File.ReadAllBytesAsync(Path.Combine(bottom, "bin", "busybox")));
        Assert.Equal("busybox", new FileInfo(Path.Combine(bottom, "bin", "sh")).LinkTarget);
        Assert.Equal($"{image.ContentMarker}\n", await File.ReadAllTextAsync(Path.Combine(bottom, "etc", "test-image-marker")));
        // Lower-dir form: the second snapshot holds only the second layer's files.
        var top = Path.Combine(snapshots, chainIds[1].Encoded);
        Assert.True(File.Exists(Path.Combine(top, "hello.txt")));
        Assert.False(Directory.Exists(Path.Combine(top, "bin")));
    }

    [Fact]
    public async Task Pulling_the_same_image_again_downloads_nothing()
    {
        var image = TestImages.Create(layerCount: 2);
        var reference = await PushAsync(image);
        (await _cli.RunAsync("pull", reference)).EnsureSuccess();
        var snapshots = Directory.EnumerateDirectories(Path.Combine(_cli.Root, "snapshots")).Select(d => (d, Directory.GetLastWriteTimeUtc(d))).ToList();

        var again = await _cli.RunAsync("pull", reference);

        Assert.True(again.ExitCode == 0, again.ToString());
        var lines = Lines(again.StandardOutput);
        foreach (var layer in image.Layers)
        {
            Assert.Contains($"{layer.Compressed.Hex[..12]}: already exists", lines);
        }

        Assert.DoesNotContain(lines, l => l.Contains("downloading", StringComparison.Ordinal));
        Assert.Contains($"Status: Image is up to date for {reference}", lines);
        Assert.Equal(snapshots, Directory.EnumerateDirectories(Path.Combine(_cli.Root, "snapshots")).Select(d => (d, Directory.GetLastWriteTimeUtc(d))).ToList());
    }

    [Fact]
    public async Task Pulling_an_image_the_registry_does_not_have_exits_1_with_one_line()
    {
        var reference = $"{fixture.Registry.HostPort}/{RegistryFixture.NewRepository("missing")}:nope";

        var result = await _cli.RunAsync("pull", reference);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"image not found: {reference}", result.StandardError.Trim());
    }

    [Fact]
    public async Task Pulling_a_platform_the_index_lacks_exits_1_listing_the_available_ones()
    {
        var index = TestImages.CreateMultiPlatform(layerCount: 1);
        var repository = RegistryFixture.NewRepository("cli-index");
        using (var push = new DistributionPush(fixture.Registry))
        {
            await push.PushIndexAsync(repository, "multi", index);
        }

        var result = await _cli.RunAsync("pull", "--platform", "linux/s390x", $"{fixture.Registry.HostPort}/{repository}:multi");

        Assert.Equal(1, result.ExitCode);
        var message = Assert.Single(Lines(result.StandardError));
        Assert.StartsWith("no matching platform linux/s390x", message, StringComparison.Ordinal);
        Assert.EndsWith("available: linux/amd64, linux/arm64", message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(_cli.Root, "snapshots")) && Directory.EnumerateFileSystemEntries(Path.Combine(_cli.Root, "snapshots")).Any());
    }

    [Fact]
    public async Task An_unknown_flag_is_a_usage_error_with_exit_code_125()
    {
        var result = await _cli.RunAsync("pull", "--no-such-flag", "x");

        Assert.Equal(125, result.ExitCode);
        Assert.Contains("--no-such-flag", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_malformed_platform_is_a_usage_error_with_exit_code_125()
    {
        var result = await _cli.RunAsync("pull", "--platform", "linux", $"{fixture.Registry.HostPort}/any/image:1");

        Assert.Equal(125, result.ExitCode);
        Assert.Contains("os/arch", result.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_pull_of_a_private_image_with_a_token_in_the_docker_config_succeeds()
    {
        var (user, api) = await fixture.CreateUserAsync();
        using var _ = api;
        var token = await api.CreateTokenAsync("node-cli", "read");
        var image = TestImages.Create(layerCount: 1);
        var reference = await PushAsync(image, $"{user.Username}/app");
        using var cli = new NodeCliProcess();
        cli.LogIn(fixture.Registry.HostPort, token.For(user.Username));

        var result = await cli.RunAsync("pull", reference);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"Digest: {image.OciManifest.Digest}", Lines(result.StandardOutput));
    }

    [Fact]
    public async Task A_pull_with_the_identity_token_docker_login_stores_succeeds()
    {
        var image = TestImages.Create(layerCount: 1);
        var reference = await PushAsync(image);
        var refreshToken = await fixture.RefreshTokenAsync(fixture.Registry.Admin);
        using var cli = new NodeCliProcess();
        // As docker login writes it after a password login: the user name with an empty password, and the refresh token.
        await File.WriteAllTextAsync(Path.Combine(cli.DockerConfig, "config.json"), new JsonObject
        {
            ["auths"] = new JsonObject
            {
                [fixture.Registry.HostPort] = new JsonObject
                {
                    ["auth"] = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryProcess.AdminUsername}:")),
                    ["identitytoken"] = refreshToken,
                },
            },
        }.ToJsonString());

        var result = await cli.RunAsync("pull", reference);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains($"Digest: {image.OciManifest.Digest}", Lines(result.StandardOutput));
    }

    [Fact]
    public async Task A_pull_of_a_private_image_without_credentials_exits_1_saying_anonymous_access_was_refused()
    {
        var reference = await PushAsync(TestImages.Create(layerCount: 1));
        using var cli = new NodeCliProcess();

        var result = await cli.RunAsync("pull", reference);

        Assert.Equal(1, result.ExitCode);
        var repository = reference[(fixture.Registry.HostPort.Length + 1)..^":v1".Length];
        var message = Assert.Single(Lines(result.StandardError));
        Assert.StartsWith(
            $"Error response from registry: the token server of {fixture.Registry.HostPort} refused anonymous access to {repository}",
            message,
            StringComparison.Ordinal);
    }

    private async Task<string> PushAsync(TestImage image, string? repository = null)
    {
        repository ??= RegistryFixture.NewRepository("cli");
        using var push = new DistributionPush(fixture.Registry);
        await push.PushImageAsync(repository, "v1", image);
        return $"{fixture.Registry.HostPort}/{repository}:v1";
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
