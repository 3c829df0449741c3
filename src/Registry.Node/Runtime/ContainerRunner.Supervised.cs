using System.Diagnostics;
using System.IO.Pipes;
using Registry.Node.Runtime.Cgroups;

namespace Registry.Node.Runtime;

public sealed partial class ContainerRunner
{
    /// <summary>
    /// Starts rn-init as the supervisor of a container whose directory, init.spec and cgroup exist
    /// (<c>run -d</c>, <c>start</c>) and returns as soon as its pid 1 runs. rn-init leaves this
    /// process's session, writes the log and state.json itself, restarts the container as
    /// <paramref name="restart"/> says and removes the cgroup when it is done. If the container
    /// never ran, its failure is recorded here, as the foreground path records it, and the cgroup goes.
    /// </summary>
    internal static async Task<ContainerExit> StartSupervisedAsync(
        string id, ContainerPaths paths, ICgroup cgroup, RestartPolicy restart, TimeProvider time, CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        var monitorExitCode = -1;
        try
        {
            File.Delete(paths.StopMarker);
            using var status = new AnonymousPipeServerStream(PipeDirection.In, HandleInheritability.Inheritable);
            // Redirected, not inherited: the supervisor must not keep registry-node's stdout (a pipe
            // someone reads to its end) open; it puts /dev/null on its own stdio at once.
            var start = new ProcessStartInfo(InitPath)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var argument in new[] { "--supervise", paths.Directory, "--restart", restart.ToString(), paths.InitSpec, status.GetClientHandleAsString() })
            {
                start.ArgumentList.Add(argument);
            }

            using var monitor = Process.Start(start) ?? throw new InvalidOperationException("rn-init did not start");
            status.DisposeLocalCopyOfClientHandle();
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

    private Task<ContainerExit> StartSupervisedAsync(string id, ContainerPaths paths, ICgroup cgroup, RestartPolicy restart, CancellationToken cancellationToken) =>
        StartSupervisedAsync(id, paths, cgroup, restart, Time, cancellationToken);
}
