using System.Diagnostics;
using System.Globalization;
using System.IO.Pipes;
using Registry.Node.Runtime.Cgroups;
using Registry.Node.Runtime.Networking;

namespace Registry.Node.Runtime;

/// <summary>How a supervised container is started.</summary>
/// <param name="Restart">The restart policy the supervisor applies.</param>
/// <param name="ThenCommand">What the supervisor execs once it is done (<c>registry-node rm ID</c> for <c>run -d --rm</c>).</param>
/// <param name="Attach">Set for a foreground <c>run</c> with a restart policy: the first run's output goes
/// there and its exit is returned, as docker run attaches until the first exit; the supervisor goes on.</param>
internal sealed record Supervision(RestartPolicy Restart, IReadOnlyList<string>? ThenCommand = null, (Stream Output, Stream Error)? Attach = null);

public sealed partial class ContainerRunner
{
    /// <summary>registry-node itself: next to rn-init, as it is built and published.</summary>
    internal static string SelfPath => Path.Combine(AppContext.BaseDirectory, "registry-node");

    /// <summary>The command that removes container <paramref name="id"/> of the node at <paramref name="nodeRoot"/>.</summary>
    internal static IReadOnlyList<string> RemoveCommand(string nodeRoot, string id) => [SelfPath, "--root", nodeRoot, "rm", id];

