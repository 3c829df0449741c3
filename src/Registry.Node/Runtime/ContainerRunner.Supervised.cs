using System.Diagnostics;
using System.IO.Pipes;
using Registry.Node.Runtime.Cgroups;
using Registry.Node.Runtime.Networking;

namespace Registry.Node.Runtime;

public sealed partial class ContainerRunner
{
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
        string id, ContainerPaths paths, ICgroup cgroup, RestartPolicy restart, TimeProvider time, CancellationToken cancellationToken)
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
            foreach (var argument in new[] { "--supervise", paths.Directory, "--restart", restart.ToString() })
            {
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
            }

            if (lines.Count > 0 && lines[^1].StartsWith("started ", StringComparison.Ordinal))
            {
                return new ContainerExit(id, 0, ExitReason.Exited, false, null) { Detached = true };
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

    private Task<ContainerExit> StartSupervisedAsync(string id, ContainerPaths paths, ICgroup cgroup, RestartPolicy restart, CancellationToken cancellationToken) =>
        StartSupervisedAsync(id, paths, cgroup, restart, Time, cancellationToken);
}
