using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Registry.Testing;

namespace Registry.E2E.Tests.Readme;

/// <summary>How a run of a Markdown file's shell blocks ended.</summary>
/// <param name="ExitCode">bash's exit code; -1 when the run timed out.</param>
/// <param name="Log">Everything the blocks printed, with a marker line before each block.</param>
/// <param name="BlocksStarted">The 1-based line of each block's fence, in the order the blocks started.</param>
/// <param name="Completed">True when the line after the last block was reached.</param>
public sealed record ReadmeRunResult(int ExitCode, string Log, IReadOnlyList<int> BlocksStarted, bool Completed)
{
    public bool Succeeded => ExitCode == 0 && Completed;

    public override string ToString()
    {
        var where = BlocksStarted.Count == 0
            ? "before the first block"
            : $"in the block that starts on line {BlocksStarted[^1]}";
        var tail = Log.Length > 12_000 ? "…" + Log[^12_000..] : Log;
        return Succeeded
            ? $"all {BlocksStarted.Count} blocks ran"
            : $"exit code {ExitCode} {where} (blocks started: {BlocksStarted.Count}, completed: {Completed})\n--- output ---\n{tail}";
    }
}

/// <summary>
/// Runs the runnable shell blocks of a Markdown file (<see cref="MarkdownShellBlocks"/>) in order, in one
/// <c>bash -euo pipefail</c>, in a session of its own, as a reader would paste them into one terminal: a variable
/// one block sets is there for the next, and the first command that fails stops the run.
/// <para>
/// What the test changes, and nothing else: <c>localhost:5000</c> becomes <c>127.0.0.1:PORT</c> (a free port, so
/// that runs do not collide); <c>dotnet run --project src/Registry.Api [-- ARGS]</c> runs the solution's build output
/// (<c>dotnet Registry.Api.dll ARGS</c>) instead of building it once more; the environment given to
/// <see cref="RunAsync"/> is set (the data directory, the port through <c>Urls</c>, client configuration
/// directories). At the end, every process the blocks left running (the registry started with <c>&amp;</c>) is
/// stopped through the session's process group.
/// </para>
/// </summary>
public static partial class ReadmeRun
{
    public const string DocumentedAddress = "localhost:5000";

    private const int SigTerm = 15;
    private const int SigKill = 9;
    private const string MarkerPrefix = "::readme-test block ";
    private const string DoneMarker = "::readme-test done";

    /// <summary>The script the blocks are run as (exposed so that a failing run can be reproduced by hand).</summary>
    public static string BuildScript(IEnumerable<MarkdownCodeBlock> blocks, int port, string apiAssembly)
    {
        var script = new StringBuilder();
        script.AppendLine("# Generated from README.md by tests/Registry.E2E.Tests/Readme/ReadmeRun.cs");
        script.AppendLine("exec >>\"$README_TEST_LOG\" 2>&1");
        script.AppendLine("ps -o pgid= -p $$ | tr -d ' ' > \"$README_TEST_PGID\"");
        script.AppendLine("dotnet() {");
        script.AppendLine("  if [ \"${1-}\" = run ] && [ \"${2-}\" = --project ] && [ \"${3-}\" = src/Registry.Api ]; then");
        script.AppendLine("    shift 3");
        script.AppendLine("    if [ \"${1-}\" = -- ]; then shift; fi");
        script.AppendLine($"    command dotnet {Quote(apiAssembly)} \"$@\"");
        script.AppendLine("  else");
        script.AppendLine("    command dotnet \"$@\"");
        script.AppendLine("  fi");
        script.AppendLine("}");
        foreach (var block in blocks.Where(b => b.IsRunnable))
        {
            // On a line of its own: the previous command's output may not end with a newline (curl's JSON).
            script.AppendLine(CultureInfo.InvariantCulture, $"printf '\\n{MarkerPrefix}{block.Line}\\n'");
            script.AppendLine(block.Code.Replace(DocumentedAddress, $"127.0.0.1:{port}", StringComparison.Ordinal));
        }

        script.AppendLine(CultureInfo.InvariantCulture, $"printf '\\n{DoneMarker}\\n'");
        return script.ToString();
    }

    public static async Task<ReadmeRunResult> RunAsync(
        IEnumerable<MarkdownCodeBlock> blocks,
        int port,
        string workingDirectory,
        string scratchDirectory,
        IReadOnlyDictionary<string, string?> environment,
        TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var scriptPath = Path.Combine(scratchDirectory, "readme.sh");
        var logPath = Path.Combine(scratchDirectory, "readme.log");
        var pgidPath = Path.Combine(scratchDirectory, "readme.pgid");
        await File.WriteAllTextAsync(scriptPath, BuildScript(blocks, port, RegistryProcess.FindApiAssembly()), cancellationToken);
        await File.WriteAllTextAsync(logPath, string.Empty, cancellationToken);

        var start = new ProcessStartInfo("setsid")
        {
            ArgumentList = { "bash", "--noprofile", "--norc", "-euo", "pipefail", scriptPath },
            WorkingDirectory = workingDirectory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        start.Environment["README_TEST_LOG"] = logPath;
        start.Environment["README_TEST_PGID"] = pgidPath;

        using var process = Process.Start(start) ?? throw new InvalidOperationException("setsid bash did not start");
        process.StandardInput.Close(); // a command that asks for input gets end-of-file, never a hang
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        int exitCode;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
            exitCode = process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            exitCode = -1;
        }
        finally
        {
            await StopSessionAsync(process, pgidPath);
        }

        var log = await File.ReadAllTextAsync(logPath, CancellationToken.None) + await stdout + await stderr;
        var started = Marker().Matches(log).Select(m => int.Parse(m.Groups["line"].Value, CultureInfo.InvariantCulture)).ToList();
        return new ReadmeRunResult(exitCode, log, started, log.Contains(DoneMarker, StringComparison.Ordinal));
    }

    /// <summary>
    /// Stops what the blocks left running: SIGTERM to the session's process group (the registry shuts down
    /// cleanly), SIGKILL to whatever is left after 20 seconds. Only the group that bash leads is signalled: setsid
    /// made bash the leader of a new session, so its group is never the test host's.
    /// </summary>
    private static async Task StopSessionAsync(Process bash, string pgidPath)
    {
        if (!bash.HasExited)
        {
            bash.Kill(entireProcessTree: true);
            await bash.WaitForExitAsync(CancellationToken.None);
        }

        if (!File.Exists(pgidPath)
            || !int.TryParse((await File.ReadAllTextAsync(pgidPath)).Trim(), CultureInfo.InvariantCulture, out var group)
            || group != bash.Id)
        {
            return; // bash did not become a group leader: nothing of ours to signal by group
        }

        _ = SendSignal(-group, SigTerm);
        for (var i = 0; i < 40 && SendSignal(-group, 0) == 0; i++)
        {
            await Task.Delay(500);
        }

        _ = SendSignal(-group, SigKill);
    }

    private static string Quote(string value) => "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";

    /// <summary>kill(2): a negative pid signals that process group; signal 0 only checks that one is there.</summary>
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int SendSignal(int pid, int signal);

    [GeneratedRegex(@"^::readme-test block (?<line>\d+)$", RegexOptions.Multiline)]
    private static partial Regex Marker();
}