    /// <summary>
    /// Starts rn-init as the supervisor of a container whose directory, init.spec and cgroup exist
    /// (<c>run -d</c>, <c>start</c>) and returns as soon as its pid 1 runs. rn-init leaves this
    /// process's session, writes the log and state.json itself, restarts the container as
    /// <paramref name="restart"/> says and removes the cgroup when it is done. If the container
    /// never ran, its failure is recorded here, as the foreground path records it, and the cgroup goes.
    /// A container with published ports gets its forwarder here, before the supervisor: the
    /// supervisor inherits the write end of the forwarder's stdin and holds it (<c>--hold-fd</c>),
    /// so the ports stay published across restarts and close when the supervisor ends, however it ends.
    /// </summary>
    internal static async Task<ContainerExit> StartSupervisedAsync(
        string id, ContainerPaths paths, ICgroup cgroup, Supervision supervision, TimeProvider time, CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        var monitorExitCode = -1;
        PortForwarder? forwarder = null;
        try
        {
            File.Delete(paths.StopMarker);
            forwarder = await StartForwarderAsync(paths, cancellationToken).ConfigureAwait(false);
            // Made inheritable only now, after the forwarder started (it must not hold its own stdin's write end).
            var holdFd = forwarder?.InheritableStdin();
            using var status = new AnonymousPipeServerStream(PipeDirection.In, HandleInheritability.Inheritable);
            // Redirected, not inherited: the supervisor must not keep registry-node's stdout (a pipe
            // someone reads to its end) open; it puts /dev/null on its own stdio at once.
            var start = InitStartInfo();
            foreach (var argument in new[] { "--supervise", paths.Directory, "--restart", supervision.Restart.ToString() })
            {
                start.ArgumentList.Add(argument);
            }

            if (supervision.Attach is not null)
            {
                start.ArgumentList.Add("--report-first-exit");
                start.ArgumentList.Add("yes");
            }

            foreach (var argument in supervision.ThenCommand ?? [])
            {
                start.ArgumentList.Add("--then-arg");
                start.ArgumentList.Add(argument);
            }

            if (holdFd is { } fd)
            {
                start.ArgumentList.Add("--hold-fd");
                start.ArgumentList.Add(fd.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            start.ArgumentList.Add(paths.InitSpec);
            start.ArgumentList.Add(status.GetClientHandleAsString());

            using var monitor = Process.Start(start) ?? throw new InvalidOperationException("rn-init did not start");
            status.DisposeLocalCopyOfClientHandle();
            // The supervisor holds the forwarder now; without this process's copy it ends when the supervisor does.
            forwarder?.Release();
            forwarder = null;
            using (var reader = new StreamReader(status))
            {
                while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
                {
                    lines.Add(line);
                    if (line.StartsWith("started ", StringComparison.Ordinal) || line.StartsWith("error ", StringComparison.Ordinal))
                    {
                        break;
                    }
                }

                if (lines.Count > 0 && lines[^1].StartsWith("started ", StringComparison.Ordinal))
                {
                    return supervision.Attach is { } attach
                        ? await AttachUntilFirstExitAsync(id, paths, monitor.Id, reader, attach, cancellationToken).ConfigureAwait(false)
                        : new ContainerExit(id, 0, ExitReason.Exited, false, null) { Detached = true };
                }
            }

            await monitor.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            monitorExitCode = monitor.ExitCode;
        }
        catch
        {
            if (forwarder is not null)
            {
                await forwarder.DisposeAsync().ConfigureAwait(false);
            }

            await cgroup.RemoveAsync(CgroupTimeout, CancellationToken.None).ConfigureAwait(false);
            throw;
        }

        await cgroup.RemoveAsync(CgroupTimeout, CancellationToken.None).ConfigureAwait(false);
        var exit = Interpret(id, lines, monitorExitCode, oomKilled: false);
        ContainerStore.WriteState(paths, ContainerStore.ReadState(paths) with
        {
            Status = ContainerStatus.Exited,
            Pid = null,
            MonitorPid = null,
            FinishedAt = time.GetUtcNow(),
            ExitCode = exit.ExitCode,
            Reason = exit.Reason,
            Error = exit.Error,
        });
        return exit;
    }

    /// <summary>
    /// docker run's attach with a restart policy: the container's output from its log, as the
    /// supervisor writes it, until the supervisor reports the first exit (after that run's last log
    /// line); returns that exit, while the supervisor goes on restarting. Signals to registry-node go
    /// to the supervisor, which passes them on to pid 1.
    /// </summary>
    private static async Task<ContainerExit> AttachUntilFirstExitAsync(
        string id, ContainerPaths paths, int supervisorPid, StreamReader status, (Stream Output, Stream Error) attach, CancellationToken cancellationToken)
    {
        using var signals = ForwardSignals(supervisorPid);
        var firstExit = ReadFirstExitAsync(status, cancellationToken);
        await ContainerLog.ReadAsync(
            paths.LogFile,
            _ => ValueTask.FromResult(firstExit.IsCompleted ? firstExit.Result.LogLength ?? long.MaxValue : (long?)null),
            async (line, ct) =>
            {
                var target = line.Stream == "stderr" ? attach.Error : attach.Output;
                await target.WriteAsync(System.Text.Encoding.UTF8.GetBytes(line.Log), ct).ConfigureAwait(false);
                await target.FlushAsync(ct).ConfigureAwait(false);
            },
            cancellationToken).ConfigureAwait(false);
        var (exitLine, _) = await firstExit.ConfigureAwait(false);
        var oomKilled = ContainerStore.ReadState(paths).OomKilled;
        return Interpret(id, exitLine is null ? [] : [exitLine], -1, oomKilled);
    }

    /// <summary>The supervisor's report of the first exit: <c>log-end LENGTH</c> (the log's length after
    /// that run's last line, so that the next run's lines are not shown), then the exit line.</summary>
    private static async Task<(string? ExitLine, long? LogLength)> ReadFirstExitAsync(StreamReader status, CancellationToken cancellationToken)
    {
        long? length = null;
        while (await status.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
        {
            if (line.StartsWith("log-end ", StringComparison.Ordinal) && long.TryParse(line.AsSpan(8), CultureInfo.InvariantCulture, out var value))
            {
                length = value >= 0 ? value : null;
                continue;
            }

            return (line, length);
        }

        return (null, length);
    }

    /// <summary>The forwarder of the ports network.json publishes, its pid recorded there; null when there are none.</summary>
    private static async Task<PortForwarder?> StartForwarderAsync(ContainerPaths paths, CancellationToken cancellationToken)
    {
        if (ContainerAttachments.ReadNetwork(paths) is not { Ports.Count: > 0, Address: { } address } network)
        {
            return null;
        }

        var nodeRoot = Path.GetDirectoryName(Path.GetDirectoryName(paths.Directory))!;
        var forwarder = await PortForwarder.StartAsync(new BridgeNetwork(nodeRoot).NamespacePath, address, network.Ports, cancellationToken).ConfigureAwait(false);
        try
        {
            ContainerAttachments.WriteNetwork(paths, network with { ForwarderPid = forwarder.Pid, ForwarderStartTime = MonitorProbe.StartTime(forwarder.Pid) });
            return forwarder;
        }
        catch
        {
            await forwarder.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private Task<ContainerExit> StartSupervisedAsync(string id, ContainerPaths paths, ICgroup cgroup, Supervision supervision, CancellationToken cancellationToken) =>
        StartSupervisedAsync(id, paths, cgroup, supervision, Time, cancellationToken);
}
