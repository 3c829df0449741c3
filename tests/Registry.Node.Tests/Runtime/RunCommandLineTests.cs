using Registry.Node.Cli;
using Registry.Node.Runtime;

namespace Registry.Node.Tests.Runtime;

public sealed class RunCommandLineTests
{
    [Fact]
    public void Everything_after_the_image_belongs_to_the_container()
    {
        var (parse, command) = RunCommand.SplitAtImage(["--root", "/r", "run", "--rm", "-e", "A=1", "img", "sh", "-c", "exit 3", "--rm"]);

        Assert.Equal(["--root", "/r", "run", "--rm", "-e", "A=1", "img"], parse);
        Assert.Equal(["sh", "-c", "exit 3", "--rm"], command);
    }

    [Fact]
    public void Other_commands_are_left_alone()
    {
        var (parse, command) = RunCommand.SplitAtImage(["pull", "img", "--platform", "linux/arm64"]);

        Assert.Equal(["pull", "img", "--platform", "linux/arm64"], parse);
        Assert.Empty(command);
    }

    [Theory]
    [InlineData("64m", 64L << 20)]
    [InlineData("1g", 1L << 30)]
    [InlineData("512k", 512L << 10)]
    [InlineData("1.5g", 3L << 29)]
    [InlineData("100MB", 100L << 20)]
    [InlineData("4096", 4096)]
    public void Memory_sizes_are_parsed_as_docker_does(string text, long bytes) =>
        Assert.Equal(bytes, RunCommand.ParseMemory(text));

    [Theory]
    [InlineData("exited 3", 3, ExitReason.Exited)]
    [InlineData("signaled 15", 143, ExitReason.Killed)]
    [InlineData("error 127 exec: \"x\": executable file not found in $PATH", 127, ExitReason.StartFailed)]
    public void Rn_init_status_lines_become_docker_exit_codes(string line, int code, ExitReason reason)
    {
        var exit = ContainerRunner.Interpret("id", ["started 42", line], 0, oomKilled: false);

        Assert.Equal((code, reason), (exit.ExitCode, exit.Reason));
    }

    [Fact]
    public void A_sigkill_after_an_oom_kill_is_reported_as_oom()
    {
        var exit = ContainerRunner.Interpret("id", ["started 42", "signaled 9"], 137, oomKilled: true);

        Assert.Equal((137, ExitReason.Oom), (exit.ExitCode, exit.Reason));
    }
}
