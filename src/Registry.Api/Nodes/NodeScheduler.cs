using System.Globalization;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Registry.Storage.Metadata;
using Registry.Storage.Nodes;

namespace Registry.Api.Nodes;

/// <summary>Where a container goes: a node whose memory was reserved for it, or why none fits.</summary>
public sealed record Placement(long? NodeId, string? NodeName, string? Refusal)
{
    public static Placement On(long id, string name) => new(id, name, null);

    public static Placement Refused(string reason) => new(null, null, reason);
}

/// <summary>
/// Chooses nodes for containers and keeps each node's declared memory in step with the containers placed on it.
/// A candidate is Ready (not cordoned or draining, seen within NotReadyAfter), matches every label of the selector
/// and has the memory free; the one with the most memory free wins. The reservation is one conditional UPDATE
/// (<c>allocated + m &lt;= memory</c>) that also bumps the node's generation, so two replicas placing at once never
/// overcommit a node: the loser's UPDATE changes no row and it tries the next candidate. Reservations are made in
/// the caller's transaction, together with the change to the container.
/// </summary>
public sealed class NodeScheduler(RegistryDbContext db, IOptions<NodeOptions> options, TimeProvider time)
{
    /// <summary>Reserves memory on a node for a container, pinned to <paramref name="pinned"/> or chosen by selector.</summary>
    public async Task<Placement> ReserveAsync(
        string? pinned, IReadOnlyDictionary<string, string> selector, long memory, long? excludeNodeId, CancellationToken ct)
    {
        var cutoff = ReadyCutoff;
        if (pinned is not null)
        {
            return await ReservePinnedAsync(pinned, selector, memory, cutoff, ct);
        }

        var ready = await db.Nodes.AsNoTracking()
            .Where(n => !n.Cordoned && !n.Draining && n.LastSeenAt >= cutoff && n.Id != excludeNodeId)
            .Select(n => new { n.Id, n.Name, n.Labels, Free = n.MemoryBytes - n.AllocatedMemoryBytes })
            .ToListAsync(ct);
        var matching = ready.Where(n => Matches(ParseLabels(n.Labels), selector)).ToList();
        if (matching.Count == 0)
        {
            return Placement.Refused(selector.Count == 0 ? "no node is Ready" : $"no Ready node matches selector {FormatSelector(selector)}");
        }

        foreach (var node in matching.OrderByDescending(n => n.Free).ThenBy(n => n.Name, StringComparer.Ordinal))
        {
            if (memory > 0 && node.Free < memory)
            {
                break;
            }

            if (await TryReserveAsync(node.Id, memory, cutoff, ct))
            {
                return Placement.On(node.Id, node.Name);
            }
        }

        // Nothing fit, or others took the room between the look and the reservation: say how much there is now.
        var ids = matching.Select(n => n.Id).ToList();
        var mostFree = await db.Nodes.AsNoTracking().Where(n => ids.Contains(n.Id))
            .Select(n => (long?)(n.MemoryBytes - n.AllocatedMemoryBytes)).MaxAsync(ct) ?? 0;
        return Placement.Refused($"needs {FormatBytes(memory)} of memory; the most free on a matching node is {FormatBytes(Math.Max(0, mostFree))}");
    }

    /// <summary>Gives a container's memory back to its node and tells the node (its generation grows).</summary>
    public Task ReleaseAsync(long nodeId, long memory, CancellationToken ct) =>
        db.Nodes.Where(n => n.Id == nodeId).ExecuteUpdateAsync(
            s => s.SetProperty(n => n.AllocatedMemoryBytes, n => n.AllocatedMemoryBytes - memory).SetProperty(n => n.Generation, n => n.Generation + 1), ct);

    /// <summary>Tells a node that what it must run changed.</summary>
    public Task BumpAsync(long nodeId, CancellationToken ct) =>
        db.Nodes.Where(n => n.Id == nodeId).ExecuteUpdateAsync(s => s.SetProperty(n => n.Generation, n => n.Generation + 1), ct);

    public DateTime ReadyCutoff => time.GetUtcNow().UtcDateTime - options.Value.NotReadyAfter;

    public static Dictionary<string, string> ParseLabels(string? json) =>
        string.IsNullOrEmpty(json) ? [] : JsonSerializer.Deserialize<Dictionary<string, string>>(json) ?? [];

    public static bool Matches(IReadOnlyDictionary<string, string> labels, IReadOnlyDictionary<string, string> selector) =>
        selector.All(s => labels.TryGetValue(s.Key, out var value) && value == s.Value);

    public static string FormatSelector(IReadOnlyDictionary<string, string> selector) =>
        string.Join(',', selector.OrderBy(s => s.Key, StringComparer.Ordinal).Select(s => $"{s.Key}={s.Value}"));

    /// <summary>Binary units, one decimal at most: <c>64 GiB</c>, <c>3.1 GiB</c>, <c>256 MiB</c>.</summary>
    public static string FormatBytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        var value = (double)bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{Math.Floor(value * 10) / 10:0.#} {units[unit]}");
    }

    private async Task<Placement> ReservePinnedAsync(
        string name, IReadOnlyDictionary<string, string> selector, long memory, DateTime cutoff, CancellationToken ct)
    {
        var node = await db.Nodes.AsNoTracking().FirstOrDefaultAsync(n => n.Name == name, ct);
        if (node is null)
        {
            return Placement.Refused($"there is no node {name}");
        }

        if (node.Draining || node.Cordoned)
        {
            return Placement.Refused($"node {name} is {(node.Draining ? "draining" : "cordoned")}");
        }

        if (node.LastSeenAt < cutoff)
        {
            return Placement.Refused($"node {name} is NotReady (no heartbeat since {node.LastSeenAt:yyyy-MM-dd'T'HH:mm:ss'Z'})");
        }

        if (!Matches(ParseLabels(node.Labels), selector))
        {
            return Placement.Refused($"node {name} does not match selector {FormatSelector(selector)}");
        }

        if (await TryReserveAsync(node.Id, memory, cutoff, ct))
        {
            return Placement.On(node.Id, node.Name);
        }

        var free = await db.Nodes.AsNoTracking().Where(n => n.Id == node.Id).Select(n => n.MemoryBytes - n.AllocatedMemoryBytes).FirstOrDefaultAsync(ct);
        return Placement.Refused($"needs {FormatBytes(memory)} of memory; node {name} has {FormatBytes(Math.Max(0, free))} free");
    }

    private async Task<bool> TryReserveAsync(long nodeId, long memory, DateTime cutoff, CancellationToken ct)
    {
        var node = db.Nodes.Where(n => n.Id == nodeId && !n.Cordoned && !n.Draining && n.LastSeenAt >= cutoff);
        if (memory > 0)
        {
            node = node.Where(n => n.AllocatedMemoryBytes + memory <= n.MemoryBytes);
        }

        var changed = await node.ExecuteUpdateAsync(
            s => s.SetProperty(n => n.AllocatedMemoryBytes, n => n.AllocatedMemoryBytes + memory).SetProperty(n => n.Generation, n => n.Generation + 1), ct);
        return changed == 1;
    }
}
