using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Api.Identity;
using Registry.Storage.Metadata;
using Registry.Storage.Nodes;

namespace Registry.Api.Nodes;

/// <summary>A node as <c>GET /api/v1/nodes</c> shows it.</summary>
public sealed record NodeStatus(NodeEntity Node, string Status, long AllocatedContainers, IReadOnlyList<string> Warnings);

/// <summary>
/// The nodes' status for everyone signed in, and what administrators do to nodes: cordon, drain, label, remove.
/// Status is the registry's view on its own clock: NotReady when no heartbeat came within NotReadyAfter.
/// </summary>
public sealed class NodeService(
    RegistryDbContext db, NodeScheduler scheduler, ContainerPlacements placements, IOptions<NodeOptions> options, TimeProvider time)
{
    public const string Ready = "Ready";
    public const string NotReady = "NotReady";
    public const string Cordoned = "Cordoned";
    public const string Draining = "Draining";

    public async Task<List<NodeStatus>> ListAsync(CancellationToken ct)
    {
        var nodes = await db.Nodes.AsNoTracking().OrderBy(n => n.Name).ToListAsync(ct);
        var counts = await db.NodeContainers.AsNoTracking().Where(c => c.NodeId != null)
            .GroupBy(c => c.NodeId!.Value).Select(g => new { NodeId = g.Key, Count = g.LongCount() })
            .ToDictionaryAsync(g => g.NodeId, g => g.Count, ct);
        return nodes.Select(n => Status(n, counts.GetValueOrDefault(n.Id))).ToList();
    }

    public async Task<NodeStatus> GetAsync(string name, CancellationToken ct)
    {
        var node = await FindAsync(name, ct);
        var count = await db.NodeContainers.LongCountAsync(c => c.NodeId == node.Id, ct);
        return Status(node, count);
    }

    /// <summary>Cordon (no new containers) or uncordon, which also ends a drain.</summary>
    public async Task<NodeStatus> SetCordonAsync(string name, bool cordoned, CancellationToken ct)
    {
        var node = await FindAsync(name, ct);
        await db.Nodes.Where(n => n.Id == node.Id).ExecuteUpdateAsync(
            s => s.SetProperty(n => n.Cordoned, cordoned).SetProperty(n => n.Draining, n => cordoned && n.Draining), ct);
        return await GetAsync(name, ct);
    }

    /// <summary>Cordons the node and moves its unpinned containers away at once; pinned ones are stopped. The monitor keeps at it.</summary>
    public async Task<NodeStatus> DrainAsync(string name, CancellationToken ct)
    {
        var node = await FindAsync(name, ct);
        await db.Nodes.Where(n => n.Id == node.Id).ExecuteUpdateAsync(s => s.SetProperty(n => n.Cordoned, true).SetProperty(n => n.Draining, true), ct);
        await NodeMonitor.DrainAsync(db, placements, scheduler, node.Id, node.Name, ct);
        return await GetAsync(name, ct);
    }

    public async Task<NodeStatus> SetLabelsAsync(string name, IReadOnlyDictionary<string, string>? labels, CancellationToken ct)
    {
        if (labels is null)
        {
            throw IdentityException.Invalid("labels (an object of strings) is required");
        }

        var json = JsonSerializer.Serialize(NodeRules.CheckLabels(labels));
        var node = await FindAsync(name, ct);
        await db.Nodes.Where(n => n.Id == node.Id).ExecuteUpdateAsync(s => s.SetProperty(n => n.Labels, json), ct);
        return await GetAsync(name, ct);
    }

    /// <summary>
    /// Removes a node: it is cordoned first so that nothing new lands on it, its unpinned containers move to other
    /// nodes (or fail when nothing fits), its pinned ones fail, and the row goes, which ends its credential at once.
    /// </summary>
    public async Task<NodeEntity> RemoveAsync(string name, CancellationToken ct)
    {
        var node = await FindAsync(name, ct);
        await db.Nodes.Where(n => n.Id == node.Id).ExecuteUpdateAsync(s => s.SetProperty(n => n.Cordoned, true), ct);
        foreach (var container in await db.NodeContainers.AsNoTracking().Where(c => c.NodeId == node.Id).ToListAsync(ct))
        {
            if (container.Pinned)
            {
                await placements.FailAsync(container, $"node {name} was removed", ct);
            }
            else
            {
                await placements.MoveAsync(container, $"node {name} was removed", ct);
            }
        }

        // Anything placed since (nothing should be: the node is cordoned) is left on no node by the foreign key.
        await db.Nodes.Where(n => n.Id == node.Id).ExecuteDeleteAsync(ct);
        return node;
    }

    private async Task<NodeEntity> FindAsync(string name, CancellationToken ct) =>
        await db.Nodes.AsNoTracking().FirstOrDefaultAsync(n => n.Name == name, ct)
        ?? throw IdentityException.NotFound($"there is no node {name}");

    private NodeStatus Status(NodeEntity node, long containers)
    {
        var settings = options.Value;
        var now = time.GetUtcNow().UtcDateTime;
        var status = node.LastSeenAt < now - settings.NotReadyAfter ? NotReady
            : node.Draining ? Draining
            : node.Cordoned ? Cordoned
            : Ready;
        var warnings = new List<string>();
        if (Math.Abs(node.ClockSkewSeconds) > settings.MaxClockSkew.TotalSeconds)
        {
            warnings.Add(FormattableString.Invariant(
                $"the node's clock is {Math.Abs(node.ClockSkewSeconds):0.#} s {(node.ClockSkewSeconds > 0 ? "ahead of" : "behind")} the registry's"));
        }

        if (node.AllocatedMemoryBytes > node.MemoryBytes)
        {
            warnings.Add($"its containers declare {NodeScheduler.FormatBytes(node.AllocatedMemoryBytes)} of memory; the node reports {NodeScheduler.FormatBytes(node.MemoryBytes)}");
        }

        return new NodeStatus(node, status, containers, warnings);
    }
}
