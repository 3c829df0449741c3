using System.Diagnostics;
using System.Globalization;
using System.IO.Pipes;
using System.Runtime.InteropServices;
using Registry.Node.Client;
using Registry.Node.Content;
using Registry.Node.Runtime.Cgroups;
using Registry.Node.Runtime.Security;
using Registry.Node.Snapshots;

namespace Registry.Node.Runtime;

/// <summary>How a foreground container ended.</summary>
/// <param name="ExitCode">docker's: the process's code, 128 + signal, or 125/126/127 when it could not start.</param>
/// <param name="Error">rn-init's message when it could not start.</param>
public sealed record ContainerExit(string Id, int ExitCode, ExitReason Reason, bool OomKilled, string? Error)
{
    /// <summary>True when <c>run -d</c> or <c>start</c> left the container running under its supervisor.</summary>
    public bool Detached { get; init; }
}

/// <summary>
/// Runs one container in the foreground: validate and resolve everything first (image config,
/// user, limits), then make the container (directory, cgroup, rn-init's spec), start rn-init
/// with stdout/stderr piped to <see cref="Output"/>/<see cref="Error"/> and to the log, wait,
/// record how it ended, and clean up. Anything made before a failure is removed again; the
/// mounts live in the container's own mount namespace and go with it.
/// </summary>
public sealed partial class ContainerRunner
{
    public const string InitVariable = "REGISTRY_NODE_INIT";

    private static readonly TimeSpan CgroupTimeout = TimeSpan.FromSeconds(10);

    private readonly ContainerStore _containers;
    private readonly SnapshotStore _snapshots;
    private readonly ContentStore _content;
    private readonly Func<CgroupManager> _cgroups;

    public ContainerRunner(ContainerStore containers, SnapshotStore snapshots, ContentStore content, Func<CgroupManager>? cgroups = null)
    {
        _containers = containers;
        _snapshots = snapshots;
        _content = content;
        _cgroups = cgroups ?? (() => CgroupManager.ForHost());
    }

    public Stream Output { get; init; } = Stream.Null;

    public Stream Error { get; init; } = Stream.Null;

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>rn-init: <c>REGISTRY_NODE_INIT</c>, else next to registry-node's assembly.</summary>
    public static string InitPath =>
        Environment.GetEnvironmentVariable(InitVariable) is { Length: > 0 } path ? path : Path.Combine(AppContext.BaseDirectory, "rn-init");

