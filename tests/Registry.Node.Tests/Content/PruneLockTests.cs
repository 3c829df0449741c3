using Registry.Node.Content;
using Registry.Testing;

namespace Registry.Node.Tests.Content;

/// <summary>Pulls and prunes exclude each other through an advisory lock, across processes.</summary>
public sealed class PruneLockTests : IDisposable
{
    private static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);

    private readonly TemporaryDirectory _root = new("node-prune-lock");

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task Pulls_share_the_lock()
    {
        using var first = await PruneLock.ForPullAsync(_root.Path, Short, CancellationToken.None);
        using var second = await PruneLock.ForPullAsync(_root.Path, Short, CancellationToken.None);
    }

    [Fact]
    public async Task A_prune_gives_up_with_a_clear_error_while_a_pull_holds_the_lock()
    {
        using var pull = await PruneLock.ForPullAsync(_root.Path, Short, CancellationToken.None);

        var error = await Assert.ThrowsAsync<IOException>(() => PruneLock.ForPruneAsync(_root.Path, Short, CancellationToken.None));

        Assert.Contains("a pull has held", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_prune_goes_ahead_once_the_pull_released_the_lock()
    {
        var pull = await PruneLock.ForPullAsync(_root.Path, Short, CancellationToken.None);
        var prune = PruneLock.ForPruneAsync(_root.Path, TimeSpan.FromSeconds(30), CancellationToken.None);
        await Task.Delay(Short);
        Assert.False(prune.IsCompleted);

        pull.Dispose();

        using var held = await prune.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_pull_in_another_process_holds_off_the_cli_prune()
    {
        using var pull = await PruneLock.ForPullAsync(_root.Path, Short, CancellationToken.None);
        var lockFile = Path.Combine(_root.Path, "prune.lock");

        // flock(1) from util-linux asks for the same exclusive lock a prune takes, without waiting.
        var result = await ProcessRunner.RunAsync("flock", ["--exclusive", "--nonblock", lockFile, "true"], TimeSpan.FromSeconds(30));

        Assert.Equal(1, result.ExitCode);
    }
}
