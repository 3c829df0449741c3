using Registry.Node.Tests.Cli;
using Registry.Testing;

namespace Registry.Node.Tests.Files;

/// <summary>
/// The node's root (<c>--root</c>) as registry-node prepares it at every start: made 0700 whatever
/// the umask, an existing one open to other users made owner-only with one notice, one owned by
/// another user refused. Checked as <c>nobody</c> against the real directory.
/// </summary>
public sealed class NodeRootTests : IDisposable
{
    private readonly NodeCliProcess _cli = new();

    public void Dispose() => _cli.Dispose();

    [Fact]
    public async Task A_new_root_is_made_0700_even_under_umask_0_and_nobody_cannot_list_it()
    {
        var result = await ProcessRunner.RunAsync(
            "/bin/sh",
            ["-c", "umask 000 && exec \"$0\" \"$@\"", NodeCliProcess.Executable, "--root", _cli.Root, "images"],
            TimeSpan.FromMinutes(1),
            new Dictionary<string, string?> { ["DOCKER_CONFIG"] = _cli.DockerConfig, ["REGISTRY_NODE_ROOT"] = null });
        var listed = await Nobody.RunAsync("ls", _cli.Root);
        var parentListed = await Nobody.RunAsync("ls", Path.GetDirectoryName(_cli.Root)!);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.All(await FileModes.OfAsync(Directory.EnumerateDirectories(_cli.Root, "*", SearchOption.AllDirectories).Prepend(_cli.Root)), m => Assert.Equal("700", m.Value));
        Assert.True(parentListed.ExitCode == 0, parentListed.ToString()); // nobody reaches the root itself: the refusal below is the root's own mode
        Assert.NotEqual(0, listed.ExitCode);
        Assert.Contains("Permission denied", listed.StandardError, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_existing_root_open_to_others_is_made_owner_only_with_one_notice()
    {
        Directory.CreateDirectory(_cli.Root);
        await FileModes.SetAsync(_cli.Root, "755");

        var first = await _cli.RunAsync("images");
        var second = await _cli.RunAsync("images");

        Assert.True(first.ExitCode == 0, first.ToString());
        Assert.Equal($"registry-node: the node root {_cli.Root} was open to other users (mode 0755); made it 0700\n", first.StandardError);
        Assert.Equal("700", await FileModes.OfAsync(_cli.Root));
        Assert.True(second.ExitCode == 0, second.ToString());
        Assert.Equal("", second.StandardError);
    }

    [Fact]
    public async Task A_root_owned_by_another_user_is_refused_with_125_and_left_alone()
    {
        Directory.CreateDirectory(_cli.Root);
        await FileModes.SetAsync(_cli.Root, "700");
        (await ProcessRunner.RunAsync("chown", [$"{Nobody.Uid}:{Nobody.Uid}", _cli.Root])).EnsureSuccess();

        var images = await _cli.RunAsync("images");
        var volumes = await _cli.RunAsync("volume", "ls");

        Assert.Equal(125, images.ExitCode);
        Assert.Contains($"the node root {_cli.Root} is owned by uid {Nobody.Uid}, not by uid 0", images.StandardError, StringComparison.Ordinal);
        Assert.Equal(125, volumes.ExitCode);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_cli.Root));
    }
}
