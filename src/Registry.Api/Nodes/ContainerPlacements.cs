using Microsoft.EntityFrameworkCore;
using Registry.Storage.Metadata;
using Registry.Storage.Nodes;

namespace Registry.Api.Nodes;

/// <summary>What became of a container that had to leave its node.</summary>
public enum MoveOutcome
{
    /// <summary>Placed on another node: a new placement, its restart count one higher.</summary>
    Moved,

    /// <summary>No node fits: failed with the reason, on no node.</summary>
    Failed,

    /// <summary>Someone else (another replica, a user) changed it first; nothing was done.</summary>
    Unchanged,
}

/// <summary>
/// Takes containers off nodes: moved to another node that fits, or failed with the reason. Each move is one
/// transaction whose change to the container is conditional on the node and placement it was read with, so that
/// replicas doing the same round at once move each container once.
/// </summary>
public sealed class ContainerPlacements(RegistryDbContext db, NodeScheduler scheduler, TimeProvider time)
{
    /// <summary>Moves a container off its node, or fails it when nothing fits; <paramref name="why"/> goes into the failure's reason.</summary>
    public async Task<MoveOutcome> MoveAsync(NodeContainerEntity container, string why, CancellationToken ct)
    {
        var memory = container.MemoryBytes ?? 0;
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var target = await scheduler.ReserveAsync(
            pinned: null, NodeScheduler.ParseLabels(container.Selector), memory, excludeNodeId: container.NodeId, ct);
        var current = db.NodeContainers.Where(c => c.Id == container.Id && c.NodeId == container.NodeId && c.Placement == container.Placement);
        var now = time.GetUtcNow().UtcDateTime;
        int changed;
        if (target.NodeId is { } nodeId)
        {
            changed = await current.ExecuteUpdateAsync(s => s
                .SetProperty(c => c.NodeId, nodeId)
                .SetProperty(c => c.Placement, c => c.Placement + 1)
                .SetProperty(c => c.RestartCount, c => c.RestartCount + 1)
                .SetProperty(c => c.RestartBase, c => c.RestartCount + 1)
                .SetProperty(c => c.State, ContainerStates.Pending)
                .SetProperty(c => c.ExitCode, (int?)null)
                .SetProperty(c => c.Error, (string?)null)
                .SetProperty(c => c.PlacedAt, now)
                .SetProperty(c => c.ReportedAt, (DateTime?)null)
                .SetProperty(c => c.StartedAt, (DateTime?)null)
                .SetProperty(c => c.FinishedAt, (DateTime?)null), ct);
        }
        else
        {
            var error = Truncate($"{why}; no node fits: {target.Refusal}");
            changed = await current.ExecuteUpdateAsync(s => s
                .SetProperty(c => c.NodeId, (long?)null)
                .SetProperty(c => c.State, ContainerStates.Failed)
                .SetProperty(c => c.Error, error)
                .SetProperty(c => c.FinishedAt, c => c.FinishedAt ?? (DateTime?)now), ct);
        }

        if (changed == 0)
        {
            return MoveOutcome.Unchanged;
        }

        if (container.NodeId is { } old)
        {
            await scheduler.ReleaseAsync(old, memory, ct);
        }

        await transaction.CommitAsync(ct);
        return target.NodeId is null ? MoveOutcome.Failed : MoveOutcome.Moved;
    }

    /// <summary>Fails a pinned container whose node is gone or going, and takes it off the node.</summary>
    public async Task<bool> FailAsync(NodeContainerEntity container, string reason, CancellationToken ct)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var now = time.GetUtcNow().UtcDateTime;
        var error = Truncate(reason);
        var changed = await db.NodeContainers
            .Where(c => c.Id == container.Id && c.NodeId == container.NodeId && c.Placement == container.Placement)
            .ExecuteUpdateAsync(s => s
                .SetProperty(c => c.NodeId, (long?)null)
                .SetProperty(c => c.State, ContainerStates.Failed)
                .SetProperty(c => c.Error, error)
                .SetProperty(c => c.FinishedAt, c => c.FinishedAt ?? (DateTime?)now), ct);
        if (changed == 0)
        {
            return false;
        }

        if (container.NodeId is { } old)
        {
            await scheduler.ReleaseAsync(old, container.MemoryBytes ?? 0, ct);
        }

        await transaction.CommitAsync(ct);
        return true;
    }

    /// <summary>Places a container that is on no node (it failed when nothing fitted) again, as a start asks.</summary>
    public async Task<Placement> PlaceAgainAsync(NodeContainerEntity container, string? pinnedNode, CancellationToken ct)
    {
        var memory = container.MemoryBytes ?? 0;
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var target = await scheduler.ReserveAsync(pinnedNode, NodeScheduler.ParseLabels(container.Selector), memory, excludeNodeId: null, ct);
        if (target.NodeId is not { } nodeId)
        {
            return target;
        }

        var now = time.GetUtcNow().UtcDateTime;
        var changed = await db.NodeContainers
            .Where(c => c.Id == container.Id && c.NodeId == null && c.Placement == container.Placement)
            .ExecuteUpdateAsync(s => s
                .SetProperty(c => c.NodeId, nodeId)
                .SetProperty(c => c.Placement, c => c.Placement + 1)
                .SetProperty(c => c.RestartBase, c => c.RestartCount)
                .SetProperty(c => c.Desired, DesiredStates.Running)
                .SetProperty(c => c.StartSerial, c => c.StartSerial + 1)
                .SetProperty(c => c.State, ContainerStates.Pending)
                .SetProperty(c => c.ExitCode, (int?)null)
                .SetProperty(c => c.Error, (string?)null)
                .SetProperty(c => c.PlacedAt, now)
                .SetProperty(c => c.ReportedAt, (DateTime?)null)
                .SetProperty(c => c.StartedAt, (DateTime?)null)
                .SetProperty(c => c.FinishedAt, (DateTime?)null), ct);
        if (changed == 0)
        {
            return Placement.Refused("the container changed meanwhile; try again");
        }

        await transaction.CommitAsync(ct);
        return target;
    }

    /// <summary>
    /// Deletes an account's containers, giving their memory back to their nodes first; for the removal of a user,
    /// in its transaction.
    /// </summary>
    public static async Task DeleteOwnedAsync(RegistryDbContext db, long ownerId, CancellationToken ct)
    {
        var held = await db.NodeContainers.Where(c => c.OwnerId == ownerId && c.NodeId != null)
            .GroupBy(c => c.NodeId!.Value)
            .Select(g => new { NodeId = g.Key, Memory = g.Sum(c => c.MemoryBytes ?? 0) })
            .ToListAsync(ct);
        await db.NodeContainers.Where(c => c.OwnerId == ownerId).ExecuteDeleteAsync(ct);
        foreach (var node in held)
        {
            await db.Nodes.Where(n => n.Id == node.NodeId).ExecuteUpdateAsync(s => s
                .SetProperty(n => n.AllocatedMemoryBytes, n => n.AllocatedMemoryBytes - node.Memory)
                .SetProperty(n => n.Generation, n => n.Generation + 1), ct);
        }
    }

    private static string Truncate(string text) => text.Length <= NodeModel.MaxErrorLength ? text : text[..NodeModel.MaxErrorLength];
}
