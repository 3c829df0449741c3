using System.Diagnostics;
using Registry.Node.Runtime.Cgroups;
using Registry.Node.Runtime.Networking;

namespace Registry.Node.Runtime;

/// <summary>A container as <c>ps</c> and <c>inspect</c> show it.</summary>
public sealed record ContainerView(string Id, ContainerPaths Paths, ContainerConfigFile Config, ContainerStateFile State);

/// <summary><c>exec</c>'s overrides of the container's process settings.</summary>
public sealed record ExecRequest(IReadOnlyList<string> Command, IReadOnlyList<string> Env, string? WorkingDir, string? User);

/// <summary>docker's "Conflict": the container is running (rm without -f) or not running (exec).</summary>
public sealed class ContainerStateConflictException(string message) : Exception(message);

/// <summary>
/// The life of containers after <c>run</c>: state read back from disk (and corrected when a
/// monitor died without recording the end), start, stop, rm and exec. Nothing here keeps a
/// process running: a detached container's supervisor is rn-init (see docs/runtime.md).
/// </summary>
public sealed class ContainerLifecycle(ContainerStore containers, Func<CgroupManager>? cgroups = null)
{
    private static readonly TimeSpan CgroupTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan KillTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ForwarderTimeout = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan RemovalTimeout = TimeSpan.FromSeconds(30);

    private const string MonitorGone = "its monitor";

    private readonly Func<CgroupManager> _cgroups = cgroups ?? (() => CgroupManager.ForHost());

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <exception cref="ContainerNotFoundException"/>
    public string Find(string reference) => containers.Find(reference);

    /// <summary>
    /// Every container. One started with <c>run -d --rm</c> whose supervisor died without removing it
    /// (a SIGKILL, a reboot) is removed here instead of listed, as docker removes such containers.
    /// </summary>
    public async Task<IReadOnlyList<ContainerView>> ListAsync(CancellationToken cancellationToken)
    {
        var views = new List<ContainerView>();
        foreach (var id in containers.Ids())
        {
            try
            {
                var view = await InspectAsync(id, cancellationToken).ConfigureAwait(false);
                if (view.Config.AutoRemove && view.State is { Status: ContainerStatus.Exited, Error: { } error } && error.StartsWith(MonitorGone, StringComparison.Ordinal))
                {
                    await RemoveAsync(id, force: false, cancellationToken).ConfigureAwait(false);
                    continue;
                }

                views.Add(view);
            }
            catch (Exception e) when (e is IOException or InvalidDataException or System.Text.Json.JsonException)
            {
                // Being removed right now, or half-made by a run that is still creating it.
            }
        }

        return views;
    }

    /// <summary>Config and current state; a running state whose monitor is gone is corrected first.</summary>
    public async Task<ContainerView> InspectAsync(string id, CancellationToken cancellationToken)
    {
        var paths = containers.PathsOf(id);
        var config = ContainerStore.ReadConfig(paths);
        var state = await RefreshAsync(paths, cancellationToken).ConfigureAwait(false);
        return new ContainerView(id, paths, config, state);
    }

    /// <summary>
    /// The state on disk, unless it says running (or restarting) while its monitor is gone — a
    /// SIGKILL, an OOM kill of the monitor, a reboot: then pid 1 died with it (PDEATHSIG), and
    /// the container is recorded as killed and its cgroup removed, so it never shows as running forever.
    /// </summary>
    private async Task<ContainerStateFile> RefreshAsync(ContainerPaths paths, CancellationToken cancellationToken)
    {
        var state = ContainerStore.ReadState(paths);
        if (!IsActive(state) || MonitorProbe.IsAlive(state))
        {
            return state;
        }

        // A monitor writes its last state before it exits: read again before deciding it died unrecorded.
        state = ContainerStore.ReadState(paths);
        if (!IsActive(state) || MonitorProbe.IsAlive(state))
        {
            return state;
        }

        state = state with
        {
            Status = ContainerStatus.Exited,
            Pid = null,
            MonitorPid = null,
            MonitorStartTime = null,
            BootId = null,
            FinishedAt = Time.GetUtcNow(),
            ExitCode = 128 + Signals.Kill,
            Reason = ExitReason.Killed,
            Error = $"{MonitorGone} (rn-init, pid {state.MonitorPid}) is gone; the container's processes were killed with it",
        };
        ContainerStore.WriteState(paths, state);
        await RemoveCgroupAsync(Path.GetFileName(paths.Directory), cancellationToken).ConfigureAwait(false);
        await EndForwarderAsync(paths, cancellationToken).ConfigureAwait(false);
        return state;
    }

