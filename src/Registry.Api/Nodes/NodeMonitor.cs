using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Storage.Hosting;
using Registry.Storage.Metadata;
using Registry.Storage.Nodes;

namespace Registry.Api.Nodes;

/// <summary>
/// Every two seconds, on every replica: moves the unpinned containers of NotReady nodes whose restart policy asks for
/// it (always, unless-stopped, on-failure), empties draining nodes (unpinned containers move, pinned ones stop), and
/// fails containers their node has not reported within PendingTimeout. Every change is conditional on what was
/// read, so replicas running the same round at once do each thing once.
/// </summary>
public sealed partial class NodeMonitor(IServiceScopeFactory scopes, IOptions<NodeOptions> options, TimeProvider time, ILogger<NodeMonitor> logger)
    : PeriodicChore(time, logger)
{
    public static readonly TimeSpan RoundInterval = TimeSpan.FromSeconds(2);

    protected override TimeSpan Interval => RoundInterval;

    // A poll every two seconds keeps to real time; what it decides uses the registry's clock.
    protected override TimeProvider Cadence => TimeProvider.System;

    protected override async Task RunOnceAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<RegistryDbContext>();
        var placements = scope.ServiceProvider.GetRequiredService<ContainerPlacements>();
        var scheduler = scope.ServiceProvider.GetRequiredService<NodeScheduler>();
        await RescheduleFromNotReadyAsync(db, placements, scheduler.ReadyCutoff, ct);
        foreach (var node in await db.Nodes.AsNoTracking().Where(n => n.Draining).Select(n => new { n.Id, n.Name }).ToListAsync(ct))
        {
            await DrainAsync(db, placements, scheduler, node.Id, node.Name, ct);
        }

        await FailUnreportedAsync(db, ct);
    }

    /// <summary>One pass over a draining node: unpinned containers move to other nodes, pinned ones are stopped.</summary>
    public static async Task DrainAsync(
        RegistryDbContext db, ContainerPlacements placements, NodeScheduler scheduler, long nodeId, string nodeName, CancellationToken ct)
    {
        var unpinned = await db.NodeContainers.AsNoTracking().Where(c => c.NodeId == nodeId && !c.Pinned).ToListAsync(ct);
        foreach (var container in unpinned)
        {
            await placements.MoveAsync(container, $"node {nodeName} was drained", ct);
        }

        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var stopped = await db.NodeContainers.Where(c => c.NodeId == nodeId && c.Pinned && c.Desired == DesiredStates.Running)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.Desired, DesiredStates.Stopped), ct);
        if (stopped > 0)
        {
            await scheduler.BumpAsync(nodeId, ct);
        }

        await transaction.CommitAsync(ct);
    }

    private async Task RescheduleFromNotReadyAsync(RegistryDbContext db, ContainerPlacements placements, DateTime cutoff, CancellationToken ct)
    {
        var stranded = await (from c in db.NodeContainers.AsNoTracking()
                              join n in db.Nodes.AsNoTracking() on c.NodeId equals n.Id
                              where n.LastSeenAt < cutoff && !c.Pinned && c.Desired == DesiredStates.Running
                                    && (c.Restart == "always" || c.Restart == "unless-stopped" || c.Restart.StartsWith("on-failure"))
                              select new { Container = c, Node = n.Name }).ToListAsync(ct);
        foreach (var item in stranded)
        {
            var outcome = await placements.MoveAsync(item.Container, $"node {item.Node} is NotReady", ct);
            if (outcome != MoveOutcome.Unchanged)
            {
                LogMoved(Logger, item.Container.Id, item.Node, outcome);
            }
        }
    }

    private async Task FailUnreportedAsync(RegistryDbContext db, CancellationToken ct)
    {
        var timeout = options.Value.PendingTimeout;
        var cutoff = Time.GetUtcNow().UtcDateTime - timeout;
        var error = $"its node did not report it within {timeout}";
        var failed = await db.NodeContainers
            .Where(c => c.NodeId != null && c.State == ContainerStates.Pending && c.ReportedAt == null && c.PlacedAt < cutoff
                        && c.Desired == DesiredStates.Running)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.State, ContainerStates.Failed).SetProperty(c => c.Error, error), ct);
        if (failed > 0)
        {
            LogPendingFailed(Logger, failed, timeout);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Container {Container} left NotReady node {Node}: {Outcome}")]
    private static partial void LogMoved(ILogger logger, string container, string node, MoveOutcome outcome);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} containers failed: not reported by their node within {Timeout}")]
    private static partial void LogPendingFailed(ILogger logger, int count, TimeSpan timeout);
}
