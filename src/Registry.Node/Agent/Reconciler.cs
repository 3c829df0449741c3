using Registry.Node.Cli;
using Registry.Node.Runtime;
using Registry.Node.Runtime.Security;

namespace Registry.Node.Agent;

/// <summary>
/// Makes the node's containers what the registry's desired state says. Each container has its own
/// worker, so a slow pull holds no other container; a worker acts on the newest desired state of its
/// container, and runs again when a newer one arrived while it worked. What a worker did is kept in
/// <see cref="ManagedContainers"/> (containers.json): a restarted agent picks up where it was.
/// <list type="bullet">
/// <item>not here yet: pull (with the container's pull token), create and start it detached, its id the registry's;</item>
/// <item>startSerial greater than the one last acted on: (re)start it;</item>
/// <item>desired <c>stopped</c> and running: stop it (SIGTERM, SIGKILL after 10 s);</item>
/// <item>otherwise its restart policy decides, so an exited container with restart <c>no</c> stays exited;</item>
/// <item>managed but no longer in the desired state (removed, or moved to another node): remove it.</item>
/// </list>
/// </summary>
internal sealed partial class Reconciler
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(60);

    private readonly ManagedContainers _managed;
    private readonly AgentLog _log;
    private readonly ImageFetcher _images;
    private readonly UsernsMapping? _userns;
    private readonly ContainerStore _containers;
    private readonly ContainerLifecycle _lifecycle;
    private readonly ContainerRunner _runner;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Slot> _slots = new(StringComparer.Ordinal);

    public Reconciler(NodeStores stores, ManagedContainers managed, AgentLog log, ImageFetcher images, UsernsMapping? userns)
    {
        _managed = managed;
        _log = log;
        _images = images;
        _userns = userns;
        _containers = new ContainerStore(stores.Root);
        _lifecycle = new ContainerLifecycle(_containers);
        _runner = new ContainerRunner(_containers, stores.Snapshots, stores.Content);
    }

    /// <summary>Starts (or re-arms) a worker for every container of <paramref name="desired"/> and for every managed one it no longer lists.</summary>
    public void Apply(DesiredState desired, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            var wanted = desired.Containers.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var container in desired.Containers)
            {
                Schedule(container.Id, container, cancellationToken);
            }

            var unwanted = _managed.All().Select(m => m.Id).Concat(_slots.Where(s => s.Value.Target is not null).Select(s => s.Key))
                .Where(id => !wanted.Contains(id)).Distinct(StringComparer.Ordinal).ToList();
            foreach (var id in unwanted)
            {
                Schedule(id, null, cancellationToken);
            }
        }
    }

    /// <summary>Completes when no worker runs (in tests: once a desired state is applied).</summary>
    public async Task WhenIdleAsync()
    {
        while (true)
        {
            Task[] running;
            lock (_lock)
            {
                running = [.. _slots.Values.Select(s => s.Running).OfType<Task>()];
            }

            if (running.Length == 0)
            {
                return;
            }

            await Task.WhenAll(running).ConfigureAwait(false);
        }
    }

    // Under _lock.
    private void Schedule(string id, DesiredContainer? target, CancellationToken cancellationToken)
    {
        if (!_slots.TryGetValue(id, out var slot))
        {
            slot = new Slot();
            _slots[id] = slot;
        }

        slot.Target = target;
        if (slot.Running is null)
        {
            slot.Running = Task.Run(() => WorkAsync(id, slot, cancellationToken), CancellationToken.None);
        }
        else
        {
            slot.Again = true;
        }
    }

    private async Task WorkAsync(string id, Slot slot, CancellationToken cancellationToken)
    {
        while (true)
        {
            DesiredContainer? target;
            lock (_lock)
            {
                target = slot.Target;
                slot.Again = false;
            }

            try
            {
                if (target is null)
                {
                    await RemoveAsync(id, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await ReconcileAsync(target, slot, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // The agent stops: what was half done is done again by the next agent.
            }
            catch (Exception e)
            {
                _log.Write($"failed {Short(id)}: {NodeCli.Describe(e)}");
            }
            finally
            {
                slot.Phase = null;
            }

            lock (_lock)
            {
                if (!slot.Again || cancellationToken.IsCancellationRequested)
                {
                    slot.Running = null;
                    if (slot.Target is null)
                    {
                        _slots.Remove(id);
                    }

                    return;
                }
            }
        }
    }

    private async Task ReconcileAsync(DesiredContainer desired, Slot slot, CancellationToken cancellationToken)
    {
        var managed = _managed.Get(desired.Id);
        var view = await TryInspectAsync(desired.Id, cancellationToken).ConfigureAwait(false);
        if (managed is not null && managed.Placement != desired.Placement)
        {
            // Placed here anew (it was moved away and back): the old copy belongs to an old placement.
            await RemoveAsync(desired.Id, cancellationToken).ConfigureAwait(false);
            managed = null;
            view = null;
        }

        if (view is null)
        {
            var settled = managed is not null && desired.StartSerial <= managed.StartSerial && !managed.RetryFailure;
            if (settled)
            {
                return; // failed, or never started: until the registry asks for a start
            }

            if (desired.Desired == DesiredContainer.Stopped)
            {
                _managed.Put(Record(desired) with { Created = false });
                return;
            }

            await CreateAsync(desired, slot, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (managed is null)
        {
            // Made by an agent that ended before it could record it: it was made for this serial.
            managed = Record(desired);
            _managed.Put(managed);
        }

        if (desired.StartSerial > managed.StartSerial)
        {
            await RestartAsync(desired, view, cancellationToken).ConfigureAwait(false);
            return;
        }

        if (desired.Desired == DesiredContainer.Stopped && IsActive(view.State))
        {
            await _lifecycle.StopAsync(desired.Id, StopGrace, cancellationToken).ConfigureAwait(false);
            _log.Write($"stopped {Short(desired.Id)}");
        }
        else if (desired.Desired == DesiredContainer.Running && ContainerLifecycle.EndedWithItsMonitor(view.State)
            && RestartPolicy.Parse(view.Config.RestartPolicy).Kind != RestartKind.No)
        {
            // Its supervisor died with the node (a reboot): the restart policy it would have applied is applied now.
            LogStart(desired, await _lifecycle.StartAsync(desired.Id, cancellationToken).ConfigureAwait(false), " again: its supervisor had ended with the node");
        }
    }

    private async Task CreateAsync(DesiredContainer desired, Slot slot, CancellationToken cancellationToken)
    {
        slot.Phase = ContainerStates.Pending;
        RunRequest request;
        try
        {
            request = DesiredRunRequest.From(desired, _userns);
        }
        catch (ContainerConfigException e)
        {
            Fail(desired, $"invalid container spec: {e.Message}", retry: false);
            return;
        }

        slot.Phase = ContainerStates.Pulling;
        Content.ImageRecord image;
        try
        {
            image = await _images.FetchAsync(desired, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            var transient = ImageFetcher.IsTransient(e);
            Fail(desired, $"pull failed: {NodeCli.Describe(e)}", transient);
            if (transient)
            {
                RetryLater(desired.Id, slot, cancellationToken);
            }

            return;
        }

        slot.Phase = ContainerStates.Pending;
        ContainerExit exit;
        try
        {
            exit = await _runner.RunAsync(image, request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Fail(desired, $"cannot create the container: {e.Message}", retry: false);
            return;
        }

        slot.Attempts = 0;
        _managed.Put(Record(desired) with { Created = true });
        LogStart(desired, exit);
    }

    private async Task RestartAsync(DesiredContainer desired, ContainerView view, CancellationToken cancellationToken)
    {
        if (IsActive(view.State))
        {
            await _lifecycle.StopAsync(desired.Id, StopGrace, cancellationToken).ConfigureAwait(false);
            _log.Write($"stopped {Short(desired.Id)}");
        }

        // Recorded first: a start that fails is not tried again until the registry asks once more.
        _managed.Put(Record(desired) with { Created = true });
        if (desired.Desired != DesiredContainer.Running)
        {
            return;
        }

        ContainerExit exit;
        try
        {
            exit = await _lifecycle.StartAsync(desired.Id, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            _managed.Put(Record(desired) with { Failure = $"cannot start the container: {e.Message}" });
            _log.Write($"failed {Short(desired.Id)}: cannot start the container: {e.Message}");
            return;
        }

        LogStart(desired, exit);
    }

    private async Task RemoveAsync(string id, CancellationToken cancellationToken)
    {
        if (Directory.Exists(_containers.PathsOf(id).Directory))
        {
            await _lifecycle.RemoveAsync(id, force: true, cancellationToken).ConfigureAwait(false);
            _log.Write($"removed {Short(id)}");
        }

        _managed.Remove(id);
    }

    private void LogStart(DesiredContainer desired, ContainerExit exit, string? why = null) =>
        _log.Write(exit.Detached
            ? $"started {Short(desired.Id)} ({desired.Image}){why}"
            : $"failed {Short(desired.Id)}: start error {exit.ExitCode}: {exit.Error}");

    private void Fail(DesiredContainer desired, string reason, bool retry)
    {
        _managed.Put(Record(desired) with { Created = false, Failure = reason, RetryFailure = retry });
        _log.Write($"failed {Short(desired.Id)}: {reason}");
    }

    /// <summary>Runs the worker again after a back-off, unless a newer desired state has done so already.</summary>
    private void RetryLater(string id, Slot slot, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromTicks(Math.Min(FirstRetry.Ticks << Math.Min(slot.Attempts, 10), MaxRetry.Ticks));
        slot.Attempts++;
        _ = Task.Run(
            async () =>
            {
                try
                {
                    await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                lock (_lock)
                {
                    if (_slots.TryGetValue(id, out var current) && current == slot && slot.Target is { } target)
                    {
                        Schedule(id, target, cancellationToken);
                    }
                }
            },
            CancellationToken.None);
    }

    private static ManagedContainer Record(DesiredContainer desired) => new()
    {
        Id = desired.Id,
        Placement = desired.Placement,
        StartSerial = desired.StartSerial,
        Image = desired.Image,
        Created = true,
    };

    private async Task<ContainerView?> TryInspectAsync(string id, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(_containers.PathsOf(id).Directory))
        {
            return null;
        }

        try
        {
            return await _lifecycle.InspectAsync(id, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or System.Text.Json.JsonException)
        {
            return null; // half-made by a start that is still creating it, or being removed
        }
    }

    private static bool IsActive(ContainerStateFile state) => state.Status is ContainerStatus.Running or ContainerStatus.Restarting;

    internal static string Short(string id) => id.Length > 12 ? id[..12] : id;

    /// <summary>One container's worker: the newest desired state for it (null: remove it) and what it does now.</summary>
    private sealed class Slot
    {
        public DesiredContainer? Target { get; set; }

        public Task? Running { get; set; }

        public bool Again { get; set; }

        /// <summary>pending or pulling while the worker makes the container; null otherwise.</summary>
        public string? Phase { get; set; }

        public int Attempts { get; set; }
    }
}