    /// <exception cref="ContainerConfigException">The request cannot be satisfied; nothing was created.</exception>
    public async Task<ContainerExit> RunAsync(ImageRecord image, RunRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(request);
        if (!File.Exists(InitPath))
        {
            throw new ContainerConfigException($"the container init helper {InitPath} is missing (it is built with registry-node)");
        }

        var cgroups = _cgroups();

        // --- validate and resolve: nothing on the host is touched yet ---
        if (image.ChainIds.Count == 0 || image.ChainIds.Any(c => !_snapshots.Contains(c)))
        {
            throw new ContainerConfigException($"image {image.Reference} is not unpacked on this node; pull it again");
        }

        var config = ImageConfig.Parse(await _content.ReadAllAsync(image.ConfigDigest, cancellationToken).ConfigureAwait(false));
        var layersTopFirst = image.ChainIds.Reverse().Select(_snapshots.PathOf).ToList();
        var id = request.Id ?? ContainerStore.NewId();
        var name = request.Name ?? id[..12];
        if (!ContainerStore.IsValidName(name))
        {
            throw new ContainerConfigException($"invalid container name \"{name}\", only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
        }

        var hostname = request.Hostname ?? request.Name ?? id[..12];
        var process = ProcessSpecResolver.Resolve(config, request, hostname, new ImageRootFiles(layersTopFirst));
        request.Limits.EnsureValid(Environment.ProcessorCount);
        ContainerAttachments.Validate(request);
        var security = ContainerSecurity.Resolve(request, SeccompPlatform.Host);

        // --- create ---
        var paths = _containers.Create(id, name);
        ICgroup? cgroup = null;
        ContainerAttachments? attachments = null;
        try
        {
            ContainerStore.WriteConfig(paths, new ContainerConfigFile(
                id, name, image.Reference, image.ConfigDigest.ToString(), [.. image.ChainIds.Select(c => c.ToString())],
                process.Args, process.Env, process.Cwd, process.User.Uid, process.User.Gid, process.User.AdditionalGids,
                hostname, request.Network.ToString().ToLowerInvariant(), request.Limits.MemoryBytes, request.Limits.Cpus,
                request.Limits.PidsMax, request.Remove, Time.GetUtcNow(), request.Restart.ToString())
            {
                SecurityOpt = request.SecurityOpt.Count > 0 ? request.SecurityOpt : null,
                CapAdd = request.CapAdd.Count > 0 ? request.CapAdd : null,
                CapDrop = request.CapDrop.Count > 0 ? request.CapDrop : null,
                ReadonlyRootfs = request.ReadOnlyRootfs,
                UsernsMode = security.Userns is null ? null : "remap",
                UsernsRemap = security.Userns?.ToString(),
            });
            ContainerStore.WriteState(paths, new ContainerStateFile());
            cgroup = cgroups.Create(id, request.Limits);
            attachments = await ContainerAttachments.AttachAsync(
                Path.GetDirectoryName(_containers.Root)!, id, name, hostname, paths, request, cancellationToken).ConfigureAwait(false);
            await Files.NodeFiles.WritePrivateAsync(
                paths.InitSpec,
                InitSpec.Build(paths, _snapshots.Root, image.ChainIds.Reverse().Select(c => c.Encoded), process, request.Network, cgroup.Directories, security, attachments.SpecEntries),
                cancellationToken).ConfigureAwait(false);

            if (request.Detach || request.Restart.Kind != RestartKind.No)
            {
                // From here the supervisor owns the cgroup (StartSupervisedAsync removed it if the container never ran).
                var created = cgroup;
                cgroup = null;
                var supervision = new Supervision(
                    request.Restart,
                    request.Remove ? RemoveCommand(Path.GetDirectoryName(_containers.Root)!, id) : null,
                    request.Detach ? null : (Output, Error));
                var started = await StartSupervisedAsync(id, paths, created, supervision, cancellationToken).ConfigureAwait(false);
                if (request.Detach && !started.Detached && request.Remove)
                {
                    // run -d --rm of a container that could not start: nothing is left, as in the foreground.
                    await attachments.DisposeAsync().ConfigureAwait(false);
                    attachments = null;
                    _containers.Remove(id, name);
                }

                return started;
            }

            var exit = await StartAndWaitAsync(id, paths, cgroup, cancellationToken).ConfigureAwait(false);
            await attachments.DisposeAsync().ConfigureAwait(false);
            attachments = null;
            await cgroup.RemoveAsync(CgroupTimeout, CancellationToken.None).ConfigureAwait(false);
            cgroup = null;
            if (request.Remove)
            {
                _containers.Remove(id, name);
            }

            return exit;
        }
        catch
        {
            // Nothing half-made: the forwarder, the address, the cgroup (and anything still in it) and the container's directory go.
            if (attachments is not null)
            {
                await attachments.DisposeAsync().ConfigureAwait(false);
            }

            if (cgroup is not null)
            {
                await cgroup.RemoveAsync(CgroupTimeout, CancellationToken.None).ConfigureAwait(false);
            }

            _containers.Remove(id, name);
            throw;
        }
    }

    /// <summary>rn-init with every standard stream redirected: nothing of registry-node's own stdio is inherited.</summary>
    private static ProcessStartInfo InitStartInfo() => new(InitPath)
    {
        RedirectStandardInput = true,
        RedirectStandardOutput = true,
        RedirectStandardError = true,
        UseShellExecute = false,
    };

    private async Task<ContainerExit> StartAndWaitAsync(string id, ContainerPaths paths, ICgroup cgroup, CancellationToken cancellationToken)
    {
        using var log = new ContainerLog(paths.LogFile, Time);
        // The status pipe: rn-init reports "started PID", then "exited N", "signaled S" or "error CODE TEXT".
        using var status = new AnonymousPipeServerStream(PipeDirection.In, HandleInheritability.Inheritable);
        var start = InitStartInfo();
        start.ArgumentList.Add(paths.InitSpec);
        start.ArgumentList.Add(status.GetClientHandleAsString());

        using var monitor = Process.Start(start) ?? throw new InvalidOperationException("rn-init did not start");
        status.DisposeLocalCopyOfClientHandle();
        // Without -i the container's stdin is empty, as with docker run.
        monitor.StandardInput.Close();
        using var signals = ForwardSignals(monitor.Id);

        var stdout = PumpAsync(monitor.StandardOutput.BaseStream, Output, log.For("stdout"));
        var stderr = PumpAsync(monitor.StandardError.BaseStream, Error, log.For("stderr"));
        var lines = new List<string>();
        using (var reader = new StreamReader(status))
        {
            while (await reader.ReadLineAsync(cancellationToken).ConfigureAwait(false) is { } line)
            {
                lines.Add(line);
                if (line.StartsWith("started ", StringComparison.Ordinal))
                {
                    ContainerStore.WriteState(paths, new ContainerStateFile
                    {
                        Status = ContainerStatus.Running,
                        Pid = int.Parse(line["started ".Length..], CultureInfo.InvariantCulture),
                        MonitorPid = monitor.Id,
                        MonitorStartTime = MonitorProbe.StartTime(monitor.Id),
                        BootId = MonitorProbe.BootId,
                        StartedAt = Time.GetUtcNow(),
                    });
                }
            }
        }

        await monitor.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        await Task.WhenAll(stdout, stderr).ConfigureAwait(false);
        var state = ContainerStore.ReadState(paths);
        var oom = cgroup.ReadOomStatus().OomKilled;
        var exit = Interpret(id, lines, monitor.ExitCode, oom);
        ContainerStore.WriteState(paths, state with
        {
            Status = ContainerStatus.Exited,
            Pid = null,
            MonitorPid = null,
            FinishedAt = Time.GetUtcNow(),
            ExitCode = exit.ExitCode,
            Reason = exit.Reason,
            OomKilled = exit.OomKilled,
            Error = exit.Error,
        });
        return exit;
    }

    /// <summary>How the container ended, from rn-init's last status line (its exit code if it wrote none).</summary>
    internal static ContainerExit Interpret(string id, IReadOnlyList<string> statusLines, int monitorExitCode, bool oomKilled)
    {
        var last = statusLines.Count > 0 ? statusLines[^1] : "";
        var space = last.IndexOf(' ', StringComparison.Ordinal);
        var word = space < 0 ? last : last[..space];
        var rest = space < 0 ? "" : last[(space + 1)..];
        switch (word)
        {
            case "exited" when int.TryParse(rest, CultureInfo.InvariantCulture, out var code):
                return new ContainerExit(id, code, ExitReason.Exited, oomKilled, null);
            case "signaled" when int.TryParse(rest, CultureInfo.InvariantCulture, out var signal):
                // SIGKILL after an OOM kill in the cgroup: the OOM killer's doing.
                var reason = oomKilled && signal == 9 ? ExitReason.Oom : ExitReason.Killed;
                return new ContainerExit(id, 128 + signal, reason, oomKilled, null);
            case "error":
                var codeEnd = rest.IndexOf(' ', StringComparison.Ordinal);
                var errorCode = codeEnd > 0 && int.TryParse(rest[..codeEnd], CultureInfo.InvariantCulture, out var c) ? c : 125;
                return new ContainerExit(id, errorCode, ExitReason.StartFailed, oomKilled, codeEnd > 0 ? rest[(codeEnd + 1)..] : rest);
            default:
                return new ContainerExit(id, 125, ExitReason.StartFailed, oomKilled, $"the container init helper ended with exit code {monitorExitCode} without reporting why");
        }
    }

    private static async Task PumpAsync(Stream from, Stream to, ContainerLog.LineBuffer log)
    {
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await from.ReadAsync(buffer).ConfigureAwait(false)) > 0)
        {
            log.Append(buffer.AsSpan(0, read));
            await to.WriteAsync(buffer.AsMemory(0, read)).ConfigureAwait(false);
            await to.FlushAsync().ConfigureAwait(false);
        }

        log.Flush();
    }

    /// <summary>
    /// Like docker run's signal proxy: SIGINT, SIGTERM, SIGHUP and SIGQUIT to registry-node go to
    /// rn-init's monitor, which passes them to the container's pid 1; registry-node itself keeps
    /// waiting for the container to exit.
    /// </summary>
    private static CompositeDisposable ForwardSignals(int monitorPid)
    {
        var registrations = new[] { PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT }
            .Select(signal => PosixSignalRegistration.Create(signal, context =>
            {
                context.Cancel = true;
                _ = RuntimeSyscalls.kill(monitorPid, SignalNumber(context.Signal));
            }))
            .ToList();
        return new CompositeDisposable(registrations);
    }

    private static int SignalNumber(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGHUP => 1,
        PosixSignal.SIGINT => 2,
        PosixSignal.SIGQUIT => 3,
        _ => 15,
    };

    private sealed class CompositeDisposable(IEnumerable<IDisposable> items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
            {
                item.Dispose();
            }
        }
    }
}
