using Registry.Node.Runtime;

namespace Registry.Node.Agent;

internal sealed partial class Reconciler
{
    /// <summary>
    /// The state of every managed container, as the heartbeat reports it: pending or pulling while
    /// its worker makes it; then what the runtime says (running, exited with its code, or failed with
    /// the runtime's message when the process could not start: 125, 126, 127); failed with the reason
    /// when it could not be made at all.
    /// </summary>
    public async Task<IReadOnlyList<ObservedContainer>> ObserveAsync(CancellationToken cancellationToken)
    {
        Dictionary<string, (string Phase, DesiredContainer Target)> working;
        lock (_lock)
        {
            working = _slots.Where(s => s.Value is { Phase: not null, Target: not null })
                .ToDictionary(s => s.Key, s => (s.Value.Phase!, s.Value.Target!), StringComparer.Ordinal);
        }

        var observed = new List<ObservedContainer>();
        foreach (var (id, (phase, target)) in working)
        {
            observed.Add(new ObservedContainer(id, target.Placement, phase, null, 0, null, null, null));
        }

        foreach (var managed in _managed.All().Where(m => !working.ContainsKey(m.Id)))
        {
            observed.Add(await ObserveAsync(managed, cancellationToken).ConfigureAwait(false));
        }

        return observed;
    }

    private async Task<ObservedContainer> ObserveAsync(ManagedContainer managed, CancellationToken cancellationToken)
    {
        if (managed.Failure is { } failure)
        {
            return new ObservedContainer(managed.Id, managed.Placement, ContainerStates.Failed, null, 0, null, null, failure);
        }

        if (!managed.Created)
        {
            // Asked to be stopped before it was ever started.
            return new ObservedContainer(managed.Id, managed.Placement, ContainerStates.Exited, null, 0, null, null, null);
        }

        if (await TryInspectAsync(managed.Id, cancellationToken).ConfigureAwait(false) is not { } view)
        {
            return new ObservedContainer(managed.Id, managed.Placement, ContainerStates.Failed, null, 0, null, null, "the container is no longer on the node");
        }

        var state = view.State;
        var (name, error) = Describe(state);
        return new ObservedContainer(
            managed.Id, managed.Placement, name, name == ContainerStates.Running ? null : state.ExitCode, state.RestartCount, state.StartedAt, state.FinishedAt, error);
    }

    private static (string State, string? Error) Describe(ContainerStateFile state) => state.Status switch
    {
        ContainerStatus.Running or ContainerStatus.Restarting => (ContainerStates.Running, null),
        ContainerStatus.Created => (ContainerStates.Pending, null),
        _ when state.Reason == ExitReason.StartFailed => (ContainerStates.Failed, $"start error {state.ExitCode}: {state.Error}"),
        _ => (ContainerStates.Exited, state.OomKilled ? "killed by the kernel's OOM killer" : null),
    };
}
