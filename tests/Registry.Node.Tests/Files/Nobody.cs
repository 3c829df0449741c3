using Registry.Testing;

namespace Registry.Node.Tests.Files;

/// <summary>
/// A local user of the node's host: commands run as <c>nobody</c> (uid and gid 65534, no
/// supplementary groups) through util-linux's setpriv, against the node's real files.
/// </summary>
internal static class Nobody
{
    public const int Uid = 65534;

    /// <summary>
    /// Runs <paramref name="file"/> as nobody. setpriv keeps its capabilities until its own execve
    /// (the kernel would find the program with CAP_DAC_OVERRIDE), so it execs a shell from /bin,
    /// which starts without any, and that shell looks <paramref name="file"/> up and runs it.
    /// </summary>
    public static Task<ProcessResult> RunAsync(string file, params string[] arguments) =>
        ProcessRunner.RunAsync(
            "setpriv",
            [$"--reuid={Uid}", $"--regid={Uid}", "--clear-groups", "/bin/sh", "-c", "exec \"$0\" \"$@\"", file, .. arguments],
            TimeSpan.FromMinutes(1),
            new Dictionary<string, string?> { ["HOME"] = "/" },
            workingDirectory: "/");

    /// <summary>Opens <paramref name="path"/> for writing and closes it, writing nothing (the shell's <c>exec 3&gt;PATH</c>).</summary>
    public static Task<ProcessResult> OpenForWritingAsync(string path) =>
        ProcessRunner.RunAsync(
            "setpriv",
            [$"--reuid={Uid}", $"--regid={Uid}", "--clear-groups", "/bin/sh", "-c", "exec 3>\"$0\" && echo opened", path],
            TimeSpan.FromMinutes(1),
            new Dictionary<string, string?> { ["HOME"] = "/" },
            workingDirectory: "/");
}