    /// <summary>True when the container ended because its supervisor died (a reboot, a SIGKILL), not by its own exit or a stop:
    /// its restart policy was never applied to that end.</summary>
    public static bool EndedWithItsMonitor(ContainerStateFile state) =>
        state is { Status: ContainerStatus.Exited, Error: { } error } && error.StartsWith(MonitorGone, StringComparison.Ordinal);

    /// <summary>Starts an exited (or created) container again under its supervisor, with its config and its upper dir.</summary>
    public async Task<ContainerExit> StartAsync(string id, CancellationToken cancellationToken)
    {
        var view = await InspectAsync(id, cancellationToken).ConfigureAwait(false);
        if (IsActive(view.State))
        {
            return new ContainerExit(id, 0, ExitReason.Exited, false, null) { Detached = true };
        }

        var config = view.Config;
        var cgroups = _cgroups();
        _ = cgroups.WarmUpMigration();
        var cgroup = cgroups.Create(id, new CgroupLimits(MemoryBytes: config.MemoryBytes, Cpus: config.Cpus, PidsMax: config.PidsLimit));
        var supervision = new Supervision(
            RestartPolicy.Parse(config.RestartPolicy), config.AutoRemove ? ContainerRunner.RemoveCommand(NodeRoot, id) : null);
        return await ContainerRunner.StartSupervisedAsync(id, view.Paths, cgroup, supervision, Time, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// docker stop: no more restarts, SIGTERM to pid 1, SIGKILL after <paramref name="grace"/>; returns once
    /// the supervisor recorded the end. Pid 1 ignores SIGTERM unless it handles it, as in docker.
    /// </summary>
    public async Task StopAsync(string id, TimeSpan grace, CancellationToken cancellationToken)
    {
        var paths = containers.PathsOf(id);
        try
        {
            await StopAsync(paths, grace, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException) when (Vanished(paths))
        {
            // run -d --rm: the supervisor removed the container when it ended.
        }
    }

    private async Task StopAsync(ContainerPaths paths, TimeSpan grace, CancellationToken cancellationToken)
    {
        var state = await RefreshAsync(paths, cancellationToken).ConfigureAwait(false);
        if (!IsActive(state))
        {
            return;
        }

        await Files.NodeFiles.WritePrivateAsync(paths.StopMarker, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
        if (state.Pid is { } pid)
        {
            _ = RuntimeSyscalls.kill(pid, Signals.Term);
        }

        if (!await WaitForEndAsync(paths, grace, cancellationToken).ConfigureAwait(false))
        {
            await KillAsync(paths, cancellationToken).ConfigureAwait(false);
        }

        await EndForwarderAsync(paths, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// docker rm: refuses a running container unless <paramref name="force"/>, which kills it first;
    /// then the forwarder, the cgroup, the address, the directory and the name go. Of two removals
    /// at once (rm -f of a run -d --rm container, whose supervisor removes it as it ends) one does the work.
    /// </summary>
    public async Task RemoveAsync(string id, bool force, CancellationToken cancellationToken)
    {
        var paths = containers.PathsOf(id);
        ContainerPaths? claimed = null;
        var name = "";
        try
        {
            name = ContainerStore.ReadConfig(paths).Name;
            var state = await RefreshAsync(paths, cancellationToken).ConfigureAwait(false);
            if (IsActive(state))
            {
                if (!force)
                {
                    throw new ContainerStateConflictException(
                        $"cannot remove container \"/{name}\": container is running: stop the container before removing or force remove");
                }

                await Files.NodeFiles.WritePrivateAsync(paths.StopMarker, ReadOnlyMemory<byte>.Empty, cancellationToken).ConfigureAwait(false);
                await KillAsync(paths, cancellationToken).ConfigureAwait(false);
            }

            claimed = containers.ClaimRemoval(id);
        }
        catch (IOException) when (Vanished(paths))
        {
        }

        if (claimed is null)
        {
            // Another removal took it first: done when that one is, as docker rm returns once the container is gone.
            await WaitForRemovalAsync(id, cancellationToken).ConfigureAwait(false);
            return;
        }

        await EndForwarderAsync(claimed, cancellationToken).ConfigureAwait(false);
        await RemoveCgroupAsync(id, cancellationToken).ConfigureAwait(false);
        if (ContainerAttachments.ReadNetwork(claimed) is { Address: not null })
        {
            // The address goes back and the other containers' /etc/hosts forget the name.
            await new BridgeNetwork(NodeRoot).DetachAsync(id, cancellationToken).ConfigureAwait(false);
        }

        containers.FinishRemoval(claimed, id, name);
    }

    private async Task WaitForRemovalAsync(string id, CancellationToken cancellationToken)
    {
        var deadline = Time.GetTimestamp() + (long)(RemovalTimeout.TotalSeconds * Time.TimestampFrequency);
        while (containers.IsBeingRemoved(id) && Time.GetTimestamp() < deadline)
        {
            await Task.Delay(Poll, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// docker exec: <paramref name="request"/>'s command in the namespaces and cgroup of the running
    /// container's pid 1, with the container's env, user, working directory and capabilities unless
    /// overridden. It shares registry-node's stdout and stderr, and its stdin is empty. Returns its exit code.
    /// </summary>
    public async Task<int> ExecAsync(string id, ExecRequest request, CancellationToken cancellationToken)
    {
        var view = await InspectAsync(id, cancellationToken).ConfigureAwait(false);
        if (view.State is not { Status: ContainerStatus.Running, Pid: { } pid })
        {
            throw new ContainerStateConflictException($"container {id} is not running");
        }

        var process = ResolveExec(view, pid, request);
        var cgroupDirectories = _cgroups().Open(id)?.Directories ?? [];
        var spec = Path.Combine(view.Paths.Directory, $"exec-{Guid.NewGuid():N}.spec");
        var containerSpec = await File.ReadAllBytesAsync(view.Paths.InitSpec, cancellationToken).ConfigureAwait(false);
        await Files.NodeFiles.WritePrivateAsync(spec, ExecSpec.Build(pid, process, cgroupDirectories, containerSpec), cancellationToken).ConfigureAwait(false);
        try
        {
            var start = new ProcessStartInfo(ContainerRunner.InitPath) { RedirectStandardInput = true, UseShellExecute = false };
            start.ArgumentList.Add("--exec");
            start.ArgumentList.Add(spec);
            using var helper = Process.Start(start) ?? throw new InvalidOperationException("rn-init did not start");
            helper.StandardInput.Close();
            await helper.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            return helper.ExitCode;
        }
        finally
        {
            File.Delete(spec);
        }
    }

    private static ProcessSpec ResolveExec(ContainerView view, int pid, ExecRequest request)
    {
        var config = view.Config;
        if (request.Command.Count == 0)
        {
            throw new ContainerConfigException("no command specified");
        }

        var cwd = string.IsNullOrEmpty(request.WorkingDir) ? config.Cwd : request.WorkingDir;
        if (!cwd.StartsWith('/'))
        {
            throw new ContainerConfigException($"the working directory '{cwd}' is invalid, it needs to be an absolute path");
        }

        var user = new ContainerUser(config.Uid, config.Gid, config.AdditionalGids, "/");
        if (request.User is not null)
        {
            // The container's own /etc/passwd as it sees it now, opened inside its root: never through a host path it could swap.
            using var files = ContainerRootFiles.Open(pid, view.State.MonitorPid);
            user = ContainerUser.Resolve(request.User, files.ReadText("/etc/passwd"), files.ReadText("/etc/group"));
        }

        var env = config.Env.ToList();
        foreach (var variable in request.Env)
        {
            var equals = variable.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                throw new ContainerConfigException($"invalid environment variable: {variable}");
            }

            env.RemoveAll(e => e.StartsWith(variable[..(equals + 1)], StringComparison.Ordinal));
            env.Add(variable);
        }

        return new ProcessSpec(request.Command, env, cwd, user, config.Hostname);
    }

    /// <summary>SIGKILL to pid 1 and wait for the supervisor to record the end; if it does not, the supervisor is killed too.</summary>
    private async Task KillAsync(ContainerPaths paths, CancellationToken cancellationToken)
    {
        // Read again: a supervisor that was restarting may have started a new pid 1 before it saw the stop marker.
        var state = ContainerStore.ReadState(paths);
        if (state.Pid is { } pid)
        {
            _ = RuntimeSyscalls.kill(pid, Signals.Kill);
        }

        if (await WaitForEndAsync(paths, KillTimeout, cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        state = ContainerStore.ReadState(paths);
        if (state.MonitorPid is { } monitor && MonitorProbe.IsAlive(state))
        {
            _ = RuntimeSyscalls.kill(monitor, Signals.Kill);
        }

        await WaitForEndAsync(paths, KillTimeout, cancellationToken).ConfigureAwait(false);
        await RefreshAsync(paths, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Waits for the forwarder of a container that ended: it reads EOF once its supervisor is gone,
    /// a moment after the supervisor recorded the end. One that lingers is killed, so that stop and
    /// rm return with the ports closed.
    /// </summary>
    private async Task EndForwarderAsync(ContainerPaths paths, CancellationToken cancellationToken)
    {
        if (ContainerAttachments.ReadNetwork(paths) is not { ForwarderPid: { } pid, ForwarderStartTime: { } started })
        {
            return;
        }

        var deadline = Time.GetTimestamp() + (long)(ForwarderTimeout.TotalSeconds * Time.TimestampFrequency);
        while (MonitorProbe.StartTime(pid) == started)
        {
            if (Time.GetTimestamp() >= deadline)
            {
                _ = RuntimeSyscalls.kill(pid, Signals.Kill);
                break;
            }

            await Task.Delay(Poll, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>True once the state is no longer running or restarting, or its monitor is gone.</summary>
    private async Task<bool> WaitForEndAsync(ContainerPaths paths, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Time.GetTimestamp() + (long)(timeout.TotalSeconds * Time.TimestampFrequency);
        while (true)
        {
            var state = ContainerStore.ReadState(paths);
            if (!IsActive(state) || !MonitorProbe.IsAlive(state))
            {
                return true;
            }

            if (Time.GetTimestamp() >= deadline)
            {
                return false;
            }

            await Task.Delay(Poll, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task RemoveCgroupAsync(string id, CancellationToken cancellationToken)
    {
        if (_cgroups().Open(id) is { } cgroup)
        {
            await cgroup.RemoveAsync(CgroupTimeout, cancellationToken).ConfigureAwait(false);
        }
    }

    private string NodeRoot => Path.GetDirectoryName(containers.Root)!;

    /// <summary>The container's directory is gone: removed (run -d --rm's supervisor, another rm) while this ran.</summary>
    private static bool Vanished(ContainerPaths paths) => !Directory.Exists(paths.Directory);

    private static bool IsActive(ContainerStateFile state) => state.Status is ContainerStatus.Running or ContainerStatus.Restarting;

    private static class Signals
    {
        public const int Kill = 9;
        public const int Term = 15;
    }
}
