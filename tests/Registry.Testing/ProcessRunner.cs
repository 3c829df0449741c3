using System.Diagnostics;

namespace Registry.Testing;

/// <summary>Runs a command to completion with a timeout and captures its output.</summary>
public static class ProcessRunner
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Runs <paramref name="fileName"/> with an argument list (no shell). A non-zero exit code
    /// is returned, not thrown; a timeout kills the process tree and throws
    /// <see cref="TimeoutException"/> with what it printed so far. <paramref name="standardInput"/>
    /// is written to the command's stdin (a secret for <c>--password-stdin</c>), then stdin is closed.
    /// </summary>
    public static async Task<ProcessResult> RunAsync(
        string fileName,
        IEnumerable<string> arguments,
        TimeSpan? timeout = null,
        IReadOnlyDictionary<string, string?>? environment = null,
        string? workingDirectory = null,
        string? standardInput = null,
        CancellationToken cancellationToken = default)
    {
        var args = arguments.ToList();
        var startInfo = CreateStartInfo(fileName, args, environment, workingDirectory);

        using var process = new Process { StartInfo = startInfo };
        if (!process.Start())
        {
            throw new InvalidOperationException($"Could not start {fileName}.");
        }

        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        try
        {
            if (standardInput is not null)
            {
                await process.StandardInput.WriteAsync(standardInput.AsMemory(), cancellationToken).ConfigureAwait(false);
            }

            // Then no more input: a command that reads stdin sees end-of-file instead of hanging.
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The command exited without reading its input; its exit code and output tell why.
        }

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout ?? DefaultTimeout);
        try
        {
            await process.WaitForExitAsync(timeoutSource.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            var partial = new ProcessResult(fileName, args, -1, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
            cancellationToken.ThrowIfCancellationRequested();
            throw new TimeoutException($"Timed out after {timeout ?? DefaultTimeout}:\n{partial}");
        }

        return new ProcessResult(fileName, args, process.ExitCode, await stdout.ConfigureAwait(false), await stderr.ConfigureAwait(false));
    }

    internal static ProcessStartInfo CreateStartInfo(
        string fileName,
        IEnumerable<string> arguments,
        IReadOnlyDictionary<string, string?>? environment,
        string? workingDirectory)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        if (workingDirectory is not null)
        {
            startInfo.WorkingDirectory = workingDirectory;
        }

        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                startInfo.Environment[key] = value;
            }
        }

        return startInfo;
    }
}
